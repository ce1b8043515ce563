"""Simulated request traces as OTLP/JSON, and "where did the time go" between two time windows.

Why: exporting spans in the OpenTelemetry wire format lets people open a simulated slow request
in the same tools they use for production traces (e.g. POST to a collector or Jaeger on
``:4318/v1/traces``). The encoding follows the OTLP/JSON rules in mechanisms.md section 8:
hex ids (32 chars trace, 16 chars span, never all zero), integer enums, lowerCamelCase keys,
64-bit integers as decimal strings, and the resourceSpans/scopeSpans envelope with a
``service.name`` resource attribute.

Input spans are a DataFrame built once at the end of a run (never per request), columns:
``trace_id`` (int, the request id), ``span_id`` (int, unique in the run), ``parent_span_id``
(int, -1 for the root), ``name``, ``start_s``, ``end_s`` (simulated seconds), ``status``
("ok" | "error"); any other column becomes a span attribute.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.common.files import atomic_write_text

SPAN_COLUMNS = ("trace_id", "span_id", "parent_span_id", "name", "start_s", "end_s", "status")
ROOT_PARENT_ID = -1

# trace.proto enums, encoded as integers (OTLP/JSON rule 2).
SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT = 1, 2, 3
STATUS_CODE = {"ok": 1, "error": 2}  # 0 UNSET is never produced here

_SCOPE_NAME = "pipeline_twin.simulator"
_SCOPE_VERSION = "1"
_CAMEL_KEY = re.compile(r"^[a-z][a-zA-Z0-9]*$")
_DECIMAL = re.compile(r"^[0-9]+$")
_ANY_VALUE_KEYS = {
    "stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue"
}


def _hex_id(n_bytes: int, *parts: int) -> str:
    """Deterministic, non-zero id: BLAKE2b of the parts, so the same seed gives the same ids."""
    digest = bytearray(hashlib.blake2b(repr(parts).encode(), digest_size=n_bytes).digest())
    if not any(digest):  # all-zero ids are invalid in OTLP; astronomically unlikely anyway
        digest[-1] = 1
    return digest.hex()


def otlp_trace_id(seed: int, trace_id: int) -> str:
    """32-hex-char trace id for request ``trace_id`` of the run with ``seed``."""
    return _hex_id(16, "trace", seed, trace_id)


def otlp_span_id(seed: int, trace_id: int, span_id: int) -> str:
    """16-hex-char span id for span ``span_id`` of request ``trace_id``."""
    return _hex_id(8, "span", seed, trace_id, span_id)


def _any_value(value) -> dict | None:
    """OTLP AnyValue for a scalar; None for missing values (attribute is then left out)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return {"boolValue": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"intValue": str(int(value))}  # 64-bit int -> decimal string (rule 4)
    if isinstance(value, (float, np.floating)):
        return None if math.isinf(value) else {"doubleValue": float(value)}
    return {"stringValue": str(value)}


def _unix_nanos(epoch_unix_s: float, sim_s: pd.Series) -> np.ndarray:
    """Sim seconds -> int64 unix nanoseconds, without passing 1.7e18 through a float."""
    whole_s = math.floor(epoch_unix_s)
    epoch_ns = whole_s * 1_000_000_000 + round((epoch_unix_s - whole_s) * 1e9)
    return np.rint(sim_s.to_numpy(dtype=float) * 1e9).astype(np.int64) + np.int64(epoch_ns)


def _span_kind(parent_span_id: int, name: str, client_prefixes: Sequence[str]) -> int:
    if parent_span_id == ROOT_PARENT_ID:
        return SPAN_KIND_SERVER
    for prefix in client_prefixes:
        if name == prefix or name.startswith(prefix + "."):
            return SPAN_KIND_CLIENT
    return SPAN_KIND_INTERNAL


def to_otlp_json(
    spans: pd.DataFrame,
    service_name: str,
    epoch_unix_s: float,
    seed: int,
    client_span_prefixes: Sequence[str] = ("external_api",),
) -> dict:
    """Encode a spans frame as an OTLP/JSON ``TracesData`` dict (ready for ``json.dumps``).

    Root spans (parent -1) are SERVER (2); spans named ``external_api`` or ``external_api.*``
    (``client_span_prefixes``) are CLIENT (3), because they are outbound calls; the rest are
    INTERNAL (1). Sim time t maps to ``epoch_unix_s + t`` in unix nanoseconds.
    """
    missing = [c for c in SPAN_COLUMNS if c not in spans.columns]
    if missing:
        raise ValueError(f"spans frame is missing columns {missing}")
    bad_status = set(spans["status"].unique()) - set(STATUS_CODE)
    if bad_status:
        raise ValueError(f"status must be one of {sorted(STATUS_CODE)}, got {sorted(bad_status)}")

    attr_columns = [c for c in spans.columns if c not in SPAN_COLUMNS]
    start_ns = _unix_nanos(epoch_unix_s, spans["start_s"]).tolist()
    end_ns = _unix_nanos(epoch_unix_s, spans["end_s"]).tolist()
    trace_ids = spans["trace_id"].astype("int64").tolist()
    span_ids = spans["span_id"].astype("int64").tolist()
    parent_ids = spans["parent_span_id"].astype("int64").tolist()
    names = spans["name"].astype(str).tolist()
    statuses = spans["status"].tolist()
    attr_values = [spans[c].tolist() for c in attr_columns]

    trace_hex: dict[int, str] = {}
    out_spans = []
    for i, (tid, sid, pid, name) in enumerate(zip(trace_ids, span_ids, parent_ids, names)):
        if tid not in trace_hex:
            trace_hex[tid] = otlp_trace_id(seed, tid)
        span = {
            "traceId": trace_hex[tid],
            "spanId": otlp_span_id(seed, tid, sid),
            "name": name,
            "kind": _span_kind(pid, name, client_span_prefixes),
            "startTimeUnixNano": str(start_ns[i]),
            "endTimeUnixNano": str(end_ns[i]),
            "status": {"code": STATUS_CODE[statuses[i]]},
        }
        if pid != ROOT_PARENT_ID:
            span["parentSpanId"] = otlp_span_id(seed, tid, pid)
        attributes = []
        for key, values in zip(attr_columns, attr_values):
            encoded = _any_value(values[i])
            if encoded is not None:
                attributes.append({"key": str(key), "value": encoded})
        if attributes:
            span["attributes"] = attributes
        out_spans.append(span)

    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service_name}}]
                },
                "scopeSpans": [
                    {"scope": {"name": _SCOPE_NAME, "version": _SCOPE_VERSION}, "spans": out_spans}
                ],
            }
        ]
    }


def write_otlp_json(
    path: str | Path,
    spans: pd.DataFrame,
    service_name: str,
    epoch_unix_s: float,
    seed: int,
    client_span_prefixes: Sequence[str] = ("external_api",),
) -> Path:
    """Write ``to_otlp_json(...)`` to ``path`` as strict JSON (no NaN/Infinity); returns the path."""
    doc = to_otlp_json(spans, service_name, epoch_unix_s, seed, client_span_prefixes)
    return atomic_write_text(Path(path), json.dumps(doc, allow_nan=False, separators=(",", ":")))


def _id_problem(value, n_hex: int) -> str | None:
    if not isinstance(value, str) or len(value) != n_hex:
        return f"must be a {n_hex}-char hex string, got {value!r}"
    try:
        as_int = int(value, 16)
    except ValueError:
        return f"is not hex: {value!r}"
    return "is all zero" if as_int == 0 else None


def _key_problems(obj: Mapping, where: str) -> list[str]:
    return [f"{where}: key {k!r} is not lowerCamelCase" for k in obj if not _CAMEL_KEY.match(k)]


def _attribute_problems(attributes, where: str) -> list[str]:
    problems = []
    for attr in attributes or []:
        problems += _key_problems(attr, where)
        value = attr.get("value", {})
        kinds = set(value) & _ANY_VALUE_KEYS
        if len(kinds) != 1:
            problems.append(f"{where}: attribute {attr.get('key')!r} needs exactly one value kind")
        elif "intValue" in value and not (
            isinstance(value["intValue"], str) and re.match(r"^-?[0-9]+$", value["intValue"])
        ):
            problems.append(f"{where}: attribute {attr.get('key')!r} intValue must be a decimal string")
    return problems


def _span_problems(span: Mapping) -> tuple[list[str], int | None, int | None]:
    """Format problems of one span, plus its start/end nanos when they parse."""
    where = f"span {span.get('name')!r} ({span.get('spanId')})"
    problems = _key_problems(span, where)
    for key, n_hex in (("traceId", 32), ("spanId", 16)):
        if (p := _id_problem(span.get(key), n_hex)) is not None:
            problems.append(f"{where}: {key} {p}")
    parent = span.get("parentSpanId", "")
    if parent and (p := _id_problem(parent, 16)) is not None:
        problems.append(f"{where}: parentSpanId {p}")
    if not span.get("name"):
        problems.append(f"{where}: name is required")
    kind = span.get("kind")
    if type(kind) is not int or not 0 <= kind <= 5:
        problems.append(f"{where}: kind must be an integer 0..5, got {kind!r}")
    status = span.get("status")
    if status is not None:
        problems += _key_problems(status, where)
        code = status.get("code", 0)
        if type(code) is not int or not 0 <= code <= 2:
            problems.append(f"{where}: status.code must be an integer 0..2, got {code!r}")
    problems += _attribute_problems(span.get("attributes"), where)
    times = []
    for key in ("startTimeUnixNano", "endTimeUnixNano"):
        value = span.get(key)
        if isinstance(value, str) and _DECIMAL.match(value):
            times.append(int(value))
        else:
            problems.append(f"{where}: {key} must be a decimal string, got {value!r}")
    if len(times) == 2 and times[1] < times[0]:
        problems.append(f"{where}: ends before it starts")
    return problems, *(times if len(times) == 2 else (None, None))


def validate_otlp(doc: Mapping) -> list[str]:
    """List every way ``doc`` breaks the OTLP/JSON rules or span nesting (empty list = valid).

    Checks: envelope and ``service.name``; id lengths, hex, non-zero; integer enums; decimal-string
    times with end >= start; lowerCamelCase keys; each parent exists in the same trace; each child
    lies within its parent's [start, end].
    """
    problems: list[str] = []
    resource_spans = doc.get("resourceSpans")
    if not isinstance(resource_spans, list):
        return ["top level: 'resourceSpans' list is missing"]
    by_trace: dict[str, dict[str, tuple]] = {}
    for r_index, rs in enumerate(resource_spans):
        attributes = rs.get("resource", {}).get("attributes", [])
        problems += _attribute_problems(attributes, f"resourceSpans[{r_index}].resource")
        if not any(a.get("key") == "service.name" and "stringValue" in a.get("value", {})
                   for a in attributes):
            problems.append(f"resourceSpans[{r_index}]: resource has no service.name stringValue")
        for scope_spans in rs.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                span_problems, start_ns, end_ns = _span_problems(span)
                problems += span_problems
                trace = str(span.get("traceId", "")).lower()
                span_id = str(span.get("spanId", "")).lower()
                spans_in_trace = by_trace.setdefault(trace, {})
                if span_id in spans_in_trace:
                    problems.append(f"span {span.get('name')!r} ({span_id}): duplicate spanId")
                spans_in_trace[span_id] = (span, start_ns, end_ns)
    problems += _nesting_problems(by_trace)
    return problems


def _nesting_problems(by_trace: dict[str, dict[str, tuple]]) -> list[str]:
    problems = []
    for trace, spans in by_trace.items():
        for span_id, (span, start_ns, end_ns) in spans.items():
            parent_id = str(span.get("parentSpanId", "")).lower()
            if not parent_id:
                continue
            where = f"span {span.get('name')!r} ({span_id})"
            if parent_id not in spans:
                problems.append(f"{where}: parent {parent_id} not found in trace {trace}")
                continue
            parent, p_start, p_end = spans[parent_id]
            if None in (start_ns, end_ns, p_start, p_end):
                continue
            if start_ns < p_start or end_ns > p_end:
                problems.append(
                    f"{where}: [{start_ns}, {end_ns}] is outside its parent "
                    f"{parent.get('name')!r} [{p_start}, {p_end}]"
                )
    return problems


# ---------------------------------------------------------------------------------------------
# Where did the time go?

_STAGE_COLUMN = re.compile(r"^(?P<stage>.+)_(?P<component>wait|service)_ms$")
STAGE_LABELS = {
    "feature_store": "the feature store",
    "feature_store_db": "the feature store's database",
    "db": "the database",
    "inference": "the model servers",
    "external_api": "the external API",
}


def _window_means(frame: pd.DataFrame, columns: list[str], window: tuple[float, float], label: str):
    start_s, end_s = window
    in_window = frame[(frame["arrival_s"] >= start_s) & (frame["arrival_s"] < end_s)]
    if in_window.empty:
        raise ValueError(f"{label} window [{start_s}, {end_s}) contains no requests")
    # A missing value means the request skipped the stage (e.g. a cache hit), i.e. 0 ms for it,
    # so the means are per request and add up to the change in mean end-to-end latency.
    return in_window[columns].fillna(0.0).mean()


def _format_ms(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if abs(ms) >= 1000 else f"{ms:.0f} ms"


def describe_attribution(table: pd.DataFrame, labels: Mapping[str, str] | None = None) -> str:
    """One plain-language sentence naming the stage component whose time grew most."""
    labels = {**STAGE_LABELS, **(labels or {})}
    extra_ms = float(table["growth_ms"].sum())
    if table.empty or extra_ms <= 0.0:
        return (f"The slow window is not slower than the baseline in these stages "
                f"(change {_format_ms(extra_ms)}), so there is no extra time to attribute.")
    top = table.iloc[0]
    place = labels.get(top["stage"], "the " + str(top["stage"]).replace("_", " "))
    share = top["growth_ms"] / extra_ms
    waits = {"feature_store": "waiting for a free connection to the feature store's database "
                              "(queueing: lock contention or too few connections)",
             "inference": "waiting in the queue for a free model server (too few replicas or slower ones)",
             "ingestion": "waiting in the event stream for a consumer (consumer lag)"}
    work = {"feature_store": "slower feature computation in the feature store's database (e.g. locks held longer)",
            "inference": "slower scoring on the model servers (e.g. memory pressure)",
            "external_api": "slower answers from the external API"}
    if top["component"] == "wait":
        what = waits.get(top["stage"], f"waiting for a free slot in {place} (queueing, not slower work)")
    else:
        what = work.get(top["stage"], f"slower work inside {place} (service time grew, not queueing)")
    lead = "Most of" if share >= 0.5 else "The largest part of"
    return (f"{lead} the extra {_format_ms(extra_ms)} per request "
            f"({_format_ms(top['growth_ms'])}, {share:.0%}) is {what}.")


def time_attribution(
    stage_ms_frame: pd.DataFrame,
    baseline_window: tuple[float, float],
    slow_window: tuple[float, float],
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Compare mean per-request time per stage component between two arrival-time windows.

    Uses every ``<stage>_wait_ms`` / ``<stage>_service_ms`` column and ``arrival_s``; windows are
    half-open ``[start_s, end_s)``. Returns one row per column with ``stage, component, column,
    baseline_ms, slow_ms, growth_ms, share_of_growth``, sorted by growth (largest first), and the
    plain-language finding in ``result.attrs["finding"]`` (see ``describe_attribution``).
    """
    columns = [c for c in stage_ms_frame.columns if _STAGE_COLUMN.match(c)]
    if not columns:
        raise ValueError("no <stage>_wait_ms / <stage>_service_ms columns to attribute")
    baseline = _window_means(stage_ms_frame, columns, baseline_window, "baseline")
    slow = _window_means(stage_ms_frame, columns, slow_window, "slow")
    return attribution_table(baseline, slow, labels)


def attribution_table(baseline: pd.Series, slow: pd.Series, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The attribution table from the mean ms per stage column in the two windows (indexed by column)."""
    columns = [c for c in baseline.index if _STAGE_COLUMN.match(c)]
    baseline, slow = baseline[columns], slow[columns]
    parts = [_STAGE_COLUMN.match(c) for c in columns]
    table = pd.DataFrame({
        "stage": [m["stage"] for m in parts],
        "component": [m["component"] for m in parts],
        "column": columns,
        "baseline_ms": baseline.to_numpy(dtype=float),
        "slow_ms": slow.to_numpy(dtype=float),
    })
    table["growth_ms"] = table["slow_ms"] - table["baseline_ms"]
    total_growth_ms = float(table["growth_ms"].sum())
    table["share_of_growth"] = table["growth_ms"] / total_growth_ms if total_growth_ms else np.nan
    table = table.sort_values("growth_ms", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs["extra_ms"] = total_growth_ms
    table.attrs["finding"] = describe_attribution(table, labels)
    return table
