"""module_utils/storeops_apt.py's plan (library/apt_patch.py and the health probe): which
upgrades a patch run takes and what it reports held.

python3-apt is Debian's and not in the venv: the cache is a small stand-in with the
attributes the plan reads (the module runs against the real one on the lab's hosts,
tests/integration/test_patching.py). Versions compare as dotted numbers here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import REPO, load_plugin

apt_patch = load_plugin("storeops_test_apt", REPO / "module_utils" / "storeops_apt.py")
HOLD = 2  # apt_pkg.SELSTATE_HOLD


@dataclass(frozen=True)
class PackageFile:
    origin: str
    label: str
    archive: str
    codename: str
    component: str = "main"
    site: str = "mirror"


SECURITY = PackageFile("Debian", "Debian-Security", "stable-security", "bookworm-security")
ARCHIVE = PackageFile("Debian", "Debian", "stable", "bookworm")
LOCAL = PackageFile("", "", "now", "")


@dataclass(frozen=True)
class Version:
    ver_str: str
    files: tuple[PackageFile, ...]
    downloadable: bool = True

    @property
    def file_list(self) -> list[tuple[PackageFile, int]]:
        return [(package_file, 0) for package_file in self.files]


@dataclass
class Package:
    name: str
    current_ver: Version | None
    version_list: list[Version]
    selected_state: int = 1
    candidate: Version | None = None


class AptPkg:
    SELSTATE_HOLD = HOLD

    @staticmethod
    def version_compare(first: str, second: str) -> int:
        a, b = (tuple(int(part) for part in v.split(".")) for v in (first, second))
        return (a > b) - (a < b)


@dataclass
class Policy:
    priorities: dict[str, int] = field(default_factory=dict)

    def get_priority(self, version: Version) -> int:
        return self.priorities.get(version.ver_str, 500)


@dataclass
class DepCache:
    policy: Policy

    @staticmethod
    def get_candidate_ver(package: Package) -> Version | None:
        return package.candidate


@dataclass
class Cache:
    packages: list[Package]


ORIGINS = apt_patch.parse_origin_patterns(
    ["origin=Debian,codename=${distro_codename}-security,label=Debian-Security"], "bookworm"
)


def plan(*packages: Package, priorities: dict[str, int] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = apt_patch.plan(
        AptPkg, Cache(list(packages)), DepCache(Policy(priorities or {})), ORIGINS
    )
    return result


def package(name: str, installed: str, *available: tuple[str, PackageFile], **kw: Any) -> Package:
    current = Version(installed, (LOCAL,))
    versions = [current, *(Version(v, (f,)) for v, f in available)]
    candidate = kw.pop("candidate", None)
    chosen = next((v for v in versions if v.ver_str == candidate), versions[-1])
    return Package(name, current, versions, candidate=chosen, **kw)


def specs(items: list[dict[str, Any]]) -> list[str]:
    return [item["spec"] for item in items]


def test_security_takes_the_newest_security_version_not_the_newest_version() -> None:
    libc = package("libc6", "1.0", ("1.1", SECURITY), ("1.2", ARCHIVE))
    found = plan(libc)
    assert specs(found["security"]) == ["libc6=1.1"]
    assert specs(found["all"]) == ["libc6=1.2"]
    assert found["security"][0]["security"] is True and found["all"][0]["security"] is False


def test_a_package_with_only_archive_updates_is_not_a_security_upgrade() -> None:
    found = plan(package("vim", "1.0", ("1.3", ARCHIVE)))
    assert found["security"] == [] and specs(found["all"]) == ["vim=1.3"]


def test_a_pin_keeps_the_package_and_is_reported_with_its_priority() -> None:
    runtime = package(
        "storedms-runtime", "1.0", ("1.1", ARCHIVE), ("2.0", ARCHIVE), candidate="1.1"
    )
    found = plan(runtime, priorities={"1.1": 990})
    assert specs(found["all"]) == ["storedms-runtime=1.1"]  # within the pin
    assert found["held"] == [
        {
            "name": "storedms-runtime",
            "installed": "1.0",
            "available": "2.0",
            "kept_at": "1.1",
            "by": "apt pin (priority 990)",
        }
    ]


def test_a_pin_at_the_installed_version_holds_it_without_an_upgrade() -> None:
    runtime = package("storedms-runtime", "1.0", ("2.0", SECURITY), candidate="1.0")
    found = plan(runtime, priorities={"1.0": 990})
    assert found["security"] == [] and found["all"] == []
    assert [(h["kept_at"], h["available"]) for h in found["held"]] == [("1.0", "2.0")]


def test_a_dpkg_hold_is_never_upgraded() -> None:
    held = package("mariadb-server", "1.0", ("1.1", SECURITY), selected_state=HOLD)
    found = plan(held)
    assert found["security"] == [] and found["all"] == []
    assert found["held"][0]["by"] == "dpkg hold"


def test_uninstalled_and_current_packages_are_left_out() -> None:
    absent = Package("telnetd", None, [Version("1.0", (ARCHIVE,))])
    current = package("bash", "5.2", ("5.2", ARCHIVE))
    assert plan(absent, current) == {"security": [], "all": [], "held": []}


def test_origin_patterns_read_like_unattended_upgrades() -> None:
    parsed = apt_patch.parse_origin_patterns(
        [
            "o=storeops-lab,l=storeops-lab-security",
            "origin=Debian,codename=${distro_codename}-security",
        ],
        "bookworm",
    )
    assert parsed == [
        {"origin": "storeops-lab", "label": "storeops-lab-security"},
        {"origin": "Debian", "codename": "bookworm-security"},
    ]
    with pytest.raises(ValueError, match="is not key=value"):
        apt_patch.parse_origin_patterns(["Debian-Security"], "bookworm")
    with pytest.raises(ValueError, match="is not key=value"):
        apt_patch.parse_origin_patterns(["priority=1000"], "bookworm")
