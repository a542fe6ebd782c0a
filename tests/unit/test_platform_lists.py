"""Every list of network platforms in the repository names the same platforms.

A network platform (``storeops_platform``: Cisco IOS, Huawei VRP...) is known in several
places: the inventory schema, the modules' per-platform facts, the modules' documentation,
templates in the package and in the role, the role's hardware models, the lab's emulators
and the unit tests' per-platform data. ``PLACES`` lists them in the order a colleague adds a
platform (README: "Adding a device of a new model"); the test fails once per place that
lacks a platform any other place has, naming the place, the platform and what to add: the
checklist. Pure: files and imports only, no device.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hier_config import Platform
from netmiko.ssh_dispatcher import CLASS_MAPPER

from storeops import acl
from storeops.schema import NetworkPlatform
from storeops_lab.devices.start import PLATFORMS as EMULATORS
from tests.conftest import FIXTURES, REPO
from tests.unit import test_acl, test_render_quoting
from tests.unit.test_net_platforms import net

INTENDED = REPO / "roles" / "network" / "templates" / "intended"
INTENDED_SUFFIX = ".cfg.j2"


def schema() -> set[str]:
    return {platform.value for platform in NetworkPlatform}


def module_facts() -> set[str]:
    return set(net.PLATFORMS)


def documented_choices() -> set[str]:
    fragment = runpy.run_path(str(REPO / "doc_fragments" / "storeops_net.py"))
    options = yaml.safe_load(fragment["ModuleDocFragment"].DOCUMENTATION)["options"]
    return set(options["platform"]["choices"])


def remediation_fixtures() -> set[str]:
    cases = (FIXTURES / "network").glob("*/case.yml")
    return {yaml.safe_load(case.read_text(encoding="utf-8"))["platform"] for case in cases}


def acl_templates() -> set[str]:
    templates = Path(acl.__file__).parent / acl.TEMPLATES_DIR
    return {template.parent.name for template in templates.glob(f"*/{acl.TEMPLATE_NAME}")}


def acl_test_data() -> set[str]:
    return set(test_acl.PARSERS) & set(test_acl.VLAN_INTERFACE) & set(test_acl.WAN_INTERFACE)


def intended_templates() -> set[str]:
    return {
        path.name.removesuffix(INTENDED_SUFFIX) for path in INTENDED.glob(f"*{INTENDED_SUFFIX}")
    }


def quoting_test_data() -> set[str]:
    intended = {
        Path(template).name.removesuffix(INTENDED_SUFFIX)
        for template in test_render_quoting.ROLE_TEMPLATES
        if (REPO / template).parent == INTENDED
    }
    return intended & set(test_render_quoting.ACL_TEMPLATES.values())


def hardware_models() -> set[str]:
    variables = yaml.safe_load((REPO / "roles/network/vars/main.yml").read_text(encoding="utf-8"))
    return {model["platform"] for model in variables["network_models"].values()}


def emulators() -> set[str]:
    return set(EMULATORS)


# Where each list lives and what a new platform needs there, in the order to add them.
PLACES: dict[str, tuple[str, Callable[[], set[str]]]] = {
    "schema": (
        "modules/storeops/schema.py: a NetworkPlatform member (the storeops_platform value)",
        schema,
    ),
    "module_facts": (
        "module_utils/storeops_net.py: a PLATFORMS entry (netmiko driver, show and save "
        "commands, error markers, volatile lines, secrets, second pass, management lines, "
        "revert)",
        module_facts,
    ),
    "documented_choices": (
        "doc_fragments/storeops_net.py: the platform in the platform option's choices",
        documented_choices,
    ),
    "remediation_fixtures": (
        "tests/fixtures/network/<case>/: a remediation case (case.yml platform, running.cfg, "
        "intended.cfg, expected.txt)",
        remediation_fixtures,
    ),
    "acl_templates": (
        "modules/storeops/network_templates/<platform>/acl.j2: the ACL template",
        acl_templates,
    ),
    "acl_test_data": (
        "tests/unit/test_acl.py: PARSERS, VLAN_INTERFACE and WAN_INTERFACE entries",
        acl_test_data,
    ),
    "intended_templates": (
        "roles/network/templates/intended/<platform>.cfg.j2: the device template",
        intended_templates,
    ),
    "quoting_test_data": (
        "tests/unit/test_render_quoting.py: both templates in ROLE_TEMPLATES and ACL_TEMPLATES",
        quoting_test_data,
    ),
    "hardware_models": (
        "roles/network/vars/main.yml: a network_models entry of the platform",
        hardware_models,
    ),
    "emulators": (
        "lab/storeops_lab/devices/: an emulator (a Platform subclass) in start.PLATFORMS",
        emulators,
    ),
}


def every_platform() -> set[str]:
    return set().union(*(read() for _, read in PLACES.values()))


@pytest.mark.parametrize("place", PLACES)
def test_every_list_of_platforms_names_every_platform(place: str) -> None:
    where, read = PLACES[place]
    missing = sorted(every_platform() - read())
    assert not missing, (
        f"{', '.join(missing)} missing in {where} (README: Adding a device of a new model)"
    )


@pytest.mark.parametrize("platform", sorted(net.PLATFORMS))
def test_each_platform_names_drivers_that_exist(platform: str) -> None:
    spec = net.PLATFORMS[platform]
    assert spec.name == platform
    assert spec.device_type in CLASS_MAPPER, f"{platform}: no netmiko driver {spec.device_type!r}"
    assert spec.hier_platform in Platform.__members__, (
        f"{platform}: no hier_config Platform.{spec.hier_platform}"
    )


@pytest.mark.parametrize("platform", sorted(set(net.PLATFORMS) & set(EMULATORS)))
def test_each_emulator_answers_the_netmiko_driver_the_modules_use(platform: str) -> None:
    assert EMULATORS[platform].netmiko_device_type == net.PLATFORMS[platform].device_type
