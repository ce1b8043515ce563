"""Editing a topology step by step, as the Scenario lab's graph editor does: add and remove components
and edges on the topology's JSON form, each step checked, every problem one friendly line.

The topology is held as plain data (``{"components": [...], "edges": [...]}``, the YAML form) so an
unfinished graph (a cycle, a component nothing reaches yet) can be kept, drawn and corrected; the
checks are the scenario's own (:class:`simulator.scenario.topology.Edge` and
:func:`simulator.scenario.graph.graph_problems`).
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from simulator.scenario.graph import graph_problems, settings_of, topology_of
from simulator.scenario.topology import (
    ID_PATTERN,
    KINDS,
    MAX_COMPONENTS,
    MAX_EDGES,
    Component,
    Edge,
    RulesConfig,
    Topology,
)

EDGE_FORMS = ("sequence", "parallel", "route", "fallback")
# the settings the editor asks for when a component is added, per kind (the rest keep their defaults)
MAIN_SETTINGS: dict[str, tuple[str, ...]] = {
    "ingestion": ("mode",),
    "feature_store": ("mode", "hit_ratio", "db_connections", "db_query_ms"),
    "dependency": ("name", "latency_ms", "timeout_ms", "error_rate", "fallback"),
    "rules": ("cost_ms", "settle_share"),
    "model": ("replicas", "service_ms"),
    "review": (),
}


SETTING_KINDS = ("ingestion", "feature_store", "dependency", "rules", "model")  # kinds with a settings section


class EditError(ValueError):
    """An edit that cannot be made, in one line naming what is wrong."""


def start(scenario) -> dict:
    """The scenario's topology (the default chain for an old file) as editable data."""
    return topology_of(scenario).model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def _friendly(err: ValidationError) -> str:
    """A pydantic error as one line: 'edge from a: join first_k with k=3 but only 2 branches (b, c)'."""
    first = err.errors()[0]
    message = re.sub(r"^(Value error|Assertion failed), ", "", first["msg"])
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {message}" if where else message


def ids(topo: dict) -> list[str]:
    return [c["id"] for c in topo.get("components", [])]


def add_component(topo: dict, kind: str, cid: str, label: str = "", settings: dict | None = None,
                  architecture: str | None = None) -> dict:
    """The topology with one more component (checked as the scenario checks it)."""
    cid = cid.strip()
    if kind not in KINDS:
        raise EditError(f"kind: choose one of {', '.join(KINDS)}")
    if not re.fullmatch(ID_PATTERN, cid):
        raise EditError(f"id: '{cid[:40]}' is not a usable id; use lower-case letters, digits and underscores, "
                        f"starting with a letter (at most 40 characters)")
    if cid in ids(topo):
        raise EditError(f"id: {cid} is already a component; choose another id")
    if len(ids(topo)) >= MAX_COMPONENTS:
        raise EditError(f"a topology has at most {MAX_COMPONENTS} components")
    comp = _changed({"id": cid, "kind": kind}, label, settings, architecture)
    return {**topo, "components": [*topo.get("components", []), comp]}


def _changed(comp: dict, label: str | None, settings: dict | None, architecture: str | None) -> dict:
    """``comp`` with a business name (None: unchanged; blank: none), settings merged into its own section
    and a model size, checked as the scenario checks a component."""
    comp = dict(comp)
    kind = comp["kind"]
    if label is not None:
        if label.strip():
            comp["label"] = label.strip()
        else:
            comp.pop("label", None)
    if settings and kind in SETTING_KINDS:
        comp[kind] = {**(comp.get(kind) or {}), **settings}
    if architecture and kind == "model":
        comp["architecture"] = architecture
    try:
        Component.model_validate(comp)
    except ValidationError as err:
        raise EditError(f"component {comp['id']}: {_friendly(err)}") from None
    return comp


def component(topo: dict, cid: str) -> dict:
    for comp in topo.get("components", []):
        if comp["id"] == cid:
            return comp
    raise EditError(f"there is no component called {cid}")


def current_settings(scenario, topo: dict, cid: str) -> dict[str, Any]:
    """The main settings a component runs with: its own where it has a section of its own (the rest of
    that section at its defaults), else its kind's section of the scenario (a rules engine's defaults)."""
    comp = Component.model_validate(component(topo, cid))
    if comp.kind not in SETTING_KINDS:
        return {}
    section = settings_of(scenario, comp) or RulesConfig()
    values = section.model_dump(mode="json")
    return {name: values[name] for name in MAIN_SETTINGS[comp.kind]}


def update_component(topo: dict, cid: str, label: str | None = None, settings: dict | None = None,
                     architecture: str | None = None) -> dict:
    """The topology with one component's business name, main settings or model size changed (its id,
    kind and edges stay); checked as the scenario checks it."""
    comp = _changed(component(topo, cid), label, settings, architecture)
    return {**topo, "components": [comp if c["id"] == cid else c for c in topo.get("components", [])]}


def names(edge: dict) -> set[str]:
    """Every component an edge names."""
    out = {edge["from"], *edge.get("parallel", ())}
    out.update(x for x in (edge.get("to"), edge.get("fallback")) if x)
    out.update(b["to"] for b in edge.get("route", ()))
    return out


def remove_component(topo: dict, cid: str) -> tuple[dict, list[str]]:
    """The topology without the component and without every edge that names it (described, so the editor
    can say what went with it)."""
    kept, removed = [], []
    for e in topo.get("edges", []):
        (removed if cid in names(e) else kept).append(e)
    comps = [c for c in topo.get("components", []) if c["id"] != cid]
    return {**topo, "components": comps, "edges": kept}, [edge_words(e) for e in removed]


def make_edge(form: str, source: str, targets: list[str], to: str | None = None, join: str = "all",
              k: int | None = None, shares: list[float] | None = None,
              conditions: list[dict] | None = None) -> dict:
    """One edge in the YAML form, checked: a sequence ``source -> targets[0]``; a parallel block from
    ``source`` to ``targets`` joined by ``join`` (``k`` for first_k) before ``to``; a route to ``targets``
    with ``shares`` or ``conditions``; a fallback ``source -> targets[0]``."""
    if form not in EDGE_FORMS:
        raise EditError(f"form: choose one of {', '.join(EDGE_FORMS)}")
    if not targets:
        raise EditError(f"edge from {source}: choose where the requests go")
    edge: dict[str, Any] = {"from": source}
    if form == "sequence":
        edge["to"] = targets[0]
    elif form == "fallback":
        edge["fallback"] = targets[0]
    elif form == "parallel":
        if not to:
            raise EditError(f"edge from {source}: a parallel block needs the component the joined request goes to")
        edge.update(parallel=list(targets), join=join, to=to)
        if join == "first_k":
            edge["k"] = k
    else:
        branches = []
        for i, target in enumerate(targets):
            if shares is not None:
                branches.append({"to": target, "share": shares[i]})
            else:
                branches.append({"to": target, "when": (conditions or [{}] * len(targets))[i]})
        edge["route"] = branches
    try:
        Edge.model_validate(edge)
    except ValidationError as err:
        raise EditError(_friendly(err)) from None
    return edge


def add_edge(topo: dict, edge: dict) -> dict:
    """The topology with one more edge; every component it names must exist."""
    unknown = sorted(names(edge) - set(ids(topo)))
    if unknown:
        raise EditError(f"edge from {edge['from']}: no component called {', '.join(unknown)}")
    if len(topo.get("edges", [])) >= MAX_EDGES:
        raise EditError(f"a topology has at most {MAX_EDGES} edges")
    return {**topo, "edges": [*topo.get("edges", []), edge]}


def remove_edge(topo: dict, index: int) -> dict:
    edges = list(topo.get("edges", []))
    if not 0 <= index < len(edges):
        raise EditError(f"there is no edge number {index + 1}")
    del edges[index]
    return {**topo, "edges": edges}


def _condition_words(when: dict) -> str:
    parts = []
    if when.get("confidence_below") is not None:
        parts.append(f"confidence below {100 * when['confidence_below']:.0f} %")
    if when.get("segment"):
        parts.append("segment " + " or ".join(when["segment"]))
    if when.get("region"):
        parts.append("region " + " or ".join(when["region"]))
    return " and ".join(parts) or "all the rest"


def edge_words(edge: dict) -> str:
    """One edge in words: 'features -> device, bureau, weather at once, waits for 2 of 3, then rules'."""
    src = edge["from"]
    if edge.get("parallel"):
        n = len(edge["parallel"])
        wait = f"waits for {edge['k']} of {n}" if edge.get("join") == "first_k" else f"waits for all {n}"
        return f"{src} -> {', '.join(edge['parallel'])} at once, {wait}, then {edge['to']}"
    if edge.get("route"):
        parts = [f"{b['to']} ({100 * b['share']:.0f} %)" if b.get("share") is not None
                 else f"{b['to']} if {_condition_words(b.get('when') or {})}" for b in edge["route"]]
        return f"{src} -> " + "; ".join(parts)
    if edge.get("fallback"):
        return f"{src} -> {edge['fallback']} when {src} fails (fallback)"
    return f"{src} -> {edge['to']}"


def check(scenario, topo: dict) -> tuple[Topology | None, list[str]]:
    """(the topology, problems): each problem one line naming the components involved; the topology is
    returned whenever it can be drawn (even with graph problems such as a cycle)."""
    try:
        topology = Topology.model_validate(topo)
    except ValidationError as err:
        return None, [_friendly(err)]
    return topology, [p.removeprefix("topology: ") for p in graph_problems(scenario, topology)]
