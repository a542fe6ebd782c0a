"""The validator, one bad fixture per rule: each must report exactly its expected errors.

Fixtures: tests/fixtures/inventories/good/ is a complete, valid inventory; each folder in
tests/fixtures/inventories/bad/ holds only the files that differ from it (plus DELETE, a list
of files to remove) and expected.txt, the exact report, one `file: field: message` per line
(paths relative to the inventory).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from storeops import cli
from storeops.validate import is_secret_name, summary, validate
from storeops.yamlfiles import VaultPasswords
from tests.conftest import (
    BAD_INVENTORIES,
    FIXTURE_ROLES,
    FIXTURE_VAULT_PASSWORD,
    REPO,
    build_inventory,
)

BAD_CASES = sorted(p.name for p in BAD_INVENTORIES.iterdir() if p.is_dir())


def _report(inventory: Path, passwords: VaultPasswords | None = None) -> list[str]:
    passwords = passwords or VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD])
    raw = validate(inventory, passwords, FIXTURE_ROLES)
    return [issue.render(raw.root) for issue in raw.issues]


def test_good_inventory_has_no_issue(good_inventory: Path) -> None:
    assert _report(good_inventory) == []


def test_good_inventory_summary(good_inventory: Path) -> None:
    raw = validate(
        good_inventory, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), FIXTURE_ROLES
    )
    assert summary(raw) == (
        "inventory inventory OK: 2 stores (aa01, bb01; pilot aa01), "
        "5 hosts (2 dms, 2 db, 1 backup, 1 workstation)"
    )


def test_every_bad_fixture_has_an_expected_report() -> None:
    assert len(BAD_CASES) >= 25
    for case in BAD_CASES:
        assert (BAD_INVENTORIES / case / "expected.txt").is_file(), case


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_inventory_reports_exactly_its_errors(case: str, tmp_path: Path) -> None:
    overlay = BAD_INVENTORIES / case
    inventory = build_inventory(tmp_path / "inventory", overlay)
    expected = (overlay / "expected.txt").read_text().splitlines()
    assert _report(inventory) == expected


def test_wrong_vault_password_names_each_encrypted_file(
    good_inventory: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n")
    report = _report(good_inventory, VaultPasswords.from_files([wrong]))
    assert len(report) == 1
    assert report[0].startswith(
        "group_vars/all/vault.yml: cannot decrypt with the given vault password"
    )


def test_no_vault_password_is_an_error_not_a_pass(good_inventory: Path) -> None:
    report = _report(good_inventory, VaultPasswords())
    assert report[0].startswith(
        "group_vars/all/vault.yml: file is vault-encrypted and no vault password"
    )


def test_missing_inventory_directory(tmp_path: Path) -> None:
    raw = validate(tmp_path / "nowhere", VaultPasswords(), FIXTURE_ROLES)
    assert [issue.message for issue in raw.issues] == ["is not an inventory directory"]


@pytest.mark.parametrize(
    "name",
    [
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_become_pass",
        "ansible_become_password",
        "ansible_httpapi_pass",
        "ansible_net_auth_pass",
        "db_passwd",
        "ssh_key_passphrase",
        "restic_passphrase",
        "dbpassword",
        "api_token",
        "client_secret",
        "snmp_community",
        "vpn_psk",
        "ssh_private_key",
        "api_key",
        "aws_access_key",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "ansible_ssh_private_key_file",
        "dms_password_file",
        "keyed_groups",
        "ssh_authorized_keys",
        "dms_port",
        "passthrough",
        "bypass_cache",
    ],
)
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


def test_a_private_key_in_clear_is_a_secret_whatever_its_name(good_inventory: Path) -> None:
    (good_inventory / "group_vars" / "store_aa01" / "keys.yml").write_text(
        '---\nansible_ssh_common_args: "-----BEGIN OPENSSH PRIVATE KEY-----"\n'
    )
    assert _report(good_inventory) == [
        "group_vars/store_aa01/keys.yml: ansible_ssh_common_args: secret in plain text: move it "
        "to an encrypted vault.yml as vault_ansible_ssh_common_args and set "
        "ansible_ssh_common_args: '{{ vault_ansible_ssh_common_args }}'"
    ]


HOSTILE = [
    b"\xff\xfe\x00\x00garbage",
    "store:\n  name: 门店".encode("gbk"),
    b"---\n" + b"[" * 3000 + b"]" * 3000,
    b"---\n{" * 500,
    b"---\n? {a: b}\n: c\n",
    b"---\nnull: 1\ntrue: 2\n2026-01-01: 3\n",
    b"--- !!python/object:os.system\nx: 1\n",
    b"---\n&a [*a]\n",
    b"---\n*undefined\n",
    b"$ANSIBLE_VAULT;1.1;AES256\nnot-hex\n",
    b"---\n- a\n- b\n",
    b"",
    b"---\n'just a string'\n",
]


@pytest.mark.parametrize(
    "content", [*HOSTILE, *(random.Random(n).randbytes(200) for n in range(20))]
)
@pytest.mark.parametrize("where", ["group_vars/all/hostile.yml", "hosts.yml", "host_vars/aa01-db"])
def test_hostile_files_are_errors_never_a_traceback(
    content: bytes, where: str, good_inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = good_inventory / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    status = cli.main(
        ["validate", str(good_inventory), "--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    )
    error = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in error
    assert where in error


def test_hostile_file_through_the_command_line_has_no_traceback(good_inventory: Path) -> None:
    (good_inventory / "group_vars" / "all" / "gbk.yml").write_bytes("备注: 门店".encode("gbk"))
    run = subprocess.run(
        [str(REPO / ".venv" / "bin" / "storeops"), "validate", str(good_inventory)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_VAULT_PASSWORD_FILE": str(FIXTURE_VAULT_PASSWORD)},
        cwd=REPO,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "group_vars/all/gbk.yml: is not UTF-8" in run.stderr
    assert "GBK" in run.stderr


def _lab_copy(tmp_path: Path) -> tuple[Path, VaultPasswords]:
    copy = Path(shutil.copytree(REPO / "inventory" / "lab", tmp_path / "lab"))
    return copy, VaultPasswords.from_files([REPO / "lab" / "vault-password.txt"], "lab")


def test_a_missing_store_secret_is_reported_in_the_stores_vault_for_its_users(
    tmp_path: Path,
) -> None:
    """The issue's example: the store's backup password, used by its db and dms hosts (the
    backup server's play only prepares SFTP users), missing from the store's vault.yml."""
    from ansible.parsing.vault import VaultLib

    lab, passwords = _lab_copy(tmp_path)
    vault = lab / "group_vars" / "store_sh01" / "vault.yml"
    vaultlib = VaultLib(passwords.secrets)
    lines = vaultlib.decrypt(vault.read_bytes()).decode().splitlines()
    kept = "\n".join(line for line in lines if "vault_backup_repository_password" not in line)
    vault.write_bytes(vaultlib.encrypt(kept + "\n", passwords.secrets[0][1], "lab"))
    raw = validate(lab, passwords)
    assert [issue.render(raw.root) for issue in raw.issues] == [
        "group_vars/store_sh01/vault.yml: vault_backup_repository_password: missing vault "
        "variable: role backup needs it for sh01-db, sh01-dms"
    ]


def test_the_lab_vault_is_labelled_and_a_copy_of_the_lab_stays_valid(tmp_path: Path) -> None:
    for vault in (REPO / "inventory" / "lab").rglob("vault.yml"):
        assert vault.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;lab\n"), vault
    lab, passwords = _lab_copy(tmp_path)
    assert validate(lab, passwords).issues == []


def test_encrypting_without_a_vault_id_fails_instead_of_using_the_lab_password(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.yml"
    secret.write_text("---\nvault_x: production secret\n")
    run = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-vault"), "encrypt", str(secret)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert run.returncode != 0
    assert "encrypt-vault-id" in run.stderr
    assert secret.read_text().startswith("---")


PLAYBOOK_VARS = REPO / "tests" / "fixtures" / "inventories" / "playbook-vars"


@pytest.mark.parametrize("given", ["playbooks/site.yml", "playbooks"])
def test_variables_beside_the_playbooks_are_judged(given: str, tmp_path: Path) -> None:
    """group_vars/ and host_vars/ beside a played playbook (site.yml's, and sub/ for the play
    imported from there) override the inventory's: a derived variable, a secret in clear
    text, the store block are reported in their file; only/ runs no play, so not read."""
    inventory = build_inventory(tmp_path / "inventory")
    shutil.copytree(PLAYBOOK_VARS / "playbooks", tmp_path / "playbooks")
    passwords = VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD])
    raw = validate(inventory, passwords, FIXTURE_ROLES, playbooks=[tmp_path / given])
    expected = (PLAYBOOK_VARS / "expected.txt").read_text().splitlines()
    assert [issue.render(tmp_path) for issue in raw.issues] == expected
    assert validate(inventory, passwords, FIXTURE_ROLES).issues == []  # the inventory alone


def test_storeops_validate_reads_the_projects_playbook_vars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default the command judges the project's playbooks/ (as every run loads them)."""
    project = tmp_path / "project"
    shutil.copytree(PLAYBOOK_VARS / "playbooks", project / "playbooks")
    shutil.copytree(FIXTURE_ROLES, project / "roles")
    inventory = build_inventory(project / "inventory")
    monkeypatch.setattr("storeops.cli.roles_dir", lambda near: project / "roles")
    args = ["validate", str(inventory), "--vault-password-file", str(FIXTURE_VAULT_PASSWORD)]
    assert cli.main(args) == 1
    assert "playbooks/sub/group_vars/all/creds.json: ansible_become_pass" in capsys.readouterr().err
    assert cli.main([*args, "--playbooks", str(project / "playbooks" / "sub" / "more.yml")]) == 1
    err = capsys.readouterr().err
    assert "creds.json: ansible_become_pass" in err
    assert "playbooks/group_vars/all.yml" not in err
