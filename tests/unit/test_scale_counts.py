"""The controller's work grows linearly with the stores: counted, never timed.

Each test runs one step of what the controller does before it touches a host (validation,
firewall rules, device models, the rollout's plan) on synthetic groups of SMALL and
2 x SMALL stores (storeops_lab.synthetic), counting how often each line of storeops' own
code runs (sys.settrace, modules/storeops only). In the doubled group a linear step's lines
run about twice as often; a quadratic one (every store compared with every other, every
host looked up by scanning every host) four times: no line may run more than
LINEAR_BOUND times as often. The steps fixed for 500 stores (bench/scale.py) were of that
kind: the validator's per-store and per-host scans of every vars file, the zone model's
scan of every host for each host's store, every store network collapsed for each ACL.
"""

from __future__ import annotations

import functools
import gc
import ipaddress
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import storeops
import storeops.validate
from storeops import discovery, yamlfiles
from storeops.inventory import Inventory, RawInventory, typed_view
from storeops.issues import Issue
from storeops.network import device_model
from storeops.rollout import waves
from storeops.schema import Role
from storeops.validate import _PlacedNetworks, validate
from storeops.yamlfiles import VaultPasswords
from storeops.zones import inbound_rules
from storeops_lab.synthetic import generate
from tests.unit.conftest import LAB_PASSWORDS

SMALL = 4
LINEAR_BOUND = 3.0  # linear: 2, quadratic: 4
SLACK = 8  # a line may run a few more times for reasons other than the stores' number
STOREOPS_CODE = str(Path(storeops.__file__).parent)

Lines = Counter[tuple[str, int]]


def line_counts(action: Callable[[], object], code: str = STOREOPS_CODE) -> Lines:
    """How often each line of modules/storeops (or of the files under ``code``) ran during
    ``action()``."""
    counts: Lines = Counter()

    def count_lines(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            counts[(frame.f_code.co_filename, frame.f_lineno)] += 1
        return count_lines

    def storeops_frames(frame: FrameType, event: str, arg: Any) -> Any:
        return count_lines if frame.f_code.co_filename.startswith(code) else None

    previous = sys.gettrace()
    sys.settrace(storeops_frames)
    try:
        action()
    finally:
        sys.settrace(previous)
    return counts


def superlinear_lines(small: Lines, doubled: Lines) -> list[str]:
    """The lines that ran more than LINEAR_BOUND times as often in the doubled group."""
    return [
        f"{Path(file).name}:{line} ran {doubled[(file, line)]} times, {small[(file, line)]} "
        "with half the stores"
        for file, line in sorted(doubled)
        if doubled[(file, line)] > LINEAR_BOUND * small[(file, line)] + SLACK
    ]


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory) -> dict[int, RawInventory]:
    """The validated synthetic groups of SMALL and 2 x SMALL stores."""
    passwords = VaultPasswords.from_files(LAB_PASSWORDS)
    raws = {}
    for count in (SMALL, 2 * SMALL):
        root = generate(count, tmp_path_factory.mktemp("synthetic") / f"group-{count}")
        raws[count] = validate(root, passwords)
        assert raws[count].issues == []
    return raws


def counted_for_both(
    groups: dict[int, RawInventory], step: Callable[[RawInventory], object]
) -> list[str]:
    small, doubled = (line_counts(functools.partial(step, groups[n])) for n in (SMALL, 2 * SMALL))
    return superlinear_lines(small, doubled)


def test_validation_is_linear_in_the_stores(groups: dict[int, RawInventory]) -> None:
    passwords = VaultPasswords.from_files(LAB_PASSWORDS)
    assert counted_for_both(groups, lambda raw: validate(raw.root, passwords)) == []


def _every_host(inventory: Inventory) -> Iterator[object]:
    for host in inventory.hosts.values():
        yield inbound_rules(inventory, host)
        if host.platform is not None:
            yield device_model(inventory, host)


def test_firewall_rules_and_device_models_are_linear(groups: dict[int, RawInventory]) -> None:
    assert counted_for_both(groups, lambda raw: list(_every_host(typed_view(raw)))) == []


def test_wave_planning_is_linear(groups: dict[int, RawInventory]) -> None:
    def plan(raw: RawInventory) -> object:
        inventory = typed_view(raw)
        records = [{"code": s.code, "pilot": s.pilot} for s in inventory.stores.values()]
        return waves(records, 1)

    assert counted_for_both(groups, plan) == []


def test_the_counter_sees_a_quadratic_step(groups: dict[int, RawInventory]) -> None:
    """The check itself: a scan of every host for each host (here, in this file) is caught."""

    def quadratic(raw: RawInventory) -> object:
        hosts = list(typed_view(raw).hosts.values())
        return [[other for other in hosts if other.store == host.store] for host in hosts]

    small, doubled = (
        line_counts(functools.partial(quadratic, groups[n]), code=__file__)
        for n in (SMALL, 2 * SMALL)
    )
    assert superlinear_lines(small, doubled)


def test_ansible_compiles_each_roles_expression_once(
    groups: dict[int, RawInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    """roles.yml's three expressions are compiled once each, whatever the number of hosts."""
    from ansible._internal._templating._engine import TemplateEngine

    compiled: list[str] = []
    original = TemplateEngine._compile_expression

    def counting(engine: Any, expression: str, options: Any) -> Any:
        compiled.append(str(expression))
        return original(engine, expression, options)

    monkeypatch.setattr(TemplateEngine, "_compile_expression", counting)
    for count in (SMALL, 2 * SMALL):
        compiled.clear()
        view = discovery.ansible_hosts(groups[count].sources)
        assert len(view.hosts) == 6 * count
        assert sorted(view.groups["linux"]) == sorted(
            h for h in view.hosts if h.split("-")[1] in {"dms", "db", "backup", "ws01"}
        )
        assert len(compiled) == len(set(compiled)) == 3
    assert TemplateEngine._compile_expression is counting  # put back after the view


def test_the_validator_reads_each_file_once(
    groups: dict[int, RawInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = groups[SMALL].root
    reads: Counter[Path] = Counter()
    original = yamlfiles.read_yaml

    def counting(path: Path, passwords: VaultPasswords) -> yamlfiles.YamlFile:
        reads[path.resolve()] += 1
        return original(path, passwords)

    for name, module in list(sys.modules.items()):
        if name.startswith("storeops") and getattr(module, "read_yaml", None) is original:
            monkeypatch.setattr(module, "read_yaml", counting)
    validate(root, VaultPasswords.from_files(LAB_PASSWORDS))
    inventory_files = {path: n for path, n in reads.items() if path.is_relative_to(root)}
    assert len(inventory_files) == len(list(root.rglob("*.yml")))
    assert set(inventory_files.values()) == {1}


def test_placed_networks_find_what_comparing_every_pair_finds() -> None:
    """The validator's overlap check (no longer every store network against every other)
    reports what the pairwise comparison reported, in its order."""
    chooser = random.Random(22)
    for _ in range(200):
        placed = _PlacedNetworks()
        pairwise: list[tuple[ipaddress.IPv4Network, str]] = []
        for index in range(25):
            prefix = chooser.choice([8, 14, 16, 18, 24, 26])
            start = f"10.{chooser.randint(0, 3)}.{chooser.randint(0, 3) * 64}.0/{prefix}"
            network = ipaddress.IPv4Network(start, strict=False)
            expected = [(net, owner) for net, owner in pairwise if network.overlaps(net)]
            assert placed.overlapping(network) == expected
            placed.place(network, f"store {index}")
            pairwise.append((network, f"store {index}"))


def test_hosts_of_a_store_in_inventory_order(groups: dict[int, RawInventory]) -> None:
    inventory = typed_view(groups[SMALL])
    for code in inventory.stores:
        expected = [host for host in inventory.hosts.values() if host.store == code]
        assert inventory.hosts_of(code) == expected
    assert inventory.hosts_of("zz99") == []
    assert len(inventory.hosts_with_role(Role.DMS)) == SMALL


def test_validation_pauses_the_cycle_collector_and_restores_it(
    groups: dict[int, RawInventory], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every rule runs with the cycle collector paused; afterwards it is as it was."""
    root, passwords = groups[SMALL].root, VaultPasswords.from_files(LAB_PASSWORDS)
    collecting: list[bool] = []
    check_pilot = storeops.validate._check_pilot

    def recording(raw: RawInventory) -> Iterable[Issue]:
        collecting.append(gc.isenabled())
        return check_pilot(raw)

    monkeypatch.setattr(storeops.validate, "_check_pilot", recording)
    assert validate(root, passwords).issues == []
    assert collecting == [False] and gc.isenabled()
    gc.disable()
    try:
        validate(root, passwords)
        assert not gc.isenabled()  # a caller's own pause is kept
    finally:
        gc.enable()
