"""AWX: the schedules from each store's window (checked with dateutil's rrule, the parser AWX
uses, against storeops.calendar), the job templates' surveys against what the playbooks read,
the rollout workflow, and ``storeops awx`` on the repository's inventories. Nothing contacts
an AWX."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from dateutil.rrule import rruleset, rrulestr
from pydantic import ValidationError

from storeops.awx.cli import register
from storeops.awx.schedules import (
    SCHEDULED_JOBS,
    ScheduledJob,
    ScheduleError,
    job_rrule,
    schedules,
)
from storeops.awx.templates import (
    JOB_TEMPLATES,
    OVERRIDE_REASON,
    UPGRADE_DMS,
    JobTemplate,
    rollout_workflow,
    workflow_json,
)
from storeops.calendar import blackout_reason, decide, occurrence
from storeops.cli import build_parser
from storeops.cli_options import prepare
from storeops.schema import Store
from tests.conftest import REPO
from tests.unit.test_calendar import make_store

AFTER = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
DAYS = 60
SITE, PATCH = SCHEDULED_JOBS
PRODUCTION = REPO / "inventory" / "example-production"
PRODUCTION_VAULT = PRODUCTION / "EXAMPLE-vault-password.txt"


def parse(rrule: str) -> rruleset:
    """The schedule as AWX reads it (dateutil; AWX hands it the string as stored)."""
    parsed = rrulestr(rrule, forceset=True)
    assert isinstance(parsed, rruleset)
    return parsed


def runs(rrule: str, first: dt.datetime, days: int = DAYS) -> list[dt.datetime]:
    return list(parse(rrule).between(first, first + dt.timedelta(days=days), inc=True))


def expected_runs(store: Store, job: ScheduledJob, first: dt.datetime) -> list[dt.datetime]:
    """Every window opening in the period (storeops.calendar.occurrence) plus the job's
    offset, where decide() says the store is open: what the schedule must produce."""
    zone = ZoneInfo(store.timezone)
    found = []
    for offset in range(-1, DAYS + 1):
        day = first.astimezone(zone).date() + dt.timedelta(days=offset)
        start, _end = occurrence(store.maintenance_window, day, zone)
        run = start + dt.timedelta(minutes=job.offset)
        opens = day.strftime("%a").lower() in store.maintenance_window.days
        if opens and first <= run <= first + dt.timedelta(days=DAYS) and decide(store, run).open:
            found.append(run)
    return found


def check_against_the_calendar(store: Store, job: ScheduledJob) -> list[dt.datetime]:
    schedule = job_rrule(store, job, AFTER)
    first = parse(schedule.rrule)[0]
    got = runs(schedule.rrule, first)
    for run in got:
        decision = decide(store, run)
        assert decision.open, f"{schedule.name}: {run} is outside the window: {decision.reason}"
        assert blackout_reason(store, run.astimezone(ZoneInfo(store.timezone)).date()) is None
    want = expected_runs(store, job, first)
    assert [r.astimezone(dt.UTC) for r in got] == [r.astimezone(dt.UTC) for r in want]
    return got


BERLIN_WINDOW = {"days": ["fri", "sat", "sun"], "start": "22:30", "end": "02:00"}
STORES: dict[str, dict[str, Any]] = {
    "shanghai-across-midnight": {
        "maintenance_window": {"days": ["sun", "mon", "tue", "wed", "thu"], "start": "22:00",
                               "end": "05:30"},
        "blackout_dates": ["2026-12-24", {"from": "2026-12-28", "to": "2027-01-04"}],
    },
    # The last Sunday of March: 2027-03-28 02:00 -> 03:00 (DST starts)
    "berlin-dst": {
        "code": "be01", "timezone": "Europe/Berlin", "maintenance_window": BERLIN_WINDOW,
        "blackout_dates": [{"from": "2027-03-12", "to": "2027-03-14", "reason": "fair"}],
    },
    "all-day": {
        "maintenance_window": {"days": ["sat"], "start": "00:00", "end": "24:00"},
        "blackout_dates": [],
    },
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(STORES))
@pytest.mark.parametrize("job", SCHEDULED_JOBS, ids=lambda job: job.template)
def test_every_run_is_inside_the_window_and_every_opening_has_a_run(
    name: str, job: ScheduledJob
) -> None:
    store = make_store(**STORES[name])
    if job.offset and name == "all-day":
        job = ScheduledJob(job.template, job.playbook, 23 * 60 + 30)  # the next day at 23:30
    assert check_against_the_calendar(store, job)


def test_the_runs_keep_their_wall_time_across_dst() -> None:
    store = make_store(**STORES["berlin-dst"])
    schedule = job_rrule(store, SITE, dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    assert schedule.rrule.startswith("DTSTART;TZID=Europe/Berlin:20270305T223000 ")
    got = runs(schedule.rrule, dt.datetime(2027, 3, 1, tzinfo=dt.UTC), 40)
    assert {run.strftime("%H:%M") for run in got} == {"22:30"}
    utc = {run.astimezone(dt.UTC).strftime("%H:%M") for run in got}
    assert utc == {"21:30", "20:30"}  # CET, then CEST
    assert not [run for run in got if run.date() in {dt.date(2027, 3, d) for d in (12, 13, 14)}]


def test_a_job_past_midnight_is_cancelled_on_a_blackout_day_and_after_one() -> None:
    store = make_store(**STORES["shanghai-across-midnight"])
    patch = job_rrule(store, PATCH, AFTER)  # 00:00 the day after the window opened
    assert "BYDAY=MO,TU,WE,TH,FR" in patch.rrule
    dates = {run.date() for run in runs(patch.rrule, parse(patch.rrule)[0])}
    assert dt.date(2026, 12, 24) not in dates  # a blackout day itself (Thursday)
    assert dt.date(2026, 12, 25) not in dates  # the window opened on the 24th
    assert dt.date(2026, 12, 23) in dates
    assert dt.date(2027, 1, 5) not in dates and dt.date(2027, 1, 6) in dates


def test_the_string_is_one_awx_accepts() -> None:
    """AWX's schedule serializer: one DTSTART with a zone, RRULE, INTERVAL in every rule,
    no EXDATE/RDATE, no COUNT with UNTIL; UNTIL in UTC when DTSTART has a zone (RFC 5545)."""
    for schedule in schedules({"sh01": make_store(**STORES["shanghai-across-midnight"])}, AFTER):
        parts = schedule.rrule.split(" ")
        assert re.fullmatch(r"DTSTART;TZID=Asia/Shanghai:\d{8}T\d{6}", parts[0])
        assert parts[1].startswith("RRULE:") and all(p.startswith("EXRULE:") for p in parts[2:])
        assert "EXDATE" not in schedule.rrule and "RDATE" not in schedule.rrule
        for rule in parts[1:]:
            assert "INTERVAL=1" in rule and "COUNT" not in rule
            assert re.search(r"UNTIL=\d{8}T\d{6}Z", rule) or "UNTIL" not in rule


def test_a_blackout_a_year_ahead_is_deferred_not_cancelling_this_years_day() -> None:
    store = make_store(
        maintenance_window={"days": ["thu"], "start": "22:00", "end": "23:00"},
        blackout_dates=[{"from": "2027-12-23", "to": "2027-12-23", "reason": "next year"}],
    )
    schedule = job_rrule(store, SITE, AFTER)
    assert schedule.deferred == ("2027-12-23..2027-12-23",) and "EXRULE" not in schedule.rrule
    assert dt.date(2026, 12, 24) in {r.date() for r in runs(schedule.rrule, AFTER)}
    later = job_rrule(store, SITE, dt.datetime(2027, 6, 1, tzinfo=dt.UTC))
    assert later.excluded == ("2027-12-23..2027-12-23",) and "EXRULE" in later.rrule


def test_a_job_that_would_start_after_the_window_closed_is_refused() -> None:
    store = make_store(maintenance_window={"days": ["mon"], "start": "22:00", "end": "23:00"})
    with pytest.raises(ScheduleError, match="past its end"):
        job_rrule(store, PATCH, AFTER)


@pytest.mark.parametrize(
    "zone", ["Asia/Shanghai\nRRULE:FREQ=SECONDLY", "Asia/Shanghai:20260101T000000", "../etc"]
)
def test_a_hostile_time_zone_never_reaches_a_schedule(zone: str) -> None:
    with pytest.raises(ValidationError):
        make_store(timezone=zone)
    unchecked = make_store().model_copy(update={"timezone": zone})  # past the schema
    with pytest.raises(ScheduleError, match="not an IANA zone key"):
        job_rrule(unchecked, SITE, AFTER)


# ---------------------------------------------------------------- templates and surveys


def _closure(playbook: Path) -> list[Path]:
    """The playbook and the playbooks it imports."""
    found = [playbook]
    for play in yaml.safe_load(playbook.read_text()) or []:
        target = play.get("ansible.builtin.import_playbook")
        if target:
            found += _closure(playbook.parent / target)
    return found


def read_variables(template: JobTemplate) -> str:
    """The text a playbook's variables are read in: its plays and the roles they name
    (their argument specs and tasks)."""
    texts = [path.read_text() for path in _closure(REPO / template.playbook)]
    roles = set(re.findall(r"^\s+(?:name|role): (\w+)$", "\n".join(texts), re.MULTILINE))
    for role in roles & {p.name for p in (REPO / "roles").iterdir()}:
        texts += [p.read_text() for p in (REPO / "roles" / role).rglob("*.yml")]
    return "\n".join(texts)


@pytest.mark.parametrize("template", JOB_TEMPLATES, ids=lambda t: t.name)
def test_a_survey_asks_only_for_variables_its_playbook_reads(template: JobTemplate) -> None:
    text = read_variables(template)
    for question in template.questions:
        assert re.search(rf"\b{question.variable}\b", text), (template.name, question.variable)
    spec = template.survey_spec()["spec"]
    assert [q["variable"] for q in spec] == [q.variable for q in template.questions]
    assert all(q["type"] in {"text", "multiplechoice"} for q in spec)


def test_the_override_reason_is_as_long_as_the_window_module_takes() -> None:
    from storeops.schema import MAX_TEXT

    asked = {q for t in JOB_TEMPLATES for q in t.questions if q.variable == OVERRIDE_REASON}
    (question,) = asked
    assert question.max == MAX_TEXT
    assert not question.required  # empty: the windows are respected


def test_the_rollout_asks_to_confirm_its_release() -> None:
    """upgrade-dms.yml stops before any change if a store of the run targets another
    release than the one confirmed (tests/integration/test_preflight.py runs it)."""
    stores = {"sh01": make_store(code="sh01", pilot=True)}
    workflow = [q["variable"] for q in workflow_json(stores)["survey_spec"]["spec"]]
    rollout = [q for q in UPGRADE_DMS.questions if q.variable == "storeops_expected_version"]
    assert [q.required for q in rollout] == [True]
    assert workflow == ["storeops_expected_version", OVERRIDE_REASON]


def test_the_workflow_is_backup_then_pilot_then_waves() -> None:
    stores = {
        "sh01": make_store(code="sh01", pilot=True),
        "hz01": make_store(code="hz01"),
        "bj01": make_store(code="bj01", pilot=True),
    }
    backup, pilot, waves = (node.as_json() for node in rollout_workflow(stores))
    assert backup["success_nodes"] == ["pilot"] and backup["limit"] == ""
    assert pilot["limit"] == "store_bj01,store_sh01" and pilot["success_nodes"] == ["waves"]
    assert pilot["unified_job_template"] == waves["unified_job_template"] == "storeops upgrade DMS"
    assert waves["limit"] == "" and waves["success_nodes"] == []
    with pytest.raises(ValueError, match="no pilot store"):
        rollout_workflow({"hz01": stores["hz01"]})


# ---------------------------------------------------------------- the command


def run_awx(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    """``storeops awx ...`` through the real parser (the command added as its entry point
    adds it: the venv's installed metadata may predate the entry point)."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "awx" not in commands.choices:
        register(commands)
    args = prepare(parser.parse_args(argv))
    assert args.handler(args) == 0
    return json.loads(capsys.readouterr().out)


def test_the_entry_point_is_declared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["storeops.commands"]["awx"] == "storeops.awx.cli:register"


def test_storeops_awx_schedules_on_the_production_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = run_awx(
        ["awx", "schedules", "-i", str(PRODUCTION), "--json", "--after", "2026-12-06T09:00+08:00",
         "--vault-password-file", str(PRODUCTION_VAULT)],
        capsys,
    )  # fmt: skip
    assert {item["store"] for item in found} == {"nj01", "sh02", "sz01"}
    assert len(found) == 3 * len(SCHEDULED_JOBS)
    site = next(item for item in found if item["name"] == "storeops site converge sh02")
    assert site["limit"] == "store_sh02"
    assert site["rrule"].startswith("DTSTART;TZID=Asia/Shanghai:20261206T220000 ")
    assert site["blackouts_excluded"] == ["2026-12-28..2027-01-04", "2027-02-05..2027-02-13"]


def test_storeops_awx_templates_on_the_lab(capsys: pytest.CaptureFixture[str]) -> None:
    found = run_awx(["awx", "templates", "-i", str(REPO / "inventory" / "lab"), "--json"], capsys)
    assert [t["name"] for t in found["job_templates"]] == [t.name for t in JOB_TEMPLATES]
    pilot = next(n for n in found["workflow"]["nodes"] if n["identifier"] == "pilot")
    assert pilot["limit"] == "store_sh01"  # the lab's pilot
