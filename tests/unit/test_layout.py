"""The domain package's imports point one way: core <- features <- CLI, the lab apart.

Read statically (every ``import`` and ``from ... import`` in a module, at any depth, a lazy
one inside a function included; only ``if TYPE_CHECKING:`` blocks are left out), so that a
lazy import cannot hide a cycle or a wrong-way dependency.

- the core: the modules directly in ``storeops/`` (schema, inventory, validate, zones, ...);
- the features: ``storeops.workstation``, registered with the core and the CLI by entry
  points (``storeops.validators``, ``storeops.commands`` in pyproject.toml);
- the lab: ``storeops_lab``, which may use anything; nothing outside it uses the lab.

There is no import cycle anywhere.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "modules" / "storeops"
LAB_PACKAGE = REPO / "lab" / "storeops_lab"
FEATURES = (
    "storeops.awx",
    "storeops.compliance",
    "storeops.health",
    "storeops.notify",
    "storeops.report",
    "storeops.workstation",
)
LAB = "storeops_lab"
CLI = "storeops.cli"


def module_name(path: Path) -> str:
    root = PACKAGE if path.is_relative_to(PACKAGE) else LAB_PACKAGE
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking_only(child):
            continue
        yield child
        yield from _walk(child)


def imports_of(path: Path) -> set[str]:
    """The storeops modules ``path`` imports (a name imported from a package counts as the
    package's submodule when there is one)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    modules = set(graph_nodes())
    return {target for target in found if target in modules and target != name}


def graph_nodes() -> dict[str, Path]:
    paths = [*PACKAGE.rglob("*.py"), *LAB_PACKAGE.rglob("*.py")]
    return {module_name(path): path for path in sorted(paths)}


def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(path) for name, path in graph_nodes().items()}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def is_core(name: str) -> bool:
    """A module directly in the package (not a subpackage), the CLI excepted."""
    return graph_nodes()[name].parent == PACKAGE and name not in {CLI, "storeops"}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_reads_lazy_imports_too() -> None:
    """The reader itself: the CLI's lab and workstation commands come by entry point, and a
    lazy import (inside a function) is seen."""
    graph = import_graph()
    assert "storeops.validate" in graph[CLI]
    assert not any(within(target, LAB) for target in graph[CLI])
    lazy = {
        (name, node.module)
        for name, path in graph_nodes().items()
        for function in ast.walk(ast.parse(path.read_text()))
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("storeops.")
    }
    assert lazy  # the package has lazy imports: the reader must see them
    assert all(target in graph[name] for name, target in lazy), lazy


def test_the_core_imports_no_feature_and_nothing_outside_the_lab_imports_it() -> None:
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        for target in targets
        if (is_core(name) and any(within(target, f) for f in (*FEATURES, LAB)))
        or (not within(name, LAB) and within(target, LAB))
    )
    assert wrong == []


def test_no_import_cycle() -> None:
    """Anywhere: the package, its features and the lab (a package's ``__init__`` that
    re-exports its modules would make one with every module importing a sibling through it)."""
    assert cycles(import_graph()) == []
