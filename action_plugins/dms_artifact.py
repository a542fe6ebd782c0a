"""Action plugin: download a DMS release from the brand portal and verify it, on the controller.

Runs before anything on a store is stopped: the host's target release must be in the
approved catalog, its sha256 must match the catalog and its signature must verify with
the brand's public key (``dms_portal.signing_key``). Never connects to the host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from pydantic import ValidationError

from storeops.artifacts import VerifyError, fetch_verified
from storeops.catalog import find
from storeops.paths import ProjectNotFound, state_path
from storeops.schema import DmsPortal, Release


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("version", "cache_dir"))

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            catalog = [Release.model_validate(entry) for entry in task_vars["dms_catalog"]]
            portal = DmsPortal.model_validate(task_vars["dms_portal"])
        except (KeyError, ValidationError) as error:
            raise AnsibleActionFail(
                f"dms_catalog/dms_portal: run storeops validate: {error}"
            ) from None
        version = str(self._task.args.get("version") or task_vars["store"]["dms_target_version"])
        release = find(catalog, version)
        if release is None:
            raise AnsibleActionFail(f"{version} is not in the approved release catalog")
        key = Path(task_vars["inventory_dir"]) / portal.signing_key
        try:  # default: <STOREOPS_STATE_DIR>/dms-artifacts, else the checkout's .cache/
            cache = Path(
                self._task.args.get("cache_dir")
                or state_path("dms-artifacts", task_vars.get("playbook_dir"))
            )
        except ProjectNotFound as error:
            raise AnsibleActionFail(str(error)) from None
        try:
            artifact = fetch_verified(portal.url, release, key, cache)
        except VerifyError as error:
            result.update(
                failed=True, msg=f"release {version} refused, nothing was stopped: {error}"
            )
            return result
        result.update(
            changed=artifact.downloaded,
            version=version,
            path=str(artifact.path),
            sha256=artifact.sha256,
            msg=f"{release.artifact}: sha256 and signature verified",
        )
        return result
