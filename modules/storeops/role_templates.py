"""Rendering a role's templates outside a play, exactly as Ansible's template module does.

The pyinfra deploys reuse the Ansible roles' templates (the firewall's nftables ruleset, the
common role's chrony configuration) instead of keeping second copies: this module renders
them with Ansible's own templating engine (``Templar``, the template action's options:
``trim_blocks``, the ``ansible_managed`` header, every filter and collection Ansible has),
with the variables a play would see: the role's ``defaults/main.yml`` under the host's
inventory variables. Inventory values are templates, as in a play (``common_timezone:
"{{ store.timezone }}"`` resolves); vaulted values are data, never templates.

Imported by the deploys and the unit tests; it never contacts a host.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storeops.ansible_view import init_plugins
from storeops.paths import REPO_ROOT, ROLES_DIR
from storeops.roles import role_defaults, role_vars
from storeops.yamlfiles import map_strings

TEMPLATE_OPTIONS: Mapping[str, Any] = {
    "trim_blocks": True,
    "lstrip_blocks": False,
    "newline_sequence": "\n",
}


def _trusted(value: Any) -> Any:
    """Inventory and role-default values as Ansible holds them: strings are templates."""
    from ansible.template import trust_as_template

    return map_strings(value, trust_as_template)


def play_variables(
    host: str,
    inventory_variables: Mapping[str, Any],
    roles: tuple[str, ...] = (),
    roles_dir: Path = ROLES_DIR,
) -> dict[str, Any]:
    """What a play's task sees: the roles' defaults, then the host's inventory variables,
    then the roles' own variables (``vars/main.yml``, which win over the inventory)."""
    variables: dict[str, Any] = {}
    for role in roles:
        variables.update(_trusted(role_defaults(role, roles_dir)))
    for name, value in inventory_variables.items():
        variables[name] = value if name.startswith("vault_") else _trusted(value)
    for role in roles:
        variables.update(_trusted(role_vars(role, roles_dir)))
    variables["inventory_hostname"] = host
    return variables


def _templar(variables: Mapping[str, Any]) -> Any:
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import filter_loader
    from ansible.template import Templar

    init_plugins()
    # The project's filters (storeops_quoting's quoting filters the templates use) wherever
    # the process runs, as ansible-playbook finds them through ansible.cfg.
    filter_loader.add_directory(str(REPO_ROOT / "filter_plugins"))
    return Templar(loader=DataLoader(), variables=dict(variables))


def resolve(variables: Mapping[str, Any], name: str) -> Any:
    """One variable's value, templated as a task would see it (``{{ name }}``)."""
    from ansible.template import trust_as_template

    return _templar(variables).template(trust_as_template("{{ " + name + " }}"))


def render(source: Path, dest: str, variables: Mapping[str, Any]) -> str:
    """``source`` rendered for ``dest`` as ``ansible.builtin.template`` would write it."""
    from ansible.template import _template_vars, trust_as_template

    template_vars = dict(variables)
    template_vars.update(
        _template_vars.generate_ansible_template_vars(
            path=str(source),
            fullpath=str(source.resolve()),
            dest_path=dest,
            include_ansible_managed="ansible_managed" not in template_vars,
        )
    )
    templar = _templar(template_vars)
    text = templar.template(
        trust_as_template(source.read_text()), escape_backslashes=False, overrides=TEMPLATE_OPTIONS
    )
    return "" if text is None else str(text)


def render_role_template(
    role: str, template: str, dest: str, variables: Mapping[str, Any], roles_dir: Path = ROLES_DIR
) -> str:
    """``roles/<role>/templates/<template>`` rendered with ``variables`` (see play_variables)."""
    return render(roles_dir / role / "templates" / template, dest, variables)
