"""Business words for technical parts, shared by the diagram, the charts and the narrative.

Keeping the vocabulary in one place means the diagram, the charts and the story call the
same box by the same name.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from simulator.common.numbers import finite_or_none
from simulator.scenario.config import Scenario


def locate_section(scenario: Scenario, name: str) -> tuple[str, Any] | None:
    """``(parent, section)`` for a feature section composed at the top level (parent '') or
    inside a stage (e.g. ``external_api.breaker`` -> ('external_api', ...)); None if absent.

    Feature sections are added by other modules over time, so they are looked up by name.
    """
    own = getattr(scenario, name, None)
    if isinstance(own, BaseModel):
        return "", own
    for field in type(scenario).model_fields:
        holder = getattr(scenario, field, None)
        sub = getattr(holder, name, None) if isinstance(holder, BaseModel) else None
        if isinstance(sub, BaseModel):
            return field, sub
    return None


def find_section(scenario: Scenario, name: str) -> Any | None:
    """The feature section called ``name`` wherever it is composed, else None."""
    found = locate_section(scenario, name)
    return None if found is None else found[1]


def is_enabled(section: Any | None) -> bool:
    """True for a section that exists and is switched on (sections without ``enabled`` count as on)."""
    return section is not None and bool(getattr(section, "enabled", True))


def stage_name(scenario: Scenario, stage: str) -> str:
    """The plain name used in sentences: 'the fraud model', 'the weather service'."""
    if stage == "external_api":
        return f"the {scenario.external_api.name}"
    if stage == "ingestion":
        return "the nightly batch job" if scenario.ingestion.mode == "batch" else "the payment event stream"
    return {
        "traffic": "incoming payments",
        "feature_store": "the customer-profile store",
        "feature_db": "the profile database",
        "database": "the profile database",
        "inference": "the fraud model",
        "breaker": "the safety switch",
        "canary": "the new model version",
        "autoscaler": "the autoscaler",
        "fairness": "the fairness monitor",
        "review": "the human review team",
        "fallback": "the fallback answer",
    }.get(stage, stage.replace("_", " "))


def stage_title(scenario: Scenario, stage: str) -> str:
    """A capitalised short title for legends and tiles: 'Fraud model'."""
    name = stage_name(scenario, stage).removeprefix("the ")
    return name[:1].upper() + name[1:]


def human_duration(seconds: float) -> str:
    """'9 seconds', '3 minutes', '2.5 hours': durations the way people say them."""
    s = abs(float(seconds))
    if s < 1:
        return f"{s * 1000:.0f} milliseconds"
    if s < 90:
        n = round(s)
        return f"{n} second{'s' if n != 1 else ''}"
    if s < 90 * 60:
        n = round(s / 60)
        return f"{n} minute{'s' if n != 1 else ''}"
    h = s / 3600
    return f"{h:.1f} hours" if h < 48 else f"{h / 24:.1f} days"


def clock(scenario: Scenario, t_s: float) -> str:
    """Clock time 'HH:MM' of simulated time ``t_s`` (the run starts at ``start_time_of_day_h``)."""
    minutes = int((scenario.start_time_of_day_h * 3600 + float(t_s)) // 60)
    day, minute_of_day = divmod(minutes, 24 * 60)
    text = f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"
    return text if day == 0 else f"{text} (day {day + 1})"


def pct(fraction: float | None, digits: int = 1) -> str:
    """0.9994 -> '99.94 %': more digits near 0 % and 100 % so 99.96 % never reads as 100 %."""
    if fraction is None:
        return "-"
    value = 100 * float(fraction)
    if 99 <= value < 100:
        text = f"{value:.2f}"
        return f"{'99.99' if text.startswith('100') else text} %"
    if 0 < value < 0.01:
        return "< 0.01 %"
    if 0 < value < 1:
        return f"{value:.2f} %"
    return f"{value:.{digits}f} %"


def short_ms(ms: float | None) -> str:
    """A duration given in ms, the way people say it: '211 ms', '3.0 s', '4.5 min', '10.8 h'."""
    if ms is None:
        return "-"
    ms = float(ms)
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    if ms < 7_200_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms / 3_600_000:.1f} h"


def money(x: float | None) -> str:
    """$0.042 / $12.30 / $1,234 / $1.2 M: as many digits as a person needs."""
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1e6:
        return f"${x / 1e6:,.1f} M"
    if a >= 1000:
        return f"${x:,.0f}"
    if a >= 1:
        return f"${x:,.2f}"
    if a >= 0.001 or a == 0:
        return f"${x:.2g}"
    return f"${x:.4f}" if a >= 0.0001 else "< $0.0001"


def busiest_stage(scenario: Scenario, summary: dict) -> tuple[str, float] | None:
    """(stage, utilization) of the stage with the highest utilization, if any stage reports one."""
    best = None
    for stage, stats in (summary.get("stages") or {}).items():
        util = finite_or_none((stats or {}).get("utilization"))
        if util is not None and (best is None or util > best[1]):
            best = (stage, util)
    if best and best[0] == "feature_store":
        best = ("feature_db", best[1])
    return best
