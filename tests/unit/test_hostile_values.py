"""Hostile values: every string of the schema refuses control characters, each sink's value
is as narrow as its use, and the validator names the file and field of a bad one."""

from __future__ import annotations

import importlib
import shlex
import types
import typing
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from storeops import schema
from storeops.validate import validate
from storeops.workstation import schema as workstation_schema
from storeops.workstation.commands import nft_helper_command
from storeops.yamlfiles import VaultPasswords
from tests.conftest import FIXTURE_ROLES, FIXTURE_VAULT_PASSWORD, FIXTURES, REPO, build_inventory

WORKSTATION_VALID = FIXTURES / "inventories" / "workstation" / "valid"

HOSTILE_SUFFIXES = ["\n", "\nusername backdoor privilege 15 secret x", "\r", "\x00", "\u2028"]


def _schema_modules() -> list[types.ModuleType]:
    """The core schema and every feature's part of it (``storeops/<feature>/schema.py``)."""
    package = REPO / "modules" / "storeops"
    features = sorted(path.parent.name for path in package.glob("*/schema.py"))
    return [schema, *(importlib.import_module(f"storeops.{name}.schema") for name in features)]


def _models() -> list[type[BaseModel]]:
    found = {
        value
        for module in _schema_modules()
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel
    }
    return sorted(found, key=lambda model: model.__name__)


def _string_leaves(annotation: Any, metadata: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The metadata of every str the annotation holds (in lists, dicts, unions, Annotated)."""
    if annotation is str:
        return [metadata]
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return _string_leaves(inner, (*metadata, *extra))
    origin = get_origin(annotation)
    if origin in (list, dict, tuple, typing.Union, types.UnionType):
        return [leaf for arg in get_args(annotation) for leaf in _string_leaves(arg)]
    return []


def _is_safe(metadata: tuple[Any, ...]) -> bool:
    return any(getattr(getattr(m, "func", None), "storeops_safe_text", False) for m in metadata)


def test_every_string_field_of_the_schema_refuses_control_characters() -> None:
    unsafe = []
    for model in _models():
        for name, field in model.model_fields.items():
            annotation = field.rebuild_annotation()
            for leaf in _string_leaves(annotation):
                if not _is_safe(leaf):
                    unsafe.append(f"{model.__name__}.{name}")
    assert unsafe == []


def test_the_walk_sees_the_core_schema_and_the_features_parts() -> None:
    names = {model.__name__ for model in _models()}
    assert {"HostsFile", "StoreVars", "WorkstationGroupVars", "AssetRecord"} <= names


@pytest.mark.parametrize(
    ("type_", "good"),
    [
        (schema.Text, "BMW Shanghai Minhang 4S"),
        (workstation_schema.UserName, "wang.fang"),
        (workstation_schema.SudoCommand, "/usr/bin/apt-get update"),
        (workstation_schema.AptOrigin, "origin=Debian,codename=${distro_codename}-security"),
        (schema.HttpUrl, "http://10.77.1.40:8080"),
        (workstation_schema.PrinterUri, "ipp://10.77.1.110/ipp/print"),
        (schema.FileName, "dms-3.2.0.tar.gz"),
        (schema.NftName, "storeops"),
        (schema.DeviceText, "Authorised access only."),
        (schema.DevicePath, "flash:storeops-rollback"),
        (workstation_schema.Calendar, "*-*-* 12:30:00"),
        (workstation_schema.MirrorHost, "database.clamav.net"),
        (workstation_schema.SshPublicKey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI it@example"),
        (schema.HostName, "sh01-ws01"),
        (schema.StoreCode, "sh01"),
        (schema.Version, "3.2.0"),
        (schema.AbsolutePath, "/srv/archive"),
        (schema.SshAlgorithm, "chacha20-poly1305@openssh.com"),
        (schema.SysctlName, "net.ipv4.conf.all.rp_filter"),
        (schema.SysctlValue, "32768 60999"),
        (schema.Umask, "027"),
        (schema.SudoersRule, "ALL=(ALL) NOPASSWD:ALL"),
        (schema.DebianPackage, "inetutils-telnetd"),
        (schema.AptOriginPattern, "origin=Debian,codename=${distro_codename}-security"),
        (schema.HostOrAddress, "ntp.aliyun.com"),
        (schema.JournalSize, "4G"),
        (schema.ChronyOptions, "iburst minpoll 4"),
        (schema.JinjaExpression, "{{ hardening_automation_user }}"),
        (schema.UrlPath, "/work-orders/0?fields=id"),
        (schema.NotifyUrl, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a-7f9c"),
        (schema.NotifyUrl, "https://oapi.dingtalk.com/robot/send?access_token=ab12&x=1"),
        (schema.NotifyUrl, "http://10.77.1.1:8789/robot/send?access_token=lab"),
        (schema.NotifyUrl, "http://127.0.0.1:8789/hook"),
        (schema.EmailAddress, "it-sh01@bmw-dealer-group.example.cn"),
        (schema.VaultReference, "{{ vault_notify_wecom_url }}"),
        (schema.NotifyChannelName, "store-it-wecom"),
    ],
)
def test_a_good_value_passes_and_with_a_control_character_it_does_not(
    type_: Any, good: str
) -> None:
    adapter = TypeAdapter(type_)
    assert adapter.validate_python(good) == good
    for suffix in HOSTILE_SUFFIXES:
        with pytest.raises(ValidationError):
            adapter.validate_python(good + suffix)


@pytest.mark.parametrize(
    ("type_", "bad"),
    [
        (workstation_schema.SudoCommand, "/usr/bin/apt-get update, /bin/sh"),
        (workstation_schema.SudoCommand, "@includedir /tmp"),
        (workstation_schema.SudoCommand, "/usr/bin/vi /etc/sudoers\\"),
        (workstation_schema.SudoCommand, "/usr/bin/env PATH=/tmp sh"),
        (workstation_schema.SudoCommand, "/usr/bin/apt-get -o Dpkg::Pre-Invoke=sh"),
        (workstation_schema.SudoCommand, "/usr/bin/less # comment"),
        (workstation_schema.AptOrigin, 'origin=Debian";};APT::Update::Pre-Invoke {"sh'),
        (workstation_schema.AptOrigin, "origin=Debian\\"),
        (schema.FileName, "../../../../root/.bashrc"),
        (schema.FileName, ".bashrc"),
        (schema.FileName, "a/b.tar.gz"),
        (schema.FileName, "dms..tar.gz"),
        (schema.NftName, "storeops; reboot"),
        (schema.NftName, "storeops inet x"),
        (schema.DeviceText, "end ^C"),
        (schema.DevicePath, "flash:rollback maximum 1"),
        (schema.DevicePath, "rollback"),
        (schema.HttpUrl, "http://host/$(reboot)"),
        (schema.AbsolutePath, "/srv/../etc"),
        (schema.SshAlgorithm, "aes256-ctr,3des-cbc"),
        (schema.SshAlgorithm, "+aes128-cbc"),
        (schema.SysctlName, "-kernel.modprobe"),
        (schema.SysctlName, "kernel.modprobe = /tmp/x"),
        (schema.SysctlValue, "1 # comment"),
        (schema.SysctlValue, ""),
        (schema.Umask, "22"),
        (schema.Umask, "027; id"),
        (schema.SudoersRule, "ALL=(ALL) ALL # comment"),
        (schema.SudoersRule, "ALL=(ALL) ALL \\"),
        (schema.SudoersRule, "ALL=(ALL) ALL @includedir /tmp"),
        (schema.DebianPackage, "telnetd --allow-downgrades"),
        (schema.HostOrAddress, "ntp.aliyun.com iburst"),
        (schema.JournalSize, "4G; x"),
        (schema.ChronyOptions, "iburst\ninclude /tmp/x"),
        (schema.ChronyOptions, "iburst; include /tmp/x"),
        (schema.JinjaExpression, "{{ a }} extra"),
        (schema.UrlPath, "/health HTTP/1.1"),
        (schema.UrlPath, "http://elsewhere.example/health"),
        (schema.UrlPath, "/health#x"),
        # robots and receivers: https, http only to a loopback or private address
        (schema.NotifyUrl, "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x"),
        (schema.NotifyUrl, "http://8.8.8.8/hook"),
        (schema.NotifyUrl, "https://user:pw@example.cn/hook"),
        (schema.NotifyUrl, "https://example.cn/hook#x"),
        (schema.NotifyUrl, "https://example.cn/hook?key=$(reboot)"),
        (schema.NotifyUrl, "ftp://example.cn/hook"),
        (schema.EmailAddress, "it@example.cn, evil@example.com"),
        (schema.EmailAddress, "IT <it@example.cn>"),
        (schema.EmailAddress, "it@localhost"),
        (schema.VaultReference, "{{ lookup('pipe', 'id') }}"),
        (schema.VaultReference, "{{ notify_url }}"),
        (schema.VaultReference, "{{ vault_a }} {{ vault_b }}"),
        (
            workstation_schema.PemCertificate,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n\n",
        ),
        (
            workstation_schema.PemCertificate,
            "-----BEGIN CERTIFICATE-----\nAA\rAA\n-----END CERTIFICATE-----\n",
        ),
    ],
)
def test_values_narrow_as_their_use(type_: Any, bad: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(type_).validate_python(bad)


def test_a_trailing_newline_is_not_a_full_match() -> None:
    """`$` would accept 'wang.fang\\n': every pattern is a full match."""
    assert TypeAdapter(workstation_schema.UserName).validate_python("wang.fang") == "wang.fang"
    with pytest.raises(ValidationError):
        TypeAdapter(workstation_schema.UserName).validate_python("wang.fang\n")
    with pytest.raises(ValidationError):
        workstation_schema.WorkstationHostVars(workstation_owner="wang.fang\n")


# ---------------------------------------------------------------------------- the validator


def _inventory(tmp_path: Path) -> Path:
    """The good fixture inventory with the valid workstation settings (both validate clean)."""
    return build_inventory(tmp_path / "inv", WORKSTATION_VALID)


def _set(path: Path, keys: list[Any], value: Any) -> None:
    data = yaml.safe_load(path.read_text())
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _issues(root: Path) -> list[str]:
    raw = validate(root, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), FIXTURE_ROLES)
    return [f"{issue.file.relative_to(root)}: {issue.field}" for issue in raw.issues]


@pytest.mark.parametrize(
    ("file", "keys", "value", "field"),
    [
        (
            "group_vars/store_aa01/store.yml",
            ["store", "name"],
            "BMW\nusername backdoor privilege 15 secret x",
            "store.name",
        ),
        (
            "group_vars/store_aa01/store.yml",
            ["store", "zones", "office", "description"],
            "office\n!\nusername backdoor privilege 15 secret x",
            "store.zones.office.description",
        ),
        (
            "group_vars/all/workstation.yml",
            ["workstation_sudo_tiers", "desk-support", "commands", 0],
            "/usr/bin/apt-get update\n@includedir /tmp",
            "workstation_sudo_tiers.desk-support.commands[0]",
        ),
        (
            "group_vars/all/workstation.yml",
            ["workstation_security_origins", 0],
            'origin=Debian";\nAPT::Update::Pre-Invoke {"sh";};',
            "workstation_security_origins[0]",
        ),
        (
            "group_vars/all/dms_catalog.yml",
            ["dms_catalog", 0, "artifact"],
            "../../../../root/.bashrc",
            "dms_catalog[0].artifact",
        ),
        (
            "group_vars/all/dms_catalog.yml",
            ["dms_catalog", 0, "signature"],
            "../.ssh/authorized_keys",
            "dms_catalog[0].signature",
        ),
        (
            "group_vars/all/dms_catalog.yml",
            ["dms_catalog", 0, "upgrade_from"],
            ["4.0.0"],
            "dms_catalog[0]",
        ),
        (
            "group_vars/all/storeops.yml",
            ["storeops_group", "name"],
            "group\n",
            "storeops_group.name",
        ),
        (
            "group_vars/all/storeops.yml",
            ["storeops_report"],
            {"availability_target": 100.5},
            "storeops_report.availability_target",
        ),
        (
            "group_vars/all/storeops.yml",
            ["storeops_report"],
            {"availability_target": "99.5</script>"},
            "storeops_report.availability_target",
        ),
    ],
)
def test_storeops_validate_names_the_file_and_field_of_a_hostile_value(
    tmp_path: Path, file: str, keys: list[Any], value: Any, field: str
) -> None:
    root = _inventory(tmp_path)
    _set(root / file, keys, value)
    assert f"{file}: {field}" in _issues(root)


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        ({"type": "wecom", "url": "https://qyapi.weixin.qq.com/send?key=in-plain-text"}, "url"),
        ({"type": "webhook", "url": "http://203.0.113.7/hook"}, "url"),
        ({"type": "dingtalk", "url": "{{ vault_u }}", "secret": "SEC-plain"}, "secret"),
        (
            {
                "type": "smtp",
                "host": "smtp.example.cn",
                "sender": "a@example.cn",
                "to": ["b@example.cn\nBcc: everyone@example.cn"],
            },
            "to",
        ),
        (
            {
                "type": "smtp",
                "host": "smtp.example.cn -oProxyCommand=x",
                "sender": "a@example.cn",
                "to": ["b@example.cn"],
            },
            "host",
        ),
        ({"type": "telegram", "url": "{{ vault_u }}"}, ""),
    ],
)
def test_a_hostile_notification_channel_is_refused_by_the_validator(
    tmp_path: Path, channel: dict[str, Any], field: str
) -> None:
    """storeops_notify (group_vars/all or a store's): secrets only as vault references, URLs
    https (http to loopback or private addresses), one address per recipient."""
    root = _inventory(tmp_path)
    path = root / "group_vars" / "store_aa01" / "notify.yml"
    path.write_text(yaml.safe_dump({"storeops_notify": {"channels": [channel]}}))
    found = [
        issue
        for issue in _issues(root)
        if issue.startswith("group_vars/store_aa01/notify.yml: storeops_notify.channels[0]")
    ]
    assert found and all(field in issue for issue in found), _issues(root)


def test_a_hostile_firewall_table_is_refused_by_the_validator(tmp_path: Path) -> None:
    root = _inventory(tmp_path)
    path = root / "group_vars" / "all" / "firewall.yml"
    path.write_text(yaml.safe_dump({"firewall_table": "storeops; touch /tmp/pwned"}))
    assert "group_vars/all/firewall.yml: firewall_table" in _issues(root)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("network_archive_path", "flash:x\n!\nusername backdoor privilege 15 secret 0 x"),
        ("network_login_banner", "Welcome ^C\nusername backdoor"),
        ("network_revert_minutes", 500),
        ("network_revert_minutes", "10; reload"),
        ("network_previous_username", "admin privilege 15"),
        ("network_running_management_address", "10.77.1.3 255.255.255.0"),
    ],
)
def test_the_network_safety_net_variables_are_constrained(
    tmp_path: Path, variable: str, value: Any
) -> None:
    root = _inventory(tmp_path)
    path = root / "group_vars" / "all" / "network.yml"
    path.write_text(yaml.safe_dump({variable: value}))
    assert f"group_vars/all/network.yml: {variable}" in _issues(root)


HARDENING_DEFAULTS = yaml.safe_load((REPO / "roles/hardening/defaults/main.yml").read_text())


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("hardening_automation_user", "storeops ALL=(ALL) NOPASSWD:ALL"),
        ("hardening_ssh_ciphers", ["aes256-ctr\nPermitRootLogin yes"]),
        ("hardening_ssh_macs", ["hmac-sha2-512,hmac-md5"]),
        ("hardening_ssh_kex", []),
        ("hardening_network_sysctls", [{"name": "net.ipv4.ip_forward\nx", "value": "0"}]),
        ("hardening_network_sysctls", [{"name": "net.ipv4.ip_forward", "value": "0\nx = 1"}]),
        ("hardening_core_dump_sysctls", [{"name": "kernel.core_pattern", "value": 0}]),
        ("hardening_core_dump_sysctls", [{"name": "fs.suid_dumpable"}]),
        ("hardening_kernel_sysctls", [{"name": "kernel.sysrq\nx", "value": "0"}]),
        ("hardening_kernel_sysctls", [{"name": "kernel.sysrq", "value": "0\nx = 1"}]),
        ("hardening_unused_filesystems", ["vfat\ninstall cramfs /tmp/x"]),
        ("hardening_unused_filesystems", ["vfat /bin/sh"]),
        ("hardening_umask", 23),  # an unquoted 027
        ("hardening_umask", "027\nchmod 777 /etc/shadow"),
        ("hardening_sudo_groups", [{"name": "adm", "rule": "ALL=(ALL) ALL\nx ALL=ALL"}]),
        (
            "hardening_sudo_groups",
            [{"name": "ALL,root", "rule": "ALL=(ALL) ALL", "members": ["storeops"]}],
        ),
        (
            "hardening_sudo_groups",
            [{"name": "adm", "rule": "ALL=(ALL) ALL", "members": ["a; reboot"]}],
        ),
        ("hardening_sudo_exempt_users", ["root\nstoreops"]),
        ("hardening_nologin_shell", "/bin/sh -c reboot"),
        ("hardening_setuid_blacklist", ["/usr/bin/../../etc/shadow"]),
        ("hardening_audit_privileged_paths", ["/usr", "-exec reboot ;"]),
        ("hardening_legacy_packages", ["telnetd\n"]),
        ("hardening_security_origins", ['origin=Debian";}; APT::x {"']),
        ("hardening_journal_system_max_use", "4G\nStorage=none"),
        ("hardening_ntp_servers", ["ntp.aliyun.com\ninclude /tmp/x"]),
        ("hardening_ntp_server_options", "iburst\nserver evil.example"),
        ("hardening_controller_address", "10.0.0.1 -T"),
        ("hardening_tmout", 0),
        ("hardening_tmout", 3600),
        ("hardening_tmout", "900"),
        ("hardening_ssh_client_alive_interval", "300; reboot"),
        ("hardening_ssh_max_auth_tries", 100),
        ("hardening_pwquality_minclass", 5),
        ("hardening_audit_auid_min", "1000 -F x"),
        ("hardening_journal_max_retention_days", 30),
        ("hardening_auditd_disk_full_action", "ignore"),
        ("hardening_auditd_space_left_action", "exec /tmp/x"),
    ],
)
def test_the_hardening_variables_are_constrained(variable: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        schema.ConstrainedRoleVars.model_validate({variable: value})
    assert {error["loc"][0] for error in refused.value.errors()} == {variable}


def test_the_hardening_defaults_pass_and_every_value_that_is_written_is_constrained() -> None:
    schema.ConstrainedRoleVars.model_validate(HARDENING_DEFAULTS)
    # The toggles and other booleans are read with `| bool`; hardening_workstation is computed.
    written = {
        name
        for name, value in HARDENING_DEFAULTS.items()
        if not isinstance(value, bool) and name != "hardening_workstation"
    }
    assert written - set(schema.ConstrainedRoleVars.model_fields) == set()


def test_a_hostile_hardening_value_is_refused_by_the_validator_with_the_schemas_reason(
    tmp_path: Path,
) -> None:
    root = _inventory(tmp_path)
    path = root / "group_vars" / "all" / "hardening.yml"
    path.write_text(yaml.safe_dump({"hardening_umask": "027\nchmod 777 /etc/shadow"}))
    raw = validate(root, VaultPasswords.from_files([FIXTURE_VAULT_PASSWORD]), REPO / "roles")
    reasons = [
        issue.message
        for issue in raw.issues
        if issue.file == path and issue.field == "hardening_umask"
    ]
    assert reasons
    assert all("unknown variable" not in reason for reason in reasons)
    assert any("control characters" in reason for reason in reasons)


def test_the_upgrade_cycle_and_the_downgrade_are_refused() -> None:
    with pytest.raises(ValidationError, match="downgrade or a cycle"):
        schema.Release(version="3.1.0", artifact="a", sha256="1" * 64, upgrade_from=["4.0.0"])
    with pytest.raises(ValidationError, match="downgrade or a cycle"):
        schema.Release(version="3.2.0", artifact="a", sha256="1" * 64, upgrade_from=["3.2.0"])
    # 3.2.* matches 3.2.5 too: a later release of the same minor would be a downgrade.
    with pytest.raises(ValidationError, match="downgrade or a cycle"):
        schema.Release(version="3.2.1", artifact="a", sha256="1" * 64, upgrade_from=["3.2.*"])
    assert schema.Release(version="4.0.0", artifact="a", sha256="1" * 64, upgrade_from=["3.2.*"])


# ---------------------------------------------------------------------------- the root shell


def test_the_firewall_helper_command_quotes_every_word_and_refuses_a_bad_table() -> None:
    state_dir = "/var/lib/storeops/fire wall;reboot"
    command = nft_helper_command("apply", "storeops", state_dir, "--src", "/tmp/a b")
    assert shlex.split(command)[2:] == [
        "apply",
        "--table",
        "storeops",
        "--state-dir",
        state_dir,
        "--src",
        "/tmp/a b",
    ]
    for table in ("storeops; reboot", "storeops\n", "$(reboot)", "a b"):
        with pytest.raises(ValueError, match="not an nftables table name"):
            nft_helper_command("status", table, "/var/lib/storeops/firewall")


def test_the_host_side_helper_refuses_a_bad_table_on_its_own() -> None:
    from module_utils.storeops_nft import Host, table_name

    assert table_name("storeops") == "storeops"
    for table in ("storeops\n", "x; reboot", "storeops\ndelete table inet other"):
        with pytest.raises(ValueError, match="not a table name"):
            Host("/usr/sbin/nft", "inet", table, 30)
