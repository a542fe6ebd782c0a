"""storeops: the domain package shared by the CLI, the validator, the lab and the reports."""

__version__ = "0.1.0"
