"""Release 4.0.0: work orders get a status.

Ships migration ``0003_work_order_status``: a ``work_order_status`` table filled from the
existing work orders. The catalog (not this code) allows 4.0.0 only from 3.2.x: a 3.1.0
store must take 3.2.0 (and its data migration) first.
"""

SCHEMA_VERSION = "0003"
SPLIT_CUSTOMER_NAME = True
WORK_ORDER_STATUS = True
BROKEN_WORK_ORDER_INSERT = False
SLOW_WORK_ORDER_READ_SECONDS = 0.0
