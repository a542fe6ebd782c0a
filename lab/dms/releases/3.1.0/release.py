"""Release 3.1.0: the baseline.

Schema 0001 (``0001_initial``): ``customers.name`` is a single column.
This file is the only code that differs between releases: the common code in
``storedms`` reads these switches, so what a release changes is visible in one place.
"""

SCHEMA_VERSION = "0001"
# 3.2.0+: customers.name split into family_name + given_name (migration 0002).
SPLIT_CUSTOMER_NAME = False
# 4.0.0+: work orders have a status, kept in work_order_status (migration 0003).
WORK_ORDER_STATUS = False
# 3.2.1 only: the deliberate bug (see lab/dms/releases/3.2.1/release.py).
BROKEN_WORK_ORDER_INSERT = False
# 3.2.2 only: the deliberate slowness under load (see lab/dms/releases/3.2.2/release.py).
SLOW_WORK_ORDER_READ_SECONDS = 0.0
