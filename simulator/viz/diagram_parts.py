"""The pieces both architecture diagrams share (the chain's, :mod:`simulator.viz.diagram`, and a topology's,
:mod:`simulator.viz.topology_diagram`): a box, its health from a finding, its status words, and number formats."""
from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.report.finding import Findings

HEALTH_OK, HEALTH_WARN, HEALTH_BAD, HEALTH_NONE = "ok", "warn", "bad", "none"


@dataclass
class Node:
    """One box: id, business label, technical term, health and optional live metric line."""

    id: str
    business: str
    technical: str
    health: str = HEALTH_NONE
    metric: str = ""
    tooltip: str = ""
    shape: str = "box"


def health_of(finding) -> str:
    """A finding's severity as a diagram health (no finding: neutral)."""
    if finding is None:
        return HEALTH_NONE
    return {"ok": HEALTH_OK, "watch": HEALTH_WARN, "breach": HEALTH_BAD}[finding.severity]


def _short_ms(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def _rate(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return ""
    if 0 < x < 0.1:  # a few a minute: per second it would read 0.0/s
        return f"{60 * x:.1f}/min"
    return f"{x:,.0f}/s" if x >= 10 else f"{x:.1f}/s"


PRIMARY_TOPIC = ("capacity", "service_level", "fairness", "release", "incident")


def _metric(found: Findings, component: str, extra: str = "") -> str:
    """'62 % busy · headroom, retrained': the box's main finding (its value and status word, never
    colour alone), then the status of every other finding about it that needs attention."""
    mine = found.all_for(component)
    if not mine:
        return extra
    main = min(mine, key=lambda f: PRIMARY_TOPIC.index(f.topic) if f.topic in PRIMARY_TOPIC else 99)
    if main.value and main.status not in main.value:
        text = f"{main.value} · {main.status}"
    else:
        text = main.value or main.status
    others = [f.status for f in mine if f is not main and f.severity != "ok"]
    return ", ".join(x for x in (text, *others, extra) if x)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def worst(*healths: str) -> str:
    order = [HEALTH_NONE, HEALTH_OK, HEALTH_WARN, HEALTH_BAD]
    return max(healths, key=order.index)
