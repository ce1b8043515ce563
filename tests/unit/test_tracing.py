"""OTLP/JSON export follows the encoding rules of mechanisms.md section 8; attribution names the
stage that grew."""
import copy
import json
import re

import numpy as np
import pandas as pd
import pytest

from simulator.report.tracing import time_attribution, to_otlp_json, validate_otlp, write_otlp_json

EPOCH_S = 1_700_000_000


def _spans() -> pd.DataFrame:
    """Two requests: a full one (with an external call) and a failed one."""
    return pd.DataFrame(
        {
            "trace_id": [0, 0, 0, 0, 0, 1, 1],
            "span_id": [0, 1, 2, 3, 4, 5, 6],
            "parent_span_id": [-1, 0, 0, 0, 0, -1, 5],
            "name": ["request", "feature_store.lookup", "external_api.call", "inference.queue",
                     "inference.service", "request", "inference.queue"],
            "start_s": [0.25, 0.25, 0.30, 0.40, 0.45, 1.0, 1.0],
            "end_s": [0.50, 0.30, 0.40, 0.45, 0.50, 3.0, 3.0],
            "status": ["ok", "ok", "ok", "ok", "ok", "error", "error"],
            "model_version": ["v1", "v1", "v1", "v1", "v1", "v2", "v2"],
            "replica": [3, 3, 3, 3, 3, 1, 1],
            "cache_hit": [True, True, True, True, True, False, False],
        }
    )


def _all_spans(doc):
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def _keys(obj):
    """Every dict key in obj, recursively, except attribute *names* (those are values)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _keys(v)


def test_envelope_and_service_name():
    """TracesData{resourceSpans:[{resource:{attributes:[service.name]}, scopeSpans:[{scope, spans}]}]}."""
    doc = to_otlp_json(_spans(), "pipeline-twin", EPOCH_S, seed=7)
    rs = doc["resourceSpans"][0]
    assert {"key": "service.name", "value": {"stringValue": "pipeline-twin"}} in (
        rs["resource"]["attributes"])
    scope_spans = rs["scopeSpans"][0]
    assert isinstance(scope_spans["scope"]["name"], str)
    assert len(scope_spans["spans"]) == 7


def test_ids_are_hex_of_right_length_nonzero_and_linked():
    """traceId 32 hex chars, spanId/parentSpanId 16, none all-zero; children point to their
    root's spanId; both requests get different trace ids; spans of a request share one."""
    spans = _all_spans(to_otlp_json(_spans(), "svc", EPOCH_S, seed=7))
    for s in spans:
        assert re.fullmatch(r"[0-9a-fA-F]{32}", s["traceId"]) and int(s["traceId"], 16) != 0
        assert re.fullmatch(r"[0-9a-fA-F]{16}", s["spanId"]) and int(s["spanId"], 16) != 0
    root0, root1 = spans[0], spans[5]
    assert "parentSpanId" not in root0 and "parentSpanId" not in root1
    assert all(s["parentSpanId"] == root0["spanId"] for s in spans[1:5])
    assert spans[6]["parentSpanId"] == root1["spanId"]
    assert len({s["traceId"] for s in spans[:5]}) == 1 and root0["traceId"] != root1["traceId"]
    assert len({s["spanId"] for s in spans}) == 7


def test_ids_are_deterministic_per_seed():
    """Same seed -> identical document; another seed -> different ids."""
    a = to_otlp_json(_spans(), "svc", EPOCH_S, seed=7)
    assert a == to_otlp_json(_spans(), "svc", EPOCH_S, seed=7)
    b = to_otlp_json(_spans(), "svc", EPOCH_S, seed=8)
    assert _all_spans(a)[0]["traceId"] != _all_spans(b)[0]["traceId"]


def test_enums_are_integers():
    """Root = SERVER 2, external_api.* = CLIENT 3, others INTERNAL 1; status OK 1 / ERROR 2."""
    spans = _all_spans(to_otlp_json(_spans(), "svc", EPOCH_S, seed=7))
    assert [s["kind"] for s in spans] == [2, 1, 3, 1, 1, 2, 1]
    assert all(type(s["kind"]) is int for s in spans)
    assert [s["status"]["code"] for s in spans] == [1, 1, 1, 1, 1, 2, 2]


def test_times_are_unix_nano_decimal_strings():
    """epoch 1 700 000 000 s + 0.25 s = "1700000000250000000" ns, exactly, as a string."""
    spans = _all_spans(to_otlp_json(_spans(), "svc", EPOCH_S, seed=7))
    assert spans[0]["startTimeUnixNano"] == "1700000000250000000"
    assert spans[0]["endTimeUnixNano"] == "1700000000500000000"
    assert spans[5]["endTimeUnixNano"] == "1700000003000000000"
    assert all(isinstance(s["startTimeUnixNano"], str) for s in spans)


def test_keys_are_lower_camel_case_and_attributes_typed():
    """No snake_case keys anywhere; int attributes are decimal strings, bools and strings typed."""
    doc = to_otlp_json(_spans(), "svc", EPOCH_S, seed=7)
    for key in _keys(doc):
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", key), key
    attrs = {a["key"]: a["value"] for a in _all_spans(doc)[0]["attributes"]}
    assert attrs == {"model_version": {"stringValue": "v1"}, "replica": {"intValue": "3"},
                     "cache_hit": {"boolValue": True}}


def test_valid_document_has_no_problems_and_round_trips(tmp_path):
    """The exported document validates, and the written file is strict JSON with the same content."""
    doc = to_otlp_json(_spans(), "svc", EPOCH_S, seed=7)
    assert validate_otlp(doc) == []
    path = write_otlp_json(tmp_path / "trace.json", _spans(), "svc", EPOCH_S, seed=7)
    assert json.loads(path.read_text()) == doc


def test_validator_catches_child_outside_parent():
    """A child ending after its root (0.60 s > 0.50 s) breaks nesting and is reported."""
    bad = _spans()
    bad.loc[4, "end_s"] = 0.60
    problems = validate_otlp(to_otlp_json(bad, "svc", EPOCH_S, seed=7))
    assert len(problems) == 1
    assert "inference.service" in problems[0] and "outside its parent" in problems[0]


def test_validator_catches_format_errors():
    """Enum names, numeric times, short or zero ids, snake_case keys, missing parents,
    end before start and a missing service.name are all reported."""
    doc = to_otlp_json(_spans(), "svc", EPOCH_S, seed=7)
    broken = copy.deepcopy(doc)
    spans = _all_spans(broken)
    spans[0]["kind"] = "SPAN_KIND_SERVER"
    spans[1]["startTimeUnixNano"] = 1700000000250000000
    spans[2]["spanId"] = "abc"
    spans[3]["traceId"] = "0" * 32
    spans[4]["start_time_unix_nano"] = spans[4].pop("startTimeUnixNano")
    spans[6]["parentSpanId"] = "1" * 16
    spans[5]["endTimeUnixNano"] = "1"
    broken["resourceSpans"][0]["resource"]["attributes"] = []
    text = "\n".join(validate_otlp(broken))
    for needle in ("kind must be an integer", "startTimeUnixNano must be a decimal string",
                   "spanId must be a 16-char", "traceId is all zero", "not lowerCamelCase",
                   "not found in trace", "ends before it starts", "service.name"):
        assert needle in text, needle


def test_unknown_status_is_rejected():
    """Status must be "ok" or "error"."""
    bad = _spans()
    bad.loc[0, "status"] = "timeout"
    with pytest.raises(ValueError):
        to_otlp_json(bad, "svc", EPOCH_S, seed=7)


def _stage_frame() -> pd.DataFrame:
    """100 requests at 1/s. After t = 50 s the feature-store wait grows by 1800 ms and inference
    service by 10 ms; the database is only visited by some requests (NaN = skipped = 0 ms)."""
    arrival_s = np.arange(100, dtype=float)
    slow = arrival_s >= 50
    db_service_ms = np.where(arrival_s % 2 == 0, 8.0, np.nan)  # half miss the cache
    return pd.DataFrame({
        "request_id": np.arange(100),
        "arrival_s": arrival_s,
        "feature_store_wait_ms": np.where(slow, 1805.0, 5.0),
        "feature_store_service_ms": 2.0,
        "feature_store_db_service_ms": db_service_ms,
        "inference_wait_ms": 1.0,
        "inference_service_ms": np.where(slow, 30.0, 20.0),
        "latency_ms": 0.0,  # not a stage component: ignored
    })


def test_attribution_names_the_stage_that_grew():
    """Growth: feature-store wait +1800 ms, inference service +10 ms, the rest 0. Total extra
    1810 ms (1.8 s); the top row is the feature-store wait with 1800/1810 = 99 % of it."""
    table = time_attribution(_stage_frame(), (0.0, 50.0), (50.0, 100.0))
    top = table.iloc[0]
    assert (top["stage"], top["component"]) == ("feature_store", "wait")
    assert top["baseline_ms"] == pytest.approx(5.0) and top["slow_ms"] == pytest.approx(1805.0)
    assert top["growth_ms"] == pytest.approx(1800.0)
    assert top["share_of_growth"] == pytest.approx(1800.0 / 1810.0)
    assert table.iloc[1]["column"] == "inference_service_ms"
    assert table["growth_ms"].is_monotonic_decreasing
    assert "latency_ms" not in set(table["column"])
    # the DB is visited by 25 of 50 requests in each window: mean 8·25/50 = 4 ms per request
    db = table.set_index("column").loc["feature_store_db_service_ms"]
    assert db["baseline_ms"] == pytest.approx(4.0) and db["growth_ms"] == pytest.approx(0.0)
    finding = table.attrs["finding"]
    assert finding.startswith("Most of the extra 1.8 s")
    assert "waiting" in finding and "feature store" in finding


def test_attribution_reports_service_growth_and_no_growth():
    """When only service time grows the sentence says slower work; with no growth it says so."""
    frame = _stage_frame()
    frame["feature_store_wait_ms"] = 5.0
    table = time_attribution(frame, (0.0, 50.0), (50.0, 100.0))
    assert table.iloc[0]["column"] == "inference_service_ms"
    assert "slower scoring on the model servers" in table.attrs["finding"]
    frame["inference_service_ms"] = 20.0
    flat = time_attribution(frame, (0.0, 50.0), (50.0, 100.0))
    assert "no extra time" in flat.attrs["finding"]


def test_attribution_rejects_empty_window():
    """A window with no arrivals cannot be compared."""
    with pytest.raises(ValueError, match="slow"):
        time_attribution(_stage_frame(), (0.0, 50.0), (500.0, 600.0))
