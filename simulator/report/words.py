"""Business words for technical parts, shared by the diagram, the charts and the narrative.

Keeping the vocabulary in one place means the diagram, the charts and the story call the
same box by the same name.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from simulator.scenario.config import Scenario
from simulator.scenario.graph import label_of


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


def component_name(scenario: Scenario, component: str) -> str | None:
    """A topology component's label as said in a sentence ('the credit bureau', 'the large loan model');
    None for the default chain or an id that is not one of its components."""
    if scenario.topology is None:
        return None
    comp = next((c for c in scenario.topology.components if c.id == component), None)
    if comp is None:
        return None
    label = label_of(scenario, comp)
    if label[1:2].islower():  # 'Model' -> 'model'; an acronym such as 'KYC service' stays
        label = label[:1].lower() + label[1:]
    return f"the {label}"


def stage_name(scenario: Scenario, stage: str) -> str:
    """The plain name used in sentences, in the scenario's words: 'the fraud model', 'the weather service';
    a topology's component by its label."""
    named = component_name(scenario, stage)
    if named is not None:
        return named
    v = scenario.vocabulary
    if stage == "external_api":
        return f"the {scenario.external_api.name}"
    if stage == "ingestion":
        return "the nightly batch job" if scenario.ingestion.mode == "batch" else f"the {v.request} event stream"
    return {
        "traffic": f"incoming {v.requests}",
        "customers": f"incoming {v.requests}",
        "feature_store": f"the {v.customer}-profile store",
        "feature_db": "the profile database",
        "database": "the profile database",
        "inference": f"the {v.model}",
        "model": f"the {v.model}",
        "breaker": "the safety switch",
        "canary": "the new model version",
        "autoscaler": "the autoscaler",
        "fairness": "the fairness monitor",
        "review": "the human review team",
        "fallback": "the fallback answer",
        "decision": f"the answer to the {v.customer}",
    }.get(stage, stage.replace("_", " "))


def is_plural(name: str) -> bool:
    """Whether a name reads as plural ('the human underwriters', 'the fraud rules'), so a sentence can say
    'were' and 'their'; a guess from the last word (-s, but not -ss, -us or -is)."""
    last = name.split()[-1].lower() if name.split() else ""
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


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


def duration_words(seconds: float) -> str:
    """Like :func:`human_duration`, but exact below ten minutes: '1 minute 30 seconds', not '2 minutes'."""
    s = abs(float(seconds))
    if 90 <= s < 600 and round(s) % 60:
        m, rest = divmod(int(round(s)), 60)
        return f"{m} minute{'s' if m != 1 else ''} {rest} second{'s' if rest != 1 else ''}"
    return human_duration(s)


def target_pct(fraction: float) -> str:
    """A target as people write it: 0.99 -> '99 %', 0.999 -> '99.9 %'."""
    return f"{100 * fraction:.10g} %"


def clock(scenario: Scenario, t_s: float, day: bool = True) -> str:
    """Clock time 'HH:MM' of simulated time ``t_s`` (the run starts at ``start_time_of_day_h``),
    with 'the next day' / 'on day 3' after midnight unless ``day`` is False."""
    minutes = int((scenario.start_time_of_day_h * 3600 + float(t_s)) // 60)
    days, minute_of_day = divmod(minutes, 24 * 60)
    text = f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"
    return text if days == 0 or not day else f"{text} {day_words(days)}"


def clock_hms(scenario: Scenario, t_s: float) -> str:
    """'14:20:01': clock time with seconds, for events only seconds apart."""
    total_s = int(round(scenario.start_time_of_day_h * 3600 + float(t_s))) % (24 * 3600)
    return f"{total_s // 3600:02d}:{total_s % 3600 // 60:02d}:{total_s % 60:02d}"


def clock_auto(scenario: Scenario, t_s: float) -> str:
    """'14:40' on a whole minute, '14:40:30' otherwise."""
    text = clock_hms(scenario, t_s)
    return text[:5] if text.endswith(":00") else text


def day_of(scenario: Scenario, t_s: float) -> int:
    """0 on the run's first day, 1 after the first midnight, ..."""
    return int((scenario.start_time_of_day_h * 3600 + float(t_s)) // 86_400)


def day_words(days: int) -> str:
    return "on the first day" if days == 0 else "the next day" if days == 1 else f"on day {days + 1}"


def clock_span(scenario: Scenario, t0_s: float, t1_s: float) -> str:
    """'between 07:22 and 09:23', 'at 12:07', 'between 00:05 and 00:17 the next day' (the day said once)."""
    a, b = clock(scenario, t0_s, day=False), clock(scenario, t1_s, day=False)
    d0, d1 = day_of(scenario, t0_s), day_of(scenario, t1_s)
    if a == b and d0 == d1:
        return f"at {a}" + (f" {day_words(d0)}" if d0 else "")
    if d0 == d1:
        return f"between {a} and {b}" + (f" {day_words(d0)}" if d0 else "")
    return f"between {clock(scenario, t0_s)} and {clock(scenario, t1_s)}"


def count(n: float, singular: str, plural: str | None = None) -> str:
    """'1 loan application', '259,524 card payments'."""
    n = int(round(n))
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


def rate_words(per_s: float) -> str:
    """A rate per second as people say it: '1,234', '80', '0.45'."""
    return f"{per_s:,.0f}" if per_s >= 10 else f"{per_s:.2g}"


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
    """$0.022 / $0.20 / $12.30 / $1,234 / $1.2 M / −$10.32: as many digits as a person needs."""
    if x is None:
        return "-"
    if x < 0:
        return "−" + money(-x)
    if x >= 1e6:
        return f"${x / 1e6:,.1f} M"
    if x >= 1000:
        return f"${x:,.0f}"
    if x >= 0.1:
        return f"${x:,.2f}"
    if x == 0:
        return "$0"
    if x >= 0.001:
        return f"${x:.2g}"
    return f"${x:.4f}" if x >= 0.0001 else "< $0.0001"
