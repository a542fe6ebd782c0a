#!/usr/bin/python
"""Documentation and argument spec of the dms_artifact action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dms_artifact
short_description: Download a DMS release from the brand portal and verify it
description:
  - Finds the release in the approved catalog (C(dms_catalog)), downloads its artifact and
    detached signature from the brand portal (C(dms_portal.url)) into a cache on the
    controller, and refuses it unless its sha256 matches the catalog and its ed25519
    signature verifies with the brand's public key (C(dms_portal.signing_key)).
  - Runs before anything on a store is stopped, so a tampered or unsigned artifact leaves
    every store running. An artifact already in the cache is verified again, not fetched.
  - Never connects to the managed host. This is an action plugin
    (C(action_plugins/dms_artifact.py)); this file only documents it.
version_added: "0.1.0"
options:
  version:
    description: The release to fetch. Defaults to the host's C(store.dms_target_version).
    type: str
    required: false
  cache_dir:
    description:
      - Controller directory for verified artifacts (default C(dms-artifacts) under
        C(STOREOPS_STATE_DIR) when set, else C(.cache/dms-artifacts) of the repository).
    type: path
    required: false
attributes:
  check_mode:
    support: full
    description: Downloads and verifies in check mode too (the controller's cache only), so
      that a refused artifact is reported by a dry run.
  diff_mode:
    support: none
    description: Nothing on the host changes.
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: Download the target release and verify it before anything is stopped
  dms_artifact:
  register: dms_release
"""

RETURN = r"""
version:
  description: The release verified.
  returned: success
  type: str
path:
  description: The verified artifact on the controller.
  returned: success
  type: str
sha256:
  description: Its sha256, equal to the catalog's.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "version": {"type": "str", "required": False},
            "cache_dir": {"type": "path", "required": False},
        },
        supports_check_mode=True,
    )
    module.fail_json(msg="dms_artifact runs as an action plugin on the controller")


if __name__ == "__main__":
    main()
