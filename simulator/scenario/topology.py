"""The service's architecture as data: components and the edges requests follow between them.

A scenario without a ``topology`` section describes today's chain (ingestion -> feature store ->
one external dependency -> one model pool), built from its top-level sections. With one, an
architect lists their own components and edges:

* **sequence** ``{from: a, to: b}``: every request leaving ``a`` goes to ``b``;
* **parallel** ``{from: a, parallel: [b, c, d], join: all | first_k, k: 2, to: e}``: the request
  calls the dependencies ``b, c, d`` at once and continues to ``e`` when all (or the first ``k``)
  have answered; a failed branch uses its own fallback, or counts as not answered;
* **route** ``{from: a, route: [{to: b, share: 0.3}, {to: c, share: 0.7}]}`` by probability, or
  ``{to: b, when: {confidence_below: 0.8}}`` by a condition on the request; a request that
  matches no branch ends at ``a`` (only a deciding component, a model or rules, may end one);
* **fallback** ``{from: a, fallback: b}``: when ``a`` fails (or its breaker is open) the request is
  served by ``b`` instead and then continues along ``a``'s edges.

A component's settings default to the scenario's top-level section of its kind, so the default
chain reads exactly the sections old scenario files already have. The graph itself is a
``networkx.DiGraph`` (see :mod:`simulator.scenario.graph`).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from simulator.common.limits import MAX_NAME_CHARS
from simulator.common.section import Section
from simulator.mechanisms.autoscaler import AutoscalerConfig
from simulator.mechanisms.canary import CanaryConfig
from simulator.ml.model import Architecture
from simulator.scenario.stages import ExternalApiConfig, FeatureStoreConfig, InferenceConfig, IngestionConfig

ComponentKind = Literal["ingestion", "feature_store", "dependency", "rules", "model", "review"]
KINDS: tuple[str, ...] = ("ingestion", "feature_store", "dependency", "rules", "model", "review")
DECIDING_KINDS = ("model", "rules", "review")
ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
ComponentId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
MAX_COMPONENTS = 64
MAX_EDGES = 256



class RulesConfig(Section):
    """A fixed-cost rules engine that decides the obvious cases before any model sees them."""

    cost_ms: float = Field(1.0, ge=0, le=60_000, description="Time the rules take per request (ms)")
    settle_share: float = Field(
        0.3, ge=0, le=1, description="Share of the requests it sees that the rules decide on their own")
    accuracy: float = Field(
        0.97, ge=0, le=1, description="Of the requests the rules decide, the share decided right (they are the "
                                      "obvious cases)")


class Condition(Section):
    """A condition on the request; every part given must hold (an empty condition always holds)."""

    segment: tuple[Name, ...] = Field((), max_length=64, description="The request's customer segment is one of these")
    region: tuple[Name, ...] = Field((), max_length=64, description="The request's region is one of these")
    confidence_below: float | None = Field(
        None, ge=0.5, le=1.0,
        description="The deciding component's confidence (max(p, 1 - p) of its score) is below this")


class RouteBranch(Section):
    """One branch of a route: by share (probability) or by condition."""

    to: str = Field(..., pattern=ID_PATTERN, description="Component the request goes to")
    share: float | None = Field(None, ge=0, le=1, description="Probability of this branch (probabilistic routes)")
    when: Condition | None = Field(None, description="Condition for this branch (conditional routes)")

    @model_validator(mode="after")
    def _one_rule(self) -> RouteBranch:
        if (self.share is None) == (self.when is None):
            raise ValueError(f"route to {self.to}: give exactly one of share or when")
        return self


class Edge(Section):
    """How requests move on from one component (exactly one form per edge)."""

    source: str = Field(..., alias="from", pattern=ID_PATTERN, description="Component the requests leave")
    to: str | None = Field(None, pattern=ID_PATTERN, description="Next component (sequence, or after a join)")
    parallel: tuple[ComponentId, ...] = Field(
        (), max_length=16, description="Dependencies called at the same time (fan-out); joined before `to`")
    join: Literal["all", "first_k"] = Field("all", description="Wait for all branches, or for the first k")
    k: int | None = Field(None, ge=1, le=16, description="Branches that must answer when join is first_k")
    route: tuple[RouteBranch, ...] = Field((), max_length=16, description="Branches by share or by condition")
    fallback: str | None = Field(None, pattern=ID_PATTERN, description="Component that serves when this one fails")

    model_config = Section.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _one_form(self) -> Edge:
        forms = [name for name, given in (("to", self.to is not None and not self.parallel),
                                          ("parallel", bool(self.parallel)), ("route", bool(self.route)),
                                          ("fallback", self.fallback is not None)) if given]
        if len(forms) != 1:
            raise ValueError(f"edge from {self.source}: give exactly one of to, parallel (with to), route or "
                             f"fallback; got {', '.join(forms) or 'none'}")
        if self.parallel:
            if self.to is None:
                raise ValueError(f"edge from {self.source}: a parallel block needs `to`, where the joined request goes")
            if len(set(self.parallel)) != len(self.parallel):
                raise ValueError(f"edge from {self.source}: a parallel branch is listed twice")
            if self.join == "first_k":
                if self.k is None:
                    raise ValueError(f"edge from {self.source}: join first_k needs k")
                if self.k > len(self.parallel):
                    raise ValueError(f"edge from {self.source}: join first_k with k={self.k} but only "
                                     f"{len(self.parallel)} branches ({', '.join(self.parallel)})")
            elif self.k is not None:
                raise ValueError(f"edge from {self.source}: k only applies to join first_k")
        if self.route:
            shares = [b.share for b in self.route]
            if any(s is not None for s in shares) and any(s is None for s in shares):
                raise ValueError(f"edge from {self.source}: a route is either by share or by condition, not both")
            if shares[0] is not None and sum(shares) > 1 + 1e-9:
                raise ValueError(f"edge from {self.source}: route shares add up to {sum(shares):g}, more than 1")
        return self

    def targets(self) -> tuple[str, ...]:
        """Every component this edge names besides its source."""
        return (*self.parallel, *((self.to,) if self.to else ()), *(b.to for b in self.route),
                *((self.fallback,) if self.fallback else ()))


class Component(Section):
    """One box of the architecture. Settings not given come from the scenario's section of its kind."""

    id: str = Field(..., pattern=ID_PATTERN, description="Unique name (lower case, digits, underscores)")
    kind: ComponentKind = Field(..., description="What the component does")
    label: str = Field("", max_length=80, description="Business name shown on the diagram and in stories")
    # kind-specific settings; None means the scenario's top-level section of that kind
    ingestion: IngestionConfig | None = Field(None, description="Ingestion settings (as the ingestion section)")
    feature_store: FeatureStoreConfig | None = Field(
        None, description="Feature-store settings (as the feature_store section)")
    dependency: ExternalApiConfig | None = Field(None, description="Dependency settings (as the external_api section)")
    rules: RulesConfig | None = Field(None, description="Rules-engine settings")
    model: InferenceConfig | None = Field(None, description="Model-pool settings (as the inference section)")
    autoscaler: AutoscalerConfig | None = Field(None, description="This model pool's autoscaler (models only)")
    canary: CanaryConfig | None = Field(None, description="This model's canary release (models only)")
    architecture: Architecture | None = Field(
        None, description="The model's inputs: compact (4 raw features, cheap), standard (all 7 raw, the "
                          "default) or large (7 raw plus 3 logged: fits the true relation better); models only")

    @model_validator(mode="after")
    def _settings_match_kind(self) -> Component:
        given = [name for name in ("ingestion", "feature_store", "dependency", "rules", "model")
                 if getattr(self, name) is not None]
        wrong = [name for name in given if name != self.kind]
        if wrong:
            raise ValueError(f"component {self.id}: a {self.kind} component cannot have {', '.join(wrong)} settings")
        if self.kind != "model" and (self.autoscaler is not None or self.canary is not None
                                     or self.architecture is not None):
            raise ValueError(f"component {self.id}: only a model component has an autoscaler, a canary or an "
                             f"architecture")
        return self


class Topology(Section):
    """Components and edges; validated as a graph when the scenario is built."""

    components: tuple[Component, ...] = Field(..., min_length=1, max_length=MAX_COMPONENTS)
    edges: tuple[Edge, ...] = Field((), max_length=MAX_EDGES)
