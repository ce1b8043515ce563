"""Downloads for people: clock times, readable states, and the size said before the download starts."""
from __future__ import annotations

import pandas as pd

from simulator.report import exports
from simulator.scenario.config import Scenario


def test_clock_column_adds_the_day_after_midnight():
    """A run starting at 23:00: 0 s is 23:00:00, 3,661 s is 00:01:01 on day 2; no time stays empty."""
    sc = Scenario(start_time_of_day_h=23)
    assert exports.clock_column(sc, [0.0, 61.4, 3661.0, float("nan")]).tolist() == [
        "23:00:00", "23:01:01", "00:01:01 day 2", ""]


def test_timeseries_download_has_clock_time_first_and_breaker_states_in_words():
    sc = Scenario(start_time_of_day_h=14)
    ts = pd.DataFrame({"t_s": [0.0, 10.0, 20.0], "t_end_s": [10.0, 20.0, 30.0], "breaker_state": [0.0, 2.0, 1.0]})
    out = exports.timeseries_table(sc, ts)
    assert list(out.columns)[:2] == ["clock", "t_s"]
    assert out["clock"].tolist() == ["14:00:00", "14:00:10", "14:00:20"]
    assert out["breaker_state"].tolist() == ["closed", "open", "testing (half-open)"]


def test_events_download_tells_each_event_in_words_with_its_clock_time():
    sc = Scenario(start_time_of_day_h=14)
    ev = pd.DataFrame([(309.0, "breaker_opened", "external_api", "CLOSED -> OPEN"),
                       (12.0, "canary_weight", "canary", "weight_pct 25, previous_weight_pct 0")],
                      columns=["t_s", "kind", "component", "detail"])
    out = exports.events_table(sc, ev)
    assert out["clock"].tolist() == ["14:00:12", "14:05:09"]                 # in time order
    assert out["what happened"].tolist()[1] == "the safety switch tripped and stopped calling the weather service"
    assert "rose from 0 % to 25 %" in out["what happened"].tolist()[0]
    assert out["where"].tolist() == ["New model version", "Weather service"]


def test_the_size_of_a_download_is_estimated_from_a_sample():
    """The estimate from every n-th row is within 5 % of the real CSV size for a uniform frame."""
    frame = pd.DataFrame({"a": range(100_000), "b": ["x" * 10] * 100_000})
    real = len(frame.to_csv(index=False).encode())
    assert abs(exports.csv_size_bytes(frame) - real) < 0.05 * real
    assert exports.size_text(48_200_000) == "48 MB" and exports.size_text(2_400) == "2.4 KB"
    assert exports.size_text(900) == "900 bytes"


def test_the_requests_download_derives_the_id_and_latency_the_frame_does_not_store():
    """The requests frame keeps neither the id (its row index) nor the latency (end minus arrival);
    the download shows both, in their old places, from a hand-made frame."""
    sc = Scenario(start_time_of_day_h=9)
    frame = pd.DataFrame({"arrival_s": [1.0, 2.5, 4.0], "end_s": [1.25, float("nan"), 4.5],
                          "outcome": ["ok", "in_flight", "failed"]})
    out = exports.requests_table(sc, frame)
    assert list(out.columns) == ["arrival_clock", "request_id", "arrival_s", "end_s", "latency_ms", "outcome"]
    assert out["request_id"].tolist() == [0, 1, 2]
    assert out["latency_ms"].tolist()[0] == 250.0 and pd.isna(out["latency_ms"].tolist()[1])
    assert out["latency_ms"].tolist()[2] == 500.0
    stored = exports.requests_table(sc, out.drop(columns="arrival_clock"))  # a frame kept with both columns
    assert list(stored.columns) == list(out.columns)


def test_a_runs_requests_frame_does_not_store_derived_columns(tiny):
    from simulator.runner import run

    req = run(tiny, seed=2).requests
    assert "request_id" not in req and "latency_ms" not in req
    assert req.index.tolist() == list(range(len(req)))
