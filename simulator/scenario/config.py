"""The scenario model: every parameter, its unit, range, default and meaning, in one place.

A scenario is a frozen pydantic model loaded from YAML by the guarded reader of
:mod:`simulator.common.safe_yaml` (size, depth and alias limits first, duplicate keys an
error). Unknown keys are rejected so that typos fail loudly, and every field has a finite
range (see :mod:`simulator.common.section` for the rules every field follows). The CLI, the
dashboard and sweeps all change a scenario through :func:`with_overrides`, which re-validates
the merged result.

The stations' sections live in :mod:`simulator.scenario.stages`, the architecture in
:mod:`simulator.scenario.topology`, and the mechanisms' sections (autoscaler, breaker, canary,
...) next to the rules that read them; they are composed here.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from simulator.common.limits import (
    MAX_DURATION_S,
    MAX_ENTRIES,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    MIN_DURATION_S,
    MIN_TIME_STEP_S,
)
from simulator.common.safe_yaml import YamlError, load_yaml
from simulator.common.section import Section
from simulator.common.text import quote_value
from simulator.mechanisms.autoscaler import AutoscalerConfig
from simulator.mechanisms.canary import CanaryConfig
from simulator.mechanisms.cost import CostConfig, ValueConfig
from simulator.mechanisms.fairness import FairnessConfig
from simulator.ml.population import PopulationConfig, SkewConfig
from simulator.scenario.decisions import DriftConfig, ExplanationConfig
from simulator.scenario.faults import FaultsConfig
from simulator.scenario.governance import RetrainingConfig, ReviewConfig
from simulator.scenario.graph import graph_problems, topology_of
from simulator.scenario.serving import ColdStartConfig, ModelServingConfig
from simulator.scenario.stages import (
    URL_PATTERN,
    ExternalApiConfig,
    FeatureStoreConfig,
    InferenceConfig,
    IngestionConfig,
    TracingConfig,
    TrafficConfig,
)
from simulator.scenario.story import DottedOverrides, Period, ServiceLevels, Vocabulary
from simulator.scenario.topology import Topology


class ScenarioError(ValueError):
    """Invalid input. ``lines`` holds one human-readable line per problem."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines

    def __reduce__(self):  # keep ``lines`` when the error travels back from a worker process
        return ScenarioError, (self.lines,)


# --------------------------------------------------------------------------- scenario


class Scenario(Section):
    """A complete, runnable description of one serving architecture under one load."""

    name: str = Field("scenario", min_length=1, max_length=MAX_NAME_CHARS, description="Short identifier")
    description: str = Field("", max_length=MAX_TEXT_CHARS, description="What this scenario shows, in plain language")
    seed: int = Field(42, ge=0, le=2**63 - 1, description="Default random seed (the CLI --seed overrides it)")
    duration_s: float = Field(3600.0, ge=MIN_DURATION_S, le=MAX_DURATION_S, description="Simulated time (s)")
    warmup_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="Initial period excluded from statistics (s)")
    start_time_of_day_h: float = Field(9.0, ge=0, lt=24, description="Clock time at t = 0 (hours), for narratives")
    timeseries_interval_s: float = Field(
        10.0, ge=MIN_TIME_STEP_S, le=86_400,
        description="Width of one time-series bin (s); runs are cut into at most 5,000 bins")
    slo_latency_ms: float = Field(500.0, ge=1, le=86_400_000, description="A decision within this latency is 'on time' (ms)")
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
    topology: Topology | None = Field(
        None, description="Your architecture: components and edges (none: ingestion -> feature store -> "
                          "external API -> model, from the sections above)")
    compare_label: str = Field("", max_length=MAX_NAME_CHARS,
                               description="Plain-language name of this scenario's natural comparison")
    compare_overrides: DottedOverrides = Field(
        {}, max_length=MAX_ENTRIES,
        description="Dotted overrides that give the comparison (e.g. {inference.precision: fp32}); each is checked "
                    "where it lands")

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

        topology = topology_of(self)
        problems = graph_problems(self, topology)
        ids = {c.id for c in topology.components}
        problems += [f"faults.components: {f.name!r} names {f.component}, which is not a component "
                     f"(components: {', '.join(sorted(ids))})" for f in self.faults.components if f.component not in ids]
        if problems:
            raise ValueError("\n".join(problems))
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
            if field_at(path) is None:
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


def field_at(path: str, model: type[Section] | None = None):
    """The pydantic FieldInfo of the field at a dotted path (a value or a whole section), or None."""
    cls: type[Section] | None = model or Scenario
    info = None
    for part in path.split("."):
        if cls is None or part not in cls.model_fields:
            return None
        info = cls.model_fields[part]
        members = [a for a in getattr(info.annotation, "__args__", ()) if a is not type(None)] \
            if not isinstance(info.annotation, type) else [info.annotation]
        cls = members[0] if len(members) == 1 and isinstance(members[0], type) and \
            issubclass(members[0], Section) else None  # a section, or an optional one (topology)
    return info


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
        if "\n" in msg and path == "(scenario)":  # a check that found several problems: one line each
            lines += [part for part in msg.splitlines() if part.strip()]
            continue
        if "\n" in msg:  # a validator that found several problems reports one line each
            lines += msg.splitlines()
            continue
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
        if csv.strip() and not URL_PATTERN.search(csv) and not Path(csv).is_absolute():
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
