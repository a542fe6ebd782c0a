"""Values are quoted or refused where they are rendered, whatever the schema let through.

Every template that writes a configuration file or a device configuration (the roles', the
workstation role's, the network ACL templates) is rendered with the lab inventory's real
variables, then again with each string value that reaches the output replaced by a hostile
one (``x<newline>injected line``): the render either refuses (an error naming the value) or
keeps the value on its line, escaped. No line of any output may start with the injected
text. A new template must be added here (or to REPORTS, with the reason it writes no file).

And no Python regex used for validation is ``$``-anchored (``$`` also matches before a
trailing newline): a full match or ``\\Z``.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from storeops import quoting
from storeops.acl import render_acl_config, switch_acls
from storeops.ansible_view import load as load_ansible_view
from storeops.network import device_model
from storeops.role_templates import play_variables, render
from storeops.workstation.plan import Checked, assignment_for, plan_for
from storeops.yamlfiles import VaultPasswords
from tests.conftest import REPO

LAB_PASSWORDS = [REPO / "lab" / "vault-password.txt"]
HOSTILE = "x\ninjected line"
# Values that are configuration text by design, rendered by a template tested here too.
MULTI_LINE = {("network_device", "acl_config"): "the ACL templates' output (tested below)"}

# Templates whose output is no configuration file: the play's own messages and JSON facts.
REPORTS = {
    "roles/network/templates/summary.j2": "the network play's summary message",
    "roles/dms_rollout/templates/rollout-summary.j2": "the rollout's summary message",
    "roles/backup/templates/drill-report.j2": "the drill's result, built with to_json",
}

# Each role template: the lab host it is rendered for, and the roles whose defaults it sees.
ROLE_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "roles/hardening/templates/etc/chrony/chrony.conf.j2": ("sh01-db", ("hardening",)),
    "roles/hardening/templates/etc/systemd/journald.conf.d/storeops.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/systemd/system/chrony.service.d/storeops.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/apt/apt.conf.d/20auto-upgrades.j2": ("sh01-db", ("hardening",)),
    "roles/hardening/templates/etc/apt/apt.conf.d/52storeops-security-only.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/audit/rules.d/storeops-mlps.rules.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/profile.d/storeops-tmout.sh.j2": ("sh01-db", ("hardening",)),
    "roles/hardening/templates/etc/profile.d/storeops-umask.sh.j2": ("sh01-db", ("hardening",)),
    "roles/hardening/templates/etc/security/limits.d/60-storeops-coredump.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/ssh/sshd_config.d/00-storeops-hardening-crypto.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/ssh/sshd_config.d/00-storeops-hardening-forwarding.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/ssh/sshd_config.d/00-storeops-hardening-idle.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/ssh/sshd_config.d/00-storeops-hardening-logging.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/ssh/sshd_config.d/00-storeops-hardening-login.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/ssh/sshd_config.d/00-storeops-hardening-trust.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/ssh/sshd_config.d/00-storeops-hardening-version.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/ssh/sshd_config.j2": ("sh01-db", ("hardening",)),
    "roles/hardening/templates/etc/sudoers.d/00-storeops-hardening-groups.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/sysctl.d/60-storeops-coredump.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/sysctl.d/60-storeops-network.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/sysctl.d/60-storeops-kernel.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/modprobe.d/storeops-hardening-filesystems.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/etc/systemd/coredump.conf.d/60-storeops.conf.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/usr/share/pam-configs/storeops-faillock-preauth.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/hardening/templates/usr/share/pam-configs/storeops-faillock.j2": (
        "sh01-db",
        ("hardening",),
    ),
    "roles/common/templates/etc/sudoers.d/storeops-admins.j2": ("sh01-db", ("common",)),
    "roles/dms/templates/etc/systemd/system/storedms.service.j2": ("sh01-dms", ("dms",)),
    "roles/dms/templates/etc/systemd/system/storedms.socket.j2": ("sh01-dms", ("dms",)),
    "roles/dms/templates/etc/storedms/storedms.conf.j2": ("sh01-dms", ("dms",)),
    "roles/dms/templates/usr/local/libexec/storedms-hold-wait.j2": ("sh01-dms", ("dms",)),
    "roles/backup/templates/etc/ssh/sshd_config.d/storeops-backup.conf.j2": (
        "sh01-backup",
        ("backup",),
    ),
    "roles/backup/templates/etc/systemd/system/storeops-backup.timer.j2": ("sh01-db", ("backup",)),
    "roles/backup/templates/etc/systemd/system/storeops-backup.service.j2": (
        "sh01-db",
        ("backup",),
    ),
    "roles/backup/templates/etc/systemd/system/storeops-backup-check.service.j2": (
        "sh01-db",
        ("backup",),
    ),
    "roles/backup/templates/etc/systemd/system/storeops-backup-check.timer.j2": (
        "sh01-db",
        ("backup",),
    ),
    "roles/backup/templates/etc/storeops/backup/config.json.j2": ("sh01-db", ("backup",)),
    "roles/backup/templates/etc/systemd/system/storeops-notify@.service.j2": (
        "sh01-db",
        ("backup",),
    ),
    "roles/firewall/templates/etc/nftables.conf.j2": ("sh01-db", ("firewall",)),
    "roles/firewall/templates/etc/systemd/system/nftables.service.d/storeops.conf.j2": (
        "sh01-db",
        ("firewall",),
    ),
    "roles/mariadb/templates/etc/mysql/mariadb.conf.d/60-storeops.cnf.j2": (
        "sh01-db",
        ("mariadb",),
    ),
    "roles/patching/templates/etc/apt/sources.list.d/storeops.sources.j2": (
        "sh01-dms",
        ("patching",),
    ),
    "roles/patching/templates/etc/apt/preferences.d/storeops-dms.pref.j2": (
        "sh01-dms",
        ("patching",),
    ),
    "roles/patching/templates/etc/needrestart/conf.d/storeops.conf.j2": (
        "sh01-dms",
        ("patching",),
    ),
    **{
        f"roles/controller/templates/{template}.j2": ("sh01-db", ("controller",))
        for template in (
            "etc/systemd/system/storeops-sample.service",
            "etc/systemd/system/storeops-sample.timer",
            "etc/systemd/system/storeops-health.service",
            "etc/systemd/system/storeops-health.timer",
            "etc/storeops/controller.env",
        )
    },
    "roles/network/templates/intended/cisco_ios.cfg.j2": ("sh01-sw01", ("network",)),
    "roles/network/templates/intended/huawei_vrp.cfg.j2": ("sh01-fw01", ("network",)),
}
ACL_TEMPLATES = {
    "modules/storeops/network_templates/cisco_ios/acl.j2": "cisco_ios",
    "modules/storeops/network_templates/huawei_vrp/acl.j2": "huawei_vrp",
}


def _templates() -> list[str]:
    found = [*REPO.glob("roles/*/templates/**/*.j2")]
    found += REPO.glob("modules/storeops/network_templates/**/*.j2")
    return sorted(str(path.relative_to(REPO)) for path in found)


# The workstation role's templates see the workstation's plan (the deploy renders them too).
WORKSTATION_TEMPLATES_DIR = "roles/workstation/templates/"
WORKSTATION_TEMPLATES = [
    name for name in _templates() if name.startswith(WORKSTATION_TEMPLATES_DIR)
]


@pytest.fixture(scope="module")
def lab_hosts(lab: Checked) -> dict[str, Any]:
    return load_ansible_view(lab.raw.root, VaultPasswords.from_files(LAB_PASSWORDS))


# ---------------------------------------------------------------------------- poisoning


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _replaced(value: Any, path: tuple[Any, ...], new: str) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    items = list(value)
    items[head] = _replaced(items[head], rest, new)
    return type(value)(items) if isinstance(value, tuple) else items


def _injected_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("injected")]


def _check_poisoned(
    name: str, variables: dict[str, Any], render_with: Callable[[dict[str, Any]], str]
) -> int:
    """Render with each string that reaches the output poisoned; the count of values tried."""
    legit = render_with(variables)
    assert not _injected_lines(legit)
    tried = 0
    for path, value in _leaves(variables):
        if path[0] in ("ansible_managed", "hostvars") or path[:2] in MULTI_LINE:
            continue
        if not ((len(value) >= 2 and value in legit) or "{{" in value):
            continue
        tried += 1
        try:
            text = render_with(_replaced(variables, path, HOSTILE))
        except Exception as error:  # a refusal (ours, or a filter's): it must say why
            assert str(error), f"{name}: {path}: refused without a reason"
            continue
        assert not _injected_lines(text), f"{name}: {'.'.join(map(str, path))} adds a line"
    return tried


# ---------------------------------------------------------------------------- contexts


def _plan_vars(lab: Checked) -> dict[str, Any]:
    plan = plan_for(lab, "sh01-ws01", assignment_for(lab, "sh01-ws01", "wang.fang", "finance"))
    return plan.template_vars()


def _role_vars(lab: Checked, lab_hosts: dict[str, Any], template: str) -> dict[str, Any]:
    host, roles = ROLE_TEMPLATES[template]
    variables = play_variables(host, lab_hosts[host].variables, roles)
    groups: dict[str, list[str]] = {"all": sorted(lab_hosts)}
    for name, lab_host in sorted(lab_hosts.items()):
        for group in lab_host.groups:
            groups.setdefault(group, []).append(name)
    variables["groups"] = groups
    variables["hostvars"] = {
        name: play_variables(name, lab_host.variables, roles)
        for name, lab_host in lab_hosts.items()
    }
    if "network" in roles:
        network_vars = yaml.safe_load((REPO / "roles/network/vars/main.yml").read_text())
        variables.update(play_variables(host, network_vars))
        inventory = lab.inventory
        variables["network_device"] = device_model(inventory, inventory.hosts[host])
    if "firewall" in roles:
        variables["firewall_inbound_rules"] = [
            {"flow": "mgmt-ssh", "sources": ["10.77.1.0/27"], "protocol": "tcp", "ports": "22"}
        ]
    if "patching" in roles:
        # tasks/sources.yml loops over the sources; vars/main.yml's holds come from the catalog.
        variables["item"] = {
            "name": "lab",
            "uris": ["http://10.77.1.1:8809"],
            "suites": ["lab", "lab-security"],
            "components": ["main"],
            "signed_by": "/usr/share/keyrings/storeops-lab.gpg",
        }
        variables["patching_holds"] = [
            {"package": "storedms-runtime", "version": "1.*", "reason": "DMS 3.2.0 needs 1.*"}
        ]
    if "controller" in roles:
        # the play's own variables, and every optional value set so that it is rendered
        variables["playbook_dir"] = str(REPO / "playbooks")
        variables["ansible_inventory_sources"] = [str(REPO / "inventory" / "lab")]
        variables["controller_database_url"] = "mysql+pymysql://storeops@db.hq.example/storeops"
        variables["controller_database_password"] = "from-the-vault"
        variables["controller_vault_password_file"] = "/etc/storeops/vault-password"
    if "hardening" in roles:
        # tasks/auditd.yml: find's setuid/setgid commands on the host, sorted.
        variables["hardening_privileged"] = [
            "/usr/bin/chfn",
            "/usr/bin/passwd",
            "/usr/bin/sudo",
            "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
        ]
    return variables


def test_every_template_is_checked_or_named_a_report() -> None:
    unchecked = set(_templates()) - set(ROLE_TEMPLATES) - set(ACL_TEMPLATES) - set(REPORTS)
    unchecked -= set(WORKSTATION_TEMPLATES)
    assert not unchecked, f"add these templates to test_render_quoting: {sorted(unchecked)}"
    assert set(ROLE_TEMPLATES) | set(ACL_TEMPLATES) | set(REPORTS) <= set(_templates())


@pytest.mark.parametrize("template", WORKSTATION_TEMPLATES)
def test_a_workstation_template_keeps_every_value_on_its_line(lab: Checked, template: str) -> None:
    source = REPO / template
    dest = "/" + template.removeprefix(WORKSTATION_TEMPLATES_DIR).removesuffix(".j2")
    variables = _plan_vars(lab)
    _check_poisoned(template, variables, lambda context: render(source, dest, context))


@pytest.mark.parametrize("template", sorted(ROLE_TEMPLATES))
def test_a_role_template_keeps_every_value_on_its_line(
    lab: Checked, lab_hosts: dict[str, Any], template: str
) -> None:
    source = REPO / template
    variables = _role_vars(lab, lab_hosts, template)
    tried = _check_poisoned(template, variables, lambda context: render(source, "/x", context))
    assert tried or "chrony.service.d" in template  # that one renders no inventory value


@pytest.mark.parametrize("platform", sorted(ACL_TEMPLATES.values()))
@pytest.mark.parametrize("field", ["name", "description", "remark", "interface"])
def test_an_acl_template_refuses_a_value_with_a_newline(
    lab: Checked, platform: str, field: str
) -> None:
    host = next(
        host
        for host in lab.inventory.hosts.values()
        if host.platform is not None and host.platform.value == platform
    )
    acls = switch_acls(lab.inventory, host.store)
    assert acls, f"no ACL for {host.name}"
    first = acls[0]
    if field == "remark":
        entry = dataclasses.replace(first.entries[0], remark=HOSTILE)
        poisoned = dataclasses.replace(first, entries=(entry, *first.entries[1:]))
    elif field == "interface":
        poisoned = dataclasses.replace(first, vlan=None, interface=HOSTILE)
    else:
        poisoned = dataclasses.replace(first, **cast(dict[str, Any], {field: HOSTILE}))
    with pytest.raises(ValueError, match="control character U\\+000A"):
        render_acl_config(platform, [poisoned, *acls[1:]])


# ---------------------------------------------------------------------------- the filters

ONE_LINE_FILTERS = sorted(set(quoting.FILTERS) - {"desktop_string", "pem_certificates"})


@pytest.mark.parametrize("name", ONE_LINE_FILTERS)
@pytest.mark.parametrize("hostile", ["BMW\nusername backdoor", "a\rb", "tab\there", "ls\u2028x"])
def test_every_filter_refuses_a_control_character_naming_the_value(name: str, hostile: str) -> None:
    with pytest.raises(quoting.QuotingError, match=r"^store\.name: control character U\+"):
        quoting.FILTERS[name](hostile, "store.name")


def test_the_error_never_shows_the_value() -> None:
    with pytest.raises(quoting.QuotingError) as refused:
        quoting.one_line("s3cret\npassword", "dms_db_password")
    assert "s3cret" not in str(refused.value)


def test_sudoers_commands_escape_sudoers_characters_and_refuse_comments_and_includes() -> None:
    assert quoting.sudoers_command("/usr/bin/lpstat -p") == "/usr/bin/lpstat -p"
    assert quoting.sudoers_command(r"/bin/x a,b:c=d\e") == r"/bin/x a\,b\:c\=d\\e"
    for hostile in ("/bin/ls #x", "/bin/ls @includedir /tmp"):
        with pytest.raises(quoting.QuotingError, match="not allowed"):
            quoting.sudoers_command(hostile)
    assert quoting.sudoers_name("it-admin") == "it-admin"
    with pytest.raises(quoting.QuotingError, match="not a plain login name"):
        quoting.sudoers_name("ALL,root")


def test_sudoers_rules_refuse_comments_and_continuations() -> None:
    assert quoting.sudoers_rule("ALL=(ALL) NOPASSWD:ALL") == "ALL=(ALL) NOPASSWD:ALL"
    assert quoting.sudoers_rule("ALL=(#0) ALL") == "ALL=(#0) ALL"  # a user ID, no comment
    for hostile, reason in (
        ("ALL=(ALL) ALL # x", "a sudoers comment"),
        ("ALL=(ALL) ALL \\", "continues the line"),
        (" ", "empty"),
    ):
        with pytest.raises(quoting.QuotingError, match=reason):
            quoting.sudoers_rule(hostile, "hardening_sudo_groups rule")


def test_sshd_algorithms_sysctls_umasks_and_audit_paths() -> None:
    for name in ("chacha20-poly1305@openssh.com", "curve25519-sha256", "hmac-sha2-512"):
        assert quoting.ssh_algorithm(name) == name
    for hostile in ("aes256-ctr,3des-cbc", "+aes128-cbc", "^aes128-cbc", "aes*", "a b", ""):
        with pytest.raises(quoting.QuotingError, match="not an SSH algorithm name"):
            quoting.ssh_algorithm(hostile)
    for key in ("net.ipv4.ip_forward", "net/ipv4/conf/eth0.10/rp_filter", "fs.suid_dumpable"):
        assert quoting.sysctl_name(key) == key
    for hostile in ("-net.ipv4.ip_forward", "a = 1", "net.ipv4.conf.*.rp_filter", "k=v", ""):
        with pytest.raises(quoting.QuotingError, match="not a sysctl key"):
            quoting.sysctl_name(hostile)
    assert quoting.sysctl_value("0") == "0"
    assert quoting.sysctl_value(2) == "2"
    assert quoting.sysctl_value("32768 60999") == "32768 60999"
    for bad in ("", " 1", "1 ", True):
        with pytest.raises(quoting.QuotingError, match="not a sysctl value"):
            quoting.sysctl_value(bad)
    assert quoting.octal_mode("027") == "027"
    assert quoting.octal_mode("0027") == "0027"
    for bad_mode in (23, True, "028", "27", "027; id", "00027"):
        with pytest.raises(quoting.QuotingError, match="not an octal mode"):
            quoting.octal_mode(bad_mode)
    assert quoting.kernel_module("hfsplus") == "hfsplus"
    for hostile in ("vfat /bin/sh", "VFAT", "-x", ""):
        with pytest.raises(quoting.QuotingError, match="not a kernel module name"):
            quoting.kernel_module(hostile)
    with pytest.raises(quoting.QuotingError, match="control character"):
        quoting.kernel_module("vfat\ninstall cramfs /tmp/x")
    assert quoting.audit_path("/usr/bin/sudo") == "/usr/bin/sudo"
    for hostile in ("usr/bin/sudo", "/usr/bin/a b -k x", ""):
        with pytest.raises(quoting.QuotingError, match="not an absolute path"):
            quoting.audit_path(hostile)


def test_systemd_values_double_specifiers_and_refuse_continuations() -> None:
    assert quoting.systemd_value("100% sure") == "100%% sure"
    with pytest.raises(quoting.QuotingError, match="not allowed"):
        quoting.systemd_value("ends with \\")
    with pytest.raises(quoting.QuotingError, match="one word"):
        quoting.systemd_word("storedms extra")


def test_quoted_strings_refuse_their_quote() -> None:
    for function in (quoting.apt_string, quoting.vrp_quoted, quoting.nft_string):
        with pytest.raises(quoting.QuotingError, match="'\"' not allowed"):
            function('origin=Debian"; APT::x "1')
    with pytest.raises(quoting.QuotingError, match="banner delimiter"):
        quoting.ios_banner("Authorised ^C")
    with pytest.raises(quoting.QuotingError, match="banner delimiter"):
        quoting.device_line("x ^C y")


def test_desktop_entries_escape_as_the_specification_says() -> None:
    assert quoting.desktop_string("A\nB\\C\tD") == "A\\nB\\\\C\\tD"
    with pytest.raises(quoting.QuotingError, match="U\\+001B"):
        quoting.desktop_string("\x1b[31m")
    assert quoting.desktop_exec_arg("/usr/bin/x") == "/usr/bin/x"
    assert quoting.desktop_exec_arg("a b") == '"a b"'
    assert quoting.desktop_exec_arg("50%") == "50%%"
    assert quoting.desktop_exec_arg('a"b') == '"a\\\\"b"'


def test_words_numbers_names_and_certificates() -> None:
    assert quoting.conf_word("10.77.1.1") == "10.77.1.1"
    for hostile in ("a b", "", "x#y", 'q"'):
        with pytest.raises(quoting.QuotingError):
            quoting.conf_word(hostile)
    assert quoting.decimal(600) == "600"
    for bad in (True, "6; rm -rf /", "1.5"):
        with pytest.raises(quoting.QuotingError, match="not a whole number"):
            quoting.decimal(bad)
    assert quoting.nft_name("storeops") == "storeops"
    with pytest.raises(quoting.QuotingError, match="not an nftables name"):
        quoting.nft_name("storeops; flush ruleset")
    certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    assert quoting.pem_certificates(certificate + "\n\n") == certificate
    with pytest.raises(quoting.QuotingError, match="not PEM certificates"):
        quoting.pem_certificates(certificate + "\ninjected line")


def test_the_ansible_filters_are_the_same_functions_raising_filter_errors() -> None:
    from ansible.errors import AnsibleFilterError

    from filter_plugins.storeops_quoting import FilterModule

    filters = FilterModule().filters()
    assert set(filters) == set(quoting.FILTERS)
    assert filters["systemd_value"]("a%b", "x") == "a%%b"
    with pytest.raises(AnsibleFilterError, match=r"^one_line: network_banner: control character"):
        filters["one_line"]("a\nb", "network_banner")


def test_the_deploy_renders_with_the_filters_outside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANSIBLE_CONFIG", raising=False)
    source = tmp_path / "t.j2"
    source.write_text("{{ value | systemd_value('value') }}\n")
    assert render(source, "/x", {"value": "50%"}) == "50%%\n"


# ---------------------------------------------------------------------------- $-anchors

PYTHON_ROOTS = ("modules", "library", "action_plugins", "filter_plugins", "module_utils", "deploys")
RE_FUNCTIONS = {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall"}


def _python_files() -> Iterator[Path]:
    for root in PYTHON_ROOTS:
        yield from (REPO / root).rglob("*.py")
    yield from (path for path in (REPO / "lab").rglob("*.py") if ".state" not in path.parts)
    yield from REPO.glob("roles/*/filter_plugins/*.py")
    for path in REPO.glob("roles/*/files/**/*"):
        if (
            path.is_file()
            and path.read_bytes()[:64].startswith(b"#!")
            and b"python" in (path.read_bytes()[:64])
        ):
            yield path


def _ends_in_dollar(pattern: str) -> bool:
    stripped = pattern.rstrip("$")
    dollars = len(pattern) - len(stripped)
    backslashes = len(stripped) - len(stripped.rstrip("\\"))
    return dollars > 0 and backslashes % 2 == 0


def _multiline(call: ast.Call) -> bool:
    flags = [*call.args[1:], *(keyword.value for keyword in call.keywords)]
    return any(
        isinstance(node, ast.Attribute) and node.attr in ("M", "MULTILINE")
        for flag in flags
        for node in ast.walk(flag)
    )


def _dollar_anchored(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Regexes ending in '$': arguments of re.* calls (unless re.MULTILINE: '$' per line
    on purpose), and any '^...$' string (patterns listed before they are compiled)."""
    in_calls: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.func.attr in RE_FUNCTIONS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            in_calls.add(id(node.args[0]))
            if _ends_in_dollar(node.args[0].value) and not _multiline(node):
                yield node.lineno, node.args[0].value
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in in_calls
            and node.value.startswith("^")
            and _ends_in_dollar(node.value)
        ):
            yield node.lineno, node.value


def test_the_check_sees_a_dollar_anchor() -> None:
    tree = ast.parse(
        'import re\nA = re.compile(r"^[a-z]+$")\nB = [r"^x .*$"]\n'
        'C = re.compile(r"^[a-z]+$", re.MULTILINE)\nD = re.compile(r"cost\\$")\n'
    )
    assert [line for line, _ in _dollar_anchored(tree)] == [2, 3]


def test_no_validation_regex_is_dollar_anchored() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}: {pattern!r}"
        for path in _python_files()
        for line, pattern in _dollar_anchored(ast.parse(path.read_text(), str(path)))
    ]
    assert not found, "use re.fullmatch or \\Z ('$' also matches before a newline):\n" + "\n".join(
        found
    )
