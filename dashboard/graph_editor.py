"""The Scenario lab's graph editor: build the architecture (components and edges) with forms, see it
drawn live, read what is wrong in plain lines, and save it as YAML or to the Library.

The topology being built lives in the session as plain data (:mod:`simulator.scenario.topology_edit`),
so an unfinished graph survives reruns and can be drawn while it still has a cycle or a loose part.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import streamlit as st

from dashboard import library, state, team, widgets
from simulator.scenario import topology_edit as te
from simulator.scenario.config import Scenario, ScenarioError, parse_scenario, scenario_to_yaml
from simulator.scenario.stages import ExternalApiConfig, FeatureStoreConfig, InferenceConfig, IngestionConfig
from simulator.scenario.topology import KINDS, RulesConfig
from simulator.viz.architecture_charts import KIND_WORDS
from simulator.viz.diagram import architecture_dot

SECTIONS = {"ingestion": IngestionConfig, "feature_store": FeatureStoreConfig, "dependency": ExternalApiConfig,
            "rules": RulesConfig, "model": InferenceConfig}
FORM_WORDS = {"sequence": "in sequence (every request goes on to one component)",
              "parallel": "in parallel (call several dependencies at once, then join)",
              "route": "route (split by share or by a condition on the request)",
              "fallback": "fallback (used when the component fails or its safety switch is open)"}


@dataclass
class GraphEdit:
    """What the editor built: the scenario with its new architecture (None while it has problems)."""

    topology: dict
    scenario: Scenario | None
    problems: list[str]


def _keys(prefix: str) -> tuple[str, str]:
    return f"{prefix}_topology", f"{prefix}_message"


def _get(prefix: str, base: Scenario) -> dict:
    key, _ = _keys(prefix)
    if key not in st.session_state:
        st.session_state[key] = te.start(base)
    return st.session_state[key]


def _say(prefix: str, kind: str, text: str) -> None:
    st.session_state[_keys(prefix)[1]] = (kind, text)


def _apply(prefix: str, change, done: str) -> None:
    """Run one edit on the session's topology; a refused edit becomes a message, not an exception."""
    key, _ = _keys(prefix)
    try:
        st.session_state[key] = change(st.session_state[key])
    except te.EditError as err:
        _say(prefix, "error", str(err))
        return
    _say(prefix, "ok", done)


def _on_add_component(prefix: str) -> None:
    s = st.session_state
    kind = s[f"{prefix}_kind"]
    settings = {name: s[f"{prefix}_set_{kind}_{name}"] for name in te.MAIN_SETTINGS[kind]
                if s.get(f"{prefix}_set_{kind}_{name}") is not None}
    cid, label = str(s.get(f"{prefix}_cid") or ""), str(s.get(f"{prefix}_label") or "")
    if kind == "dependency" and label.strip() and settings.get("name") == ExternalApiConfig().name:
        settings["name"] = label.strip()[:80]  # the service's name in sentences: the business name given
    arch = s.get(f"{prefix}_arch") if kind == "model" else None
    _apply(prefix, lambda t: te.add_component(t, kind, cid, label, settings, arch),
           f"Added {cid} ({KIND_WORDS[kind]}). Connect it with an edge below.")


def _on_remove_component(prefix: str) -> None:
    cid = st.session_state.get(f"{prefix}_remove_cid")
    if not cid:
        return
    topo, gone = te.remove_component(st.session_state[_keys(prefix)[0]], cid)
    st.session_state[_keys(prefix)[0]] = topo
    _say(prefix, "ok", f"Removed {cid}" + (f" and its edges: {'; '.join(gone)}." if gone else "."))


def _on_add_edge(prefix: str) -> None:
    s = st.session_state
    form, source = s[f"{prefix}_form"], s.get(f"{prefix}_from")
    targets = list(s.get(f"{prefix}_targets") or [])
    if form in ("sequence", "fallback"):
        targets = [s.get(f"{prefix}_target")] if s.get(f"{prefix}_target") else []
    shares = conditions = None
    if form == "route":
        if s.get(f"{prefix}_route_by") == "share":
            shares = [float(s.get(f"{prefix}_share_{t}") or 0.0) / 100 for t in targets]
        else:
            conditions = [_condition(s, prefix, t) for t in targets]
    join = "first_k" if s.get(f"{prefix}_join") == "the first k" else "all"
    k = int(s.get(f"{prefix}_k") or 1) if join == "first_k" else None

    def change(topo: dict) -> dict:
        return te.add_edge(topo, te.make_edge(form, source, targets, s.get(f"{prefix}_then"), join, k, shares,
                                              conditions))
    _apply(prefix, change, f"Added the edge from {source}.")


def _condition(s, prefix: str, target: str) -> dict:
    out: dict = {}
    threshold = s.get(f"{prefix}_conf_{target}")
    if threshold:
        out["confidence_below"] = threshold / 100
    segments = s.get(f"{prefix}_seg_{target}")
    if segments:
        out["segment"] = list(segments)
    regions = s.get(f"{prefix}_reg_{target}")
    if regions:
        out["region"] = list(regions)
    return out


def _on_remove_edge(prefix: str) -> None:
    index = st.session_state.get(f"{prefix}_remove_edge")
    if index is None:
        return
    _apply(prefix, lambda t: te.remove_edge(t, index), f"Removed edge {index + 1}.")


def _on_reset(prefix: str, base: Scenario) -> None:
    st.session_state[_keys(prefix)[0]] = te.start(base)
    _say(prefix, "ok", "Back to the scenario's own architecture.")


def _setting_widget(prefix: str, kind: str, name: str, col, key: str | None = None, value=None) -> None:
    """One main setting of a component, with the section's description and range: a new component's
    starts at the section's default, a component being changed at ``value`` (what it runs with)."""
    info = SECTIONS[kind].model_fields[name]
    unit = widgets.unit_of(name)[1]
    label = widgets.pretty(name) + (f" ({unit})" if unit else "")
    key = key or f"{prefix}_set_{kind}_{name}"
    default = info.default
    bounds = {m_attr: getattr(m, m_attr) for m in info.metadata for m_attr in ("ge", "le")
              if getattr(m, m_attr, None) is not None}
    if isinstance(default, bool) or default is None:
        return
    if value is None:
        value = default
    if isinstance(default, str):
        choices = list(getattr(info.annotation, "__args__", ()) or ())
        if choices and all(isinstance(c, str) for c in choices):
            allowed = [c for c in choices if not (kind == "feature_store" and c == "off")]
            col.selectbox(label, allowed, index=allowed.index(value if value in allowed else default), key=key,
                          help=info.description)
        else:
            col.text_input(label, value=str(value), key=key, help=info.description, max_chars=80)
    elif isinstance(default, int):
        col.number_input(label, value=int(value), min_value=int(bounds.get("ge", 0)),
                         max_value=int(bounds["le"]) if "le" in bounds else None, step=1, key=key,
                         help=info.description)
    else:
        col.number_input(label, value=float(value), min_value=float(bounds.get("ge", 0.0)),
                         max_value=float(bounds["le"]) if "le" in bounds else None, key=key, format="%g",
                         help=info.description)


MODEL_SIZES = ("standard", "compact", "large")


def _model_size_box(col, key: str, value: str = "standard") -> None:
    col.selectbox("Model size", MODEL_SIZES, index=MODEL_SIZES.index(value), key=key,
                  help="compact: 4 inputs, cheap; standard: all 7; large: 7 plus 3 derived inputs, more accurate.")


def _component_form(prefix: str, topo: dict) -> None:
    st.markdown("**Add a component**")
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Kind", KINDS, format_func=lambda k: KIND_WORDS[k], key=f"{prefix}_kind",
                        help="What the component does: the entry where requests arrive, the feature store, an "
                             "external call, a rules engine, a model pool, or the human review queue.")
    c2.text_input("Id", key=f"{prefix}_cid", max_chars=40, placeholder="e.g. credit_bureau",
                  help="Lower-case letters, digits and underscores; used in edges and in faults.components.")
    c3.text_input("Business name", key=f"{prefix}_label", max_chars=80, placeholder="e.g. credit bureau",
                  help="Shown on the diagram and in every sentence about it.")
    names = te.MAIN_SETTINGS[kind]
    if names or kind == "model":
        cols = st.columns(3)
        for i, name in enumerate(names):
            _setting_widget(prefix, kind, name, cols[i % 3])
        if kind == "model":
            _model_size_box(cols[len(names) % 3], f"{prefix}_arch")
    if kind == "review":
        st.caption("Reviewers and their shifts come from the scenario's review section (Settings).")
    st.button("Add the component", key=f"{prefix}_add_component", icon=":material/add_box:",
              on_click=_on_add_component, args=(prefix,))
    ids = te.ids(topo)
    r1, r2 = st.columns([2, 1], vertical_alignment="bottom")
    r1.selectbox("Remove a component (its edges go with it)", ids, index=None, key=f"{prefix}_remove_cid",
                 placeholder="choose a component")
    r2.button("Remove", key=f"{prefix}_remove_component", icon=":material/delete:", on_click=_on_remove_component,
              args=(prefix,))


def _revision(comp: dict) -> str:
    """A short fingerprint of a component as it is now: its change form's widgets are keyed by it, so
    they show what it runs with after a save or a reset, not what was typed before."""
    return hashlib.sha256(json.dumps(comp, sort_keys=True).encode()).hexdigest()[:8]


def _on_change_component(prefix: str, cid: str, base: Scenario) -> None:
    s = st.session_state
    topo = s[_keys(prefix)[0]]
    comp = te.component(topo, cid)
    kind, stem = comp["kind"], f"{prefix}_edit_{cid}_{_revision(comp)}"
    current = te.current_settings(base, topo, cid)
    changed = {name: s[f"{stem}_{name}"] for name in current
               if s.get(f"{stem}_{name}") is not None and s[f"{stem}_{name}"] != current[name]}
    label = str(s.get(f"{stem}_label") or "")
    arch = s.get(f"{stem}_arch") if kind == "model" else None
    arch = arch if arch != comp.get("architecture", "standard") else None
    _apply(prefix, lambda t: te.update_component(t, cid, label, changed, arch), f"Changed {cid}.")


def _change_form(prefix: str, topo: dict, base: Scenario) -> None:
    """Change an existing component's business name, main settings or model size (id, kind and edges stay)."""
    st.markdown("**Change a component**")
    cid = st.selectbox("Component to change", te.ids(topo), index=None, key=f"{prefix}_edit_cid",
                       placeholder="choose a component",
                       help="Its settings show what it runs with now: its own, or its kind's section of the scenario.")
    if cid is None or cid not in te.ids(topo):
        return
    comp = te.component(topo, cid)
    kind, stem = comp["kind"], f"{prefix}_edit_{cid}_{_revision(comp)}"
    current = te.current_settings(base, topo, cid)
    st.text_input("Business name", value=comp.get("label", ""), key=f"{stem}_label", max_chars=80,
                  help="Shown on the diagram and in every sentence about it.")
    cols = st.columns(3)
    for i, name in enumerate(te.MAIN_SETTINGS[kind]):
        _setting_widget(prefix, kind, name, cols[i % 3], key=f"{stem}_{name}", value=current[name])
    if kind == "model":
        _model_size_box(cols[len(te.MAIN_SETTINGS[kind]) % 3], f"{stem}_arch", comp.get("architecture", "standard"))
    st.button("Save the changes", key=f"{prefix}_edit_component", icon=":material/edit:",
              on_click=_on_change_component, args=(prefix, cid, base))


def _edge_form(prefix: str, topo: dict, base: Scenario) -> None:
    st.markdown("**Add an edge**")
    ids = te.ids(topo)
    form = st.radio("How requests move", te.EDGE_FORMS, format_func=lambda f: FORM_WORDS[f], key=f"{prefix}_form")
    c1, c2 = st.columns(2)
    c1.selectbox("From", ids, index=None, key=f"{prefix}_from", placeholder="choose a component")
    if form in ("sequence", "fallback"):
        c2.selectbox("To" if form == "sequence" else "Falls back to", ids, index=None, key=f"{prefix}_target",
                     placeholder="choose a component")
    else:
        targets = c2.multiselect("Branches" if form == "parallel" else "Route to", ids, key=f"{prefix}_targets")
        if form == "parallel":
            j1, j2, j3 = st.columns(3)
            join = j1.radio("Wait for", ["all", "the first k"], key=f"{prefix}_join", horizontal=True)
            j2.number_input("k (answers to wait for)", min_value=1, max_value=16, value=2, step=1,
                            key=f"{prefix}_k", disabled=join != "the first k")
            j3.selectbox("Then", ids, index=None, key=f"{prefix}_then", placeholder="where the joined request goes")
        else:
            by = st.radio("Split by", ["share", "condition"], key=f"{prefix}_route_by", horizontal=True,
                          help="By share: a random share of the requests takes each branch. By condition: the "
                               "first branch whose condition holds (a branch without a condition takes the rest).")
            for t in targets:
                a, b, c = st.columns(3) if by == "condition" else (*st.columns(2), None)
                if by == "share":
                    a.number_input(f"Share to {t} (%)", min_value=0.0, max_value=100.0,
                                   value=round(100 / len(targets), 1), key=f"{prefix}_share_{t}", format="%g")
                else:
                    a.number_input(f"To {t} if the confidence is below (%)", min_value=50.0, max_value=100.0,
                                   value=None, key=f"{prefix}_conf_{t}", format="%g", placeholder="no condition",
                                   help="max(p, 1 - p) of the deciding model's score; only a model can route on it.")
                    b.multiselect(f"To {t} if the segment is", list(base.traffic.segments), key=f"{prefix}_seg_{t}")
                    c.multiselect(f"To {t} if the region is", list(base.traffic.regions), key=f"{prefix}_reg_{t}",
                                  help="Conditions given together must all hold.")
    st.button("Add the edge", key=f"{prefix}_add_edge", icon=":material/add_link:", on_click=_on_add_edge,
              args=(prefix,))
    edges = topo.get("edges", [])
    r1, r2 = st.columns([2, 1], vertical_alignment="bottom")
    r1.selectbox("Remove an edge", list(range(len(edges))), index=None, key=f"{prefix}_remove_edge",
                 format_func=lambda i: f"{i + 1}. {te.edge_words(edges[i])}", placeholder="choose an edge")
    r2.button("Remove", key=f"{prefix}_remove_edge_button", icon=":material/link_off:", on_click=_on_remove_edge,
              args=(prefix,))


def _candidate(base: Scenario, topo: dict) -> tuple[Scenario | None, list[str]]:
    """The base scenario with the new architecture. A changed architecture drops the bundled comparison
    (it names the old components)."""
    data = base.model_dump(mode="json")
    data["topology"] = topo
    if topo != te.start(base):
        data.pop("compare_overrides", None)
        data.pop("compare_label", None)
    try:
        return parse_scenario(data), []
    except ScenarioError as err:
        return None, list(err.lines)


def graph_editor(base: Scenario, prefix: str) -> GraphEdit:
    """The editor (forms left, live diagram and problems right) and its result."""
    topo = _get(prefix, base)
    topology, problems = te.check(base, topo)
    scenario, lines = _candidate(base, topo) if not problems else (None, [])
    problems = problems or lines
    forms, picture = st.columns([1, 1], gap="large")
    with picture:
        st.markdown("**Your architecture**")
        if topology is not None:
            widgets.diagram(architecture_dot(base, topology=topology, font_size=state.diagram_font_size()),
                            key=f"{prefix}_diagram")
        if problems:
            st.error("This architecture cannot run yet:\n\n" + "\n".join(f"- {widgets.escape_markdown(p)}"
                                                                           for p in problems), icon="🚫")
        else:
            st.success(f"The graph is sound: {len(topo['components'])} components, {len(topo.get('edges', []))} "
                       f"edges. Run it, use it on every page, or save it.", icon=":material/check_circle:")
        st.markdown("**Edges**")
        for i, e in enumerate(topo.get("edges", [])):
            st.markdown(f"{i + 1}. {widgets.escape_markdown(te.edge_words(e))}")
    with forms:
        message = st.session_state.get(_keys(prefix)[1])
        if message:
            (st.success if message[0] == "ok" else st.error)(widgets.escape_markdown(message[1]))
        _component_form(prefix, topo)
        st.divider()
        _change_form(prefix, topo, base)
        st.divider()
        _edge_form(prefix, topo, base)
        st.button("Back to the scenario's architecture", key=f"{prefix}_reset", on_click=_on_reset,
                  args=(prefix, base), icon=":material/undo:")
    return GraphEdit(topo, scenario, problems)


def actions(edit: GraphEdit, base: Scenario, use_everywhere) -> None:
    """Download, use on every page, save to the Library: only for an architecture that can run."""
    valid = edit.scenario is not None
    c1, c2 = st.columns(2)
    c1.download_button("Download as YAML", data=scenario_to_yaml(edit.scenario) if valid else "",
                       file_name=f"{base.name}-architecture.yaml", mime="application/x-yaml", disabled=not valid,
                       key="graph_download", on_click="ignore", help="The whole scenario with this architecture.")
    c2.button("Use it on every page", disabled=not valid, key="graph_use", on_click=use_everywhere,
              args=(edit.scenario.model_dump(mode="json") if valid else {},),
              help="Adds the scenario with this architecture to the sidebar's list for this session and selects it.")
    team.show_flash()
    if valid:
        with st.expander("Save this architecture to the Library", icon=":material/save:",
                         expanded=st.session_state.get(library.K_CONFLICT) is not None):
            library.save_box(edit.scenario, "graph", "this architecture")
