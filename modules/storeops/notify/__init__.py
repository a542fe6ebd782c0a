"""Notifications of a store's failures to its IT contact, once per incident (controller side).

``Notifier.from_inventory(...)`` then ``notifier.update(events)``: the health check and the
DMS sampler report what they saw as :class:`Event` s; the first failing event of a (store,
key) opens an incident and notifies, repeats are suppressed, the first OK closes it with one
recovery message. The incidents are kept in the controller's database (storeops.statedb).
The message formats and the sending are module_utils/storeops_notify.py, shared with the
store servers' OnFailure notifier and the rollout's ``storeops_notify`` module.
"""

from storeops.notify.notifier import Event, Notifier, NotifyConfigError, Sent

__all__ = ["Event", "Notifier", "NotifyConfigError", "Sent"]
