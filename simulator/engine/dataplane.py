"""The data plane: one station per component of the scenario's graph, wired by its edges.

Built from :func:`simulator.scenario.graph.build_graph`. Each component gets the station of its
kind; its outgoing edge decides where its requests go (the next station, a route, a fan-out to
dependencies joined before the next one, or the end of the request), and its fallback edge where
its failures go. ``advance(t_end)`` processes every station in topological order (fallback
components before what follows the component they stand in for, each join just before its
target), so every input a station will receive before ``t_end`` is there when it runs.

A failure reaches a fallback component at the time it happened, or, for a model request that
timed out in its queue and was only found expired later, at the start of the interval in which
it was found (a station never receives a request in its past).

Columns: the ingestion, the feature store, the first dependency and the first model in
topological order keep the chain's column names (``api_*``, ``inf_*``, ...) and random streams, so
an old scenario file, whose graph is the default chain, runs exactly as before; every other
component has columns named ``<id>.<what>`` and streams of its own. Graph scenarios add the
request's final ``decision`` and the component that made it (``decided_by``).
"""
from __future__ import annotations

import math

import networkx as nx
import numpy as np

from simulator.engine.columns import Columns
from simulator.engine.draws import ComponentDraws
from simulator.engine.faults import Timeline, Window
from simulator.engine.stations.dependency import DependencyStation
from simulator.engine.stations.edges import ConditionRouter, Join, ShareRouter, condition
from simulator.engine.stations.features import FeatureStoreStation
from simulator.engine.stations.ingestion import IngestionStation
from simulator.engine.stations.model import ModelService
from simulator.engine.stations.review import ReviewStation
from simulator.engine.stations.rules import RulesStation
from simulator.engine.stations.windows import windows_at
from simulator.scenario.graph import primary_components, rules_of

F8 = np.float64
API_NAMES = {"start": "api_start_s", "dur": "api_s", "status": "api_status", "calls": "api_calls",
             "fallback": "fallback", "staleness": "staleness_s", "lat": "api_lat_s", "err": "api_err_u",
             "retry_lat": "retry_lat_s", "retry_err": "retry_err_u", "jitter": "jitter_u", "call_t0": "api_call_t0_s"}
MODEL_NAMES = {"service": "inf_svc_s", "enter": "inf_enter_s", "start": "inf_start_s", "end": "inf_end_s",
               "route_u": "route_u", "err_u": "model_err_u", "version": "version", "approve": "approve",
               "approve_alt": "approve_alt"}
FB_COMPONENT = 3  # fallback code: answered by a fallback component


def dependency_names(cid: str, primary: bool, chain: bool) -> dict[str, str]:
    if chain:
        return dict(API_NAMES)
    own = {role: f"{cid}.{role}" for role in API_NAMES}
    own.update({"lat": f"{cid}.lat_s", "err": f"{cid}.err_u", "retry_lat": f"{cid}.retry_lat_s",
                "retry_err": f"{cid}.retry_err_u", "jitter": f"{cid}.jitter_u", "start": f"{cid}.start_s",
                "dur": f"{cid}.dur_s", "staleness": f"{cid}.staleness_s", "call_t0": f"{cid}.call_t0_s"})
    if primary:  # the first dependency reports in the chain's columns, with a fallback column of its own
        own = {**API_NAMES, "fallback": f"{cid}.fallback"}
    return own


def dependency_column_specs(names: dict[str, str]) -> list[tuple[str, type, float]]:
    nan = math.nan
    return [(names["start"], F8, nan), (names["dur"], F8, 0.0), (names["status"], np.int8, 4),
            (names["calls"], np.int16, 0), (names["fallback"], np.int8, 0), (names["staleness"], F8, nan),
            (names["call_t0"], F8, nan),
            (names["lat"], F8, 0.0), (names["err"], F8, 0.0)]


def model_names(cid: str, primary: bool) -> dict[str, str]:
    if primary:
        return dict(MODEL_NAMES)
    return {"service": f"{cid}.svc_s", "enter": f"{cid}.enter_s", "start": f"{cid}.start_s", "end": f"{cid}.end_s",
            "route_u": f"{cid}.route_u", "err_u": f"{cid}.err_u", "version": f"{cid}.version",
            "approve": f"{cid}.approve", "approve_alt": f"{cid}.approve", "p": f"{cid}.p"}


class GraphPlane:
    """Stations and edges of one run; ``engine`` is the KernelSimulation that owns the columns."""

    def __init__(self, engine, windows: list[Window]):
        self.engine = engine
        sc = engine.sc
        self.sc = sc
        g = engine.graph
        self.graph = g
        self.chain = engine.scenario.topology is None
        self.columns: Columns = engine.columns
        self.first = primary_components(g)
        self.index = {cid: i for i, cid in enumerate(g.nodes)}
        self.draws = ComponentDraws(engine.rng)
        self.retry_stores: dict[str, Columns] = {}
        self.stations: dict[str, object] = {}
        self.models: dict[str, ModelService] = {}
        self.dependencies: dict[str, DependencyStation] = {}
        self.reviews: dict[str, ReviewStation] = {}
        self.joins: dict[str, list[Join]] = {}
        self.scorers: dict[str, object] = {}
        self.frontier = -math.inf
        self._outages = {}
        for w in windows:
            if w.target.startswith("component:"):
                self._outages.setdefault(w.target.removeprefix("component:"), []).append(w)
        if not self.chain:
            self.columns.add("decision", np.int8, -1)
            self.columns.add("decided_by", np.int16, -1)
        self._windows = windows
        self._build()
        self.order = self._advance_order()

    # ------------------------------------------------------------------ building
    def _add_columns(self, specs) -> None:
        for name, dtype, fill in specs:
            if name not in self.columns:
                self.columns.add(name, dtype, fill)

    def _build(self) -> None:
        g = self.graph
        # stations are built from the end of the graph backwards, so each one's successors exist
        for cid in reversed(list(nx.topological_sort(g))):
            self._station(cid)
        for joins in self.joins.values():
            for join in joins:
                join.branch_push = [self._push_of(b) for b in join.branches]

    def _push_of(self, cid: str):
        station = self.stations[cid]
        return station.push

    def _edge_out(self, cid: str):
        """Where requests that leave ``cid`` go: a push function (rids, times)."""
        g = self.graph
        out = [(v, d) for _, v, d in g.out_edges(cid, data=True) if d["form"] != "fallback"]
        if not out:
            return self.end
        form = out[0][1]["form"]
        if form == "sequence":
            return self._push_of(out[0][0])
        if form == "branch":
            return self._join_of(cid).fan_out
        if form == "join":  # a parallel branch answers its join
            return None
        # a route
        branches = sorted(out, key=lambda x: x[1]["index"])
        targets = [self._push_of(v) for v, _ in branches]
        if branches[0][1]["share"] is not None:
            self.draws.add_route(cid)
            self._add_columns([(f"route.{cid}.u", F8, 0.0)])
            return ShareRouter(f"route.{cid}.u", [d["share"] for _, d in branches], targets, self.columns,
                               self.end).push
        sc = self.sc
        conf = self._confidence_column(cid) if any(d["when"].confidence_below is not None for _, d in branches) else None
        conds = [condition(d["when"], self.columns, list(sc.traffic.segments), list(sc.traffic.regions), conf)
                 for _, d in branches]
        return ConditionRouter(conds, targets, self.end).push

    def _confidence_column(self, cid: str) -> str:
        return "p" if cid == self.first.get("model") else f"{cid}.p"

    def _join_of(self, source: str) -> Join:
        g = self.graph
        branches = [v for _, v, d in g.out_edges(source, data=True) if d["form"] == "branch"]
        target, data = next((v, d) for _, v, d in g.out_edges(branches[0], data=True) if d["form"] == "join")
        for join in self.joins.get(target, []):
            if join.name == f"join.{source}":
                return join
        degraded = [dependency_names(b, b == self.first.get("dependency"), self.chain)["fallback"] for b in branches]
        join = Join(f"join.{source}", branches, data["k"], self.columns, degraded, self._push_of(target), self.fail,
                    self.engine.R_API, self.mark_fallback)
        self._add_columns(join.column_specs())
        self.joins.setdefault(target, []).append(join)
        return join

    def _failure_of(self, cid: str):
        """Where ``cid``'s failures go: its fallback component, its join, or the end of the request."""
        g = self.graph
        fb = [v for _, v, d in g.out_edges(cid, data=True) if d["form"] == "fallback"]
        if fb:
            target = self.stations[fb[0]]

            def to_fallback(rids, times, reason=None):
                target.push(rids, np.maximum(times, self.frontier))
            return to_fallback
        join = self._branch_join(cid)
        if join is not None:
            return join.failure(join.branches.index(cid))
        return self.fail

    def _branch_join(self, cid: str) -> Join | None:
        """The join ``cid`` answers, as a branch (or as the fallback of a branch)."""
        g = self.graph
        ins = [(u, d) for u, _, d in g.in_edges(cid, data=True)]
        if ins and ins[0][1]["form"] == "fallback":
            return self._branch_join(ins[0][0])
        if ins and ins[0][1]["form"] == "branch":
            return self._join_of(ins[0][0])
        return None

    def _stand_in_for(self, cid: str) -> str | None:
        """The component ``cid`` is the fallback of, if any."""
        for u, _, d in self.graph.in_edges(cid, data=True):
            if d["form"] == "fallback":
                return u
        return None

    def _emit_of(self, cid: str):
        """Where ``cid``'s answers go (a fallback component answers as the one it stands in for)."""
        principal = self._stand_in_for(cid)
        if principal is not None:
            join = self._branch_join(principal)
            nxt = (join.answer(join.branches.index(principal), via_fallback=True) if join is not None
                   else self._edge_out(principal))

            def answered_by_fallback(rids, times):
                if join is None:
                    self.mark_fallback(rids, FB_COMPONENT)
                nxt(rids, times)
            return answered_by_fallback
        join = self._branch_join(cid)
        if join is not None:
            return join.answer(join.branches.index(cid))
        return self._edge_out(cid)

    def _station(self, cid: str) -> None:
        g, sc, eng = self.graph, self.sc, self.engine
        kind = g.nodes[cid]["kind"]
        settings = g.nodes[cid]["settings"]
        emit, fail = self._emit_of(cid), self._failure_of(cid)
        outage = self._outages.get(cid, [])
        if kind == "ingestion":
            station = IngestionStation(sc, self.columns, self._guard(cid, emit, fail, outage))
            self.ingestion = station
        elif kind == "feature_store":
            station = FeatureStoreStation(eng.env, sc, self.columns, emit, fail, eng.R_DB,
                                          Timeline([w for w in self._windows if w.target == "feature_db"]))
            station.push = self._guard(cid, station.push, fail, outage)
            self.features = station
        elif kind == "dependency":
            primary = cid == self.first.get("dependency")
            names = dependency_names(cid, primary, self.chain)
            if not self.chain:
                self._add_columns(dependency_column_specs(names))
                if not primary:
                    self.draws.add_dependency(cid, settings)
            has_fallback_edge = any(d["form"] == "fallback" for _, _, d in g.out_edges(cid, data=True))
            cfg = settings.model_copy(update={"fallback": "none"}) if has_fallback_edge else settings
            targets = ("external_api",) if primary else ()
            faults = [w for w in self._windows if w.target in targets]
            faults += [Window(w.name, w.target, "outage_errors", w.start_s, w.end_s) for w in outage]
            retry = self._retry_store(cid, settings, primary)
            if not self.chain and self._branch_join(cid) is None and self._stand_in_for(cid) is None:
                emit = self._with_fallback_mark(names["fallback"], emit)
            station = DependencyStation(cfg, _Both(self.columns, retry), names, Timeline(faults), emit, fail,
                                        eng.R_API, len(sc.traffic.regions), eng.events, eng.breaker_states,
                                        "external_api" if primary else cid)
            self.dependencies[cid] = station
        elif kind == "rules":
            self.draws.add_rules(cid)
            self._add_columns([(f"{cid}.enter_s", F8, math.nan), (f"{cid}.settle_u", F8, 0.0),
                               (f"{cid}.right_u", F8, 0.0)])
            settles_all = not any(d["form"] != "fallback" for _, _, d in g.out_edges(cid, data=True))
            station = RulesStation(cid, rules_of(g, cid), self.columns, emit, self.decider(cid), self.end, settles_all)
            station.push = self._guard(cid, station.push, fail, outage)
        elif kind == "model":
            station = self._model(cid, settings, emit, fail, outage)
        else:  # review
            self.draws.add_review(cid, settings, sc.fairness.review_service_s)
            self._add_columns([(f"{cid}.{c}", F8, math.nan) for c in ("enter_s", "start_s", "end_s")]
                              + [(f"{cid}.svc_s", F8, 0.0), (f"{cid}.correct_u", F8, 0.0)])
            station = ReviewStation(eng.env, cid, settings, sc.start_time_of_day_h, self.columns, emit,
                                    self.decider(cid))
            station.push = self._guard(cid, station.push, fail, outage)
            self.reviews[cid] = station
        self.stations[cid] = station

    def _retry_store(self, cid: str, cfg, primary: bool) -> Columns:
        if primary or self.chain:
            return self.engine.retry_columns
        store = Columns()
        if cfg.retry.enabled and cfg.retry.max_attempts > 1:
            for name in ("retry_lat_s", "retry_err_u", "jitter_u"):
                store.add(f"{cid}.{name}", F8, 0.0)
        self.retry_stores[cid] = store
        return store

    def _model(self, cid: str, settings, emit, fail, outage) -> ModelService:
        eng, g = self.engine, self.graph
        primary = cid == self.first.get("model")
        comp = g.nodes[cid]["component"]
        names = model_names(cid, primary)
        if primary:
            msc = self.sc
        else:
            msc = self.sc.model_copy(update={
                "inference": settings, "autoscaler": comp.autoscaler or self.sc.autoscaler.model_copy(
                    update={"enabled": False}),
                "canary": comp.canary or self.sc.canary.model_copy(update={"enabled": False})})
            self.draws.add_model(cid, settings)
            self._add_columns([(names["enter"], F8, math.nan), (names["start"], F8, math.nan),
                               (names["end"], F8, math.nan), (names["service"], F8, 0.0), (names["route_u"], F8, 0.0),
                               (names["err_u"], F8, 0.0), (names["version"], np.int8, 0), (names["approve"], np.int8, 0),
                               (names["p"], F8, 0.5)])
            self.scorers[cid] = (comp.architecture or "standard", settings.precision)
        complete = eng._complete if self.chain else self._model_decided(cid, names, emit)
        model = ModelService(eng, msc, "inference" if primary else cid, names, eng.MODEL_CODES, complete, fail,
                             eng.decisions if primary else None)
        if outage:
            model.outage = _windows_array(outage)
        self.models[cid] = model
        return model

    def _model_decided(self, cid: str, names: dict[str, str], emit):
        c = self.columns
        idx = self.index[cid]
        v_canary = self.engine.MODEL_CODES.v_canary

        def decided(rids, times):
            version = c[names["version"]][rids]
            c["decision"][rids] = np.where(version == v_canary, c[names["approve_alt"]][rids], c[names["approve"]][rids])
            c["decided_by"][rids] = idx
            emit(rids, times)
        return decided

    def _guard(self, cid: str, push, fail, outage: list[Window]):
        """``push`` behind the component's outage windows: requests reaching it while it is down fail there."""
        if not outage:
            return push
        starts, ends = _windows_array(outage)
        reason = self.engine.R_OUTAGE

        def guarded(rids, times):
            down = windows_at(starts, ends, times) >= 0
            if down.any():
                fail(rids[down], times[down], reason)
                rids, times = rids[~down], times[~down]
            if len(rids):
                push(rids, times)
        return guarded

    def _with_fallback_mark(self, column: str, emit):
        c = self.columns

        def marked(rids, times):
            fb = c[column][rids]
            if fb.any():
                c["fallback"][rids] = np.maximum(c["fallback"][rids], fb)
            emit(rids, times)
        return marked

    def mark_fallback(self, rids: np.ndarray, codes) -> None:
        """The request was answered with a fallback (1 cached, 2 default, 3 a fallback component)."""
        c = self.columns
        c["fallback"][rids] = np.maximum(c["fallback"][rids], codes)

    def decider(self, cid: str):
        c = self.columns
        idx = self.index[cid]

        def decide(rids, decision):
            c["decision"][rids] = decision
            c["decided_by"][rids] = idx
        return decide

    def _advance_order(self) -> list[str]:
        """Topological order in which a fallback component comes before what follows its principal."""
        g = nx.DiGraph(self.graph)
        for u, v, d in list(self.graph.edges(data=True)):
            if d["form"] == "fallback":
                for _, w, e in self.graph.out_edges(u, data=True):
                    if e["form"] != "fallback":
                        g.add_edge(v, w)
        return list(nx.topological_sort(g))

    # ------------------------------------------------------------------ ends of requests
    def end(self, rids, times) -> None:
        self.engine._complete(rids, times)

    def fail(self, rids, times, reason) -> None:
        self.engine._fail(rids, times, reason)

    # ------------------------------------------------------------------ run
    def start(self) -> None:
        for model in self.models.values():
            model.start()
        for review in self.reviews.values():
            review.start()

    def new_requests(self, rows: slice, k: int) -> None:
        """Draw the graph's own per-request variates and score its other models for new requests."""
        if self.chain:
            return
        columns, retries = self.draws.chunk(k)
        c = self.columns
        for name, values in columns.items():
            c[name][rows] = values
        for cid, blocks in retries.items():
            store = self.retry_stores[cid]
            r = store.extend(len(next(iter(blocks.values()))))
            for name, values in blocks.items():
                store[name][r] = values
        dec = self.engine.decisions
        if dec is None:
            return
        c["p"][rows] = dec.last_p
        for cid, (architecture, precision) in self.scorers.items():
            p = self.engine.scorer(architecture, precision)(dec.last_served)
            c[f"{cid}.p"][rows] = p
            c[f"{cid}.approve"][rows] = p >= self.sc.model.decision_threshold

    def advance(self, t_end: float) -> None:
        for cid in self.order:
            for join in self.joins.get(cid, ()):
                join.resolve(t_end)
            station = self.stations[cid]
            advance = getattr(station, "advance", None)
            if advance is not None:
                advance(t_end)
        for model in self.models.values():
            model.apply_stops()
        self.frontier = t_end


def _windows_array(windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
    ws = sorted(windows, key=lambda w: w.start_s)
    return np.array([w.start_s for w in ws]), np.array([w.end_s for w in ws])


class _Both:
    """Per-request columns and per-retry columns behind one lookup by name."""

    def __init__(self, columns: Columns, retry_columns: Columns):
        self.columns, self.retry_columns = columns, retry_columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.retry_columns[name] if name in self.retry_columns else self.columns[name]


def component_columns(scenario) -> dict[str, dict]:
    """Each component's kind, label and the columns that record a request's passage through it.

    Roles: ``enter``/``start``/``end`` (pools: arrival, service start, leaving), ``start``/``dur``/
    ``status``/``fallback`` (dependencies), ``enter`` plus ``cost_s`` (rules), ``wait``/``service``
    (ingestion), ``hit``/``lookup`` and the database pool's ``enter``/``start``/``end`` (feature
    store). Joins are listed under ``"joins"``: source, branches, k and per-branch answer time and
    state columns. The same for both engines: it follows from the scenario alone.
    """
    from simulator.scenario.graph import build_graph

    g = build_graph(scenario)
    first = primary_components(g)
    chain = scenario.topology is None
    out: dict[str, dict] = {}
    for cid in nx.topological_sort(g):
        kind, label = g.nodes[cid]["kind"], g.nodes[cid]["label"]
        if kind == "ingestion":
            cols = {"wait": "ing_wait_s", "service": "ing_svc_s"}
        elif kind == "feature_store":
            cols = {"hit": "fs_hit", "lookup": "fs_lookup_s", "enter": "db_enter_s", "start": "db_start_s",
                    "end": "db_end_s"}
        elif kind == "dependency":
            names = dependency_names(cid, cid == first.get("dependency"), chain)
            cols = {role: names[role] for role in ("start", "dur", "status", "calls", "fallback")}
        elif kind == "rules":
            cols = {"enter": f"{cid}.enter_s"}
        elif kind == "model":
            names = model_names(cid, cid == first.get("model"))
            cols = {role: names[role] for role in ("enter", "start", "end", "version")}
        else:
            cols = {role: f"{cid}.{role}_s" for role in ("enter", "start", "end")}
        entry = {"kind": kind, "label": label, "columns": cols}
        if kind == "rules":
            entry["cost_s"] = rules_of(g, cid).cost_ms / 1000.0
        out[cid] = entry
    joins = []
    for u, _, d in g.edges(data=True):
        if d["form"] == "branch" and not any(j["source"] == u for j in joins):
            branches = [b for _, b, e in g.out_edges(u, data=True) if e["form"] == "branch"]
            target, k = next((w, e["k"]) for _, w, e in g.out_edges(branches[0], data=True) if e["form"] == "join")
            joins.append({"source": u, "branches": branches, "k": k, "target": target,
                          "t": [f"join.{u}.{b}.t_s" for b in branches],
                          "state": [f"join.{u}.{b}.state" for b in branches]})
    return {"components": out, "joins": joins}


def trace_column_names(scenario) -> list[str]:
    """Every per-component column a graph scenario's trace carries, besides the chain's."""
    spec = component_columns(scenario)
    names = ["decision", "decided_by"]
    for cid, entry in spec["components"].items():
        names += list(entry["columns"].values())
        if entry["kind"] == "model":  # its score: routes by confidence read it
            names.append("p" if entry["columns"]["enter"] == "inf_enter_s" else f"{cid}.p")
    for join in spec["joins"]:
        names += join["t"] + join["state"]
    return list(dict.fromkeys(names))
