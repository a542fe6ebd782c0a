"""The AWX execution environment: ``ansible-builder create`` (offline: it only writes the
build context) from execution-environment.yml, and the context holds our pins, our
collections and a storeops package that installs; requirements-ee.txt is requirements.txt's
runtime part at the same pins. The image itself is not built here (no registry)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO
from tests.unit.test_packaging import BIN, imported_distributions, project, requirements

EE_REQUIREMENTS = REPO / "requirements-ee.txt"
# requirements.txt's pins that are not in the execution environment, and why.
NOT_IN_EE = {
    "ansible": "the collections come from collections/requirements.yml",
    "ansible-core": "execution-environment.yml: dependencies.ansible_core",
    "ansible-runner": "execution-environment.yml: dependencies.ansible_runner",
    "ansible-builder": "builds the image, is not in it",
    "mitogen": "bench: the opt-in strategy measured, never in a job",
    "ansible-lint": "lint",
    "yamllint": "lint",
    "ruff": "lint",
    "mypy": "lint",
    "types-pyyaml": "lint",
    "types-paramiko": "lint",
    "molecule": "role tests",
    "pytest": "tests",
    "pytest-testinfra": "tests",
    "pytest-xdist": "tests",
    "aiosmtpd": "tests",
    "packaging": "tests (ansible-core brings its own)",
    "python-dateutil": "tests (pyinfra brings it)",
    "jsonschema": "ansible-lint and molecule",
    "fakenos": "the lab's emulated devices",
    "ntplib": "the lab's time check",
    "pymysql": "the lab's DMS; the mysql modules run on the store hosts",
    "matplotlib": "storeops report, a CLI command no job runs",
    "weasyprint": "storeops report (and its pango libraries)",
    "pypdf": "storeops report",
}
# The code a job runs on the controller: the project's plugins and module_utils.
JOB_CODE = ("library/", "action_plugins/", "filter_plugins/", "callback_plugins/", "module_utils/")


def ee_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in EE_REQUIREMENTS.read_text().splitlines():
        spec = line.split(" #", 1)[0].strip()
        if spec and not spec.startswith("#"):
            requirement = Requirement(spec)
            (pin,) = requirement.specifier
            pins[canonicalize_name(requirement.name)] = pin.version
    return pins


def test_the_ee_pins_are_requirements_txts() -> None:
    direct, caps = requirements()
    pinned = {**direct, **caps}
    assert {name: pinned.get(name) for name in ee_pins()} == ee_pins()
    unaccounted = sorted(set(pinned) - set(ee_pins()) - set(NOT_IN_EE))
    assert not unaccounted, (
        f"in requirements.txt, neither in requirements-ee.txt nor NOT_IN_EE: {unaccounted}"
    )
    assert not set(ee_pins()) & set(NOT_IN_EE)
    assert set(NOT_IN_EE) <= set(pinned), "NOT_IN_EE names a distribution no longer pinned"


def test_what_a_job_imports_is_in_the_ee() -> None:
    job_imports = {
        dist
        for dist, files in imported_distributions().items()
        if any(f.startswith(JOB_CODE) for f in files)
    }
    package = {canonicalize_name(Requirement(spec).name) for spec in project()[""]}
    needed = (job_imports | package) - set(NOT_IN_EE)
    assert not needed - set(ee_pins()), (
        f"missing from requirements-ee.txt: {needed - set(ee_pins())}"
    )


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("ee") / "context"
    subprocess.run(
        [BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(target)],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return target


def test_the_build_context_has_our_python_and_collections(context: Path) -> None:
    build = context / "_build"
    assert ee_pins() and (build / "requirements.txt").read_text() == EE_REQUIREMENTS.read_text()
    collections = yaml.safe_load((build / "requirements.yml").read_text())
    assert collections == yaml.safe_load((REPO / "collections/requirements.yml").read_text())
    bindep = (build / "bindep.txt").read_text()
    assert "openssh-clients" in bindep and "git [platform:rpm]" in bindep


def test_the_containerfile_pins_ansible_and_installs_storeops(context: Path) -> None:
    containerfile = (context / "Containerfile").read_text()
    direct, _ = requirements()
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="(.*)"$', containerfile, re.MULTILINE)
    assert refs is not None
    assert refs.group(1).split() == [
        f"ansible-core=={direct['ansible-core']}",
        f"ansible-runner=={direct['ansible-runner']}",
    ]
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile  # the Python the pins hold
    assert re.search(r'^ARG EE_BASE_IMAGE=".*ee-minimal-rhel9', containerfile, re.MULTILINE)
    final = containerfile.split("FROM base AS final", 1)[1]
    install = final.index("pip install --no-cache-dir --no-deps /tmp/storeops")
    assert final.index("COPY _build/storeops /tmp/storeops") < install
    assert final.index("/output/scripts/install-from-bindep") < install


def test_the_contexts_storeops_installs_with_its_templates(context: Path, tmp_path: Path) -> None:
    source = context / "_build" / "storeops"
    assert sorted(p.name for p in source.iterdir()) == ["modules", "pyproject.toml"]
    subprocess.run(
        [BIN / "pip", "install", "--quiet", "--no-deps", "--target", str(tmp_path), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", "import storeops.awx.schedules, storeops.calendar as c; print(c.__file__)"],
        env={"PYTHONPATH": str(tmp_path)}, cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.startswith(str(tmp_path))
    assert (tmp_path / "storeops" / "network_templates" / "cisco_ios" / "acl.j2").is_file()
