"""The control catalogue (``roles/hardening/meta/controls.yml``) as a typed, strict model.

Runs on the controller: the validator (waivers name a control), ``storeops audit`` (the
table's rows) and ``storeops compliance table`` (the README's table) read it; the unit tests
(tests/unit/test_controls.py) hold every control to its task file, toggle, tag and test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storeops.compliance.schema import ControlId
from storeops.paths import ROLES_DIR, roles_dir
from storeops.schema import Text, full_pattern
from storeops.yamlfiles import VaultPasswords, read_yaml

CATALOGUE_IN_ROLES = Path("hardening") / "meta" / "controls.yml"
CATALOGUE_FILE = ROLES_DIR / CATALOGUE_IN_ROLES  # of the project found at import

Toggle = Annotated[str, full_pattern(re.compile(r"hardening_[a-z0-9_]+_enabled"), "a toggle")]
TestName = Annotated[str, full_pattern(re.compile(r"test_[a-z0-9_]+"), "a test function")]
DevSecId = Annotated[
    str, full_pattern(re.compile(r"(os|sshd|sysctl|package|ssh)-[0-9]+[a-z]?"), "a dev-sec ID")
]
# a task file of a role, relative to the repository
TaskPath = Annotated[
    str, full_pattern(re.compile(r"roles/[a-z0-9_]+/tasks/[a-z0-9_/]+\.yml"), "a task file")
]

# The level-2 clauses of GB/T 22239-2019 section 7.1.4 a host setting can serve.
Clause = Literal["7.1.4.1", "7.1.4.2", "7.1.4.3", "7.1.4.4", "7.1.4.5", "7.1.4.8", "7.1.4.9"]
CLAUSE_TITLES: dict[str, str] = {
    "7.1.4.1": "identification and authentication",
    "7.1.4.2": "access control",
    "7.1.4.3": "security audit",
    "7.1.4.4": "intrusion prevention",
    "7.1.4.5": "malware prevention",
    "7.1.4.8": "residual information protection",
    "7.1.4.9": "personal information protection",
}


class Control(BaseModel):
    """One control: what it requires, where it is held, how it is proven."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: ControlId
    clause: Clause
    title: Text
    devsec: list[DevSecId] = Field(default_factory=list)
    toggle: Toggle
    tasks: TaskPath
    test: TestName
    container_na: Text | None = None

    @property
    def tag(self) -> str:
        """The Ansible tag of its tasks: the ID itself."""
        return self.id

    def id_matches_clause(self) -> bool:
        return self.id.startswith(f"L2-{self.clause}-")


class Catalogue(BaseModel):
    """Every control, in the catalogue's order; IDs and tests unique."""

    model_config = ConfigDict(extra="forbid", strict=True)

    controls: list[Control] = Field(min_length=1)

    @field_validator("controls")
    @classmethod
    def _unique(cls, controls: list[Control]) -> list[Control]:
        for attribute in ("id", "toggle", "test"):
            values = [getattr(control, attribute) for control in controls]
            twice = sorted({value for value in values if values.count(value) > 1})
            if twice:
                raise ValueError(f"{attribute} listed twice: {', '.join(twice)}")
        wrong = [control.id for control in controls if not control.id_matches_clause()]
        if wrong:
            raise ValueError(f"ID does not start with its clause: {', '.join(wrong)}")
        return controls

    def by_id(self) -> dict[str, Control]:
        return {control.id: control for control in self.controls}

    def ids(self) -> frozenset[str]:
        return frozenset(control.id for control in self.controls)


def catalogue_file(near: Path | None = None) -> Path:
    """The catalogue of the project holding ``near`` (an inventory), as the validator finds
    the roles (storeops.paths.roles_dir); raises ProjectNotFound."""
    return roles_dir(near=near) / CATALOGUE_IN_ROLES


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    """The catalogue file, validated (raises pydantic's ValidationError or YamlProblem)."""
    return Catalogue.model_validate(read_yaml(path, VaultPasswords()).data)
