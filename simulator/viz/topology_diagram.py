"""The boxes and arrows of a scenario's own architecture (its ``topology``), drawn from its graph.

The same ``networkx`` graph the engine runs (:func:`simulator.scenario.graph.build_graph`) gives
the picture: one box per component with its business label and its main settings, a fan-out's
branches meeting in a small "waits for 2 of 3" gate, a route's arrows saying their share or their
condition ("if unsure: confidence below 75 %"), fallback edges dashed, and arrows into the answer
from every component that decides. Colours and status words come from the findings
(``Findings.for_component``); the rate on an arrow is the measured rate of requests reaching its
target (``summary.architecture``), so the picture and the component table agree.
"""
from __future__ import annotations

import networkx as nx

from simulator.report.finding import Findings
from simulator.report.summary_model import Summary
from simulator.scenario.graph import build_graph, rules_of
from simulator.scenario.topology import Condition, Topology
from simulator.viz.architecture_charts import KIND_WORDS
from simulator.viz.diagram_parts import HEALTH_BAD, HEALTH_NONE, Node, _cap, _metric, _rate, _short_ms, health_of

# failure reasons of the engine and the kinds of component they happen at
REASON_KINDS = {"api_error": ("dependency",), "feature_db_error": ("feature_store",),
                "rejected": ("model", "review"), "timeout": ("model", "review"), "replica_crash": ("model",),
                "model_error": ("model",)}


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def technical_line(scenario, graph: nx.DiGraph, cid: str) -> str:
    """The component's kind and main settings in a few words: '4 model servers, 35 ms each'."""
    node = graph.nodes[cid]
    kind, s = node["kind"], node["settings"]
    if kind == "ingestion":
        if s.mode == "stream":
            return f"Kafka topic, {s.stream.partitions} partitions, {s.stream.consumers} consumers"
        if s.mode == "batch":
            return f"batch job, {s.batch.throughput_per_s:g} records/s"
        return "direct calls"
    if kind == "feature_store":
        if s.mode == "online_store":
            return f"feature store, {_pct(s.hit_ratio)} hits, DB {s.db_connections} connections"
        return f"computed in the DB, {s.db_connections} connections"
    if kind == "dependency":
        parts = [f"external call, {s.latency_ms:g} ms typical", f"timeout {s.timeout_ms:g} ms"]
        if s.error_rate > 0:
            parts.append(f"{_pct(s.error_rate)} errors")
        if s.fallback != "none":
            parts.append(f"fallback: {s.fallback} answer")
        if s.breaker.enabled:
            parts.append("circuit breaker")
        return ", ".join(parts)
    if kind == "rules":
        rules = rules_of(graph, cid)
        return f"rules engine, {rules.cost_ms:g} ms, settles {_pct(rules.settle_share)}"
    if kind == "model":
        comp = node["component"]
        scaler = comp.autoscaler
        servers = (f"{scaler.min_replicas}-{scaler.max_replicas}" if scaler is not None and scaler.enabled
                   else f"{s.replicas}")
        size = f", {comp.architecture}" if comp.architecture else ""
        return f"{servers} model server{'' if servers == '1' else 's'}, {s.service_ms:g} ms each{size}"
    return "human review queue"


def condition_words(cond: Condition | None, share: float | None) -> str:
    """A route branch in words: '30 %', 'if unsure (< 75 % sure)', 'segment business'."""
    if share is not None:
        return _pct(share)
    if cond is None:
        return ""
    parts = []
    if cond.confidence_below is not None:
        parts.append(f"if unsure (< {_pct(cond.confidence_below)} sure)")
    if cond.segment:
        parts.append("segment " + " or ".join(cond.segment))
    if cond.region:
        parts.append("region " + " or ".join(cond.region))
    return " and ".join(parts) or "the rest"


def box_status(found: Findings, cid: str) -> tuple[str, str]:
    """(health, status line) of one box: the colour of its most severe finding (``Findings.for_component``),
    the words of every finding about it in a form that fits a box ('37 % busy · headroom, 50 % stop if
    down'); a component named among the single points of failure says 'no fallback'."""
    mine = found.all_for(cid)
    spof = found.get("architecture.single_points")
    if spof is not None and spof.severity != "ok" and spof not in mine and \
            cid in str(spof.evidence.get("components", "")).split(", ") and spof.evidence.get(f"fails.{cid}"):
        mine = [*mine, spof]
    words = []
    for f in mine:
        if f.key == "architecture.single_points":
            text = "no fallback" if f.severity != "ok" else ""
        elif f.key.startswith("architecture.") and f.key != "architecture.decided_by":
            text = f"{f.value} if down"
        elif f.key == "critical_path":
            share = f.evidence.get(f"share.{cid}")
            text = f"{_pct(share)} of the slowest 1 %" if share is not None else ""
        elif f.key == "architecture.decided_by":
            text = ""
        else:
            text = f"{f.value} · {f.status}" if f.value and f.status not in f.value else (f.value or f.status)
        if text:
            words.append(text)
    return health_of(found.for_component(cid)), ", ".join(words)


def ends_requests(graph: nx.DiGraph, cid: str) -> bool:
    """True when some requests end at this component: nothing after it, a rules engine that settles
    cases, or a route that not every request matches."""
    nxt = [d for _, _, d in graph.out_edges(cid, data=True) if d["form"] != "fallback"]
    if not nxt:
        return graph.nodes[cid]["kind"] != "dependency" or graph.in_degree(cid) == 0
    if graph.nodes[cid]["kind"] == "rules" and rules_of(graph, cid).settle_share > 0:
        return True
    if nxt[0]["form"] == "route":
        shares = [d["share"] for d in nxt]
        if shares[0] is not None:
            return sum(shares) < 1 - 1e-9
        return not any(d["when"] is not None and not d["when"].segment and not d["when"].region
                       and d["when"].confidence_below is None for d in nxt)
    return False


def topology_nodes(scenario, found: Findings | None = None, summary: Summary | None = None,
                   topology: Topology | None = None, moment: bool = False) -> tuple[list[Node], list[tuple]]:
    """Boxes and arrows ``(src, dst, rate_per_s, style, text)`` of a topology (default: the scenario's),
    in the graph's order; the boxes read like the chain diagram's (:mod:`simulator.viz.diagram`).

    With ``moment`` (Replay: ``found`` is one moment's findings) the arrows carry only the moment's
    arrival rate; the whole run's rates per component would not describe that moment."""
    found = found or Findings(())
    v = scenario.vocabulary
    g = build_graph(scenario, topology)
    arch = summary.architecture if summary is not None and not moment else None
    window_s = max(scenario.duration_s - scenario.warmup_s, 1e-9)

    def reached_rate(cid: str) -> float | None:
        if arch is None or cid not in arch.components:
            return None
        return arch.components[cid].reached / window_s

    level = found.first("service_level")
    e = level.evidence if level is not None else {}
    arrival_rate, answer_rate = e.get("arrival_rate_per_s"), e.get("answer_rate_per_s")
    failure_rate = e.get("failure_rate_per_s") or 0.0
    order = [n for n in g if "kind" in g.nodes[n]]
    try:
        order = [n for n in nx.topological_sort(g) if "kind" in g.nodes[n]]
    except nx.NetworkXUnfeasible:  # a cycle (the editor draws it so it can be seen): the listed order
        pass

    nodes = [Node("customers", _cap(v.requests), f"arrivals, {scenario.traffic.rate_per_s:g} per s planned",
                      health_of(found.for_component("customers")),
                      f"{_rate(arrival_rate)} {'now' if moment else 'on average'}" if arrival_rate is not None else "",
                      f"{_cap(v.customers)} waiting for a {v.decision}.", shape="oval")]
    edges: list[tuple] = []
    for cid in order:
        node = g.nodes[cid]
        health, status = box_status(found, cid)
        nodes.append(Node(cid, _cap(node["label"]), technical_line(scenario, g, cid), health, status,
                              f"{_cap(KIND_WORDS[node['kind']])} '{node['label']}' (id {cid})."))
    entries = [n for n in order if g.in_degree(n) == 0]
    for entry in entries[:1]:
        edges.append(("customers", entry, arrival_rate, "", ""))

    gates: set[str] = set()
    for src, dst, d in g.edges(data=True):
        if "kind" not in g.nodes[src] or "kind" not in g.nodes[dst]:
            continue
        form = d["form"]
        if form == "sequence":
            edges.append((src, dst, reached_rate(dst), "", ""))
        elif form == "branch":
            edges.append((src, dst, reached_rate(dst), "", ""))
        elif form == "join":
            gate = f"join_{d['group']}"
            branches = [b for b, _, x in g.in_edges(dst, data=True) if x["form"] == "join" and x["group"] == d["group"]]
            if gate not in gates:
                gates.add(gate)
                n, k = len(branches), d["k"]
                words = f"waits for all {n}" if k >= n else f"waits for {k} of {n}"
                nodes.append(Node(gate, words, "", HEALTH_NONE, "",
                                      f"The request goes on when {'all' if k >= n else f'the first {k}'} of the "
                                      f"{n} calls have answered.", shape="hexagon"))
                edges.append((gate, dst, reached_rate(dst), "", ""))
            edges.append((src, gate, None, "", ""))
        elif form == "route":
            edges.append((src, dst, reached_rate(dst), "", condition_words(d["when"], d["share"])))
        elif form == "fallback":
            edges.append((src, dst, reached_rate(dst), "dashed", "if down"))
            after = [w for _, w, x in g.out_edges(src, data=True) if x["form"] != "fallback"]
            for w in after or ["decision"]:
                edges.append((dst, w, None, "dashed", ""))

    decided = (arch.decided_by or {}) if arch is not None else {}
    # a fallback answers on its source's behalf (its dashed arrows above); a part nothing leads to yet answers nobody
    standby = {v for _, v, d in g.edges(data=True) if d["form"] == "fallback"}
    enders = [cid for cid in order if ends_requests(g, cid) and cid not in standby
              and (g.in_degree(cid) > 0 or cid in entries[:1])]
    nodes.append(Node("decision", f"Answer to the {v.customer}", f"promise: {_short_ms(scenario.slo_latency_ms)}",
                          health_of(found.for_component("decision")), _metric(found, "decision"),
                          f"The {v.decision} goes back to the {v.customer}.", shape="oval"))
    for cid in enders:
        rate = decided.get(cid, 0) / window_s if decided else (answer_rate if len(enders) == 1 else None)
        edges.append((cid, "decision", rate, "answers", "decides" if g.nodes[cid]["kind"] == "rules" else ""))

    if failure_rate > 0:
        nodes.append(Node("failed", "No answer", "failed requests", HEALTH_BAD, _rate(failure_rate),
                              f"{_cap(v.requests)} that got an error instead of a {v.decision}.", shape="oval"))
        sources = _failure_sources(scenario, g, order, summary)
        for cid in sources:
            edges.append((cid, "failed", failure_rate if len(sources) == 1 else None, "failures", ""))
    return nodes, edges


def _failure_sources(scenario, g: nx.DiGraph, order: list[str], summary: Summary | None) -> list[str]:
    """Components where requests failed, as far as the failure reasons tell (an outage names its component)."""
    reasons = summary.failures_by_reason if summary is not None else {}
    out: list[str] = []
    if reasons.get("component_outage"):
        out += [f.component for f in scenario.faults.components if f.component in order]
    kinds = {k for reason, n in reasons.items() if n for k in REASON_KINDS.get(reason, ())}
    out += [cid for cid in order if g.nodes[cid]["kind"] in kinds and cid not in out]
    return out or order[-1:]
