"""README.md's compliance table, generated from the control catalogue.

Runs on the controller: ``storeops compliance table`` writes it between the markers;
tests/unit/test_controls.py fails when the README's table differs from the generated one.
"""

from __future__ import annotations

from pathlib import Path

from storeops.compliance.catalogue import CLAUSE_TITLES, Catalogue, load_catalogue
from storeops.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
BEGIN = "<!-- controls:begin -->"
END = "<!-- controls:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(catalogue: Catalogue) -> str:
    """The markdown table: ID, clause, title, dev-sec, toggle, tag."""
    lines = [
        "| ID | Clause | Title | dev-sec | Toggle | Tag |",
        "|----|--------|-------|---------|--------|-----|",
    ]
    for control in catalogue.controls:
        devsec = ", ".join(control.devsec) or "-"
        clause = f"{control.clause} {CLAUSE_TITLES[control.clause]}"
        title = control.title + (" (n/a in a container)" if control.container_na else "")
        lines.append(
            f"| `{control.id}` | {clause} | {_cell(title)} | {devsec} | "
            f"`{control.toggle}` | `{control.tag}` |"
        )
    return "\n".join(lines)


def with_table(text: str, catalogue: Catalogue) -> str:
    """The README text with the generated table between the markers (which must exist)."""
    head, found, rest = text.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"README has no {BEGIN} ... {END} markers")
    return f"{head}{BEGIN}\n{table(catalogue)}\n{END}{tail}"


def update_readme(path: Path = README, check: bool = False) -> bool:
    """Write the table into the README; True when it was (or, with ``check``, would be)
    changed."""
    text = path.read_text(encoding="utf-8")
    new = with_table(text, load_catalogue())
    if new != text and not check:
        path.write_text(new, encoding="utf-8")
    return new != text
