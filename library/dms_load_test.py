#!/usr/bin/python
"""Documentation and argument spec of the dms_load_test action (runs on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dms_load_test
short_description: Load-test a store's DMS and judge it against its pre-upgrade baseline
description:
  - Drives a short, mixed workload against the DMS at C(url) with locust (headless, in a
    child process on the controller) - about 60% C(GET /work-orders/<id>) with ids drawn
    from 1..C(read_id_max) (200 and 404 both count as answered), 20% C(GET /health) (200
    only) and 20% C(POST /smoke) (the DMS's write transaction that leaves no rows behind;
    200 with C(ok) true only). It never creates data that stays.
  - Returns the run's figures. Register them before a pilot store's upgrade and give them as
    C(baseline) to the same task after it; then it also returns C(passed) and C(reason). The
    release passes when no request failed and its p95 latency is at most C(max_p95_factor)
    times the baseline's (counted as at least C(p95_floor_ms)).
  - A failed verdict does not fail the task (the caller rolls the pilot back and reports the
    reason). The task fails when nothing could be measured - locust is not installed, the DMS
    does not answer at all, locust fails or overruns, no request was made - and on bad options.
  - This is an action plugin (C(action_plugins/dms_load_test.py), code in
    C(storeops.loadtest)); this file only documents it.
version_added: "0.1.0"
options:
  url:
    description:
      - The DMS's base URL, C(http://host:port) or C(https://host:port), without path or
        credentials.
    type: str
    required: true
  users:
    description: Simulated clients at once (1..200); each pauses about 100 ms between requests.
    type: int
    default: 10
  spawn_rate:
    description: Clients started per second (1..C(users)). Defaults to C(users).
    type: int
  duration:
    description: Seconds of load (3..600). A baseline and its comparison must use the same.
    type: int
    default: 20
  read_id_max:
    description: The reads draw work-order ids from 1 to this (1..9999999999).
    type: int
    default: 1000
  baseline:
    description:
      - The result a previous run of this action registered on the same store before its
        upgrade (the whole registered result, or its figures). With it the action judges.
    type: dict
  max_p95_factor:
    description: The largest p95 latency allowed, as a multiple of the baseline's (1..100).
    type: float
    default: 2.0
  p95_floor_ms:
    description:
      - The baseline's p95 counts as at least this many milliseconds (0..60000), so that the
        jitter of a few-millisecond baseline does not stop a rollout.
    type: float
    default: 20.0
attributes:
  check_mode:
    support: full
    description: Generates no load in check mode (the workload writes); says what it would do.
  diff_mode:
    support: none
    description: Nothing is changed.
author:
  - storeops developers
"""

EXAMPLES = r"""
- name: Measure the pilot's DMS before its upgrade (the baseline)
  dms_load_test:
    url: "http://{{ ansible_host }}:8080"
    duration: 20
  delegate_to: localhost
  register: dms_load_baseline

- name: The same workload after the upgrade, judged against the baseline
  dms_load_test:
    url: "http://{{ ansible_host }}:8080"
    duration: 20
    baseline: "{{ dms_load_baseline }}"
    max_p95_factor: 2.0
  delegate_to: localhost
  register: dms_load_gate
"""

RETURN = r"""
requests:
  description: Requests made in the run.
  returned: success, not in check mode
  type: int
failures:
  description: Requests that failed (a wrong status, a smoke not ok, no answer, a timeout).
  returned: success, not in check mode
  type: int
p50_ms:
  description: Median response time in milliseconds (locust's rounding above 100 ms).
  returned: success, not in check mode
  type: float
p95_ms:
  description: 95th-percentile response time in milliseconds.
  returned: success, not in check mode
  type: float
rps:
  description: Requests per second over the run.
  returned: success, not in check mode
  type: float
failure_reasons:
  description: The most frequent kinds of failure (up to 5), each with method, path, error, count.
  returned: success, not in check mode
  type: list
  elements: dict
workload:
  description:
    - The parameters the figures were measured with (users, spawn_rate, duration_s,
      read_id_min, read_id_max, think_ms, request_timeout_s). A C(baseline) with another
      workload is refused before any load (its figures would not compare).
  returned: success, not in check mode
  type: dict
passed:
  description: No request failed and the p95 stayed within the limit (only with C(baseline)).
  returned: success with baseline, not in check mode
  type: bool
reason:
  description: Why, with both p95 figures, e.g. C(too slow under load - p95 140 ms after the upgrade vs 9 ms before).
  returned: success with baseline, not in check mode
  type: str
baseline_p95_ms:
  description: The baseline's p95 in milliseconds (for the summary and the audit record).
  returned: success with baseline, not in check mode
  type: float
skipped_load:
  description: True in check mode (no load was generated).
  returned: check mode
  type: bool
"""
