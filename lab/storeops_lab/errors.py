"""The one error the lab raises for anything the user must act on."""


class LabError(RuntimeError):
    """The lab cannot be brought to the state the inventory describes (the message says why)."""
