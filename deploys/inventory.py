"""pyinfra inventory: the same inventory directory Ansible reads.

    pyinfra deploys/inventory.py deploys/<deploy>.py
    STOREOPS_INVENTORY=inventory/<group> pyinfra deploys/inventory.py ...

Groups: stores, store_<code>, dms, db, backup, workstation (as in Ansible).
"""

import os

from storeops.pyinfra_inventory import groups as _storeops_groups

globals().update(_storeops_groups(os.environ.get("STOREOPS_INVENTORY", "inventory/lab")))
