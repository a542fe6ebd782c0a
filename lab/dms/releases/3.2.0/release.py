"""Release 3.2.0: customer names split into family name and given name.

Ships migration ``0002_split_customer_name``, which CHANGES DATA: ``customers.name``
becomes ``family_name`` (its first character) + ``given_name`` (the rest). Its down
migration joins them back, so a rollback restores the names exactly.
"""

SCHEMA_VERSION = "0002"
SPLIT_CUSTOMER_NAME = True
WORK_ORDER_STATUS = False
BROKEN_WORK_ORDER_INSERT = False
SLOW_WORK_ORDER_READ_SECONDS = 0.0
