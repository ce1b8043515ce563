"""The scenario model: every parameter, its unit, range, default and meaning, in one place.

A scenario is a frozen pydantic model loaded from YAML (``yaml.safe_load``). Unknown keys
are rejected so that typos fail loudly. The CLI, the dashboard and sweeps all change a
scenario through :func:`with_overrides`, which re-validates the merged result.

Sections that belong to later features (autoscaler, breaker, canary, ...) live in their own
modules next to the logic that reads them and are composed here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from simulator.common.section import Section
from simulator.mechanisms.autoscaler import AutoscalerConfig
from simulator.mechanisms.breaker import BreakerConfig, RetryConfig
from simulator.mechanisms.canary import CanaryConfig
from simulator.mechanisms.cost import CostConfig, ValueConfig
from simulator.mechanisms.fairness import FairnessConfig
from simulator.ml.population import PopulationConfig, SkewConfig
from simulator.scenario.decisions import DriftConfig, ExplanationConfig
from simulator.scenario.faults import FaultsConfig
from simulator.scenario.governance import RetrainingConfig, ReviewConfig
from simulator.scenario.serving import ColdStartConfig, ModelServingConfig
from simulator.scenario.story import Period, ServiceLevels, Vocabulary

Dist = Literal["exponential", "lognormal", "gamma", "constant"]

MAX_DURATION_S = 30 * 24 * 3600.0
MAX_RATE_PER_S = 200_000.0


class ScenarioError(ValueError):
    """Invalid input. ``lines`` holds one human-readable line per problem."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


# --------------------------------------------------------------------------- traffic
class TrafficSpike(Section):
    """A named surge: the rate ramps up to ``multiplier`` x, holds, and ramps back down."""

    name: str = Field("spike", description="Name shown on charts and in the narrative")
    start_s: float = Field(0.0, ge=0, description="When the ramp up begins (s after start)")
    multiplier: float = Field(2.0, ge=0, le=100, description="Peak rate as a multiple of the base rate")
    ramp_s: float = Field(0.0, ge=0, description="Seconds to ramp from 1x to the peak (and back)")
    duration_s: float = Field(600.0, gt=0, description="Seconds at the peak, between the two ramps")


class DailyCurve(Section):
    """A smooth day/night cycle: rate x (1 + amplitude x cos(2 pi (hour - peak_hour) / 24))."""

    enabled: bool = Field(False, description="Apply the day/night cycle")
    amplitude: float = Field(0.5, ge=0, le=1, description="Relative swing around the mean (0 = flat)")
    peak_hour: float = Field(14.0, ge=0, lt=24, description="Hour of day with the highest traffic")


class TrafficConfig(Section):
    """Open-loop arrivals: who arrives, when, and with which attributes."""

    kind: Literal["poisson", "replay"] = Field(
        "poisson", description="poisson: (time-varying) Poisson arrivals; replay: timestamps from a CSV")
    rate_per_s: float = Field(50.0, ge=0, le=MAX_RATE_PER_S, description="Base arrival rate (requests per second)")
    profile_points: tuple[tuple[float, float], ...] = Field(
        (), description="Piecewise-linear rate multiplier as (t_s, multiplier) points; empty = flat")
    daily: DailyCurve = DailyCurve()
    spikes: tuple[TrafficSpike, ...] = Field((), description="Named surges on top of the base profile")
    replay_csv: str | None = Field(None, description="CSV with a column t_s of arrival times (kind: replay)")
    segments: dict[str, float] = Field(
        {"consumer": 0.8, "business": 0.2}, description="Customer segments and their shares of traffic")
    regions: dict[str, float] = Field(
        {"north": 0.3, "south": 0.3, "east": 0.2, "west": 0.2},
        description="Customer regions and their shares of traffic")

    @model_validator(mode="after")
    def _check(self) -> TrafficConfig:
        for name, shares in (("segments", self.segments), ("regions", self.regions)):
            if not shares:
                raise ValueError(f"{name}: give at least one entry")
            if any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
                raise ValueError(f"{name}: shares must be >= 0 and sum to more than 0")
        times = [p[0] for p in self.profile_points]
        if any(b < a for a, b in zip(times, times[1:])):
            raise ValueError("profile_points: times must be increasing")
        if any(p[0] < 0 or p[1] < 0 for p in self.profile_points):
            raise ValueError("profile_points: times and multipliers must be >= 0")
        if self.kind == "replay" and not self.replay_csv:
            raise ValueError("replay_csv: required when kind is replay")
        return self


# --------------------------------------------------------------------------- stages
class StreamConfig(Section):
    """A Kafka-like topic read by one consumer group; each partition has exactly one consumer."""

    partitions: int = Field(12, ge=1, le=10_000, description="Partitions of the topic")
    consumers: int = Field(4, ge=1, le=10_000, description="Consumers in the group (parallelism = min(consumers, partitions))")
    process_ms: float = Field(2.0, ge=0, le=600_000, description="Mean consumer processing time per message (ms)")
    process_cv: float = Field(1.0, ge=0, le=10, description="Coefficient of variation of the processing time")
    process_dist: Dist = Field("exponential", description="Distribution of the processing time")


class BatchConfig(Section):
    """A scheduled job: requests wait for the next trigger, then flow at the job's throughput."""

    interval_s: float = Field(3600.0, gt=0, le=MAX_DURATION_S, description="Seconds between job triggers")
    throughput_per_s: float = Field(500.0, gt=0, le=1e7, description="Records the job pushes through per second")
    startup_s: float = Field(30.0, ge=0, le=86_400, description="Job start-up time before the first record flows (s)")


class IngestionConfig(Section):
    """How requests enter the pipeline."""

    mode: Literal["direct", "stream", "batch"] = Field(
        "direct", description="direct: synchronous call (stage off); stream: topic + consumers; batch: scheduled job")
    stream: StreamConfig = StreamConfig()
    batch: BatchConfig = BatchConfig()


class FeatureStoreConfig(Section):
    """Online feature lookup; a miss (or no store) computes features from the source database."""

    mode: Literal["online_store", "compute", "off"] = Field(
        "online_store",
        description="online_store: lookup, misses go to the DB; compute: no store, every request queries the DB; off: stage disabled")
    hit_ratio: float = Field(0.95, ge=0, le=1, description="Probability that the online store has fresh features")
    lookup_ms: float = Field(2.0, ge=0, le=60_000, description="Mean online lookup latency (ms)")
    lookup_cv: float = Field(0.5, ge=0, le=10, description="Coefficient of variation of the lookup latency")
    lookup_dist: Dist = Field("lognormal", description="Distribution of the lookup latency")
    db_connections: int = Field(8, ge=1, le=10_000, description="Connection pool size of the source database")
    db_query_ms: float = Field(40.0, ge=0, le=600_000, description="Mean time a feature computation holds a DB connection (ms)")
    db_query_cv: float = Field(0.5, ge=0, le=10, description="Coefficient of variation of the DB query time")
    db_query_dist: Dist = Field("lognormal", description="Distribution of the DB query time")
    materialization_interval_s: float = Field(
        900.0, gt=0, le=MAX_DURATION_S, description="Online features are refreshed this often; a hit is up to this stale (s)")


class ExternalApiConfig(Section):
    """An enrichment call to a third-party service (weather); no connection limit."""

    enabled: bool = Field(True, description="Call the external API on every request")
    name: str = Field("weather service", description="Plain-language name of the dependency")
    latency_ms: float = Field(60.0, ge=0, le=600_000, description="Mean call latency (ms)")
    latency_cv: float = Field(0.5, ge=0, le=10, description="Coefficient of variation of the call latency")
    latency_dist: Dist = Field("lognormal", description="Distribution of the call latency")
    timeout_ms: float = Field(1000.0, gt=0, le=600_000, description="Client timeout; slower calls fail at this time (ms)")
    error_rate: float = Field(0.0, ge=0, le=1, description="Share of calls that fail even when the service is healthy")
    error_latency_ms: float = Field(5.0, ge=0, le=600_000, description="How fast a failing call returns its error (ms)")
    fallback: Literal["none", "cached", "default"] = Field(
        "none", description="When the call fails: none (the request fails), cached (last good answer for the region), default (a constant)")
    cache_max_staleness_s: float = Field(
        3600.0, ge=0, le=MAX_DURATION_S, description="A cached answer older than this is not used (s)")
    cached_accuracy_penalty: float = Field(
        0.01, ge=0, le=1, description="Accuracy lost when the model uses a cached answer (absolute, 0-1)")
    default_accuracy_penalty: float = Field(
        0.03, ge=0, le=1, description="Accuracy lost when the model uses the default answer (absolute, 0-1)")
    breaker: BreakerConfig = BreakerConfig()
    retry: RetryConfig = RetryConfig()


class InferenceConfig(Section):
    """A pool of model replicas; each serves ``concurrency`` requests at once, FIFO queue in front."""

    enabled: bool = Field(True, description="Run the model stage")
    replicas: int = Field(
        4, ge=0, le=10_000, description="Replicas serving the model (the fixed pool, or the autoscaler's start)")
    precision: Literal["fp32", "fp16", "int8"] = Field(
        "fp32", description="Numeric precision of the served model (changes speed, memory and measured accuracy)")
    concurrency: int = Field(1, ge=1, le=1_000, description="Requests one replica serves at the same time")
    service_ms: float = Field(20.0, ge=0, le=600_000, description="Mean model service time per request (ms)")
    service_cv: float = Field(0.5, ge=0, le=10, description="Coefficient of variation of the service time")
    service_dist: Dist = Field("lognormal", description="Distribution of the service time")
    queue_limit: int | None = Field(
        None, ge=0, le=10_000_000, description="Max requests waiting; beyond it a request is rejected (null = unlimited)")
    timeout_ms: float | None = Field(
        None, gt=0, le=3_600_000, description="Request deadline from entering the queue; later answers fail (null = none)")


class TracingConfig(Section):
    """Which requests get OpenTelemetry-style spans (one per stage, queue wait and service apart)."""

    sample_rate: float = Field(0.01, ge=0, le=1, description="Share of requests traced (head sampling)")
    service_name: str = Field("fraud-scoring", description="service.name attribute of exported spans")


# --------------------------------------------------------------------------- scenario
class Scenario(Section):
    """A complete, runnable description of one serving architecture under one load."""

    name: str = Field("scenario", description="Short identifier")
    description: str = Field("", description="What this scenario shows, in plain language")
    seed: int = Field(42, ge=0, le=2**63 - 1, description="Default random seed (the CLI --seed overrides it)")
    duration_s: float = Field(3600.0, gt=0, le=MAX_DURATION_S, description="Simulated time (s)")
    warmup_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="Initial period excluded from statistics (s)")
    start_time_of_day_h: float = Field(9.0, ge=0, lt=24, description="Clock time at t = 0 (hours), for narratives")
    timeseries_interval_s: float = Field(10.0, gt=0, le=86_400, description="Width of one time-series bin (s)")
    slo_latency_ms: float = Field(500.0, gt=0, le=86_400_000, description="A decision within this latency is 'on time' (ms)")
    service_levels: ServiceLevels = ServiceLevels()
    period: Period = Period()
    vocabulary: Vocabulary = Vocabulary()
    max_requests: int = Field(20_000_000, ge=1, le=500_000_000, description="Refuse to simulate more arrivals than this")
    traffic: TrafficConfig = TrafficConfig()
    ingestion: IngestionConfig = IngestionConfig()
    feature_store: FeatureStoreConfig = FeatureStoreConfig()
    external_api: ExternalApiConfig = ExternalApiConfig()
    inference: InferenceConfig = InferenceConfig()
    faults: FaultsConfig = FaultsConfig()
    canary: CanaryConfig = CanaryConfig()
    tracing: TracingConfig = TracingConfig()
    autoscaler: AutoscalerConfig = AutoscalerConfig()
    cold_start: ColdStartConfig = ColdStartConfig()
    model: ModelServingConfig = ModelServingConfig()
    cost: CostConfig = CostConfig()
    value: ValueConfig = ValueConfig()
    population: PopulationConfig = PopulationConfig()
    drift: DriftConfig = DriftConfig()
    skew: SkewConfig = SkewConfig()
    explanations: ExplanationConfig = ExplanationConfig()
    fairness: FairnessConfig = FairnessConfig()
    review: ReviewConfig = ReviewConfig()
    retraining: RetrainingConfig = RetrainingConfig()
    compare_label: str = Field("", description="Plain-language name of this scenario's natural comparison")
    compare_overrides: dict[str, Any] = Field(
        {}, description="Dotted overrides that give the comparison (e.g. {inference.precision: fp32})")

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.warmup_s >= self.duration_s:
            raise ValueError(f"warmup_s: must be less than duration_s ({self.duration_s:g}), got {self.warmup_s:g}")
        if self.inference.enabled and self.inference.replicas == 0 and not (
                self.autoscaler.enabled and self.autoscaler.kind == "kpa" and self.autoscaler.min_replicas == 0):
            raise ValueError("inference.replicas: 0 replicas is only allowed when a KPA autoscaler with "
                             "min_replicas 0 starts them (scale from zero); got 0")
        if self.period.kind == "one_off":
            try:
                without_incident(self)
            except ScenarioError as err:
                raise ValueError(f"period.without_incident: the overrides do not fit this scenario: "
                                 f"{'; '.join(err.lines)}") from None
        from simulator.mechanisms.cost import replicas_per_node
        from simulator.scenario.serving import replica_memory_gib

        mem = replica_memory_gib(self.model, self.inference.precision)
        try:
            replicas_per_node(mem, self.cost.instance, self.cost.system_reserved_memory_gib)
        except ValueError as err:
            raise ValueError(f"cost.instance_type: {err}") from None
        return self


# --------------------------------------------------------------------------- loading
def _field_range(model: type[Section], loc: tuple) -> str:
    """Describe the allowed range of the field at ``loc`` from its schema constraints."""
    cls: Any = model
    info = None
    for part in loc:
        fields = getattr(cls, "model_fields", None)
        if not fields or part not in fields:
            break
        info = fields[part]
        ann = info.annotation
        cls = ann if isinstance(ann, type) else None
        if cls is None:
            break
    if info is None:
        return ""
    lo = hi = None
    lo_op = hi_op = ""
    for m in info.metadata:
        for attr, op in (("ge", "≥"), ("gt", ">")):
            if getattr(m, attr, None) is not None:
                lo, lo_op = getattr(m, attr), op
        for attr, op in (("le", "≤"), ("lt", "<")):
            if getattr(m, attr, None) is not None:
                hi, hi_op = getattr(m, attr), op
    if lo is not None and hi is not None:
        return f"allowed: {lo_op} {lo:g} and {hi_op} {hi:g}"
    if lo is not None:
        return f"allowed: {lo_op} {lo:g}"
    if hi is not None:
        return f"allowed: {hi_op} {hi:g}"
    return ""


def format_validation_error(err: ValidationError, model: type[Section] = Scenario) -> list[str]:
    """One line per problem: field path, what is wrong, the allowed range and the value given."""
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        path = ".".join(str(p) for p in loc) or "(scenario)"
        msg = e["msg"]
        msg = msg.removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; `python -m simulator schema` lists every field)"
        rng = _field_range(model, tuple(p for p in loc if isinstance(p, str)))
        given = e.get("input")
        given_txt = "" if e["type"] in ("extra_forbidden", "missing") or isinstance(given, dict) else f"; got {given!r}"
        extra = f" ({rng})" if rng and e["type"] not in ("extra_forbidden",) else ""
        if ": " in msg and path == "(scenario)":
            lines.append(f"{msg}")
        else:
            lines.append(f"{path}: {msg}{extra}{given_txt}")
    return lines


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate a plain dict into a Scenario, raising ScenarioError with readable lines."""
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}: expected a mapping of fields at the top level, got {type(data).__name__}"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML file. Relative replay CSV paths resolve next to the file."""
    p = Path(path)
    if not p.exists():
        raise ScenarioError([f"{path}: file not found"])
    if p.is_dir():
        raise ScenarioError([f"{path}: is a directory, expected a scenario YAML file"])
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ScenarioError([f"{path}:{where}: invalid YAML: {problem}"]) from None
    except UnicodeDecodeError:
        raise ScenarioError([f"{path}: not a text file"]) from None
    if data is None:
        raise ScenarioError([f"{path}: the file is empty"])
    if isinstance(data, dict):
        data.setdefault("name", p.stem)
        traffic = data.get("traffic")
        if isinstance(traffic, dict) and isinstance(traffic.get("replay_csv"), str):
            csv = Path(traffic["replay_csv"])
            if not csv.is_absolute():
                traffic["replay_csv"] = str((p.parent / csv).resolve())
    return parse_scenario(data, source=str(path))


def _set_dotted(data: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        if not isinstance(child, dict):
            raise ScenarioError([f"{path}: '{'.'.join(parts[: i + 1])}' is a value, not a section"])
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``PATH=VALUE`` with VALUE read as a YAML scalar (6 -> int, fp32 -> str, null -> None)."""
    if "=" not in text:
        raise ScenarioError([f"--set {text!r}: expected PATH=VALUE, e.g. inference.replicas=6"])
    path, raw = text.split("=", 1)
    path = path.strip()
    if not path or any(not p for p in path.split(".")):
        raise ScenarioError([f"--set {text!r}: empty field path"])
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        raise ScenarioError([f"{path}: could not read {raw!r} as a value"]) from None
    if isinstance(value, str):
        try:  # YAML 1.1 reads "1e9" as text; a number is what anyone typing it means
            value = float(value) if value.strip().lower() not in ("nan", "inf", "-inf", "infinity") else value
        except ValueError:
            pass
    return path, value


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """Apply dotted overrides ({"inference.replicas": 6}) and validate the result again."""
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="python")
    for path, value in overrides.items():
        _set_dotted(data, path, value)
    return parse_scenario(data)


def without_incident(scenario: Scenario) -> Scenario | None:
    """The same scenario without its one-off incident (None for a typical period), for the paired
    run that prices the incident; the twin is a typical period itself."""
    if scenario.period.kind != "one_off":
        return None
    overrides = {**scenario.period.without_incident, "period": {"kind": "typical"}}
    return with_overrides(scenario, overrides)


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (every default written out) as YAML."""
    data = scenario.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
