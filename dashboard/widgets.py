"""Reusable dashboard pieces: the sidebar, page headers, KPI rows, downloads, and the
scenario editor whose widgets are generated from the pydantic scenario schema.

The editor walks ``Scenario.model_fields`` recursively, so a field another engineer adds to
the scenario model appears in the lab with its description, unit and range without any
change here. Widget values live in session state only through widget keys; anything else
goes through :mod:`dashboard.state`.
"""
from __future__ import annotations

import copy
import functools
import json
import math
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import streamlit as st
import yaml
from pydantic import BaseModel

from dashboard import keeping, plotly_basic, state, svg_diagram
from simulator.common.csv_export import frame_to_csv
from simulator.common.limits import MAX_NAME_CHARS
from simulator.common.safe_yaml import YamlError, load_yaml
from simulator.report import exports
from simulator.report.event_words import event_rows
from simulator.report.findings import Findings
from simulator.report.results import RunResult
from simulator.scenario.config import Scenario, ScenarioError, parse_scenario, read_scenario_text
from simulator.viz.kpis import SEVERITY_COLOUR, Tile, delta_colour
from simulator.viz.report import html_report

TEXT_DIR = Path(__file__).resolve().parent / "text"
JS_SAFE_INT = 2**53
MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:")


# --------------------------------------------------------------------------- text
def help_text(name: str) -> str:
    """A help file from ``dashboard/text/<name>.md`` ('' when it does not exist)."""
    path = TEXT_DIR / f"{name}.md"
    return path.read_text(encoding="utf-8") if path.exists() else ""


CHART_CHUNKS = ("Metric", "BidiComponent")
K_CHARTS_LOADING = "_chart_scripts_loading"


@functools.lru_cache(maxsize=4)
def _chunk_urls(names: tuple[str, ...]) -> tuple[str, ...]:
    """Streamlit's own script files of these names (content-hashed names, found once)."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    return tuple(f"static/js/{p.name}" for name in names for p in sorted(folder.glob(f"{name}.*.js")))


def load_chart_scripts_early() -> None:
    """At the start of a browser tab's first page, before the page's own work: the browser starts
    loading the chart and diagram scripts (setting up the chart library takes it most of a second)
    while the server computes the page, instead of after the first chart arrives. A fixed script of
    ours that imports Streamlit's own files from this server; nothing of a scenario or a user goes into it."""
    if st.session_state.get(K_CHARTS_LOADING):
        return
    st.session_state[K_CHARTS_LOADING] = True
    urls = _chunk_urls(CHART_CHUNKS + (() if plotly_basic.available() else ("PlotlyChart",))
                       + (() if svg_diagram.available() else ("GraphVizChart",)))
    imports = ";".join(f"import(new URL({json.dumps(u)}, document.baseURI).href).catch(() => {{}})" for u in urls)
    if plotly_basic.available():  # the chart component waits on the same load
        imports += f";{plotly_basic.EARLY_LOAD_JS % json.dumps(plotly_basic.bundle_url())}"
    with st.container(key="chart_scripts"):  # takes no room on the page
        st.html("<style>[data-testid='stLayoutWrapper']:has(> .st-key-chart_scripts) { display: none; }</style>"
                f"<script>if (!window.__ptCharts) {{ window.__ptCharts = true; {imports}; }}</script>",
                unsafe_allow_javascript=True)


def page_css() -> None:
    """Small CSS tweaks (plain CSS, no web fonts).

    KPI labels wrap between words, never inside one ("Paym ents"); on a phone (up to 640 px)
    tiles sit two by two instead of one per row; presentation mode enlarges all type for
    projecting.
    """
    css = """
    [data-testid="stMetricLabel"] p, [data-testid="stMetricLabel"] div { white-space: normal !important;
        overflow: visible !important; text-overflow: clip !important; word-break: normal !important;
        overflow-wrap: normal !important; hyphens: none !important; }
    [data-testid="stMetricDelta"] div { white-space: normal !important; }
    [class*="st-key-tiles"] [data-testid="stHorizontalBlock"] { flex-wrap: wrap !important; }
    [class*="st-key-tiles"][class*="-wrap3"] [data-testid="stColumn"] { flex: 1 1 calc(33.3% - 1rem) !important;
        min-width: calc(33.3% - 1rem) !important; }
    @media (max-width: 640px) {
      [class*="st-key-tiles"] [data-testid="stHorizontalBlock"] { gap: 0.5rem !important; }
      [class*="st-key-tiles"] [data-testid="stColumn"],
      [class*="st-key-tiles"][class*="-wrap3"] [data-testid="stColumn"] { flex: 1 1 calc(50% - 0.5rem) !important;
          min-width: calc(50% - 0.5rem) !important; width: calc(50% - 0.5rem) !important; }
      [class*="st-key-tiles"] [data-testid="stMetricValue"] { font-size: 1.5rem !important; }
      [data-testid="stGraphVizChart"], .pt-diagram { overflow-x: auto !important; }
      [data-testid="stGraphVizChart"] svg, .pt-diagram svg { min-width: 480px !important; height: auto !important; }
    }
    """
    if state.presentation_mode():
        css += """
        html { font-size: 20px !important; }
        [data-testid="stMetricValue"] { font-size: 2.6rem !important; }
        [data-testid="stMetricLabel"] p { font-size: 1.1rem !important; }
        [data-testid="stMetricDelta"] { font-size: 1.2rem !important; }
        [data-testid="stMarkdownContainer"] p { font-size: 1.15rem; line-height: 1.6; }
        [data-testid="stMetricValue"] p { font-size: inherit !important; line-height: 1.2; }
        """
    st.html(f"<style>{css}</style>")


# --------------------------------------------------------------------------- sidebar
def sidebar() -> None:
    """Scenario picker with its plain-language description, what-if knobs, seed, presentation mode.

    A shared link naming a scenario this server does not have (one uploaded or edited in another
    session) says so instead of quietly showing the default scenario.
    """
    scenarios = state.catalog()
    names = list(scenarios)
    sb = st.sidebar
    asked = st.query_params.get(state.K_SCENARIO)
    if asked and asked not in names and state.K_SCENARIO not in st.session_state:
        sb.warning(f"This link names the scenario “{asked}”, which is not on this server: uploaded or edited "
                   f"scenarios live only in the session that made them. Showing **{state.DEFAULT_SCENARIO}** "
                   f"instead; upload the file again in the Scenario lab to see it.", icon="⚠️")
    sb.selectbox("Scenario", names, key=state.K_SCENARIO, bind="query-params",
                 help="Each scenario is one story about the service, written in a YAML file. Pick one to "
                      "see what happens.")
    base = state.base_scenario()
    if base.description.strip():
        sb.caption(escape_markdown(base.description.strip()))
    for line in state.catalog_problems():
        sb.warning(f"Skipped a scenario file: {line}", icon="⚠️")
    sb.markdown("**What if…**")
    sb.slider("Traffic (% of normal)", min_value=25, max_value=400, value=100, step=25, key=state.K_TRAFFIC,
              bind="query-params", help="Scales the scenario's arrival rate: 200 % means twice as many "
                                        f"{base.vocabulary.requests} per second.")
    if base.inference.enabled:
        sb.slider("Model servers (% of the plan)", min_value=25, max_value=400, value=100, step=25,
                  key=state.K_CAPACITY, bind="query-params",
                  help=f"Scales the number of {base.vocabulary.model} servers (replicas): 150 % of 4 servers is 6.")
    sc = state.current_scenario()
    sb.caption(f"= {sc.traffic.rate_per_s:,.4g} {sc.vocabulary.requests} per second, {sc.inference.replicas} model "
               f"server{'s' if sc.inference.replicas != 1 else ''}")
    if not state.presentation_mode():
        sb.number_input("Random seed", min_value=0, value=None, step=1, key=state.K_SEED, bind="query-params",
                        placeholder=f"the scenario's own ({base.seed})",
                        help="The same seed gives exactly the same run; change it to see another equally "
                             "likely hour. Empty uses the scenario's own seed.")
    sb.toggle("Presentation mode", key=state.K_PRESENT, bind="query-params",
              help="Larger text for projecting in a workshop; hides the architect tools.")
    sb.caption("The address bar holds the scenario and settings: copy it to share this exact view.")
    notice = state.pop_notice()
    if notice:
        sb.warning(notice)


# --------------------------------------------------------------------------- page parts
def page_header(title: str, help_name: str, caption: str | None = None) -> None:
    """Title, what is shown, and a short 'how to read this page' expander."""
    st.title(title)
    st.caption(caption if caption is not None else f"Scenario: {state.describe_current()}")
    text = help_text(help_name)
    if text:
        with st.expander("How to read this page"):
            st.markdown(text)


def kpi_row(tiles: list[Tile], deltas: list[str | None] | None = None, key: str = "tiles") -> None:
    """KPI tiles with plain-language tooltips: one row of up to four, else rows of three (two by two
    on a phone). A tile from a finding shows its status word in the severity's colour (never colour
    alone); with ``deltas`` the change is shown instead, green when it goes the better way."""
    if not tiles:
        return
    # one row of columns that wraps: three a row beyond four tiles, two a row on a phone (page_css)
    with st.container(key=f"tiles_{key}" + ("-wrap3" if len(tiles) > 4 else "")):
        for i, (col, tile) in enumerate(zip(st.columns(len(tiles)), tiles)):
            delta = deltas[i] if deltas else None
            if delta is not None:
                col.metric(tile.label, tile.value, delta=delta, delta_color=delta_colour(tile), help=tile.help,
                           border=True)
            elif tile.severity is not None:
                col.metric(tile.label, tile.value, delta=tile.status, help=tile.help, border=True,
                           delta_color=SEVERITY_COLOUR[tile.severity], delta_arrow="off")
            else:
                col.metric(tile.label, tile.value, help=tile.help, border=True)

def estimate_tiles(scenario: Scenario, pv: dict) -> list[Tile]:
    """The instant queueing-theory estimate as tiles: keeps up?, mean and p99 latency, servers busy."""
    from simulator.analysis.experiments import format_value
    from simulator.analysis.preview import preview_finding
    from simulator.viz.kpis import finding_tile

    util = pv["stages"]["inference"]["utilization"]
    return [finding_tile(preview_finding(scenario, pv)),
            Tile("mean", "Mean latency", format_value("latency_ms.mean", pv["latency_ms"]["mean"]),
                 "Average time from arrival to answer, from the queueing formulas."),
            Tile("p99", "p99 latency", format_value("latency_ms.p99", pv["latency_ms"]["p99"]),
                 "99 % of answers are faster than this (a two-moment approximation)."),
            Tile("busy", "Model servers busy", "-" if util is None else f"{100 * util:.0f} %",
                 "Average utilization of the model servers at the average arrival rate.")]


HIDE_STALE_CSS = '<style>[data-testid="stMain"] [data-stale="true"] {display: none !important;}</style>'


def instant_estimate(scenario: Scenario) -> None:
    """Shown while a simulation runs (e.g. right after a knob change): the queueing-theory estimate for the
    same settings, computed in milliseconds; the page replaces it with the simulated result when ready."""
    from simulator.analysis.preview import preview_scenario

    try:
        pv = preview_scenario(scenario)
    except Exception:  # the estimate is a courtesy while waiting; the simulation is the answer
        state.LOG.exception("instant estimate failed")
        return
    with st.container(border=True, key="instant_estimate"):
        # the previous run's tiles and charts further down would stay on screen (faded) until the
        # new run is drawn, under an estimate that contradicts them: hidden while the estimate shows
        st.html(HIDE_STALE_CSS)
        st.markdown("**Instant estimate while the simulation runs** (queueing theory, "
                    f"{pv['elapsed_ms']:.0f} ms): the simulated result replaces it when it is ready.")
        kpi_row(estimate_tiles(scenario, pv), key="instant_estimate")
        for note in pv["notes"]:
            st.caption(f"Note: {note}")


def chart(fig, key: str, config: dict | None = None) -> None:
    plotly_basic.chart(fig, key, config)


def diagram(dot: str, key: str) -> None:
    svg_diagram.diagram(dot, key)


def diagram_direction() -> str:
    """Rows of three boxes across the screen when presenting (readable from the back of the room),
    else top to bottom beside the story."""
    return "rows" if state.presentation_mode() else "TB"


def downloads(result: RunResult, key: str, title: str, figures: list | None = None, tiles: list[Tile] | None = None,
              paragraphs: list[str] | None = None, dot: str | None = None, include_requests: bool = True,
              found: Findings | None = None) -> None:
    """Download buttons: the page as an HTML report, and the run's tables as CSV with clock times
    and readable states (built on click; a large file says its size on the button)."""
    sc = result.scenario
    name = sc.name
    subtitle = f"Scenario {name}, seed {result.seed}"
    with st.expander("Download", icon=":material/download:"):
        cols = st.columns(4 if include_requests else 3)
        cols[0].download_button(
            "This page as an HTML report",
            data=lambda: html_report(title, subtitle, tiles, paragraphs, figures, dot, findings=found),
            file_name=f"{name}-{key}.html", mime="text/html", key=f"dl_{key}_html", on_click="ignore",
            help="One file with the charts and numbers that opens in any browser, without the app or the internet.")
        cols[1].download_button(
            "Time series (CSV)", data=lambda: frame_to_csv(exports.timeseries_table(sc, result.timeseries)),
            file_name=f"{name}-timeseries.csv", mime="text/csv", key=f"dl_{key}_ts", on_click="ignore",
            help=f"One row per {sc.timeseries_interval_s:g} s with its clock time: arrivals, answers, latency, queues.")
        cols[2].download_button(
            "Events (CSV)", data=lambda: frame_to_csv(exports.events_table(sc, result.events)),
            file_name=f"{name}-events.csv", mime="text/csv", key=f"dl_{key}_ev", on_click="ignore",
            help="Every event of the run in words, with its clock time: surges, faults, safety-switch trips, "
                 "scaling, releases.")
        if include_requests:
            size = exports.size_text(state.requests_csv_bytes(result))
            cols[3].download_button(
                f"Every request (CSV, about {size})", data=keeping.requests_csv(result, key),  # audited
                file_name=f"{name}-requests.csv", mime="text/csv", key=f"dl_{key}_req", on_click="ignore",
                help=f"One row per request ({len(result.requests):,} rows, about {size}); it takes a moment to "
                     f"prepare.")


def events_table(result: RunResult) -> None:
    """The run's events in words with clock times; the raw records for architects in an expander."""
    ev = result.events
    if ev is None or len(ev) == 0:
        st.caption("No events in this run.")
        return
    table = event_rows(result.scenario, ev)
    st.dataframe(table, hide_index=True, width="stretch", height=min(400, 40 + 35 * len(table)))
    if not state.presentation_mode():
        with st.expander("As recorded (for architects)"):
            st.dataframe(ev, hide_index=True, width="stretch", height=min(400, 40 + 35 * len(ev)))


# --------------------------------------------------------------------------- schema
def _num(x: float) -> str:
    """12 -> '12', 2592000 -> '2,592,000', 0.05 -> '0.05'."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


@dataclass
class FieldSpec:
    """One editable leaf of the scenario schema."""

    path: str
    name: str
    kind: str                  # bool | choice | int | float | text | yaml
    description: str
    unit: str
    optional: bool = False
    choices: list = field(default_factory=list)
    lo: float | None = None
    lo_incl: bool = True
    hi: float | None = None
    hi_incl: bool = True

    def range_text(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(f"{'≥' if self.lo_incl else '>'} {_num(self.lo)}")
        if self.hi is not None and abs(self.hi) < JS_SAFE_INT:
            parts.append(f"{'≤' if self.hi_incl else '<'} {_num(self.hi)}")
        text = " and ".join(parts)
        if self.choices:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        if self.optional:
            text = (text + "; " if text else "") + "empty = none"
        return text


@dataclass
class Group:
    """A section of the schema (a tab at the top level, a bordered box below)."""

    path: str
    title: str
    doc: str
    fields: list[FieldSpec] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)


UNIT_SUFFIXES = [("_per_s", "per second"), ("_ms", "ms"), ("_s", "s"), ("_h", "hours"), ("_pct", "%"),
                 ("_gib", "GiB"), ("_usd", "USD"), ("_cv", "ratio of spread to mean")]


def unit_of(name: str) -> tuple[str, str]:
    """(label words without the unit, unit) from a field name: 'timeout_ms' -> ('timeout', 'ms')."""
    if "_usd_per_" in name:
        head, rest = name.split("_usd_per_", 1)
        return head, "USD per " + rest.replace("_", " ")
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], unit
    return name, ""


def _section_type(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _leaf(path: str, name: str, info) -> FieldSpec:
    ann = info.annotation
    optional = False
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        optional = len(args) < len(typing.get_args(ann))
        ann = args[0] if len(args) == 1 else ann
        origin = typing.get_origin(ann)
    words, unit = unit_of(name)
    spec = FieldSpec(path, name, "yaml", info.description or "", unit, optional)
    if origin is Literal:
        spec.kind, spec.choices = "choice", list(typing.get_args(ann))
    elif ann is bool:
        spec.kind = "bool"
    elif ann is int:
        spec.kind = "int"
    elif ann is float:
        spec.kind = "float"
    elif ann is str:
        spec.kind = "text"
    for m in info.metadata:
        for attr, incl in (("ge", True), ("gt", False)):
            if getattr(m, attr, None) is not None:
                spec.lo, spec.lo_incl = float(getattr(m, attr)), incl
        for attr, incl in (("le", True), ("lt", False)):
            if getattr(m, attr, None) is not None:
                spec.hi, spec.hi_incl = float(getattr(m, attr)), incl
    return spec


def schema_groups(model: type[BaseModel] = Scenario, path: str = "", title: str = "General") -> Group:
    """The schema as a tree of groups and editable fields (recursing into sections)."""
    group = Group(path, title, (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else "")
    for name, info in model.model_fields.items():
        sub = _section_type(info.annotation)
        full = f"{path}.{name}" if path else name
        if sub is not None:
            group.groups.append(schema_groups(sub, full, pretty(name)))
        else:
            group.fields.append(_leaf(full, name, info))
    return group


def pretty(name: str) -> str:
    words = unit_of(name)[0].replace("_", " ")
    fixes = {"api": "API", "db": "DB", "slo": "SLO", "cv": "CV", "p99": "p99", "ml": "ML"}
    words = " ".join(fixes.get(w, w) for w in words.split())
    return words[:1].upper() + words[1:]


def all_fields(group: Group) -> list[FieldSpec]:
    out = list(group.fields)
    for g in group.groups:
        out += all_fields(g)
    return out


def get_path(data: dict, path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def set_path(data: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def place_errors(lines: list[str], known: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Map ScenarioError lines to field paths (for showing them next to the field).

    'inference.replicas: ...' goes to that field; 'traffic: segments: ...' (a section's own
    check) to 'traffic.segments'; 'traffic.spikes.0.multiplier: ...' to 'traffic.spikes'.
    Lines that match no field are returned separately.
    """
    placed: dict[str, list[str]] = {}
    loose: list[str] = []
    for line in lines:
        head, sep, rest = line.partition(": ")
        path = head.strip() if sep else ""
        inner, sep2, _ = rest.partition(": ")
        if sep2 and f"{path}.{inner.strip()}" in known:
            path = f"{path}.{inner.strip()}"
        parts = path.split(".") if path else []
        while parts and ".".join(parts) not in known:
            parts.pop()
        if parts:
            placed.setdefault(".".join(parts), []).append(line)
        else:
            loose.append(line)
    return placed, loose


def parse_uploaded(raw: bytes, filename: str, replay_path: str | None = None) -> tuple[Scenario | None, list[str]]:
    """An uploaded YAML file as a Scenario, or friendly lines saying what is wrong with it.

    The file goes through the guarded YAML reader (size, nesting and alias limits before anything
    else). A replay file path written in it is refused without touching the file system: replay
    data comes with the upload (``replay_path``, a CSV this server stored) or from the bundled data.
    """
    name = Path(filename or "uploaded").name[:MAX_NAME_CHARS]
    try:
        data = read_scenario_text(raw, name)
    except ScenarioError as err:
        return None, list(err.lines)
    data.setdefault("name", Path(name).stem or "uploaded")
    traffic = data.get("traffic")
    if isinstance(traffic, dict) and (traffic.get("replay_csv") is not None or traffic.get("kind") == "replay"):
        bundled = {Path(p).name: p for p in state.bundled_replay_files()}
        named = str(traffic.get("replay_csv") or "").removeprefix("data/")
        if replay_path is None and named not in bundled:
            return None, ["traffic.replay_csv: a scenario uploaded here cannot name a file on the server; upload its "
                          "replay CSV in the box above (then the scenario again), or name a file of the bundled "
                          "data folder"]
        traffic["replay_csv"] = replay_path or bundled[named]
    try:
        return parse_scenario(data, source=name), []
    except ScenarioError as err:
        return None, list(err.lines)


def escape_markdown(text: str) -> str:
    """Text from a scenario shown as itself: no links, images or formatting from its characters
    (a word joiner inside "://" also keeps a bare address from turning into a link)."""
    text = str(text).replace("://", ":\u2060//").replace("www.", "www\u2060.")
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in text)


# --------------------------------------------------------------------------- editor
@dataclass
class EditorResult:
    data: dict
    scenario: Scenario | None
    errors: dict[str, list[str]]
    loose_errors: list[str]
    changed: list[str]


def _step(value: float) -> float:
    if not value:
        return 0.1
    return float(max(10.0 ** (math.floor(math.log10(abs(value))) - 1), 1e-4))


def _field_widget(spec: FieldSpec, current: Any, key: str, disabled: bool = False) -> Any:
    """One widget for one field; returns the value in scenario-JSON form."""
    words, unit = unit_of(spec.name)
    label = pretty(spec.name) + (f" ({unit})" if unit else "")
    help_txt = spec.description + (f"  \nAllowed: {spec.range_text()}." if spec.range_text() else "")
    common = dict(key=key, help=help_txt, persist_state="session", disabled=disabled)
    if spec.kind == "bool":
        return st.toggle(label, value=bool(current), **common)
    if spec.kind == "choice":
        idx = spec.choices.index(current) if current in spec.choices else 0
        return st.selectbox(label, spec.choices, index=idx, **common)
    if spec.kind in ("int", "float"):
        is_int = spec.kind == "int"
        lo = spec.lo if spec.lo is not None and spec.lo_incl else None
        hi = spec.hi if spec.hi is not None and spec.hi_incl and abs(spec.hi) < JS_SAFE_INT else None
        cast = int if is_int else float
        kwargs = dict(min_value=None if lo is None else cast(lo), max_value=None if hi is None else cast(hi),
                      step=1 if is_int else _step(float(current or 0)),
                      placeholder="none" if spec.optional else None)
        if not is_int:
            kwargs["format"] = "%g"
        value = None if current is None else cast(current)
        if value is not None and lo is not None and value < lo:
            kwargs["min_value"] = None
        return st.number_input(label, value=value, **kwargs, **common)
    if spec.kind == "text":
        current = "" if current is None else str(current)
        widget = st.text_area if spec.name == "description" or len(current) > 60 else st.text_input
        text = widget(label, value=current, **common)
        return None if spec.optional and text == "" else text
    text = st.text_area(label, value=yaml.safe_dump(current, default_flow_style=True, sort_keys=False,
                                                    allow_unicode=True, width=10_000).strip(),
                        height=68, **common)
    return ("__yaml__", text)


def _field_caption(spec: FieldSpec) -> str:
    parts = [spec.description.rstrip(".")] if spec.description else []
    if spec.unit:
        parts.append(f"unit: {spec.unit}")
    if spec.range_text():
        parts.append(f"allowed: {spec.range_text()}")
    return " · ".join(parts)


def _render_group(group: Group, base: dict, prefix: str, values: dict, slots: dict, columns: int = 3) -> None:
    """The group's fields in a grid (caption and error slot under each), then its sub-groups."""
    simple = [f for f in group.fields if f.kind not in ("yaml",) and f.name != "description"]
    wide = [f for f in group.fields if f not in simple]
    for start in range(0, len(simple), columns):
        for col, spec in zip(st.columns(columns), simple[start:start + columns]):
            with col:
                values[spec.path] = _field_widget(spec, get_path(base, spec.path), f"{prefix}.{spec.path}")
                st.caption(_field_caption(spec))
                slots[spec.path] = st.empty()
    for spec in wide:
        values[spec.path] = _field_widget(spec, get_path(base, spec.path), f"{prefix}.{spec.path}")
        st.caption(_field_caption(spec))
        slots[spec.path] = st.empty()
    for sub in group.groups:
        with st.container(border=True):
            st.markdown(f"**{sub.title}**")
            if sub.doc:
                st.caption(sub.doc)
            _render_group(sub, base, prefix, values, slots, columns)


def scenario_editor(base: Scenario, prefix: str) -> EditorResult:
    """Every scenario field as a widget, one tab per stage; errors appear under their field."""
    root = schema_groups()
    base_data = base.model_dump(mode="json")
    tab_groups = [Group("", "General", root.doc, root.fields)] + root.groups
    tabs = st.tabs([g.title for g in tab_groups])
    values: dict[str, Any] = {}
    slots: dict[str, Any] = {}
    for tab, g in zip(tabs, tab_groups):
        with tab:
            if g.doc and g.path:
                st.caption(g.doc)
            _render_group(g, base_data, prefix, values, slots)
    data = copy.deepcopy(base_data)
    local: dict[str, list[str]] = {}
    for path, value in values.items():
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "__yaml__":
            try:
                value = load_yaml(value[1]) if value[1].strip() else None
            except YamlError as err:
                local.setdefault(path, []).append(f"{path}: could not read this as YAML ({err})")
                continue
        set_path(data, path, value)
    known = {spec.path for spec in all_fields(root)}
    scenario, lines = None, []
    try:
        scenario = parse_scenario(data)
    except ScenarioError as err:
        lines = err.lines
    placed, loose = place_errors(lines, known)
    for path, msgs in local.items():
        placed.setdefault(path, []).extend(msgs)
    if local:
        scenario = None
    for path, msgs in placed.items():
        slots[path].error("\n\n".join(msgs), icon="🚫")
    changed = [p for p in known if get_path(data, p) != get_path(base_data, p)]
    return EditorResult(data, scenario, placed, loose, sorted(changed))


HOW_SURE_MAX_REPS = 16
HOW_SURE_BUDGET_S = 2.0     # after the first batch, no round starts that would end after this
HOW_SURE_PRECISION = 0.05   # stop when every headline number's interval is within ±5 % of its mean


def _precise(table) -> bool:
    """Every headline number's 95 % interval is within ±5 % of its mean (a number that never moves counts)."""
    return all(row.half_width <= HOW_SURE_PRECISION * abs(row.mean) or row.half_width == 0
               for row in table.itertuples())


def uncertainty(result, key: str) -> None:
    """'How sure are these numbers?': rerun with other equally likely random seeds and show each
    headline KPI's mean with its 95 % confidence interval (Student t over the replications).

    Replications run in rounds that fill the worker pool, each on the summary-only path, until every
    headline number is within ±5 % or the next round would end after the time budget; answers
    already on disk cost nothing. The caption says what was run and why it stopped."""
    from simulator.analysis.backends import simulate_summary
    from simulator.analysis.experiments import format_value, headline, kpi_table, replication_seeds, runs_frame

    st.subheader("How sure are these numbers?")
    on = st.toggle("Check with other equally likely runs", value=False, key=f"{key}_uncertainty",
                   help="One simulated period is one roll of the dice. This reruns the same scenario with other "
                        "random seeds (other customers, same settings) and shows, for each number, the range that "
                        "contains the true long-run value with 95 % confidence. After a first batch that keeps every "
                        f"worker busy, it adds rounds while every range is wider than ±{100 * HOW_SURE_PRECISION:.0f} % "
                        f"and the next round fits in about {HOW_SURE_BUDGET_S:.0f} seconds.")
    if not on:
        st.caption("Off: the numbers above come from one run.")
        return
    sc = result.scenario
    payload = sc.model_dump_json()
    bar = st.progress(0.0, text="Running equally likely runs…")
    started = time.perf_counter()
    summaries: list[dict] = []
    why = ""
    try:
        with state.backend() as backend:
            workers = max(1, int(backend.workers))
            want = state.first_replications(workers)
            while True:
                round_started = time.perf_counter()
                seeds = replication_seeds(sc.seed, want - len(summaries), start=len(summaries))
                try:
                    summaries += backend.map(simulate_summary, [(payload, s) for s in seeds],
                                             progress=lambda done, total, n=len(summaries), want=want: bar.progress(
                                                 min(1.0, (n + done) / want),
                                                 text=f"Equally likely runs: {n + done} of {want}"))
                except ScenarioError:
                    if not summaries:
                        raise
                    why = "a further run did not finish (the table shows the runs that did)"
                    break
                frame = runs_frame(summaries, replication_seeds(sc.seed, len(summaries)))
                table = kpi_table(frame, headline(frame))
                # a round takes about one run's compute time (its runs go in parallel); answers from disk take none
                spent = time.perf_counter() - started
                next_round_s = max(time.perf_counter() - round_started, float(result.summary.wall_s or 0.0))
                if _precise(table):
                    why = f"every range is within ±{100 * HOW_SURE_PRECISION:.0f} % of its average"
                    break
                if len(summaries) >= HOW_SURE_MAX_REPS:
                    why = f"{HOW_SURE_MAX_REPS} runs is this page's limit"
                    break
                if spent + next_round_s > HOW_SURE_BUDGET_S:
                    why = f"another round would end after the {HOW_SURE_BUDGET_S:.0f} seconds this page allows; the " \
                          f"command line's `replicate --precision` can go on"
                    break
                want = min(HOW_SURE_MAX_REPS, len(summaries) + workers)
    except ScenarioError as err:
        bar.empty()
        st.warning("\n".join(err.lines))
        return
    bar.empty()
    reps = len(summaries)
    keeping.replications_finished(sc, reps, sc.seed)
    flat = result.summary.flat()
    rows = [{"number": row.label, "this run": format_value(row.kpi, flat.get(row.kpi)),
             f"average of {reps} runs": format_value(row.kpi, row.mean),
             "95 % confidence interval": f"{format_value(row.kpi, row.lo)} to {format_value(row.kpi, row.hi)}"}
            for row in table.itertuples()]
    st.dataframe(rows, hide_index=True, width="stretch")
    pool = f"{workers} worker{'s' if workers != 1 else ''}"
    rounds = math.ceil(reps / workers)  # rounds of the pool: every worker busy in each
    st.caption(f"Ran {reps} equally likely runs in {rounds} round{'s' if rounds != 1 else ''} on {pool} "
               f"({time.perf_counter() - started:.1f} s; runs done before come from the run cache); stopped because "
               f"{why}. Run i always gets the i-th seed spawned from the scenario's seed {sc.seed}, so the same number "
               f"of runs gives the same table. A narrow interval means luck hardly moves that number.")
