"""The environment variables through which ``storeops workstation`` talks to the deploys.

Shared by the CLI (which sets them) and :mod:`.deploy` (which reads them, under pyinfra),
without importing pyinfra into the CLI's process.
"""

from __future__ import annotations

INVENTORY = "STOREOPS_INVENTORY"  # the inventory directory (deploys/inventory.py reads it too)
HOST = "STOREOPS_HOST"  # the inventory host a run is for (needed with pyinfra @local)
OWNER = "STOREOPS_WORKSTATION_OWNER"  # the request; unset: the machine's host_vars
ROLE = "STOREOPS_WORKSTATION_ROLE"
ASSET = "STOREOPS_WORKSTATION_ASSET"
REPORT = "STOREOPS_ASSET_REPORT"  # where the deploy writes the machine's identity (JSON)
# Decommissioning: one pyinfra run per phase.
PHASE = "STOREOPS_DECOMMISSION_PHASE"  # archive | store | remove
ARCHIVE_NAME = "STOREOPS_ARCHIVE_NAME"  # the archive's file name
ARCHIVE_LOCAL = "STOREOPS_ARCHIVE_LOCAL"  # its copy on the controller
ARCHIVE_OF = "STOREOPS_ARCHIVE_OF"  # store phase: the workstation the archive is of
ARCHIVE_STORED = "STOREOPS_ARCHIVE_STORED"  # "yes" once the backup server holds it
