"""Packaging: what is pinned is what is imported, and an installed (non-editable) storeops works.

1. requirements.txt pins every third-party distribution our Python imports, and every pin is
   imported or names, with evidence in the repository, what uses it (a command, a filter that
   Ansible loads it for, a type-stub); a transitive cap names a pinned distribution that
   requires it.
2. pyproject.toml declares what the storeops package imports (the lab's extra what only
   storeops_lab imports), as ranges that hold the pins.
3. A wheel-style install (``pip install --no-deps --target``, as in an AWX execution
   environment) validates the lab inventory and passes the playbooks' preflight from
   outside the checkout: the roles come from the project of the run, not from site-packages.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

BIN = Path(sys.executable).parent
SOURCES: tuple[str, ...] = (
    "modules",
    "library",
    "action_plugins",
    "filter_plugins",
    "module_utils",
    "deploys",
    "callback_plugins",
)
SOURCES += ("bench", "tests", "lab", "roles", "playbooks")
# Our own modules outside modules/: the repository's top level (module_utils as a package),
# module_utils/ (also installed on hosts beside the scripts) and the lab's reference DMS.
OWN_ROOTS = (REPO, REPO / "module_utils", REPO / "lab", REPO / "lab" / "dms" / "src")

# Pins that nothing imports, each with what uses it and where that use shows in the
# repository (files, pattern): remove the use and the pin must go too.
USED_WITHOUT_IMPORT: dict[str, tuple[str, tuple[str, ...], str]] = {
    "ansible": (
        "collections the playbooks name",
        ("playbooks", "roles"),
        r"ansible\.posix\.|containers\.podman\.",
    ),
    "ansible-builder": ("command", ("tests",), r"\bansible-builder\b"),
    "ansible-lint": ("command", ("Makefile",), r"^\s+ansible-lint\b"),
    "yamllint": ("command", ("Makefile",), r"^\s+yamllint\b"),
    "ruff": ("command", ("Makefile",), r"^\s+ruff\b"),
    "mypy": ("command", ("Makefile",), r"^\s+mypy\b"),
    "molecule": ("command", ("Makefile", ".ci"), r"\bmolecule\b"),
    "pytest-xdist": ("pytest -n", ("Makefile",), r"PYTEST\).* -n \d"),
    "types-pyyaml": ("mypy's stubs", ("modules",), r"^import yaml|^from yaml"),
    "types-paramiko": ("mypy's stubs", ("lab",), r"^import paramiko|^from paramiko"),
    "passlib": ("Ansible's password_hash filter", ("playbooks", "roles"), r"password_hash\("),
    "netaddr": (
        "the ansible.utils.ipaddr filter",
        ("playbooks", "roles"),
        r"ansible\.utils\.ipaddr",
    ),
}
# Imported, not pinned: the distribution a pinned one requires at one exact version.
PINNED_BY: dict[str, str] = {"pydantic-core": "pydantic"}


def python_files() -> Iterator[Path]:
    for top in SOURCES:
        for path in (REPO / top).rglob("*.py"):
            if not {"__pycache__", ".state", "dist"} & set(path.parts):
                yield path
    yield from (REPO / "roles").glob("*/files/usr/local/sbin/storeops-*")


def top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@cache
def imported_distributions() -> dict[str, set[str]]:
    """Third-party distribution (canonical name) -> files of ours importing it."""
    owners = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    unknown: list[str] = []
    for path in python_files():
        for name in top_level_imports(path):
            if name in sys.stdlib_module_names or name == "__future__":
                continue
            if name in {"storeops", "tests"} or any(
                (root / f"{name}.py").is_file() or (root / name).is_dir()
                for root in (path.parent, *OWN_ROOTS)
            ):
                continue
            dists = owners.get(name)
            if not dists:
                unknown.append(f"{path.relative_to(REPO)}: import {name}")
                continue
            for dist in dists:
                found.setdefault(canonicalize_name(dist), set()).add(str(path.relative_to(REPO)))
    assert not unknown, f"imports of no installed distribution: {unknown}"
    return found


def requirements() -> tuple[dict[str, str], dict[str, str]]:
    """(direct pins, transitive caps): canonical name -> version, split at the caps' heading."""
    direct: dict[str, str] = {}
    caps: dict[str, str] = {}
    target = direct
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("# transitive caps"):
            target = caps
        spec = line.split(" #", 1)[0].strip()
        if not spec or spec.startswith("#"):
            continue
        requirement = Requirement(spec)
        (pin,) = requirement.specifier
        assert pin.operator == "==", f"requirements.txt: {spec}: pin an exact version"
        target[canonicalize_name(requirement.name)] = pin.version
    return direct, caps


def test_every_import_is_pinned() -> None:
    direct, caps = requirements()
    unpinned = {
        dist: sorted(files)[:3]
        for dist, files in imported_distributions().items()
        if dist not in direct and PINNED_BY.get(dist) not in direct
    }
    assert not unpinned, f"imported but not pinned in requirements.txt: {unpinned}"
    assert not set(imported_distributions()) & set(caps), "an imported distribution is a direct pin"


def test_every_pin_is_imported_or_says_what_uses_it() -> None:
    direct, _ = requirements()
    imported = imported_distributions()
    unused = sorted(set(direct) - set(imported) - set(USED_WITHOUT_IMPORT))
    assert not unused, f"pinned in requirements.txt, used by nothing: {unused}"
    for dist, (what, places, pattern) in USED_WITHOUT_IMPORT.items():
        assert dist in direct, f"{dist}: allowed without an import, but not pinned"
        assert dist not in imported, f"{dist} is imported now: drop it from USED_WITHOUT_IMPORT"
        files = [
            path
            for place in places
            for path in ([REPO / place] if (REPO / place).is_file() else (REPO / place).rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
        ]
        used = any(
            re.search(pattern, path.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
            for path in files
        )
        assert used, f"{dist} ({what}): no use left in {places}; drop the pin"


def test_every_transitive_cap_is_required_by_a_pin() -> None:
    direct, caps = requirements()
    requiring: dict[str, set[str]] = {}
    for dist in direct:
        for spec in importlib.metadata.requires(dist) or []:
            requiring.setdefault(canonicalize_name(Requirement(spec).name), set()).add(dist)
    orphans = sorted(cap for cap in caps if cap not in requiring)
    assert not orphans, f"transitive caps that no pinned distribution requires: {orphans}"


def test_the_venv_holds_the_pins() -> None:
    direct, caps = requirements()
    wrong = {
        dist: (pin, importlib.metadata.version(dist))
        for dist, pin in {**direct, **caps}.items()
        if importlib.metadata.version(dist) != pin
    }
    assert not wrong, f"pin vs installed: {wrong}"


def project() -> dict[str, list[str]]:
    table = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"": table["dependencies"], **table.get("optional-dependencies", {})}


def test_the_package_declares_what_it_imports_as_ranges_that_hold_the_pins() -> None:
    direct, _ = requirements()
    declared = {
        extra: {canonicalize_name(Requirement(spec).name): Requirement(spec) for spec in specs}
        for extra, specs in project().items()
    }
    imports = imported_distributions()
    packaged = ("modules/", "lab/storeops_lab/")  # the two packages pyproject installs
    package = {d for d, files in imports.items() if any(f.startswith(packaged) for f in files)}
    lab_only = {
        d
        for d in package
        if all(f.startswith("lab/storeops_lab/") for f in imports[d] if f.startswith(packaged))
    }
    needed = {d for d in package - lab_only if PINNED_BY.get(d) not in package}
    assert set(declared[""]) == needed, "dependencies = what storeops (not its lab) imports"
    assert set(declared["lab"]) == lab_only, "the lab extra = what only storeops_lab imports"
    for extra, requirements_ in declared.items():
        for dist, requirement in requirements_.items():
            assert requirement.specifier.contains(direct[dist]), (
                f"pyproject [{extra or 'dependencies'}] {requirement} excludes the pin {direct[dist]}"
            )


# --------------------------------------------------------------- a non-editable install


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """storeops installed like a wheel (no checkout beside it), built from a copy of the sources."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(
        REPO / "modules", source / "modules", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", source)
    target = tmp / "site"
    subprocess.run(
        [BIN / "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True, timeout=300, cwd=tmp,
    )  # fmt: skip
    assert (target / "storeops" / "network_templates" / "cisco_ios" / "acl.j2").is_file()
    assert not (target / "roles").exists()
    return target


def installed_env(site: Path) -> dict[str, str]:
    """The installed package first on sys.path; no hint of the checkout in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "STOREOPS_"))}
    env["PYTHONPATH"] = str(site)
    env["ANSIBLE_CACHE_PLUGIN"] = "memory"  # no fact cache written into the checkout
    env["ANSIBLE_NOCOLOR"] = "true"
    return env


def test_the_installed_package_is_the_one_imported(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import storeops.paths as p; print(p.__file__)"],
        env=installed_env(installed), cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.strip().startswith(str(installed))


def test_installed_storeops_validates_the_lab_from_outside_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from storeops.cli import main; sys.exit(main())",
         "validate", str(REPO / "inventory" / "lab"),
         "--vault-password-file", str(REPO / "lab" / "vault-password.txt")],
        env=installed_env(installed), cwd=tmp_path, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip
    assert "unknown variable" not in done.stderr
    assert done.returncode == 0, done.stderr[-3000:]
    assert "OK" in done.stdout


def test_installed_storeops_runs_the_preflight_from_the_project(installed: Path) -> None:
    """AWX runs ansible-playbook in the project directory: the preflight's validator reads its
    roles there. The validation play connects to no host (localhost, delegated). A second run
    validates again: the note that lets site.yml's later imports skip it lasts one run (a
    fact in ansible.cfg's fact cache would have skipped every run for hours)."""
    for _ in range(2):
        done = subprocess.run(
            [BIN / "ansible-playbook", "playbooks/preflight/validate.yml", "--check"],
            env=installed_env(installed), cwd=REPO, capture_output=True, text=True,
            check=False, timeout=300,
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert "unknown variable" not in output
        assert done.returncode == 0, output[-3000:]
        recap = r"^localhost\s+: ok=2 .* failed=0 .* skipped=0"
        assert re.search(recap, output, re.MULTILINE), output[-3000:]


def test_without_a_project_the_installed_cli_says_so(installed: Path, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO / "inventory" / "lab", inventory)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from storeops.cli import main; sys.exit(main())",
         "validate", str(inventory)],
        env=installed_env(installed), cwd=tmp_path, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "STOREOPS_PROJECT" in done.stderr and "Traceback" not in done.stderr


# --------------------------------------------------------------- storeops.paths


def make_project(root: Path) -> Path:
    (root / "roles").mkdir(parents=True)
    (root / "ansible.cfg").write_text("[defaults]\n")
    return root


def test_the_project_comes_from_the_run_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storeops.paths import ProjectNotFound, find_project

    explicit, holding, configured = (make_project(tmp_path / n) for n in ("env", "inv", "cfg"))
    inventory = holding / "inventory" / "east-china"
    inventory.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    config = {"ANSIBLE_CONFIG": str(configured / "ansible.cfg")}
    assert find_project(inventory, {"STOREOPS_PROJECT": str(explicit), **config}) == explicit
    assert find_project(inventory, config) == holding
    assert find_project(tmp_path, config) == configured
    monkeypatch.chdir(holding / "inventory")
    assert find_project(None, {}) == holding  # the working directory or a parent
    with pytest.raises(ProjectNotFound, match="STOREOPS_PROJECT=/nowhere"):
        find_project(None, {"STOREOPS_PROJECT": "/nowhere"})


def test_state_lives_under_storeops_state_dir_or_in_the_checkout(tmp_path: Path) -> None:
    from storeops.paths import STATE_LAYOUT, state_path

    project = make_project(tmp_path / "project")
    playbooks = project / "playbooks"
    playbooks.mkdir()
    state = tmp_path / "state"
    for name, place in STATE_LAYOUT.items():
        assert state_path(name, playbooks, {}) == project / place
        assert state_path(name, playbooks, {"STOREOPS_STATE_DIR": str(state)}) == state / name
    with pytest.raises(KeyError, match="unknown controller state"):
        state_path("passwords", playbooks, {})
