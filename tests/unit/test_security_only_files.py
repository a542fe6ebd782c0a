"""The files the hardening role and the workstation role both may write on a workstation
(L2-7.1.4.4-e-security-updates, L2-7.1.4.1-b-idle-timeout), rendered as each role renders
them: the same construct in both, and what apt and the shells make of it.

* ``/etc/apt/apt.conf.d/52storeops-security-only``: apt merges a list across its files, so
  the file (read after Debian's ``50unattended-upgrades``) clears both origin lists before it
  sets its own. Where ``apt-config`` is installed, the rendered file is read by apt itself
  after a copy of Debian's list (what ``storeops audit`` reads with ``apt-config dump``), and
  by ``apt_pkg`` (what unattended-upgrade reads) where python3-apt is.
* ``/etc/profile.d/storeops-tmout.sh``: TMOUT read-only in every login shell, also one that
  inherits TMOUT from its parent, and the file sourced twice is no error (bash and dash).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from storeops.ansible_view import load as load_ansible_view
from storeops.role_templates import play_variables, render_role_template
from storeops.workstation.plan import Checked, assignment_for, plan_for
from storeops.yamlfiles import VaultPasswords
from tests.conftest import REPO

LAB_PASSWORDS = [REPO / "lab" / "vault-password.txt"]
WORKSTATION = "sh01-ws01"
APT_FILE = "etc/apt/apt.conf.d/52storeops-security-only"
TMOUT_FILE = "etc/profile.d/storeops-tmout.sh"
# Debian's own /etc/apt/apt.conf.d/50unattended-upgrades (bookworm): its active patterns,
# the list the lab audit found on workstations without the storeops file.
DEBIAN_50UNATTENDED_UPGRADES = """\
Unattended-Upgrade::Origins-Pattern {
        // "origin=Debian,codename=${distro_codename}-updates";
        "origin=Debian,codename=${distro_codename},label=Debian";
        "origin=Debian,codename=${distro_codename},label=Debian-Security";
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
};
Unattended-Upgrade::Allowed-Origins {
        "${distro_id}:${distro_codename}";
};
"""


@pytest.fixture(scope="module")
def hardening_vars(lab: Checked) -> dict[str, Any]:
    hosts = load_ansible_view(lab.raw.root, VaultPasswords.from_files(LAB_PASSWORDS))
    return play_variables(WORKSTATION, hosts[WORKSTATION].variables, ("hardening",))


def _workstation_file(lab: Checked, template: str, role: str = "finance") -> str:
    plan = plan_for(lab, WORKSTATION, assignment_for(lab, WORKSTATION, "wang.fang", role))
    return render_role_template(
        "workstation", f"{template}.j2", f"/{template}", plan.template_vars()
    )


def _hardening_file(variables: dict[str, Any], template: str) -> str:
    return render_role_template("hardening", f"{template}.j2", f"/{template}", variables)


def _rendered(lab: Checked, hardening_vars: dict[str, Any], template: str) -> dict[str, str]:
    return {
        "hardening": _hardening_file(hardening_vars, template),
        "workstation": _workstation_file(lab, template),
    }


def _statements(text: str) -> list[str]:
    """The file without its comments (apt's // and a shell's #, not apt's #clear)."""
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        if stripped.startswith("#") and not stripped.startswith("#clear "):
            continue
        kept.append(line)
    return kept


# ---------------------------------------------------------------------------- apt


@pytest.mark.parametrize("role", ["hardening", "workstation"])
def test_the_origins_are_cleared_before_the_security_patterns(
    lab: Checked, hardening_vars: dict[str, Any], role: str
) -> None:
    text = _rendered(lab, hardening_vars, APT_FILE)[role]
    statements = _statements(text)
    block = statements.index("Unattended-Upgrade::Origins-Pattern {")
    assert statements[:block] == [
        "#clear Unattended-Upgrade::Allowed-Origins;",
        "#clear Unattended-Upgrade::Origins-Pattern;",
    ]
    patterns = re.findall(r'^\s+"(.*)";$', "\n".join(statements[block:]), re.MULTILINE)
    assert patterns == ["origin=Debian,codename=${distro_codename}-security,label=Debian-Security"]
    assert statements[-1] == "};"


def test_both_roles_render_the_same_apt_construct(
    lab: Checked, hardening_vars: dict[str, Any]
) -> None:
    # The lab's hardening_security_origins and workstation_security_origins are the same.
    rendered = _rendered(lab, hardening_vars, APT_FILE)
    assert _statements(rendered["hardening"]) == _statements(rendered["workstation"])
    rendered = _rendered(lab, hardening_vars, "etc/apt/apt.conf.d/20auto-upgrades")
    assert _statements(rendered["hardening"]) == _statements(rendered["workstation"])


def _apt_parts(tmp_path: Path, ours: str) -> Path:
    parts = tmp_path / "apt.conf.d"
    parts.mkdir()
    (parts / "50unattended-upgrades").write_text(DEBIAN_50UNATTENDED_UPGRADES)
    (parts / "52storeops-security-only").write_text(ours)
    main = tmp_path / "apt.conf"
    main.write_text(
        f'Dir::Etc::main "/dev/null";\nDir::Etc::parts "{parts}/";\n'
        f'Dir::Etc::preferencesparts "{parts}/";\n'
    )
    return main


@pytest.mark.skipif(shutil.which("apt-config") is None, reason="apt-config not installed")
@pytest.mark.parametrize("role", ["hardening", "workstation"])
def test_apt_reads_security_origins_only_after_debians_list(
    lab: Checked, hardening_vars: dict[str, Any], role: str, tmp_path: Path
) -> None:
    main = _apt_parts(tmp_path, _rendered(lab, hardening_vars, APT_FILE)[role])
    dump = subprocess.run(
        ["apt-config", "dump"],
        env={"APT_CONFIG": str(main), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # What the audit reads (tests/testinfra/test_hardening.py, test_security_updates).
    patterns = re.findall(r'^Unattended-Upgrade::Origins-Pattern:: "([^"]*)";', dump, re.M)
    allowed = re.findall(r'^Unattended-Upgrade::Allowed-Origins:: "([^"]*)";', dump, re.M)
    assert patterns == ["origin=Debian,codename=${distro_codename}-security,label=Debian-Security"]
    assert allowed == []


@pytest.mark.skipif(
    shutil.which("apt-config") is None
    or subprocess.run(["/usr/bin/python3", "-c", "import apt_pkg"], check=False).returncode != 0,
    reason="python3-apt not installed",
)
def test_unattended_upgrade_reads_the_same_through_apt_pkg(
    lab: Checked, hardening_vars: dict[str, Any], tmp_path: Path
) -> None:
    # unattended-upgrade reads its origins with apt_pkg.init_config() and
    # apt_pkg.config.value_list(...): libapt-pkg's parser, the one apt-config uses.
    main = _apt_parts(tmp_path, _rendered(lab, hardening_vars, APT_FILE)["workstation"])
    script = (
        "import apt_pkg; apt_pkg.init_config(); "
        "print(apt_pkg.config.value_list('Unattended-Upgrade::Origins-Pattern')); "
        "print(apt_pkg.config.value_list('Unattended-Upgrade::Allowed-Origins'))"
    )
    out = subprocess.run(
        ["/usr/bin/python3", "-c", script],
        env={"APT_CONFIG": str(main), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == [
        "['origin=Debian,codename=${distro_codename}-security,label=Debian-Security']",
        "[]",
    ]


# ---------------------------------------------------------------------------- TMOUT


def test_the_workstation_tmout_is_its_roles_idle_time(lab: Checked) -> None:
    for role, seconds in (("finance", 300), ("parts", 900)):
        text = _workstation_file(lab, TMOUT_FILE, role)
        assert re.findall(r"^  TMOUT=(\d+)$", text, re.MULTILINE) == [str(seconds)]


def test_both_roles_render_the_same_tmout_construct(
    lab: Checked, hardening_vars: dict[str, Any]
) -> None:
    rendered = _rendered(lab, hardening_vars, TMOUT_FILE)
    statements = {
        role: [re.sub(r"=\d+$", "=N", line) for line in _statements(text)]
        for role, text in rendered.items()
    }
    assert statements["hardening"] == statements["workstation"]


SHELLS = [shell for shell in ("bash", "dash") if shutil.which(shell)]
# The file sourced twice, then what a user would try; prints TMOUT and whether unset failed.
PROBE = '. "$1"; . "$1"; echo "TMOUT=$TMOUT"; (unset TMOUT) 2>/dev/null || echo read-only'


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("role", ["hardening", "workstation"])
@pytest.mark.parametrize("inherited", [None, "same", "9999"])
def test_tmout_is_read_only_in_every_login_shell(
    lab: Checked,
    hardening_vars: dict[str, Any],
    tmp_path: Path,
    *,
    shell: str,
    role: str,
    inherited: str | None,
) -> None:
    text = _rendered(lab, hardening_vars, TMOUT_FILE)[role]
    (value,) = re.findall(r"^  TMOUT=(\d+)$", text, re.MULTILINE)
    script = tmp_path / "storeops-tmout.sh"
    script.write_text(text)
    env = {"PATH": "/usr/bin:/bin"}
    if inherited is not None:  # exported by the parent login shell (tmux, bash -l, su)
        env["TMOUT"] = value if inherited == "same" else inherited
    done = subprocess.run(
        [shell, "-c", PROBE, "probe", str(script)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.splitlines() == [f"TMOUT={value}", "read-only"]
