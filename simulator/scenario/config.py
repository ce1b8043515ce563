"""The scenario model: every parameter, its unit, range, default and meaning, in one place.

A scenario is a frozen pydantic model loaded from YAML (``yaml.safe_load``). Unknown keys
are rejected so that typos fail loudly. The CLI, the dashboard and sweeps all change a
scenario through :func:`with_overrides`, which re-validates the merged result.

The stations' sections live in :mod:`simulator.scenario.stages`, the architecture in
:mod:`simulator.scenario.topology`, and the mechanisms' sections (autoscaler, breaker, canary,
...) next to the rules that read them; they are composed here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from simulator.common.section import Section
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
    MAX_DURATION_S,
    ExternalApiConfig,
    FeatureStoreConfig,
    InferenceConfig,
    IngestionConfig,
    TracingConfig,
    TrafficConfig,
)
from simulator.scenario.story import Period, ServiceLevels, Vocabulary
from simulator.scenario.topology import Topology


class ScenarioError(ValueError):
    """Invalid input. ``lines`` holds one human-readable line per problem."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines



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
    topology: Topology | None = Field(
        None, description="Your architecture: components and edges (none: ingestion -> feature store -> "
                          "external API -> model, from the sections above)")
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
        if "\n" in msg:  # a validator that found several problems reports one line each
            lines += msg.splitlines()
            continue
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
