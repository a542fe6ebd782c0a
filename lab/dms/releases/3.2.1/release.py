"""Release 3.2.1: DELIBERATELY BROKEN. Never approve it for a real store.

!!! THIS RELEASE IS BROKEN ON PURPOSE: it is the lab's bad release. !!!

It starts, its migration step succeeds (it ships no new migration: schema 0002), and
``GET /health`` is green, but every work-order insert (and so ``POST /smoke``) fails:
the "hotfix" back-ported a write to ``work_orders.status`` from 4.0 without the 4.0
migration, and that column does not exist (MariaDB error 1054, unknown column).

The rollout must catch it with the smoke transaction, roll back to 3.2.0 and leave the
store's data identical. The switch below is read in ``storedms.store.create_work_order``.
"""

SCHEMA_VERSION = "0002"
SPLIT_CUSTOMER_NAME = True
WORK_ORDER_STATUS = False
# !!! DELIBERATE BUG: insert work orders with a `status` column that does not exist. !!!
BROKEN_WORK_ORDER_INSERT = True
SLOW_WORK_ORDER_READ_SECONDS = 0.0
