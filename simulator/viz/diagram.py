"""The architecture diagram as a graphviz DOT string, built from the scenario itself.

Because the boxes come from the scenario (which stages are on, how many partitions,
replicas, connections), the picture cannot drift from what was simulated. Colours show
health as the findings judged it (:mod:`simulator.report.findings`; a status word next to every
colour), edge widths show throughput, and every label pairs a business word with the technical
term: "Card payment events (Kafka topic, 12 partitions)". Pass one moment's findings
(:func:`simulator.report.findings.moment`) and ``moment_s`` to draw the state at that moment.

Graphviz charts do not follow the app's theme, so every colour is set here for both the
light and the dark theme.
"""
from __future__ import annotations

import math
import re

from simulator.report.findings import Findings
from simulator.report.summary_model import Summary
from simulator.report.words import clock, find_section, is_enabled, locate_section
from simulator.scenario.config import Scenario
from simulator.scenario.topology import Topology
from simulator.viz.diagram_parts import (
    HEALTH_BAD,
    HEALTH_NONE,
    HEALTH_OK,
    HEALTH_WARN,
    Node,
    _cap,
    _metric,
    _rate,
    _short_ms,
    health_of,
    worst,
)
from simulator.viz.topology_diagram import topology_nodes

UTIL_WARN, UTIL_BAD = 0.7, 0.9
ON_TIME_WARN, ON_TIME_BAD = 0.99, 0.95

# "auto" (the default) reads well on a light and on a dark page: dark text on pastel boxes,
# mid-grey arrows. Streamlit cannot theme graphviz and its reported theme can be wrong on
# first load (streamlit issue #11920), so the dashboard does not guess.
THEMES = {
    "auto": {"bg": "transparent", "font": "#1b1b1b", "edge": "#868e96", "muted": "#868e96",
             HEALTH_OK: ("#d3f9d8", "#2b8a3e"), HEALTH_WARN: ("#fff3bf", "#e67700"),
             HEALTH_BAD: ("#ffe3e3", "#c92a2a"), HEALTH_NONE: ("#e9ecef", "#868e96")},
    "light": {"bg": "transparent", "font": "#1b1b1b", "edge": "#495057", "muted": "#6c757d",
              HEALTH_OK: ("#d3f9d8", "#2b8a3e"), HEALTH_WARN: ("#fff3bf", "#e67700"),
              HEALTH_BAD: ("#ffe3e3", "#c92a2a"), HEALTH_NONE: ("#f1f3f5", "#868e96")},
    "dark": {"bg": "transparent", "font": "#f1f3f5", "edge": "#ced4da", "muted": "#adb5bd",
             HEALTH_OK: ("#1f4d2b", "#69db7c"), HEALTH_WARN: ("#5c4813", "#ffd43b"),
             HEALTH_BAD: ("#5c1f1f", "#ff8787"), HEALTH_NONE: ("#2b2f36", "#adb5bd")},
}


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _wrap(text: str, width: int = 24) -> list[str]:
    """Split a long label after its commas and status dots so boxes stay narrow (a narrow diagram
    is scaled down less); numbers always stay with their units."""
    chunks = [c for part in re.split(r"(?<=,) |(?<= ·) ", text) for c in [part] if c]
    lines, line = [], ""
    for chunk in chunks:
        if line and len(line) + 1 + len(chunk) > width:
            lines.append(line)
            line = chunk
        else:
            line = f"{line} {chunk}" if line else chunk
    return lines + ([line] if line else [])


def _fmt_duration_s(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


# --------------------------------------------------------------------------- nodes
def _count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def build_nodes(scenario: Scenario, found: Findings | None = None, summary: Summary | None = None,
                moment: bool = False) -> tuple[list[Node], list[tuple]]:
    """The boxes and the arrows ``(src, dst, rate_per_s, style)`` of the pipeline, in flow order.

    Colours and status words come from ``found`` (a run's findings, or one moment's from
    :func:`simulator.report.findings.moment` with ``moment=True``); arrow rates from the service-level
    finding's evidence: arrivals into the pipeline, answers out of it, and failures as their own red
    arrows from the stage where they happened, so every rate agrees with the throughput chart.
    """
    sc, v = scenario, scenario.vocabulary
    found = found or Findings(())
    level = found.first("service_level")
    e = level.evidence if level is not None else {}
    arrival_rate, answer_rate = e.get("arrival_rate_per_s"), e.get("answer_rate_per_s")
    failure_rate = e.get("failure_rate_per_s") or 0.0

    def status(component: str):
        return found.for_component(component)

    nodes: list[Node] = []
    edges: list[tuple] = []
    traffic = status("customers")
    nodes.append(Node("customers", _cap(v.requests), f"arrivals, {sc.traffic.rate_per_s:g} per s planned",
                      health_of(traffic), _rate(arrival_rate) + (" now" if moment else " on average")
                      if arrival_rate is not None else "",
                      f"{_cap(v.customers)} waiting for a {v.decision}.", shape="oval"))
    prev = "customers"

    mode = sc.ingestion.mode
    if mode == "stream":
        st = sc.ingestion.stream
        nodes.append(Node("ingestion", f"{_cap(v.request)} events",
                          f"Kafka topic, {st.partitions} partitions, {st.consumers} consumers",
                          health_of(status("ingestion")), _metric(found, "ingestion"),
                          f"An event stream: {v.requests} are queued in partitions and read by consumers."))
    elif mode == "batch":
        b = sc.ingestion.batch
        nodes.append(Node("ingestion", "Nightly batch job", f"batch job every {_fmt_duration_s(b.interval_s)}, "
                          f"{b.throughput_per_s:g} records/s", health_of(status("decision")) if not moment else
                          HEALTH_NONE, "",
                          f"{_cap(v.requests)} wait for the next scheduled job before they are scored."))
    if mode != "direct":
        edges.append((prev, "ingestion", arrival_rate, ""))
        prev = "ingestion"

    fs = sc.feature_store
    if fs.mode != "off":
        db = status("feature_db")
        if fs.mode == "online_store":
            nodes.append(Node("feature_store", f"{_cap(v.customer)} profile",
                              f"online feature store, {100 * fs.hit_ratio:.0f} % hits", HEALTH_NONE, "",
                              "A fast lookup of precomputed features; a miss falls back to the database."))
            nodes.append(Node("feature_db", "Profile database", f"source DB, {fs.db_connections} connections",
                              health_of(db), _metric(found, "feature_db"),
                              "Computes features on a miss; its connection pool can become a bottleneck."))
            edges.append((prev, "feature_store", arrival_rate, ""))
            miss = None if arrival_rate is None else arrival_rate * (1 - fs.hit_ratio)
            edges.append(("feature_store", "feature_db", miss, "miss"))
            edges.append(("feature_db", "__next__", None, "dashed"))
            prev = "feature_store"
        else:
            nodes.append(Node("feature_db", f"{_cap(v.customer)} profile computed",
                              f"source DB, {fs.db_connections} connections", health_of(db),
                              _metric(found, "feature_db"),
                              "No feature store: every request queries the database."))
            edges.append((prev, "feature_db", arrival_rate, ""))
            prev = "feature_db"

    api = sc.external_api
    if api.enabled:
        guarded = locate_section(sc, "breaker")
        if guarded is not None and guarded[0] == "external_api" and is_enabled(guarded[1]):
            nodes.append(_breaker_node(found, summary, moment))
            edges.append((prev, "breaker", arrival_rate, ""))
            prev = "breaker"
        a = status("external_api")
        nodes.append(Node("external_api", _cap(api.name), f"external API, timeout {_short_ms(api.timeout_ms)}",
                          health_of(a), _metric(found, "external_api"),
                          "A third-party service called on every request; it can be slow or fail."))
        edges.append((prev, "external_api", arrival_rate, ""))
        if api.fallback != "none":
            nodes.append(_fallback_node(api.fallback, summary, e if moment else None))
            edges.append(("external_api", "fallback", None, "dashed"))
            edges.append(("fallback", "__next__", None, "dashed"))
        prev = "external_api"

    inf = sc.inference
    if inf.enabled:
        autoscaler = find_section(sc, "autoscaler")
        scaled = is_enabled(autoscaler)
        replicas = e.get("replicas") if moment else None
        if replicas is not None:
            count_text = _count(replicas)
        elif scaled and summary is not None and summary.replicas is not None:
            count_text = f"{summary.replicas.min}-{summary.replicas.max}"
        elif scaled:
            count_text = f"{autoscaler.min_replicas}-{autoscaler.max_replicas}"
        else:
            count_text = f"{inf.replicas}"
        tech = f"{count_text} model server{'' if count_text == '1' else 's'}" + \
            (f" x {inf.concurrency}" if inf.concurrency > 1 else "") + (", autoscaled" if scaled else "")
        m = status("inference")
        waiting = e.get("waiting_for_model") if moment else None
        nodes.append(Node("inference", _cap(v.model), tech, health_of(m),
                          _metric(found, "inference", f"{waiting:,.1f} waiting" if waiting and waiting >= 0.05 else ""),
                          f"The machine-learning model that makes each {v.decision}; requests queue when every "
                          f"server is busy."))
        edges.append((prev, "inference", arrival_rate, ""))
        if is_enabled(find_section(sc, "canary")) or found.first("release") is not None:
            c = status("canary")
            nodes.append(Node("canary", "New model version", "canary release", health_of(c), _metric(found, "canary"),
                              "A new model version that gets a small, growing share of traffic and is rolled back "
                              "automatically if it misbehaves."))
            weight = c.evidence.get("weight_pct") if c is not None and moment else None
            edges.append(("inference", "canary", None if weight is None or arrival_rate is None
                          else arrival_rate * weight / 100, "dashed"))
            edges.append(("canary", "decision", None, "dashed"))
        prev = "inference"

    d = status("decision")
    nodes.append(Node("decision", f"Answer to the {v.customer}", f"promise: {_short_ms(sc.slo_latency_ms)}",
                      health_of(d), _metric(found, "decision"),
                      f"The {v.decision} goes back to the {v.customer}; 'on time' means within the promised time.",
                      shape="oval"))
    edges.append((prev, "decision", answer_rate, "answers"))
    if failure_rate > 0:
        nodes.append(Node("failed", "No answer", "failed requests", HEALTH_BAD, _rate(failure_rate),
                          f"{_cap(v.requests)} that got an error instead of a {v.decision}.", shape="oval"))
        for source, rate in _failure_sources(e, failure_rate, summary, [n.id for n in nodes]):
            edges.append((source, "failed", rate, "failures"))

    if is_enabled(find_section(sc, "fairness")):
        f = status("fairness")
        nodes.append(Node("fairness", "Fairness monitor", "disparate-impact check", health_of(f),
                          _metric(found, "fairness"),
                          f"Compares approval rates between groups of {v.customers} (the four-fifths rule).",
                          shape="note"))
        edges.append(("decision", "fairness", None, "dotted"))

    ids = [n.id for n in nodes]
    resolved = []
    for src, dst, rate, style in edges:
        if dst == "__next__":  # the stage after the source on the main path
            later = [i for i in ids[ids.index(src) + 1:] if i not in ("breaker", "fallback", "feature_db", "failed")]
            dst = later[0] if later else "decision"
        resolved.append((src, dst, rate, style))
    return nodes, resolved


def _failure_sources(e: dict, total: float, summary: Summary | None, ids: list[str]) -> list[tuple[str, float]]:
    """(stage, failures per s) for the red arrows: per stage from the run's failure reasons."""
    counts = {k.removeprefix("failed_at_"): float(n) for k, n in e.items() if k.startswith("failed_at_") and n}
    if not counts and summary is not None:
        from simulator.report.findings import failure_stages

        counts = {k: float(n) for k, n in failure_stages(summary).items() if n}
    counts = {k: n for k, n in counts.items() if k in ids} or {"inference" if "inference" in ids else ids[-1]: 1.0}
    whole = sum(counts.values())
    return [(stage, total * n / whole) for stage, n in counts.items()]


def _breaker_node(found: Findings, summary: Summary | None, moment: bool) -> Node:
    """The safety switch: its state now (Replay) or how often it tripped (whole run)."""
    b = found.for_component("breaker")
    if moment and b is not None:
        health, metric = health_of(b), b.status
    else:
        trips = summary.breaker.opened if summary is not None else 0
        health = HEALTH_NONE
        metric = f"tripped {trips} time{'s' if trips != 1 else ''}" if trips else "never tripped"
    return Node("breaker", "Safety switch", "circuit breaker", health, metric,
                "Stops calling a failing service for a while so customers are not kept waiting.")


def _fallback_node(kind: str, summary: Summary | None, e: dict | None) -> Node:
    if e is not None:
        rate = e.get("fallback_rate_per_s") or 0.0
        used = f"{_rate(rate)} now" if rate > 0 else ""
    else:
        total = summary.fallbacks.total if summary is not None else 0
        used = f"{total:,} answers" if total else ""
    words = {"cached": ("Last known answer", "cache fallback"), "default": ("Safe default answer", "default fallback")}
    business, technical = words.get(kind, ("Fallback answer", f"{kind} fallback"))
    return Node("fallback", business, technical, HEALTH_NONE, used,
                "A simpler answer used while the dependency is failing.", shape="note")


# --------------------------------------------------------------------------- DOT
SIDE_NODES = ("canary", "failed", "fairness")
FOLDED = {"feature_db": ("feature_store", "database"), "fallback": ("external_api", "fallback")}


def fold_side_boxes(nodes: list[Node], edges: list[tuple]) -> tuple[list[Node], list[tuple]]:
    """For the wide picture: the profile database and the fallback answer become a line in the box they hang
    off (worst colour of the two), so the path is a plain chain of boxes."""
    by_id = {n.id: n for n in nodes}
    gone = set()
    for child, (parent, word) in FOLDED.items():
        if child in by_id and parent in by_id:
            c, p = by_id[child], by_id[parent]
            p.health = worst(p.health, c.health)
            p.metric = ", ".join(x for x in (p.metric, f"{word}: {c.metric}" if c.metric else "") if x)
            gone.add(child)
    return ([n for n in nodes if n.id not in gone],
            [e for e in edges if e[0] not in gone and e[1] not in gone])


def _rows(nodes: list[Node]) -> list[list[str]]:
    """The main path (side boxes left out) cut into rows of at most three boxes."""
    path = [n.id for n in nodes if n.id not in SIDE_NODES]
    n_rows = max(1, -(-len(path) // 3))
    size = -(-len(path) // n_rows)
    return [path[i:i + size] for i in range(0, len(path), size)]


def architecture_dot(scenario: Scenario, found: Findings | None = None, summary: Summary | None = None,
                     moment_s: float | None = None, theme: str = "auto", font_size: int = 16,
                     rankdir: str = "TB", topology: Topology | None = None) -> str:
    """DOT source of the pipeline diagram (see the module docstring). ``moment_s`` marks ``found``
    as one moment's findings (Replay) and titles the picture with that clock time.

    ``rankdir``: "TB" (top to bottom, the default: beside a story in a page column) or "rows"
    (the path left to right in rows of three, short and wide, for a full-width picture a room can
    read; boxes then leave out their technical line).

    A scenario with a ``topology`` (or an explicit ``topology``, as the graph editor draws one being
    built) is drawn from its graph (:mod:`simulator.viz.topology_diagram`); "rows" then keeps the graph's
    own shape, top to bottom, without the technical lines.
    """
    colours = THEMES.get(theme or "auto", THEMES["auto"])
    graph = topology is not None or scenario.topology is not None
    if graph:
        nodes, edges = topology_nodes(scenario, found, summary, topology, moment=moment_s is not None)
    else:
        nodes, edges = build_nodes(scenario, found, summary, moment=moment_s is not None)
        edges = [(*e, "") for e in edges]
    rows = rankdir == "rows"
    if rows and not graph:
        nodes, edges = fold_side_boxes(nodes, edges)
    rates = [r for _, _, r, _, _ in edges if r is not None and math.isfinite(r)]
    top = max(rates) if rates else 1.0
    lines = [
        "digraph pipeline {",
        f'  graph [rankdir={"TB" if rows else rankdir}, bgcolor="{colours["bg"]}", fontname="Helvetica", '
        f'fontcolor="{colours["font"]}", nodesep={0.5 if rows else 0.25}, ranksep={0.5 if rows else 0.35}, pad=0.2];',
        f'  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize={font_size}, '
        f'fontcolor="{colours["font"]}", penwidth=1.6, margin="0.15,0.08"];',
        f'  edge [color="{colours["edge"]}", fontname="Helvetica", fontsize={max(8, font_size - 2)}, '
        f'fontcolor="{colours["muted"]}", arrowsize=0.7];',
    ]
    if moment_s is not None:
        lines.append(f'  label="State at {_esc(clock(scenario, moment_s))}"; labelloc=t; fontsize={font_size + 2};')
    if rows and not graph:
        ranked = _rows(nodes)
        for row in ranked:
            lines.append(f"  {{ rank=same; {'; '.join(row)}; }}")
        for above, below in zip(ranked, ranked[1:]):  # each row starts under the one before
            lines.append(f"  {above[0]} -> {below[0]} [style=invis, weight=10];")
    for n in nodes:
        fill, border = colours[n.health]
        technical = [] if rows or not n.technical else _wrap(f"({n.technical})")
        parts = [n.business, *technical, *(_wrap(n.metric, 22 if rows else 26) if n.metric else [])]
        label = "\\n".join(_esc(part) for part in parts)
        lines.append(f'  {n.id} [label="{label}", '
                     f'shape={n.shape}, fillcolor="{fill}", color="{border}", tooltip="{_esc(n.tooltip)}"];')
    for src, dst, rate, style, text in edges:
        width = 1.0 if rate is None or not math.isfinite(rate) else 1.0 + 5.0 * rate / top if top > 0 else 1.0
        attrs = [f"penwidth={width:.2f}"]
        label = "\\n".join(_esc(x) for x in (text, _rate(rate)) if x)
        if style == "miss":
            attrs.append('style=dashed')
            label = f"miss {label}".strip()
        elif style == "answers":
            label = label if text else f"answered {label}".strip()
        elif style == "failures":
            attrs.append(f'color="{colours[HEALTH_BAD][1]}"')
            attrs.append(f'fontcolor="{colours[HEALTH_BAD][1]}"')
            label = f"failed {label}".strip()
        elif style in ("dashed", "dotted"):
            attrs.append(f"style={style}")
        if label:
            attrs.append(f'label="{label}"')  # its parts are escaped
        lines.append(f"  {src} -> {dst} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines)
