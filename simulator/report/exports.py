"""Tables for people to download: clock times, readable state names, and their size up front.

The result frames keep seconds and codes (what analyses need); a download opened in a
spreadsheet should read "14:20:30" and "open", not 1200.0 and 2.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.common.csv_export import frame_to_csv
from simulator.report.event_words import describe_event, event_title, place
from simulator.report.stages import with_derived_columns
from simulator.scenario.config import Scenario

BREAKER_WORDS = {0: "closed", 1: "testing (half-open)", 2: "open"}
SAMPLE_ROWS = 2_000


def clock_column(sc: Scenario, t_s) -> pd.Series:
    """'14:20:30' per time, with the day added after midnight ('00:05:00 day 2'); '' for no time."""
    t = np.asarray(t_s, dtype=float)
    total = np.round(sc.start_time_of_day_h * 3600 + np.nan_to_num(t)).astype(np.int64)
    days, of_day = np.divmod(total, 86_400)
    hours, rest = np.divmod(of_day, 3600)
    minutes, seconds = np.divmod(rest, 60)

    def two(x) -> pd.Series:
        return pd.Series(x).astype(str).str.zfill(2)

    text = two(hours) + ":" + two(minutes) + ":" + two(seconds)
    text = text.where(days == 0, text + " day " + pd.Series(days + 1).astype(str))
    return text.where(~np.isnan(t), "")


def timeseries_table(sc: Scenario, ts: pd.DataFrame) -> pd.DataFrame:
    """The time series with a clock-time column first and the breaker state in words."""
    out = ts.copy()
    out.insert(0, "clock", clock_column(sc, ts["t_s"]).to_numpy())
    if "breaker_state" in out:
        out["breaker_state"] = [BREAKER_WORDS.get(int(x), "") if pd.notna(x) else "" for x in out["breaker_state"]]
    return out


def events_table(sc: Scenario, events: pd.DataFrame) -> pd.DataFrame:
    """Every event: clock time, what happened in words, where, plus the seconds for analyses."""
    ev = events.sort_values("t_s", kind="stable")
    return pd.DataFrame({
        "clock": clock_column(sc, ev["t_s"]).to_numpy(),
        "event": [event_title(str(k)) for k in ev["kind"]],
        "what happened": [describe_event(sc, str(k), str(c), d) for k, c, d in
                          zip(ev["kind"], ev["component"], ev["detail"])],
        "where": [place(sc, str(c)) for c in ev["component"]],
        "t_s": ev["t_s"].to_numpy(),
    })


def requests_table(sc: Scenario, requests: pd.DataFrame) -> pd.DataFrame:
    """One row per request, with its arrival as clock time first, its id and its latency."""
    out = with_derived_columns(requests)
    out.insert(0, "arrival_clock", clock_column(sc, requests["arrival_s"]).to_numpy())
    return out


def csv_size_bytes(frame: pd.DataFrame) -> int:
    """About how large the CSV download of ``frame`` is, from a sample of rows (no full export)."""
    if len(frame) == 0:
        return len(frame_to_csv(frame).encode("utf-8"))
    header_bytes = len(",".join(map(str, frame.columns))) + 1
    step = max(1, len(frame) // SAMPLE_ROWS)
    sample = frame.iloc[::step]
    per_row = (len(frame_to_csv(sample).encode("utf-8")) - header_bytes) / len(sample)
    return int(per_row * len(frame) + header_bytes)


def size_text(n_bytes: int) -> str:
    """'12 KB', '48 MB': a download's size as people read it."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= size:
            return f"{n_bytes / size:,.0f} {unit}" if n_bytes / size >= 10 else f"{n_bytes / size:.1f} {unit}"
    return f"{n_bytes} bytes"
