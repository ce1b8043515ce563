"""Plain-text renderings of a run for the terminal: the summary, its architecture and features, the
findings, and the small table helpers the other commands share."""
from __future__ import annotations

import sys
import textwrap
import time

from simulator.report.summary_model import Architecture, Summary
from simulator.scenario.config import Scenario


def _fmt_int(x) -> str:
    return f"{x:,}" if x is not None else "-"


def _fmt(x, spec=".1f", suffix="") -> str:
    return "-" if x is None else f"{x:{spec}}{suffix}"


def fmt_ms(ms) -> str:
    """A latency in the unit a person reads best: ms, s, min or h."""
    if ms is None:
        return "-"
    if ms < 10_000:
        return f"{ms:.1f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    if ms < 7_200_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms / 3_600_000:.1f} h"


def duration_text(seconds: float) -> str:
    h, rem = divmod(int(round(seconds)), 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {s:02d} s"
    return f"{seconds:g} s"


def format_summary(summary: Summary, scenario: Scenario) -> str:
    """A readable table of the summary for a terminal."""
    r = summary.requests
    lat = summary.latency_ms
    arrived = r.arrived or 1
    lines = [
        f"Pipeline Twin: {scenario.name}",
        *([f"  {scenario.description.strip()}"] if scenario.description.strip() else []),
        f"  simulated {duration_text(summary.sim_duration_s)} (first {duration_text(summary.warmup_s)} "
        f"excluded as warm-up), seed {summary.seed}, {summary.wall_s:.2f} s of computing",
        "",
        f"  Requests      {_fmt_int(r.arrived)} arrived: {_fmt_int(r.ok)} ok ({100 * r.ok / arrived:.2f} %), "
        f"{_fmt_int(r.degraded)} degraded, {_fmt_int(r.failed)} failed, {_fmt_int(r.in_flight)} still in flight",
        f"  Availability  {_fmt(None if summary.availability is None else 100 * summary.availability, '.3f', ' %')}"
        f"   (answered / finished)",
        f"  Throughput    {_fmt(summary.throughput_rps, '.1f', ' decisions per second')}",
        f"  Latency       mean {fmt_ms(lat.mean)}, p50 {fmt_ms(lat.p50)}, "
        f"p95 {fmt_ms(lat.p95)}, p99 {fmt_ms(lat.p99)}",
        f"  On time       {_fmt(None if summary.on_time_fraction is None else 100 * summary.on_time_fraction, '.2f', ' %')}"
        f" answered within {summary.slo_latency_ms:g} ms",
    ]
    if summary.failures_by_reason:
        lines.append("  Failures      " + ", ".join(f"{k} {v:,}" for k, v in summary.failures_by_reason.items()))
    if scenario.topology is not None:
        lines += _architecture_lines(summary.architecture)
    else:
        lines += ["", f"  {'stage':<15}{'utilization':>12}{'mean wait':>13}{'mean service':>14}{'served':>12}"]
        for name, st in summary.stages.items():
            util = "-" if st.utilization is None else f"{100 * st.utilization:.1f} %"
            lines.append(f"  {name:<15}{util:>12}{fmt_ms(st.wait_ms_mean):>13}"
                         f"{fmt_ms(st.service_ms_mean):>14}{_fmt_int(st.served):>12}")
    lines += _feature_lines(summary, scenario)
    wt = summary.where_time_went
    if wt:
        lines += ["", f"  Where did the time go? {wt.finding}"]
    if summary.events:
        lines += ["", "  Events        " + ", ".join(f"{k} {v}" for k, v in summary.events.items())]
    return "\n".join(lines)


def _architecture_lines(arch: Architecture) -> list[str]:
    """Per component of a topology: what reached it, time there, utilization, decisions; then the
    bottleneck, the p99's critical path and the single points of failure."""
    comps = arch.components
    decided = arch.decided_by_share or {}
    lines = ["", f"  {'component':<22}{'kind':<14}{'reached':>10}{'mean time':>12}{'utilization':>13}{'decides':>9}"]
    for cid, row in comps.items():
        util = "-" if row.utilization is None else f"{100 * row.utilization:.1f} %"
        share = f"{100 * decided[cid]:.0f} %" if cid in decided else "-"
        lines.append(f"  {row.label[:21]:<22}{row.kind:<14}{_fmt_int(row.reached):>10}"
                     f"{fmt_ms(row.time_ms_mean):>12}{util:>13}{share:>9}")
    if arch.bottleneck:
        b = arch.bottleneck
        lines.append(f"  Bottleneck    {b.label}, {100 * b.utilization:.0f} % busy")
    if arch.critical_path:
        lines.append(f"  p99 path      {arch.critical_path.finding}")
    spof = [comps[c].label for c in arch.single_points_of_failure]
    if spof:
        lines.append(f"  No fallback   if one of these fails, every decision stops: {', '.join(spof)}")
    return lines


def _clock(scenario: Scenario, t_s) -> str:
    if t_s is None:
        return "-"
    seconds = int(round(scenario.start_time_of_day_h * 3600 + t_s)) % 86_400
    h, rem = divmod(seconds, 3600)
    m, sec = divmod(rem, 60)
    return f"{h:02d}:{m:02d}" + (f":{sec:02d}" if sec else "")


def _feature_lines(summary: Summary, sc: Scenario) -> list[str]:
    """Money, model, resilience and fairness lines, each only when the run has something to say."""
    lines: list[str] = []
    cost, value, model = summary.cost_usd, summary.value_usd, summary.model
    if cost:
        monthly = (f", about ${cost.monthly_projection:,.0f} a month at this load" if sc.period.kind == "typical"
                   and cost.monthly_projection is not None else "")
        lines += ["", f"  Cost          ${cost.total:,.2f} for the measured period "
                      f"(${(cost.per_1k_requests or 0):.4f} per 1,000 decisions{monthly}); "
                      f"{cost.node_hours:.2f} node-hours of {cost.instance_type}"]
    if value:
        lines.append(f"  Value         decisions worth ${value.gross_per_hour:,.0f}/h against ${value.cost_per_hour:,.2f}/h "
                     f"of cost: net ${value.net_per_hour:,.0f}/h (illustrative prices)")
    if model:
        lines.append(f"  Model         {model.version} ({model.precision}): accuracy {100 * model.accuracy:.2f} % on "
                     f"test data, {100 * (model.accuracy_online or 0):.2f} % on the decisions served"
                     + (f"; now serving {model.served_version}" if model.served_version != model.version else ""))
    rep = summary.replicas
    if rep and sc.autoscaler.enabled:
        lines.append(f"  Replicas      {rep.min} to {rep.max} ready (mean {rep.mean:.1f}), "
                     f"{summary.events.get('scale_decision', 0)} scaling decisions")
    br = summary.breaker
    if br.enabled:
        fb = summary.fallbacks
        held = f", held open by an operator {br.forced_open_s_total:.0f} s" if br.forced_open_s_total else ""
        lines.append(f"  Breaker       opened {br.opened} times, open {br.open_s_total:.0f} s in all{held}, "
                     f"{br.rejected_calls:,} calls skipped; fallback answers: {fb.cached:,} cached, "
                     f"{fb.default:,} default")
    retries = summary.retries
    if retries.enabled:
        lines.append(f"  Retries       {retries.calls_made:,} calls for {retries.calls_needed:,} needed "
                     f"(amplification {retries.amplification or 0:.2f})")
    can = summary.canary
    if can.outcome != "none":
        lines.append(f"  Canary        {can.outcome.replace('_', ' ')} at {_clock(sc, can.decided_at_s)}; "
                     f"{can.requests_on_canary:,} requests served by it, {can.bad_responses_on_canary:,} bad")
    for rec in summary.recovery:
        lines.append(f"  Fault         {rec.fault}: started {_clock(sc, rec.started_s)}, detected "
                     f"{_clock(sc, rec.detected_s)}, customers served again {_clock(sc, rec.mitigated_s)}, "
                     f"back to normal {_clock(sc, rec.recovered_s)}")
    fair = summary.fairness
    if fair and fair.enabled:
        lines.append(f"  Fairness      lowest approval ratio {_fmt(fair.min_di, '.2f')} (four-fifths rule: 0.80), "
                     f"{fair.flagged_windows} of {fair.windows} windows flagged"
                     + (f", first at {_clock(sc, fair.first_flag_s)}" if fair.first_flag_s is not None else ""))
        rv = summary.review
        if rv and rv.cases:
            lines.append(f"  Review        {rv.cases:,} cases (${rv.cost_usd:,.0f}), backlog up to {rv.backlog_max:,}, "
                         f"95 % waited under {_fmt(rv.wait_p95_min, '.0f')} min; {rv.reviewers_needed} reviewers "
                         f"needed for the {rv.sla_min:.0f}-min target, {rv.reviewers_on_duty_max} on duty")
    drift = summary.drift
    if drift and drift.detected_at_s is not None:
        lines.append(f"  Drift         detected {_clock(sc, drift.detected_at_s)}, retrained model ready "
                     f"{_clock(sc, drift.retrained_at_s)}")
    ex = summary.explanations
    if ex and ex.count:
        lines.append(f"  Explanations  {ex.count:,} ({ex.method.replace('_', ' ')}), "
                     f"{ex.overhead_ms_mean or 0:.2f} ms of model time each")
    return lines


class ProgressBar:
    """A stderr progress bar that appears only when a run takes more than ``after_s``."""

    def __init__(self, after_s: float = 2.0, enabled: bool = True):
        self.t0 = time.perf_counter()
        self.after_s = after_s
        self.enabled = enabled
        self.shown = False

    def __call__(self, fraction: float) -> None:
        if not self.enabled or time.perf_counter() - self.t0 < self.after_s:
            return
        self.shown = True
        width = 30
        filled = int(round(fraction * width))
        sys.stderr.write(f"\r  simulating [{'#' * filled}{'.' * (width - filled)}] {100 * fraction:5.1f} %")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


# --------------------------------------------------------------------------- commands
def format_findings(found) -> str:
    """The findings, most important first, one wrapped paragraph each with its status."""
    import textwrap

    marks = {"ok": "ok    ", "watch": "WATCH ", "breach": "BREACH"}
    lines = ["  Findings"]
    for f in found:  # a number stays with its unit: "95 %" never breaks across lines
        text = f.headline.replace(" %", "\u00a0%").replace(" ms", "\u00a0ms")
        lines.append(textwrap.fill(text, width=110, initial_indent=f"  {marks[f.severity]}  ",
                                   subsequent_indent=" " * 10).replace("\u00a0", " "))
    return "\n".join(lines)


def table(headers: list[str], rows: list[list[str]], indent: str = "  ") -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return indent + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), *(line(r) for r in rows)])


def wrap(text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent="  ", subsequent_indent="  ")


def signed(key: str, value: float) -> str:
    from simulator.analysis.experiments import format_signed

    return format_signed(key, value)
