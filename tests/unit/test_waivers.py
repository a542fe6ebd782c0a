"""The validator's waiver rules (storeops.compliance.validation): a waiver needs a
justification, a known control, an owner and a date not past; a control's toggle is false
for a host only under an active waiver for that control at the host or its store.

Each case writes files over a copy of the good fixture inventory and asserts the exact
report, as tests/unit/test_validate.py does. Today is fixed by STOREOPS_TODAY.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from storeops.compliance.catalogue import load_catalogue
from storeops.compliance.schema import TODAY_ENV
from storeops.compliance.validation import host_waivers
from storeops.validate import validate
from storeops.yamlfiles import VaultPasswords
from tests.conftest import FIXTURE_ROLES, FIXTURE_VAULT_PASSWORD

TODAY = "2027-01-15"
UMASK = "L2-7.1.4.2-d-umask"
GOOD_WAIVER = {
    "control": UMASK,
    "justification": "The DMS 4.2 installer needs umask 022 (fixed in 4.3, ticket DMS-1234)",
    "owner": "it.aa01@dealer.example",
    "expires": "2027-03-31",
}


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_ENV, TODAY)


@pytest.fixture
def roles(tmp_path: Path) -> Path:
    """The fixture roles plus a hardening role declaring the catalogue's toggles (as
    roles/hardening/meta/argument_specs.yml does), so that toggles are role variables."""
    target = tmp_path / "roles"
    shutil.copytree(FIXTURE_ROLES, target)
    options = {
        control.toggle: {"type": "bool", "default": True, "description": control.id}
        for control in load_catalogue().controls
    }
    meta = target / "hardening" / "meta"
    meta.mkdir(parents=True)
    specs = {"argument_specs": {"main": {"short_description": "hardening", "options": options}}}
    (meta / "argument_specs.yml").write_text(yaml.safe_dump(specs))
    return target


def _write(inventory: Path, relative: str, data: dict[str, object]) -> None:
    path = inventory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + yaml.safe_dump(data, sort_keys=False))


def _report(inventory: Path, roles: Path) -> list[str]:
    raw = validate(inventory, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), roles)
    return [issue.render(raw.root) for issue in raw.issues]


def test_store_waiver_and_toggle_off_are_valid(good_inventory: Path, roles: Path) -> None:
    _write(
        good_inventory,
        "group_vars/store_aa01/hardening.yml",
        {"hardening_umask_enabled": False, "hardening_waivers": [GOOD_WAIVER]},
    )
    assert _report(good_inventory, roles) == []


def test_host_waiver_covers_the_host_only(good_inventory: Path, roles: Path) -> None:
    _write(good_inventory, "host_vars/aa01-dms.yml", {"hardening_waivers": [GOOD_WAIVER]})
    _write(
        good_inventory, "group_vars/store_aa01/hardening.yml", {"hardening_umask_enabled": False}
    )
    assert _report(good_inventory, roles) == [
        "group_vars/store_aa01/hardening.yml: hardening_umask_enabled: turns off control "
        f"{UMASK} without an active waiver in hardening_waivers of the host or its store, "
        "for aa01-db, aa01-ws01"
    ]


def test_toggle_off_without_waiver(good_inventory: Path, roles: Path) -> None:
    _write(good_inventory, "host_vars/bb01-db.yml", {"hardening_pwquality_enabled": False})
    assert _report(good_inventory, roles) == [
        "host_vars/bb01-db.yml: hardening_pwquality_enabled: turns off control "
        "L2-7.1.4.1-a-pwquality without an active waiver in hardening_waivers of the host or "
        "its store, for bb01-db"
    ]


def test_toggle_off_group_wide_needs_a_waiver_on_every_host(
    good_inventory: Path, roles: Path
) -> None:
    _write(good_inventory, "group_vars/all/hardening.yml", {"hardening_setuid_enabled": False})
    _write(
        good_inventory,
        "group_vars/store_aa01/hardening.yml",
        {"hardening_waivers": [{**GOOD_WAIVER, "control": "L2-7.1.4.2-d-setuid"}]},
    )
    assert _report(good_inventory, roles) == [
        "group_vars/all/hardening.yml: hardening_setuid_enabled: turns off control "
        "L2-7.1.4.2-d-setuid without an active waiver in hardening_waivers of the host or its "
        "store, for bb01-db, bb01-dms"
    ]


def test_toggle_true_in_host_vars_overrides_a_group_false(
    good_inventory: Path, roles: Path
) -> None:
    _write(
        good_inventory, "group_vars/store_bb01/hardening.yml", {"hardening_umask_enabled": False}
    )
    _write(good_inventory, "host_vars/bb01-db.yml", {"hardening_umask_enabled": True})
    _write(
        good_inventory,
        "host_vars/bb01-dms.yml",
        {"hardening_waivers": [GOOD_WAIVER]},
    )
    assert _report(good_inventory, roles) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"justification": "   "},
            "hardening_waivers[0].justification: missing: why the control is off",
        ),
        (
            {"justification": None},
            "hardening_waivers[0].justification: missing: why the control is off",
        ),
        (
            {"control": "L2-7.1.4.2-d-umsak"},
            "hardening_waivers[0].control: 'L2-7.1.4.2-d-umsak' is not a control of "
            "roles/hardening/meta/controls.yml",
        ),
        (
            {"expires": "2027-01-14"},
            "hardening_waivers[0].expires: 2027-01-14 is in the past (today is 2027-01-15): "
            "renew or remove",
        ),
        (
            {"expires": "soon"},
            "hardening_waivers[0].expires: 'soon': must be a date (YYYY-MM-DD)",
        ),
        (
            {"owner": "Wang Fang"},
            "hardening_waivers[0].owner: 'Wang Fang': must be a login name or a mail address "
            "(e.g. it.hz01@dealer.example)",
        ),
        ({"owner": ""}, "hardening_waivers[0].owner: missing: who answers for the waiver"),
        ({"ticket": "x"}, "hardening_waivers[0].ticket: unknown key"),
    ],
)
def test_bad_waiver(
    good_inventory: Path, roles: Path, change: dict[str, object], expected: str
) -> None:
    _write(
        good_inventory, "host_vars/aa01-dms.yml", {"hardening_waivers": [{**GOOD_WAIVER, **change}]}
    )
    assert _report(good_inventory, roles) == [f"host_vars/aa01-dms.yml: {expected}"]


def test_expiry_today_is_still_active(good_inventory: Path, roles: Path) -> None:
    waiver = {**GOOD_WAIVER, "expires": TODAY}
    _write(
        good_inventory,
        "host_vars/aa01-dms.yml",
        {"hardening_umask_enabled": False, "hardening_waivers": [waiver]},
    )
    assert _report(good_inventory, roles) == []


def test_expired_waiver_does_not_cover_the_toggle(
    good_inventory: Path, roles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        good_inventory,
        "host_vars/aa01-dms.yml",
        {"hardening_umask_enabled": False, "hardening_waivers": [GOOD_WAIVER]},
    )
    monkeypatch.setenv(TODAY_ENV, "2027-04-01")
    assert _report(good_inventory, roles) == [
        "host_vars/aa01-dms.yml: hardening_umask_enabled: turns off control "
        f"{UMASK} without an active waiver in hardening_waivers of the host or its store, "
        "for aa01-dms",
        "host_vars/aa01-dms.yml: hardening_waivers[0].expires: 2027-03-31 is in the past "
        "(today is 2027-04-01): renew or remove",
    ]


def test_waivers_belong_to_a_store_or_a_host(good_inventory: Path, roles: Path) -> None:
    _write(good_inventory, "group_vars/all/hardening.yml", {"hardening_waivers": [GOOD_WAIVER]})
    assert _report(good_inventory, roles) == [
        "group_vars/all/hardening.yml: hardening_waivers: belongs in group_vars/store_<code>/ "
        "(a store) or host_vars/<host> (a host) only"
    ]


def test_waivers_must_be_a_list(good_inventory: Path, roles: Path) -> None:
    _write(good_inventory, "host_vars/aa01-dms.yml", {"hardening_waivers": GOOD_WAIVER})
    assert _report(good_inventory, roles) == [
        "host_vars/aa01-dms.yml: hardening_waivers: must be a list of waivers"
    ]


def test_host_waivers_for_the_audit(good_inventory: Path, roles: Path) -> None:
    store = {**GOOD_WAIVER, "justification": "store-wide"}
    own = {**GOOD_WAIVER, "justification": "this host"}
    _write(good_inventory, "group_vars/store_aa01/hardening.yml", {"hardening_waivers": [store]})
    _write(good_inventory, "host_vars/aa01-dms.yml", {"hardening_waivers": [own]})
    raw = validate(good_inventory, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), roles)
    assert raw.issues == []
    waivers = host_waivers(raw)
    assert waivers["aa01-dms"][UMASK].waiver.justification == "this host"
    assert waivers["aa01-db"][UMASK].waiver.justification == "store-wide"
    assert waivers["bb01-db"] == {}
