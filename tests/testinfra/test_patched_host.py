"""What a store server looks like to OS patching (``roles/patching``, playbooks/patch.yml):
every apt source verified by a key, dpkg consistent, the packages the store's DMS release
needs pinned and at an allowed version, needrestart set to list only.

Where the hosts come from: the ``backup``, ``db`` and ``dms`` groups of ``inventory/lab``,
or of the inventory ``STOREOPS_INVENTORY`` names, so the same checks audit production::

    STOREOPS_INVENTORY=inventory/<group> pytest tests/testinfra/test_patched_host.py

Read-only. On the lab, a host that playbooks/patch.yml has not reached yet is skipped
where the check needs it; on any other inventory it fails.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import pytest
import role_host  # type: ignore[import-not-found]  # top level: pytest puts tests/testinfra on sys.path

from storeops.paths import LAB_INVENTORY

INVENTORY = Path(os.environ.get("STOREOPS_INVENTORY", str(LAB_INVENTORY))).resolve()
ON_LAB = LAB_INVENTORY.resolve() == INVENTORY
testinfra_hosts = [
    f"ansible://{group}?ansible_inventory={INVENTORY}" for group in ("backup", "db", "dms")
]
pytestmark = [pytest.mark.lab] if ON_LAB else []
target = role_host.target  # fixture: the host to check


@pytest.fixture(scope="module")
def patching(host: Any) -> dict[str, Any]:
    """The role's variables for this host, and the packages its store's DMS release needs."""
    expected: dict[str, Any] = role_host.role_variables(
        host, "patching", "^patching_(holds_file|hold_priority|state_file)$"
    )
    expected["dms_packages"] = json.loads(
        role_host.rendered(
            host,
            "{{ dms_catalog | selectattr('version', 'equalto', store.dms_target_version)"
            " | map(attribute='packages') | first | default({}) | to_json }}",
        )
    )
    return expected


def _patched(target: Any, patching: dict[str, Any]) -> None:
    """Skip on the lab where patch.yml has not run (its pins are missing); fail elsewhere."""
    if not target.file(patching["patching_holds_file"]).exists and patching["dms_packages"]:
        if ON_LAB:
            pytest.skip("playbooks/patch.yml has not run on this lab host yet")
        pytest.fail(f"{patching['patching_holds_file']} is missing: patch.yml never ran here")


def _stanzas(text: str) -> list[dict[str, str]]:
    """deb822 stanzas (sources, preferences) as field -> value (continuations joined)."""
    stanzas: list[dict[str, str]] = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        last = ""
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and last:
                fields[last] += " " + line.strip()
                continue
            name, _, value = line.partition(":")
            last = name.strip().lower()
            fields[last] = value.strip()
        if fields:
            stanzas.append(fields)
    return stanzas


def test_every_apt_source_is_verified_by_a_key(target: Any) -> None:
    found = target.check_output(
        "find /etc/apt/sources.list /etc/apt/sources.list.d -maxdepth 1 -type f "
        "\\( -name '*.list' -o -name '*.sources' \\) 2>/dev/null || true"
    ).split()
    problems = []
    for path in found:
        text = target.file(path).content_string
        if path.endswith(".sources"):
            for stanza in _stanzas(text):
                if stanza.get("enabled", "yes").lower() == "no":
                    continue
                if not stanza.get("signed-by"):
                    problems.append(f"{path}: {stanza.get('uris')}: no Signed-By")
                if stanza.get("trusted", "no").lower() == "yes":
                    problems.append(f"{path}: {stanza.get('uris')}: Trusted: yes")
        else:
            for line in text.splitlines():
                words = line.split()
                if words and words[0] in ("deb", "deb-src") and "trusted=yes" in line:
                    problems.append(f"{path}: {line.strip()}")
    assert problems == []


def test_dpkg_has_no_unfinished_work(target: Any) -> None:
    with target.sudo():
        audit = target.run("dpkg --audit")
    assert audit.stdout.strip() == "", audit.stdout


def test_the_dms_releases_packages_are_pinned_at_the_versions_it_allows(
    target: Any, patching: dict[str, Any]
) -> None:
    _patched(target, patching)
    wanted = patching["dms_packages"]
    if not wanted:
        pytest.skip("the store's DMS release needs no package held")
    pins = {
        stanza["package"]: (stanza.get("pin", ""), stanza.get("pin-priority", ""))
        for stanza in _stanzas(target.file(patching["patching_holds_file"]).content_string)
        if "package" in stanza
    }
    priority = str(patching["patching_hold_priority"])
    assert pins == {
        package: (f"version {version}", priority) for package, version in wanted.items()
    }


def test_the_held_packages_installed_are_at_an_allowed_version(
    target: Any, patching: dict[str, Any]
) -> None:
    for package, allowed in patching["dms_packages"].items():
        found = target.package(package)
        if found.is_installed:
            assert fnmatch.fnmatchcase(found.version, allowed), f"{package} {found.version}"


def test_needrestart_only_lists_and_the_last_patch_is_recorded(
    target: Any, patching: dict[str, Any]
) -> None:
    _patched(target, patching)
    config = target.file("/etc/needrestart/conf.d/storeops.conf")
    assert config.exists and "$nrconf{restart} = 'l';" in config.content_string
    record = target.file(patching["patching_state_file"])
    if record.exists:  # written by a run that installed something
        last = json.loads(record.content_string)
        assert {"run_id", "finished", "upgraded", "pending_security"} <= set(last)
