"""Action plugin: drive a store's DMS with a short mixed workload and judge it against a baseline.

The acceptance gate after a rollout's pilot wave. Before the upgrade it gives the store's
baseline figures (register them); after it, with ``baseline``, it also says whether the
release passed: no failed request, p95 latency within ``max_p95_factor`` of the baseline's.
A failed verdict does not fail the task: the caller rolls the pilot back and reports why.
Errors do (locust missing, the DMS not answering, no request made): there are no figures.
The load comes from the controller (storeops.loadtest, locust in a child process), so the
task runs on the controller and only talks HTTP to the DMS. Check mode generates no load:
the gate's requests include writes (``POST /smoke``, which leaves no rows behind).
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from storeops.loadtest import (
    LoadResult,
    LoadSpec,
    LoadTestError,
    ReportError,
    judge,
    run_load,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "url": {"type": "str", "required": True},
    "users": {"type": "int", "default": 10},
    "spawn_rate": {"type": "int"},
    "duration": {"type": "int", "default": 20},
    "read_id_max": {"type": "int", "default": 1000},
    "baseline": {"type": "dict"},
    "max_p95_factor": {"type": "float", "default": 2.0},
    "p95_floor_ms": {"type": "float", "default": 20.0},
}


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        spec = _spec(args)
        baseline = _baseline(args)
        if baseline is not None and baseline.workload not in ({}, spec.workload()):
            raise AnsibleActionFail(
                f"baseline: measured with {baseline.workload}, this run would be "
                f"{spec.workload()}: the figures would not compare"
            )
        if not 1 <= args["max_p95_factor"] <= 100 or not 0 <= args["p95_floor_ms"] <= 60_000:
            raise AnsibleActionFail("max_p95_factor must be in 1..100, p95_floor_ms in 0..60000")
        if self._task.check_mode:
            result.update(
                changed=False,
                skipped_load=True,
                msg=f"would drive {spec.users} clients against {spec.url} for "
                f"{spec.duration_s} s (reads, /health and smoke writes); no load in check mode",
            )
            return result
        try:
            figures = run_load(spec)
        except LoadTestError as error:
            raise AnsibleActionFail(f"load test of {spec.url}: {error}") from None
        result.update(changed=False, **figures.as_dict())
        summary = (
            f"{figures.requests} requests, {figures.failures} failed, "
            f"p95 {figures.p95_ms:g} ms, {figures.rps:g}/s"
        )
        if baseline is None:
            result["msg"] = f"{spec.url}: {summary}"
            return result
        verdict = judge(baseline, figures, args["max_p95_factor"], args["p95_floor_ms"])
        result.update(
            passed=verdict.passed,
            reason=verdict.reason,
            baseline_p95_ms=baseline.p95_ms,
            msg=f"{spec.url}: {'PASSED' if verdict.passed else 'FAILED'}: {verdict.reason}",
        )
        return result


def _spec(args: dict[str, Any]) -> LoadSpec:
    try:
        return LoadSpec(
            url=args["url"],
            users=args["users"],
            spawn_rate=args["spawn_rate"],
            duration_s=args["duration"],
            read_id_max=args["read_id_max"],
        )
    except ValueError as error:
        raise AnsibleActionFail(str(error)) from None


def _baseline(args: dict[str, Any]) -> LoadResult | None:
    if args["baseline"] is None:
        return None
    try:
        return LoadResult.from_dict(args["baseline"])
    except ReportError as error:
        raise AnsibleActionFail(f"baseline: {error}") from None
