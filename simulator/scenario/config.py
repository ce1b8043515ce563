"""The scenario model: every parameter, its unit, range, default and meaning, in one place.

A scenario is a frozen pydantic model loaded from YAML by the guarded reader of
:mod:`simulator.common.safe_yaml` (size, depth and alias limits first, duplicate keys an
error). Unknown keys are rejected so that typos fail loudly, and every field has a finite
range (see :mod:`simulator.common.section` for the rules every field follows). The CLI, the dashboard and sweeps all change a
scenario through :func:`with_overrides`, which re-validates the merged result.

Sections that belong to later features (autoscaler, breaker, canary, ...) live in their own
modules next to the logic that reads them and are composed here.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, JsonValue, ValidationError, field_validator, model_validator

from simulator.common.limits import (
    MAX_CV,
    MAX_DURATION_S,
    MAX_ENTRIES,
    MAX_LATENCY_MS,
    MAX_NAME_CHARS,
    MAX_POINTS,
    MAX_REPLICAS,
    MAX_TEXT_CHARS,
    MIN_TIME_STEP_S,
)
from simulator.common.safe_yaml import YamlError, load_yaml
from simulator.common.section import Section
from simulator.common.text import quote_value
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

Dist = Literal["exponential", "lognormal", "gamma", "constant"]

MAX_RATE_PER_S = 200_000.0
MAX_SHARE = 1e6            # segment and region shares are relative weights
MAX_PATH_CHARS = 4096
# a URL or fsspec-style protocol ("http://", "s3:", "file:", "simplecache::"), or a Windows network share
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+:|\\\\)")


class ScenarioError(ValueError):
    """Invalid input. ``lines`` holds one human-readable line per problem."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines

    def __reduce__(self):  # keep ``lines`` when the error travels back from a worker process
        return ScenarioError, (self.lines,)


# --------------------------------------------------------------------------- traffic
class TrafficSpike(Section):
    """A named surge: the rate ramps up to ``multiplier`` x, holds, and ramps back down."""

    name: str = Field("spike", max_length=MAX_NAME_CHARS, description="Name shown on charts and in the narrative")
    start_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="When the ramp up begins (s after start)")
    multiplier: float = Field(2.0, ge=0, le=100, description="Peak rate as a multiple of the base rate")
    ramp_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="Seconds to ramp from 1x to the peak (and back)")
    duration_s: float = Field(600.0, gt=0, le=MAX_DURATION_S, description="Seconds at the peak, between the two ramps")


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
        (), max_length=MAX_POINTS,
        description="Piecewise-linear rate multiplier as (t_s, multiplier) points; empty = flat")
    daily: DailyCurve = DailyCurve()
    spikes: tuple[TrafficSpike, ...] = Field(
        (), max_length=MAX_ENTRIES, description="Named surges on top of the base profile")
    replay_csv: str | None = Field(
        None, max_length=MAX_PATH_CHARS,
        description="CSV file with a column t_s of arrival times (kind: replay); a local file, never a URL")
    segments: dict[str, float] = Field(
        {"consumer": 0.8, "business": 0.2}, min_length=1, max_length=MAX_ENTRIES,
        description="Customer segments and their shares of traffic")
    regions: dict[str, float] = Field(
        {"north": 0.3, "south": 0.3, "east": 0.2, "west": 0.2}, min_length=1, max_length=MAX_ENTRIES,
        description="Customer regions and their shares of traffic")

    @field_validator("replay_csv")
    @classmethod
    def _local_file_only(cls, path: str | None) -> str | None:
        if path is None:
            return None
        if not path.strip():
            raise ValueError("give a file name")
        if any(not c.isprintable() for c in path):
            raise ValueError("a file name cannot contain control characters")
        if _URL.search(path):
            raise ValueError("replay data is read from a local file, never from a URL")
        return path

    @model_validator(mode="after")
    def _check(self) -> TrafficConfig:
        for name, shares in (("segments", self.segments), ("regions", self.regions)):
            if any(not 0 < len(key) <= MAX_NAME_CHARS for key in shares):
                raise ValueError(f"{name}: names must have 1 to {MAX_NAME_CHARS} characters")
            if any(not 0 <= v <= MAX_SHARE for v in shares.values()) or sum(shares.values()) <= 0:
                raise ValueError(f"{name}: shares must be between 0 and {MAX_SHARE:g} and sum to more than 0")
        times = [p[0] for p in self.profile_points]
        if any(b < a for a, b in zip(times, times[1:])):
            raise ValueError("profile_points: times must be increasing")
        if any(not (0 <= p[0] <= MAX_DURATION_S and 0 <= p[1] <= 100) for p in self.profile_points):
            raise ValueError(f"profile_points: times must be in [0, {MAX_DURATION_S:g}] s and multipliers in [0, 100]")
        if self.kind == "replay" and not self.replay_csv:
            raise ValueError("replay_csv: required when kind is replay")
        return self


# --------------------------------------------------------------------------- stages
class StreamConfig(Section):
    """A Kafka-like topic read by one consumer group; each partition has exactly one consumer."""

    partitions: int = Field(12, ge=1, le=10_000, description="Partitions of the topic")
    consumers: int = Field(4, ge=1, le=10_000, description="Consumers in the group (parallelism = min(consumers, partitions))")
    process_ms: float = Field(2.0, ge=0, le=MAX_LATENCY_MS, description="Mean consumer processing time per message (ms)")
    process_cv: float = Field(1.0, ge=0, le=MAX_CV, description="Coefficient of variation of the processing time")
    process_dist: Dist = Field("exponential", description="Distribution of the processing time")


class BatchConfig(Section):
    """A scheduled job: requests wait for the next trigger, then flow at the job's throughput."""

    interval_s: float = Field(
        3600.0, ge=1, le=MAX_DURATION_S,
        description="Seconds between job triggers (at least 1 s; for faster delivery use stream mode)")
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
    lookup_cv: float = Field(0.5, ge=0, le=MAX_CV, description="Coefficient of variation of the lookup latency")
    lookup_dist: Dist = Field("lognormal", description="Distribution of the lookup latency")
    db_connections: int = Field(8, ge=1, le=10_000, description="Connection pool size of the source database")
    db_query_ms: float = Field(40.0, ge=0, le=MAX_LATENCY_MS, description="Mean time a feature computation holds a DB connection (ms)")
    db_query_cv: float = Field(0.5, ge=0, le=MAX_CV, description="Coefficient of variation of the DB query time")
    db_query_dist: Dist = Field("lognormal", description="Distribution of the DB query time")
    materialization_interval_s: float = Field(
        900.0, gt=0, le=MAX_DURATION_S, description="Online features are refreshed this often; a hit is up to this stale (s)")


class ExternalApiConfig(Section):
    """An enrichment call to a third-party service (weather); no connection limit."""

    enabled: bool = Field(True, description="Call the external API on every request")
    name: str = Field("weather service", max_length=MAX_NAME_CHARS, description="Plain-language name of the dependency")
    latency_ms: float = Field(60.0, ge=0, le=MAX_LATENCY_MS, description="Mean call latency (ms)")
    latency_cv: float = Field(0.5, ge=0, le=MAX_CV, description="Coefficient of variation of the call latency")
    latency_dist: Dist = Field("lognormal", description="Distribution of the call latency")
    timeout_ms: float = Field(1000.0, ge=1, le=MAX_LATENCY_MS, description="Client timeout; slower calls fail at this time (ms)")
    error_rate: float = Field(0.0, ge=0, le=1, description="Share of calls that fail even when the service is healthy")
    error_latency_ms: float = Field(5.0, ge=0, le=MAX_LATENCY_MS, description="How fast a failing call returns its error (ms)")
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
        4, ge=0, le=MAX_REPLICAS, description="Replicas serving the model (the fixed pool, or the autoscaler's start)")
    precision: Literal["fp32", "fp16", "int8"] = Field(
        "fp32", description="Numeric precision of the served model (changes speed, memory and measured accuracy)")
    concurrency: int = Field(1, ge=1, le=1_000, description="Requests one replica serves at the same time")
    service_ms: float = Field(20.0, ge=0, le=MAX_LATENCY_MS, description="Mean model service time per request (ms)")
    service_cv: float = Field(0.5, ge=0, le=MAX_CV, description="Coefficient of variation of the service time")
    service_dist: Dist = Field("lognormal", description="Distribution of the service time")
    queue_limit: int | None = Field(
        None, ge=0, le=10_000_000,
        description="Max requests waiting; beyond it a request is rejected (null or unlimited = no limit)")
    timeout_ms: float | None = Field(
        None, ge=1, le=3_600_000,
        description="Request deadline from entering the queue; later answers fail (null or none = no deadline)")


class TracingConfig(Section):
    """Which requests get OpenTelemetry-style spans (one per stage, queue wait and service apart)."""

    sample_rate: float = Field(0.01, ge=0, le=1, description="Share of requests traced (head sampling)")
    service_name: str = Field("fraud-scoring", min_length=1, max_length=MAX_NAME_CHARS,
                              description="service.name attribute of exported spans")


# --------------------------------------------------------------------------- scenario
MAX_OVERRIDE_VALUES = 1_000  # values in one comparison override (a list of operator actions, say)


class Scenario(Section):
    """A complete, runnable description of one serving architecture under one load."""

    name: str = Field("scenario", min_length=1, max_length=MAX_NAME_CHARS, description="Short identifier")
    description: str = Field("", max_length=MAX_TEXT_CHARS, description="What this scenario shows, in plain language")
    seed: int = Field(42, ge=0, le=2**63 - 1, description="Default random seed (the CLI --seed overrides it)")
    duration_s: float = Field(3600.0, gt=0, le=MAX_DURATION_S, description="Simulated time (s)")
    warmup_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="Initial period excluded from statistics (s)")
    start_time_of_day_h: float = Field(9.0, ge=0, lt=24, description="Clock time at t = 0 (hours), for narratives")
    timeseries_interval_s: float = Field(
        10.0, ge=MIN_TIME_STEP_S, le=86_400,
        description="Width of one time-series bin (s); runs are cut into at most 5,000 bins")
    slo_latency_ms: float = Field(500.0, ge=1, le=86_400_000, description="A decision within this latency is 'on time' (ms)")
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
    compare_label: str = Field("", max_length=MAX_NAME_CHARS,
                               description="Plain-language name of this scenario's natural comparison")
    compare_overrides: dict[str, JsonValue] = Field(
        {}, max_length=MAX_ENTRIES,
        description="Dotted overrides that give the comparison (e.g. {inference.precision: fp32}); each is checked "
                    "where it lands")

    @field_validator("compare_overrides", mode="before")
    @classmethod
    def _small_values(cls, overrides: Any) -> Any:
        """Each override is a small document (it is validated where it lands, in _check)."""
        if isinstance(overrides, dict):
            for path, value in overrides.items():
                if _count_values(value) > MAX_OVERRIDE_VALUES:
                    raise ValueError(f"{quote_value(path)} holds more than {MAX_OVERRIDE_VALUES:,} values")
        return overrides

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.warmup_s >= self.duration_s:
            raise ValueError(f"warmup_s: must be less than duration_s ({self.duration_s:g}), got {self.warmup_s:g}")
        if self.inference.enabled and self.inference.replicas == 0 and not (
                self.autoscaler.enabled and self.autoscaler.kind == "kpa" and self.autoscaler.min_replicas == 0):
            raise ValueError("inference.replicas: 0 replicas is only allowed when a KPA autoscaler with "
                             "min_replicas 0 starts them (scale from zero); got 0")
        from simulator.mechanisms.cost import replicas_per_node
        from simulator.scenario.serving import replica_memory_gib

        mem = replica_memory_gib(self.model, self.inference.precision)
        try:
            replicas_per_node(mem, self.cost.instance, self.cost.system_reserved_memory_gib)
        except ValueError as err:
            raise ValueError(f"cost.instance_type: {err}") from None
        self._check_compare_overrides()
        return self

    def _check_compare_overrides(self) -> None:
        """Every comparison override names a real field and gives it a value that field accepts."""
        if not self.compare_overrides:
            return
        for path in self.compare_overrides:
            if leaf_field(path) is None:
                raise ValueError(f"compare_overrides: {quote_value(path)} is not a scenario field")
        data = self.model_dump(mode="python")
        data["compare_overrides"] = {}
        for path, value in self.compare_overrides.items():
            _set_dotted(data, path, value)
        try:
            Scenario.model_validate(data)
        except ValidationError as err:
            raise ValueError(f"compare_overrides: {format_validation_error(err)[0]}") from None


# --------------------------------------------------------------------------- loading
MAX_OVERRIDE_PATH_CHARS = 200
_PATH_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$|^[0-9]{1,4}$")


def _inner_model(annotation: Any) -> type[Section] | None:
    """The section class behind a field: itself, or the item type of a tuple of sections."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    args = getattr(annotation, "__args__", ())
    if args and isinstance(args[0], type) and issubclass(args[0], Section):
        return args[0]
    return None


def leaf_field(path: str, model: type[Section] | None = None):
    """The pydantic FieldInfo of a plain (non-section) field at a dotted path, or None."""
    cls: type[Section] | None = model or Scenario
    info = None
    for part in path.split("."):
        if cls is None or part not in cls.model_fields:
            return None
        info = cls.model_fields[part]
        cls = info.annotation if isinstance(info.annotation, type) and issubclass(info.annotation, Section) else None
    return None if cls is not None else info


def _field_range(model: type[Section], loc: tuple) -> str:
    """Describe the allowed range of the field at ``loc`` from its schema constraints."""
    cls: Any = model
    info = None
    for part in loc:
        fields = getattr(cls, "model_fields", None)
        if not fields or part not in fields:
            break
        info = fields[part]
        cls = _inner_model(info.annotation)
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


def _count_values(value: Any, limit: int = MAX_OVERRIDE_VALUES) -> int:
    """Values in a nested list/mapping, counting stops just past ``limit`` (iterative, no recursion)."""
    count, stack = 0, [value]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return count


def _loc_part(part: Any) -> str:
    """A part of an error's location as printable text (mapping keys come from the input)."""
    text = str(part)
    return "".join(c if c.isprintable() else "?" for c in text[:MAX_NAME_CHARS]) + \
        ("…" if len(text) > MAX_NAME_CHARS else "")


def format_validation_error(err: ValidationError, model: type[Section] = Scenario) -> list[str]:
    """One line per problem: field path, what is wrong, the allowed range and (a prefix of) the value given."""
    lines = []
    for e in err.errors(include_url=False, include_context=False):
        loc = tuple(e["loc"])
        path = ".".join(_loc_part(p) for p in loc) or "(scenario)"
        msg = e["msg"]
        msg = msg.removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; `python -m simulator schema` lists every field)"
        elif e["type"] == "finite_number":
            msg = "must be a finite number (inf and nan are not accepted)"
        rng = _field_range(model, tuple(p for p in loc if isinstance(p, str)))
        given = e.get("input")
        shown = e["type"] not in ("extra_forbidden", "missing") and not isinstance(given, dict)
        given_txt = f"; got {quote_value(given)}" if shown else ""
        extra = f" ({rng})" if rng and e["type"] not in ("extra_forbidden",) else ""
        if ": " in msg and path == "(scenario)":
            lines.append(f"{msg}")
        else:
            lines.append(f"{path}: {msg}{extra}{given_txt}")
    return lines


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate a plain dict into a Scenario, raising ScenarioError with readable lines."""
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}: expected a mapping of fields at the top level, got {quote_value(data)}"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err)) from None


def read_scenario_text(source: str | bytes, where: str) -> dict:
    """Parse a scenario document with the safe YAML reader; ScenarioError names ``where``."""
    try:
        data = load_yaml(source)
    except YamlError as err:
        raise ScenarioError([f"{where}: {err}"]) from None
    if data is None:
        raise ScenarioError([f"{where}: the file is empty"])
    if not isinstance(data, dict):
        raise ScenarioError([f"{where}: expected a mapping of fields at the top level, got {quote_value(data)}"])
    return data


def read_regular_file(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of a regular file no larger than ``max_bytes`` (no devices, pipes or folders)."""
    import os
    import stat

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError([f"{what}: file not found: {quote_value(str(path))}"]) from None
    except (OSError, ValueError) as err:
        raise ScenarioError([f"{what}: cannot open {quote_value(str(path))}: {type(err).__name__}"]) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError([f"{what}: {quote_value(str(path))} is a folder, expected a file"])
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError([f"{what}: {quote_value(str(path))} is not a regular file (a device or a pipe)"])
    if info.st_size > max_bytes:
        raise ScenarioError([f"{what}: {quote_value(str(path))} has {info.st_size:,} bytes, more than the "
                             f"{max_bytes:,} allowed"])
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as err:
        raise ScenarioError([f"{what}: cannot read {quote_value(str(path))}: {err.strerror or type(err).__name__}"]) \
            from None
    if len(data) > max_bytes:
        raise ScenarioError([f"{what}: {quote_value(str(path))} has more than the {max_bytes:,} bytes allowed"])
    return data


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML file. Relative replay CSV paths resolve next to the file."""
    from simulator.common.safe_yaml import MAX_YAML_BYTES

    p = Path(path)
    data = read_scenario_text(read_regular_file(p, MAX_YAML_BYTES, str(path)[:200]), str(path)[:200])
    data.setdefault("name", p.stem[:MAX_NAME_CHARS])
    traffic = data.get("traffic")
    if isinstance(traffic, dict) and isinstance(traffic.get("replay_csv"), str):
        csv = traffic["replay_csv"]
        if csv.strip() and not _URL.search(csv) and not Path(csv).is_absolute():
            traffic["replay_csv"] = str(p.parent.absolute() / csv)
    return parse_scenario(data, source=str(path)[:200])


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


def check_override_path(path: str) -> str:
    """A dotted field path of sensible shape (names or list positions), or ScenarioError."""
    path = path.strip()
    parts = path.split(".")
    if not path or len(path) > MAX_OVERRIDE_PATH_CHARS or len(parts) > 8 \
            or not all(_PATH_PART.match(p) for p in parts):
        raise ScenarioError([f"--set {quote_value(path)}: expected a dotted field path such as inference.replicas"])
    return path


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``PATH=VALUE`` with VALUE read as YAML (6 -> int, fp32 -> str, null -> None)."""
    if "=" not in text:
        raise ScenarioError([f"--set {quote_value(text)}: expected PATH=VALUE, e.g. inference.replicas=6"])
    path, raw = text.split("=", 1)
    path = check_override_path(path)
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except YamlError as err:
        raise ScenarioError([f"{path}: could not read {quote_value(raw)} as a value: {err}"]) from None
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
        _set_dotted(data, check_override_path(path), value)
    return parse_scenario(data)


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (every default written out) as YAML."""
    data = scenario.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
