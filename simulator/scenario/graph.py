"""The architecture as a ``networkx.DiGraph``: built once from the scenario, validated, analysed.

Nodes are component ids with attributes ``kind``, ``label`` and ``settings`` (the resolved
section of that kind). Edges carry ``form``: ``sequence``, ``branch`` (fan-out to a parallel
dependency), ``join`` (from a branch to the component after the join; ``join`` and ``k`` say how
the branches are joined), ``route`` (``share`` or ``when``) or ``fallback``.

Static analysis lives here too, because it needs only the graph and the traffic mix: the flows a
request can take with their probabilities, the blast radius of each component (if it fails,
which share of decisions fails, degrades to a fallback, or is unaffected) and the single points
of failure. The engine and the diagram read the same graph.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx
from scipy.special import gammaincc

from simulator.scenario.topology import DECIDING_KINDS, Component, Condition, Edge, RulesConfig, Topology

KIND_LABELS = {"ingestion": "Ingestion", "feature_store": "Feature store", "dependency": "Dependency",
               "rules": "Rules engine", "model": "Model", "review": "Human review"}


# --------------------------------------------------------------------------- building
def default_topology(scenario) -> Topology:
    """Today's chain, from the scenario's top-level sections: the special case every old file is."""
    comps = [Component(id="ingestion", kind="ingestion")]
    if scenario.feature_store.mode != "off":
        comps.append(Component(id="feature_store", kind="feature_store"))
    if scenario.external_api.enabled:
        comps.append(Component(id="external_api", kind="dependency", label=scenario.external_api.name))
    if scenario.inference.enabled:
        comps.append(Component(id="inference", kind="model"))
    edges = [Edge.model_validate({"from": a.id, "to": b.id}) for a, b in zip(comps, comps[1:])]
    return Topology(components=tuple(comps), edges=tuple(edges))


def topology_of(scenario) -> Topology:
    """The scenario's own topology, or the default chain when it has none."""
    return scenario.topology if scenario.topology is not None else default_topology(scenario)


def settings_of(scenario, comp: Component):
    """The component's settings: its own, or the scenario's top-level section of its kind."""
    own = getattr(comp, comp.kind, None) if comp.kind in ("ingestion", "feature_store", "dependency", "rules",
                                                           "model") else None
    if own is not None:
        return own
    return {"ingestion": scenario.ingestion, "feature_store": scenario.feature_store,
            "dependency": scenario.external_api, "model": scenario.inference, "review": scenario.review,
            "rules": None}[comp.kind]


def label_of(scenario, comp: Component) -> str:
    if comp.label:
        return comp.label
    if comp.kind == "dependency":
        return settings_of(scenario, comp).name
    return KIND_LABELS[comp.kind]


def build_graph(scenario, topology: Topology | None = None) -> nx.DiGraph:
    """The DiGraph of a topology (default: the scenario's). Raises nothing: see :func:`graph_problems`."""
    topo = topology if topology is not None else topology_of(scenario)
    g = nx.DiGraph()
    for comp in topo.components:
        if comp.id in g:
            continue
        g.add_node(comp.id, kind=comp.kind, label=label_of(scenario, comp), component=comp,
                   settings=settings_of(scenario, comp))
    for i, e in enumerate(topo.edges):
        if e.parallel:
            for b in e.parallel:
                g.add_edge(e.source, b, form="branch", group=i)
                g.add_edge(b, e.to, form="join", group=i, join=e.join, k=e.k or len(e.parallel))
        elif e.route:
            for j, br in enumerate(e.route):
                g.add_edge(e.source, br.to, form="route", group=i, index=j, share=br.share, when=br.when)
        elif e.fallback is not None:
            g.add_edge(e.source, e.fallback, form="fallback", group=i)
        else:
            g.add_edge(e.source, e.to, form="sequence", group=i)
    return g


# --------------------------------------------------------------------------- validation
def graph_problems(scenario, topology: Topology) -> list[str]:
    """One line per problem, each naming the components involved (empty: the graph is sound)."""
    problems: list[str] = []
    ids = [c.id for c in topology.components]
    seen: set[str] = set()
    for cid in ids:
        if cid in seen:
            problems.append(f"topology: component id {cid} is used twice")
        seen.add(cid)
    kinds = {c.id: c.kind for c in topology.components}
    for e in topology.edges:
        missing = [t for t in (e.source, *e.targets()) if t not in kinds]
        if missing:
            problems.append(f"topology: the edge from {e.source} names unknown component(s) {', '.join(missing)}")
    if problems:
        return problems
    for kind in ("ingestion", "feature_store"):
        several = [c for c, k in kinds.items() if k == kind]
        if len(several) > 1:
            problems.append(f"topology: only one {kind} component is allowed; got {', '.join(several)}")
    # one successor rule (sequence, parallel or route) per component, plus at most one fallback
    rules: dict[str, list[str]] = {}
    fallbacks: dict[str, list[str]] = {}
    for e in topology.edges:
        form = "fallback" if e.fallback else "parallel" if e.parallel else "route" if e.route else "sequence"
        (fallbacks if form == "fallback" else rules).setdefault(e.source, []).append(form)
    for cid, forms in rules.items():
        if len(forms) > 1:
            problems.append(f"topology: {cid} has {len(forms)} outgoing edges ({', '.join(forms)}); give one "
                            f"(use a route or a parallel block to reach several components)")
    for cid, forms in fallbacks.items():
        if len(forms) > 1:
            problems.append(f"topology: {cid} has {len(forms)} fallback edges; give at most one")
    g = build_graph(scenario, topology)
    try:
        cycle = nx.find_cycle(g)
        names = [a for a, _ in cycle] + [cycle[-1][1]]
        problems.append(f"topology: requests would go round in a circle: {' -> '.join(names)}")
    except nx.NetworkXNoCycle:
        pass
    entries = [n for n in g if g.in_degree(n) == 0]
    if len(entries) != 1:
        problems.append(f"topology: exactly one component must receive the requests (no incoming edge); got "
                        f"{', '.join(entries) or 'none'}")
    else:
        entry = entries[0]
        ingestion = [c for c, k in kinds.items() if k == "ingestion"]
        if ingestion and ingestion[0] != entry:
            problems.append(f"topology: the ingestion component {ingestion[0]} must be where requests enter, "
                            f"but {entry} has no incoming edge")
        unreachable = sorted(set(g) - nx.descendants(g, entry) - {entry})
        if unreachable:
            problems.append(f"topology: no request can reach {', '.join(unreachable)} from {entry}")
    for e in topology.edges:
        if e.parallel:
            wrong = [b for b in e.parallel if kinds[b] != "dependency"]
            if wrong:
                problems.append(f"topology: parallel branches must be dependencies; {', '.join(wrong)} "
                                f"(from {e.source}) are not")
            busy = [b for b in e.parallel if g.in_degree(b) != 1 or g.out_degree(b) != 1 + (b in fallbacks)]
            if busy:
                problems.append(f"topology: a parallel branch is called only by its fan-out and answers only "
                                f"to its join; {', '.join(busy)} (from {e.source}) have other edges")
        if e.route:
            conf = [b.to for b in e.route if b.when is not None and b.when.confidence_below is not None]
            if conf and kinds[e.source] != "model":
                problems.append(f"topology: the route from {e.source} to {', '.join(conf)} uses confidence, "
                                f"which only a model component has")
            if kinds[e.source] not in DECIDING_KINDS and not _route_total(e):
                problems.append(f"topology: some requests leaving {e.source} match no route branch, and only a "
                                f"model, rules or review can end a request; add an unconditional last branch "
                                f"(when: {{}}) or shares adding up to 1")
        if e.fallback:
            src, dst = kinds[e.source], kinds[e.fallback]
            if src not in ("dependency", "model"):
                problems.append(f"topology: only a dependency or a model can have a fallback edge; {e.source} is "
                                f"a {src}")
            elif dst != src:
                problems.append(f"topology: {e.source} ({src}) must fall back to a component of the same kind; "
                                f"{e.fallback} is a {dst}")
            if g.in_degree(e.fallback) != 1 or e.fallback in rules:
                problems.append(f"topology: fallback {e.fallback} (for {e.source}) serves only as a fallback: it "
                                f"continues along {e.source}'s edges and has no edges of its own")
    return problems


def _route_total(e: Edge) -> bool:
    """True when every request matches some branch of the route."""
    if e.route[0].share is not None:
        return abs(sum(b.share for b in e.route) - 1.0) <= 1e-9
    return any(_always(b.when) for b in e.route)


def _always(c: Condition) -> bool:
    return not c.segment and not c.region and c.confidence_below is None


# --------------------------------------------------------------------------- flows
@dataclass(frozen=True)
class Step:
    """One step of a flow: a component, or a parallel block of dependencies joined before moving on."""

    component: str
    branches: tuple[str, ...] = ()   # non-empty for a parallel block (``component`` is then the fan-out source)
    k: int = 0                       # branches that must answer (len(branches) for join all)


@dataclass(frozen=True)
class Flow:
    """A way through the graph and the share of requests that take it."""

    steps: tuple[Step, ...]
    share: float

    def components(self) -> set[str]:
        out = set()
        for s in self.steps:
            out.add(s.component)
            out.update(s.branches)
        return out


def condition_share(scenario, cond: Condition | None, confidence_share: Callable[[str, float], float] | None,
                    source: str) -> float:
    """Share of requests meeting ``cond``: segments and regions from the traffic mix (drawn
    independently), confidence from ``confidence_share(model_id, threshold)``."""
    if cond is None:
        return 1.0
    share = 1.0
    for attr, wanted in (("segments", cond.segment), ("regions", cond.region)):
        if wanted:
            mix = getattr(scenario.traffic, attr)
            total = sum(mix.values())
            share *= sum(v for k, v in mix.items() if k in wanted) / total
    if cond.confidence_below is not None:
        if confidence_share is None:
            raise ValueError(f"the route from {source} depends on the model's confidence; pass confidence_share")
        share *= confidence_share(source, cond.confidence_below)
    return share


def rules_of(graph: nx.DiGraph, node: str) -> RulesConfig:
    """A rules component's settings (its own, or the defaults)."""
    return graph.nodes[node]["settings"] or RulesConfig()


def flows(scenario, graph: nx.DiGraph,
          confidence_share: Callable[[str, float], float] | None = None) -> list[Flow]:
    """Every way a request can take through the graph (fallback edges not taken), with its share.

    Conditional branches are tried in order, so a later branch gets only the requests the earlier
    ones did not take; the conditions are treated as independent (segment and region are drawn
    independently; confidence is a property of the decision). A rules engine with components after
    it decides its ``settle_share`` itself: those requests end there.
    """
    entry = next(n for n in graph if graph.in_degree(n) == 0)
    out: list[Flow] = []

    def walk(node: str, steps: tuple[Step, ...], share: float) -> None:
        if share <= 0:
            return
        nxt = [(v, d) for _, v, d in graph.out_edges(node, data=True) if d["form"] != "fallback"]
        if not nxt:
            out.append(Flow(steps, share))
            return
        if graph.nodes[node]["kind"] == "rules":
            settled = share * rules_of(graph, node).settle_share
            if settled > 0:
                out.append(Flow(steps, settled))
            share -= settled
            if share <= 0:
                return
        form = nxt[0][1]["form"]
        if form == "sequence":
            v = nxt[0][0]
            walk(v, (*steps, Step(v)), share)
        elif form == "branch":
            branches = tuple(v for v, _ in nxt)
            join = next(d for _, _, d in graph.out_edges(branches[0], data=True) if d["form"] == "join")
            after = next(v for _, v, d in graph.out_edges(branches[0], data=True) if d["form"] == "join")
            block = Step(node, branches=branches, k=join["k"])
            walk(after, (*steps, block, Step(after)), share)
        else:  # route
            rest = share
            for v, d in sorted(nxt, key=lambda x: x[1]["index"]):
                if d["share"] is not None:
                    p = share * d["share"]
                else:
                    p = rest * condition_share(scenario, d["when"], confidence_share, node)
                rest -= p
                walk(v, (*steps, Step(v)), p)
            if rest > 1e-12:
                out.append(Flow(steps, rest))  # matched no branch: decided here

    walk(entry, (Step(entry),), 1.0)
    return out


# --------------------------------------------------------------------------- blast radius
@dataclass(frozen=True)
class Blast:
    """What the failure of one component does to the decisions: shares that fail, degrade, are unaffected."""

    component: str
    fails: float
    degrades: float
    unaffected: float
    how: str  # one plain sentence of the mechanism, in the graph's labels

    @property
    def affected(self) -> float:
        return self.fails + self.degrades


def _survives(graph: nx.DiGraph, node: str) -> str:
    """How a request continues when ``node`` fails on its way: 'degrades' (a fallback) or 'fails'."""
    if any(d["form"] == "fallback" for _, _, d in graph.out_edges(node, data=True)):
        return "degrades"
    settings = graph.nodes[node]["settings"]
    if graph.nodes[node]["kind"] == "dependency" and getattr(settings, "fallback", "none") != "none":
        return "degrades"
    return "fails"


def latency_above(dist: str, mean_ms: float, cv: float, limit_ms: float) -> float:
    """P(latency > limit) for the engine's latency distributions (mean and coefficient of variation)."""
    if mean_ms <= 0:
        return 0.0
    if dist == "constant" or (cv <= 0 and dist != "exponential"):
        return 1.0 if mean_ms > limit_ms else 0.0
    if dist == "exponential":
        return math.exp(-limit_ms / mean_ms)
    if dist == "lognormal":
        sigma2 = math.log(1.0 + cv * cv)
        mu = math.log(mean_ms) - sigma2 / 2
        return 0.5 * math.erfc((math.log(limit_ms) - mu) / math.sqrt(2 * sigma2))
    shape = 1.0 / (cv * cv)  # gamma
    return float(gammaincc(shape, limit_ms / (mean_ms / shape)))


def call_failure_share(settings) -> float:
    """Share of a healthy dependency's calls that fail on their own: its error rate, then the calls slower
    than its timeout (the engine's order), every attempt failing when it retries."""
    slow = latency_above(settings.latency_dist, settings.latency_ms, settings.latency_cv, settings.timeout_ms)
    p = settings.error_rate + (1.0 - settings.error_rate) * slow
    return p ** settings.retry.max_attempts if settings.retry.enabled else p


# an effect on fewer than one decision in ten thousand is reported as none: below what a run can tell apart
NEGLIGIBLE = 1e-4


def _join_without(graph: nx.DiGraph, step: Step, down: str) -> tuple[float, float]:
    """(fails, degrades) of a join with one branch down: the others answer unless they fail on their own;
    the join goes on at the k-th real answer, uses fallback answers only when k real ones are impossible,
    and fails when not even the fallbacks make k (independent calls, every outcome enumerated)."""
    others = [b for b in step.branches if b != down]
    spare = 1 if _survives(graph, down) == "degrades" else 0
    failing = [(call_failure_share(graph.nodes[b]["settings"]), _survives(graph, b) == "degrades") for b in others]
    fails = degrades = 0.0
    for outcome in itertools.product((False, True), repeat=len(failing)):  # True: that branch failed
        p, real, fallback = 1.0, 0, spare
        for failed, (q, has_fallback) in zip(outcome, failing):
            p *= q if failed else 1.0 - q
            real += not failed
            fallback += failed and has_fallback
        if real >= step.k:
            continue
        if real + fallback >= step.k:
            degrades += p
        else:
            fails += p
    fails, degrades = (fails if fails >= NEGLIGIBLE else 0.0), (degrades if degrades >= NEGLIGIBLE else 0.0)
    if 1.0 - fails - degrades < NEGLIGIBLE:  # every decision is affected; the rest is rounding
        return (fails, 1.0 - fails) if degrades else (1.0, 0.0)
    return fails, degrades


def blast_radius(scenario, graph: nx.DiGraph, component: str, flow_list: list[Flow]) -> Blast:
    """Share of decisions that fail, degrade or are unaffected when ``component`` is down. A branch of a
    fan-out is missed only when the other branches cannot make the join on their own (their own errors and
    timeouts included)."""
    fails = degrades = 0.0
    label = graph.nodes[component]["label"]
    for f in flow_list:
        for s in f.steps:
            if s.branches and component in s.branches:
                lost, degraded = _join_without(graph, s, component)
                fails += f.share * lost
                degrades += f.share * degraded
                break
            if not s.branches and s.component == component:
                effect = _survives(graph, component)
                fails += f.share if effect == "fails" else 0.0
                degrades += f.share if effect == "degrades" else 0.0
                break
    total = sum(f.share for f in flow_list) or 1.0
    fails, degrades = fails / total, degrades / total
    unaffected = max(0.0, 1.0 - fails - degrades)
    if fails >= 1 - 1e-9:
        how = f"If {label} goes down, every decision stops: there is no fallback."
    elif fails > 0:
        how = f"If {label} goes down, {fails:.0%} of decisions stop" + (
            f" and {degrades:.0%} are answered by a fallback." if degrades > 0 else ".")
    elif degrades > 0:
        how = f"If {label} goes down, {degrades:.0%} of decisions are answered by a fallback; none stop."
    else:
        how = f"If {label} goes down, no decision is affected."
    return Blast(component, fails, degrades, unaffected, how)


def single_points_of_failure(blasts: list[Blast]) -> list[str]:
    """Components whose failure stops every decision."""
    return [b.component for b in blasts if b.fails >= 1 - 1e-9]


# --------------------------------------------------------------------------- the graph as the old sections
def primary_components(graph: nx.DiGraph) -> dict[str, str]:
    """The first component of each kind in topological order (``{"model": "fraud", ...}``).

    The first model is the one the scenario's top-level sections for the served model describe:
    its autoscaler and canary default to them, and fairness, review, retraining and explanations
    watch it. The first dependency reports as the "external API" in the chain's columns.
    """
    out: dict[str, str] = {}
    for node in nx.topological_sort(graph):
        out.setdefault(graph.nodes[node]["kind"], node)
    return out


def effective_scenario(scenario):
    """The scenario with its station sections taken from the graph (the scenario itself for old files).

    ``ingestion`` and ``feature_store`` are the graph's (at most one each); ``external_api`` and
    ``inference`` are its first dependency and first model; a stage the graph does not have is
    switched off; ``autoscaler`` and ``canary`` are the first model's own when it sets them.
    """
    if scenario.topology is None:
        return scenario
    g = build_graph(scenario)
    first = primary_components(g)

    def settings(kind: str):
        return g.nodes[first[kind]]["settings"] if kind in first else None

    update = {
        "ingestion": settings("ingestion") or scenario.ingestion.model_copy(update={"mode": "direct"}),
        "feature_store": settings("feature_store") or scenario.feature_store.model_copy(update={"mode": "off"}),
        "external_api": (settings("dependency") or scenario.external_api).model_copy(
            update={"enabled": "dependency" in first}),
        "inference": (settings("model") or scenario.inference).model_copy(update={"enabled": "model" in first}),
    }
    if "model" in first:
        comp = g.nodes[first["model"]]["component"]
        if comp.autoscaler is not None:
            update["autoscaler"] = comp.autoscaler
        if comp.canary is not None:
            update["canary"] = comp.canary
    return scenario.model_copy(update=update)
