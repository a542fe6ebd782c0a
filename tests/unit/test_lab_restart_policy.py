"""Lab containers come back after a reboot from inside: ``--restart=always``, checked by ``up``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from storeops.paths import LAB_INVENTORY
from storeops.validate import load_valid
from storeops_lab import podman
from storeops_lab.lab import outdated_reason
from storeops_lab.plan import LabHost, make_plan

IMAGE_ID = "sha256:0123"


@pytest.fixture(scope="module")
def lab_host() -> LabHost:
    return make_plan(load_valid(LAB_INVENTORY), "localhost/storeops-lab-base:test").hosts[0]


def inspected(lab_host: LabHost, policy: str) -> podman.ContainerInfo:
    """What ``podman container inspect`` says of the container made from the host's spec."""
    spec = lab_host.spec()
    return podman.ContainerInfo.from_inspect(
        {
            "Name": spec.name,
            "Image": IMAGE_ID,
            "State": {"Status": "running"},
            "Config": {"Labels": dict(spec.labels)},
            "NetworkSettings": {"Networks": {spec.network: {"IPAddress": str(spec.address)}}},
            "HostConfig": {"RestartPolicy": {"Name": policy, "MaximumRetryCount": 0}},
        }
    )


def test_containers_are_created_to_restart_always(lab_host: LabHost) -> None:
    assert "--restart=always" in lab_host.spec().run_args()


def test_a_container_without_the_policy_is_recreated(lab_host: LabHost) -> None:
    assert outdated_reason(inspected(lab_host, "always"), lab_host, IMAGE_ID) is None
    assert outdated_reason(inspected(lab_host, ""), lab_host, IMAGE_ID) == (
        "restart policy none, want always"
    )
    assert outdated_reason(inspected(lab_host, "on-failure"), lab_host, IMAGE_ID) == (
        "restart policy on-failure, want always"
    )


def test_removal_stops_first_so_podman_does_not_restart_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    commands: list[list[str]] = []

    def run(args: Sequence[str], **options: Any) -> None:
        commands.append(list(args))

    monkeypatch.setattr(podman, "run", run)
    podman.remove_containers(["storeops-sh01-db", "storeops-sh01-dms"])
    assert [command[0] for command in commands] == ["stop", "rm"]
    assert commands[0][-2:] == commands[1][-2:] == ["storeops-sh01-db", "storeops-sh01-dms"]
    assert "--force" in commands[1]
