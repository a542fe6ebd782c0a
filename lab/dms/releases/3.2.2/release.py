"""Release 3.2.2: DELIBERATELY SLOW UNDER LOAD. Never approve it for a real store.

!!! THIS RELEASE IS SLOW ON PURPOSE: it is the lab's release for the acceptance gate. !!!

It starts, its migration step succeeds (it ships no new migration: schema 0002),
``GET /health`` is green and the smoke transaction passes; one request at a time it is
only a little slower than 3.2.0 (about 50 ms more per work-order read). Under concurrent
load it degrades steeply: every work-order read queues behind every other one.

The story: a "hotfix" against advisors reading a work order while a colleague edits it
serialises work-order reads with a server-wide named lock (``GET_LOCK``) instead of a row
lock, and its rewritten read query carries an index hint copied from a report,
``IGNORE INDEX (PRIMARY)``, so the work order is no longer found through the primary key
but by a full scan (EXPLAIN: ``type ALL``). On a real store's tens of thousands of work
orders that scan costs tens of milliseconds, paid while holding the lock; on the lab's
40 customers it costs well under a millisecond, so the release adds ``DO SLEEP`` of
``SLOW_WORK_ORDER_READ_SECONDS`` inside the lock as the scan's stand-in. The lock is a
session lock: it is held until the request's connection closes (for the smoke
transaction: from its read-back through its deletes and commit), so with N concurrent
readers the last waits about N x 50 ms, although each read alone is quick. A read of a
work order that does not exist pays the same (the scan finds nothing).

The rollout's acceptance gate must catch it: the same mixed workload (locust, about 10
users) on the pilot store before and after the upgrade, p95 at least ~3x worse after, so
the gate stops the rollout at the pilot and rolls back to 3.2.0. The switch below is read
in ``storedms.store.read_work_order``.
"""

SCHEMA_VERSION = "0002"
SPLIT_CUSTOMER_NAME = True
WORK_ORDER_STATUS = False
BROKEN_WORK_ORDER_INSERT = False
# !!! DELIBERATE SLOWNESS: serialise work-order reads (named lock held for the request's
# transaction) and pay this many seconds of database time per read while holding it. !!!
SLOW_WORK_ORDER_READ_SECONDS = 0.05
