"""The summary of one run as a typed, frozen model: every reader uses attributes.

Why: a renderer that asks a dict for a key that does not exist gets ``None`` and shows "no
gap found" forever; a typed model makes the same mistake fail in the tests. The JSON form
(``Summary.to_dict()``, printed by ``run --json`` and written to ``summary.json``) keeps the
field names of the earlier dict; ``schema_version`` says which layout a file has:

* 1 (unversioned): the dict before this model; sections without a model stage were absent.
* 2: this model. Sections that need the model stage (``cost_usd``, ``value_usd``, ``model``,
  ``replicas``, ``fairness``, ``review``, ``explanations``, ``drift``) are ``null`` when the
  scenario has none; ``canary.started_at_s`` (the release's start, from the events) was added;
  the stage-specific fields (``busiest_consumer_utilization``, ``timed_out_in_queue``...) are
  ``null`` on the stages they do not apply to.
* 3: the run read through its architecture (``architecture``: per component what reached it, its
  time, wait, service, utilization and blast radius; the bottleneck; the critical path of the
  slowest 1 %; the single points of failure; for a topology which component decided how many).
  Present for every run, the default chain included. The ``failures_by_reason`` key
  ``component_outage`` (an outage of a topology's component) is new.

The analysis layer (replications, sweeps, planner) works on plain numbers:
:meth:`Summary.flat` gives ``{"latency_ms.p99": 212.4, ...}``.
"""
from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict

from simulator.scenario.topology import ComponentKind

SCHEMA_VERSION = 3


class _Part(BaseModel):
    """A frozen part of the summary; unknown fields are an error, not a silent extra."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Requests(_Part):
    """Arrivals after warm-up and how each ended: arrived = ok + degraded + failed + in_flight."""

    arrived: int
    ok: int
    degraded: int
    failed: int
    in_flight: int

    @property
    def finished(self) -> int:
        return self.arrived - self.in_flight

    @property
    def answered(self) -> int:
        return self.ok + self.degraded


class Latency(_Part):
    """End-to-end latency of answered requests (ms)."""

    mean: float | None
    p50: float | None
    p95: float | None
    p99: float | None


class Stage(_Part):
    """One stage: utilization over the measured window, mean wait and service (ms), requests served.
    The stream adds its busiest consumer's utilization; the model pool its queue timeouts (requests
    still waiting at their deadline, left unserved) and their mean wait."""

    utilization: float | None
    wait_ms_mean: float | None
    service_ms_mean: float | None
    served: int
    busiest_consumer_utilization: float | None = None
    timed_out_in_queue: int | None = None
    timed_out_in_queue_wait_ms_mean: float | None = None


class Stages(_Part):
    ingestion: Stage
    feature_store: Stage
    external_api: Stage
    inference: Stage

    def items(self) -> list[tuple[str, Stage]]:
        """(name, stage) in pipeline order."""
        return [(name, getattr(self, name)) for name in type(self).model_fields]


class Breaker(_Part):
    enabled: bool
    opened: int
    open_s_total: float
    forced_open_s_total: float
    rejected_calls: int


class Fallbacks(_Part):
    cached: int
    default: int

    @property
    def total(self) -> int:
        return self.cached + self.default


class Retries(_Part):
    enabled: bool
    calls_made: int
    calls_needed: int
    amplification: float | None


class Canary(_Part):
    """The release analysis: outcome none | in_progress | promoted | rolled_back, times from the run."""

    outcome: str
    started_at_s: float | None
    decided_at_s: float | None
    time_to_decision_s: float | None
    analyses: int
    requests_on_canary: int
    bad_responses_on_canary: int


class FaultRecovery(_Part):
    """One fault: when it started, was detected, customers were served again, and service was normal."""

    fault: str
    target: str
    started_s: float
    ended_s: float | None
    prepared_s: float | None
    detected_s: float | None
    mitigated_s: float | None
    recovered_s: float | None


class WhereTimeWent(_Part):
    baseline_window_s: tuple[float, float]
    slow_window_s: tuple[float, float]
    baseline_ms: float | None
    slow_ms: float | None
    stage: str
    component: str
    finding: str


class Cost(_Part):
    """USD over the measured window; monthly_projection holds the run's cost rate for a month
    (meaningful only for a scenario that is a typical period)."""

    compute_busy: float | None
    compute_idle: float | None
    cold_start: float | None
    stream: float | None
    feature_store: float | None
    external_api: float | None
    review: float | None
    retraining: float | None = None
    total: float | None
    per_1k_requests: float | None
    monthly_projection: float | None
    node_hours: float
    replica_hours: float
    instance_type: str
    replicas_per_node: int


class Value(_Part):
    """What the decisions were worth (USD, the scenario's illustrative amounts)."""

    gross: float
    net: float
    per_decision: float
    gross_per_hour: float
    cost_per_hour: float
    net_per_hour: float


class Model(_Part):
    version: str
    precision: str
    accuracy: float
    auc: float
    fraud_recall: float
    false_alarm_rate: float
    fraud_recall_online: float
    false_alarm_rate_online: float
    accuracy_online: float | None
    served_version: str
    approval_rate_by_group: dict[str, float | None]


class Replicas(_Part):
    min: int
    max: int
    mean: float | None
    memory_gib_per_replica: float


class Fairness(_Part):
    enabled: bool
    min_di: float | None
    di_overall: float | None
    di_by_group: dict[str, float | None]
    flagged_windows: int
    windows: int
    first_flag_s: float | None
    status: str


class Review(_Part):
    cases: int
    done: int
    backlog_max: int
    wait_p95_min: float | None
    wait_mean_min: float | None
    cost_usd: float
    reviewer_utilization: float | None
    reviewers_needed: int | None
    case_rate_per_h_flagged: float | None = None
    reviewers_on_duty_max: int | None = None
    sla_min: float


class Explanations(_Part):
    mode: str
    method: str
    count: int
    overhead_ms_mean: float | None
    overhead_s_total: float | None


class Drift(_Part):
    detected_at_s: float | None
    retrained_at_s: float | None
    retraining_cost_usd: float


class BlastRadius(_Part):
    """If this component goes down: the shares of decisions that fail, are answered by a fallback,
    or are unaffected (from the graph's flows, with the run's own share of unsure decisions for
    routes by confidence), and the graph's sentence about it."""

    fails: float
    degrades: float
    unaffected: float
    how: str


class Component(_Part):
    """One component of the architecture over the measured window: the requests that reached it,
    their time there (ms), queue wait and service for pools, utilization where it has a capacity."""

    kind: ComponentKind
    label: str
    reached: int
    time_ms_mean: float | None
    time_ms_p99: float | None
    wait_ms_mean: float | None
    service_ms_mean: float | None
    utilization: float | None
    blast_radius: BlastRadius


class Bottleneck(_Part):
    """The component with the highest utilization over the measured window."""

    component: str
    label: str
    utilization: float


class PathPart(_Part):
    """One component's mean contribution (ms, share of the latency) to the slowest 1 %'s path."""

    component: str
    label: str
    ms_mean: float
    share: float
    on_path_share: float


class CriticalPath(_Part):
    """Where the slowest 1 % of answered decisions (latency at or above the p99) spent their time."""

    p99_ms: float
    requests: int
    latency_ms_mean: float
    components: tuple[PathPart, ...]
    finding: str


class Architecture(_Part):
    """The run read through its graph (:mod:`simulator.report.components`); component ids as in the
    topology (the default chain's: ingestion, feature_store, external_api, inference)."""

    components: dict[str, Component]
    bottleneck: Bottleneck | None
    critical_path: CriticalPath | None
    single_points_of_failure: tuple[str, ...]
    decided_by: dict[str, int] | None = None
    decided_by_share: dict[str, float] | None = None


class Summary(_Part):
    """Headline KPIs of one run (counting rules in :mod:`simulator.report.summary`)."""

    schema_version: int = SCHEMA_VERSION
    scenario: str
    seed: int
    sim_duration_s: float
    warmup_s: float
    wall_s: float
    requests: Requests
    throughput_rps: float | None
    latency_ms: Latency
    availability: float | None
    on_time_fraction: float | None
    slo_latency_ms: float
    failures_by_reason: dict[str, int]
    stages: Stages
    events: dict[str, int]
    breaker: Breaker
    fallbacks: Fallbacks
    retries: Retries
    canary: Canary
    recovery: tuple[FaultRecovery, ...]
    where_time_went: WhereTimeWent | None
    cost_usd: Cost | None = None
    value_usd: Value | None = None
    model: Model | None = None
    replicas: Replicas | None = None
    fairness: Fairness | None = None
    review: Review | None = None
    explanations: Explanations | None = None
    drift: Drift | None = None
    architecture: Architecture

    @property
    def measured_s(self) -> float:
        return self.sim_duration_s - self.warmup_s

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``run --json``, ``summary.json``): plain types, the documented field names."""
        return self.model_dump(mode="json")

    def flat(self) -> dict[str, float]:
        """Numeric leaves as dotted keys (``latency_ms.p99``); None -> NaN, text left out."""
        return flatten(self.to_dict())


def flatten(data: dict, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a summary's JSON form as ``{"latency_ms.p99": 212.4, ...}`` (None -> NaN)."""
    out: dict[str, float] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, (bool, int, float)):
            out[name] = float(value)
        elif value is None:
            out[name] = math.nan
    return out
