"""The job templates AWX runs, their survey specs, and the DMS rollout workflow's nodes.

One list (:data:`JOB_TEMPLATES`) that the schedules (:mod:`storeops.awx.schedules`), the
surveys and the configuration playbook (``playbooks/awx-configure.yml``, through
``storeops awx templates --json``) all read, so that a template has one name and one
playbook everywhere.

A survey asks only for extra variables its playbook reads (tests/unit/test_awx.py reads the
playbooks for them): the override reason (``storeops_override_reason``: playbooks that ask
the maintenance window take it, show it and audit it) and, for patching, ``patching_upgrade``.
The store is not a survey question: the playbooks select stores by host pattern, so a job
template asks for its *limit* on launch (``store_<code>``), and the schedules set it. The
target release itself stays ``store.dms_target_version`` in the inventory, changed by a
reviewed commit, not by a click at launch: the survey only confirms it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storeops.schema import MAX_TEXT, Store

OVERRIDE_REASON = "storeops_override_reason"


@dataclass(frozen=True)
class Question:
    """One survey question (AWX's survey_spec ``spec`` item)."""

    variable: str
    name: str
    description: str
    type: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    default: str = ""
    max: int = MAX_TEXT

    def as_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "question_name": self.name,
            "question_description": self.description,
            "variable": self.variable,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "min": 0,
            "max": self.max,
        }
        if self.choices:
            spec["choices"] = list(self.choices)
        return spec


OVERRIDE = Question(
    OVERRIDE_REASON,
    "Override reason (only to run outside a store's maintenance window)",
    "Leave empty to respect every store's window and blackout dates. Any text here runs "
    "closed stores anyway; it is shown in the job and written to the audit log.",
)
PATCH_UPGRADE = Question(
    "patching_upgrade",
    "Which upgrades",
    "security: security updates only (the default); all: every upgrade apt's policy allows",
    type="multiplechoice",
    choices=("security", "all"),
    default="security",
    required=True,
)


EXPECTED_VERSION = Question(
    "storeops_expected_version",
    "Target release (confirm)",
    "The DMS release this run rolls out, as the inventory names it (store.dms_target_version, "
    "e.g. 3.2.0). The job stops before touching a host if a store of the run targets another.",
    required=True,
    max=16,
)


@dataclass(frozen=True)
class JobTemplate:
    """An AWX job template: name, the project's playbook, what it asks at launch."""

    name: str
    playbook: str
    description: str
    questions: tuple[Question, ...] = ()
    become: bool = True

    def survey_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "spec": [question.as_spec() for question in self.questions],
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "playbook": self.playbook,
            "description": self.description,
            "survey_enabled": bool(self.questions),
            "survey_spec": self.survey_spec(),
        }


SITE = JobTemplate(
    "storeops site converge", "playbooks/site.yml", "every role of every store: repairs drift"
)
BACKUP = JobTemplate(
    "storeops backup now", "playbooks/backup-now.yml", "a backup of every DMS and database now"
)
UPGRADE_DMS = JobTemplate(
    "storeops upgrade DMS",
    "playbooks/upgrade-dms.yml",
    "each store's DMS to its target release: window, waves (pilot first), rollback",
    (EXPECTED_VERSION, OVERRIDE),
)
PATCH = JobTemplate(
    "storeops patch",
    "playbooks/patch.yml",
    "the store servers' OS updates inside each store's window",
    (OVERRIDE, PATCH_UPGRADE),
)
JOB_TEMPLATES = (SITE, BACKUP, UPGRADE_DMS, PATCH)


@dataclass(frozen=True)
class WorkflowNode:
    """A node of the rollout workflow: its template, limit and what runs after it succeeds."""

    identifier: str
    template: JobTemplate
    limit: str = ""
    success: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "unified_job_template": self.template.name,
            "limit": self.limit,
            "success_nodes": list(self.success),
        }


WORKFLOW = "storeops DMS rollout"


def rollout_workflow(stores: dict[str, Store]) -> list[WorkflowNode]:
    """backup -> pilot rollout (its acceptance gate inside) -> the waves.

    The pilot node runs upgrade-dms.yml on the pilot stores only (``--limit`` their
    groups): the acceptance gate runs inside it, on the pilot's upgrade, and a failed gate
    fails the job, so the waves' node never starts. The waves' node runs the same playbook
    on every store: the pilot, already on the target, goes through as "already on target",
    which the wave gate needs before the other waves go (storeops.rollout.wave_gate).
    The override reason, asked once by the workflow's survey, reaches every node (AWX
    passes a workflow's extra variables to its jobs).
    """
    pilots = sorted(code for code, store in stores.items() if store.pilot)
    if not pilots:
        raise ValueError("no pilot store in the inventory: the rollout workflow needs one")
    return [
        WorkflowNode("backup", BACKUP, success=("pilot",)),
        WorkflowNode("pilot", UPGRADE_DMS, ",".join(f"store_{c}" for c in pilots), ("waves",)),
        WorkflowNode("waves", UPGRADE_DMS),
    ]


def workflow_json(stores: dict[str, Store]) -> dict[str, Any]:
    return {
        "name": WORKFLOW,
        "description": "backup -> pilot rollout and its acceptance gate -> the waves",
        "survey_enabled": True,
        "survey_spec": {
            "name": WORKFLOW,
            "description": "",
            "spec": [EXPECTED_VERSION.as_spec(), OVERRIDE.as_spec()],
        },
        "nodes": [node.as_json() for node in rollout_workflow(stores)],
    }
