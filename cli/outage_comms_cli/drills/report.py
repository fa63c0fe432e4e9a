"""The drill report, from one :class:`DrillRecord`: ``report.md``, ``report.html`` and ``timeline.svg``.

Each measure is compared with its target (plan minutes): time to internal notice (team chat), the
slowest approval, time to the first customer message, the longest gap between customer updates
(vs the cadence) and the channels that failed without being injected. The score and the three
improvements come from the same measures (see :data:`SCORE_FORMULA`). No JavaScript, no external
files: the HTML inlines the chart and escapes every text.
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass, replace
from pathlib import Path

from outage_comms_cli.drills.record import LANES, DrillRecord

#: Weights of the measures; a measure with nothing to measure (e.g. no approval needed) is left out
#: and the others are scaled up to 100.
WEIGHTS = {"first_message": 30, "approval": 20, "cadence": 20, "internal_notice": 15, "channels": 15}
SCORE_FORMULA = (
    "Times are read on the plan clock in slots of the scenario's resolution from the trigger (a notice at "
    "3.2 minutes scores as 5 with 5-minute slots; an approval's duration is rounded up the same way), so "
    "the score does not depend on how fast the machine ran the handlers. "
    "Each measure earns its weight (first customer message 30, approval 20, update cadence 20, internal "
    "notice 15, channels 15) in full when it meets its target, nothing at twice the target or worse, and "
    "linearly in between: points = weight x clamp(2 - actual/target, 0, 1). Channels: actual/target is "
    "100 / (% of channels that did not fail unless injected). Measures that do not apply are left out "
    "and the score is scaled to 0-100: score = 100 x sum(points) / sum(weights of measures that apply)."
)


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    actual: float | None  # minutes, or % for channels
    target: float | None
    unit: str
    weight: int
    ratio: float  # scored / target (inf: never happened); channels: 100 / success %
    points: float
    applies: bool
    advice: str
    #: The value the points come from: ``actual`` read in the scenario's slots (see SCORE_FORMULA).
    scored: float | None = None
    #: Where the target comes from: "plan", "scenario", "scenario default" or "drill rule".
    source: str = ""

    @property
    def met(self) -> bool:
        return self.ratio <= 1


def _subscore(ratio: float) -> float:
    return 0.0 if math.isinf(ratio) else max(0.0, min(1.0, 2.0 - ratio))


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"


def slot(record: DrillRecord, minutes: float | None) -> float | None:
    """``minutes`` read as the end of its slot of ``record.resolution`` plan minutes (0 stays 0)."""
    if minutes is None or record.resolution <= 0:
        return minutes
    return max(0.0, math.ceil(round(minutes, 6) / record.resolution) * record.resolution)


def measures(record: DrillRecord) -> list[Measure]:
    """Every measure against its target, with the concrete advice the data suggests."""
    t = record.targets
    found: list[Measure] = []

    def add(
        key: str,
        label: str,
        actual: float | None,
        target: float | None,
        unit: str,
        advice: str,
        scored: float | None = None,
    ) -> None:
        applies = target is not None and target > 0
        value = actual if unit == "%" else (scored if scored is not None else slot(record, actual))
        if not applies:
            ratio = 0.0
        elif value is None:
            ratio = math.inf
        elif unit == "%":
            ratio = math.inf if value <= 0 else (target or 100) / value
        else:
            ratio = value / (target or 1)
        weight = WEIGHTS[key]
        points = round(weight * _subscore(ratio), 1)
        found.append(
            Measure(
                key,
                label,
                actual,
                target,
                unit,
                weight,
                ratio,
                points,
                applies,
                advice,
                value,
                t.sources.get(key, ""),
            )
        )

    a = record.internal_notice_minute
    failed_team = [c.channel for c in record.channels if c.team and c.outcome == "failed" and not c.injected]
    add(
        "internal_notice",
        "Time to internal notice (team chat)",
        a,
        t.internal_notice if any(c.team for c in record.channels) else None,
        "min",
        (
            "The team chat never heard: check the chat webhook secrets and add a second team channel "
            "(Slack and Amazon Q, or Teams) so one outage cannot silence both"
            if a is None
            else f"Team chat heard after {_fmt(a)} of {_fmt(t.internal_notice)} minutes: "
            + (
                f"fix {', '.join(failed_team)} (it failed) and keep a second team channel"
                if failed_team
                else "alert the on-call channel straight from the alarm, before the drafts render"
            )
        ),
    )
    slowest = max(
        record.approvals,
        key=lambda x: math.inf if x.minutes is None else x.minutes,
        default=None,
    )
    took = slowest.minutes if slowest else None
    add(
        "approval",
        "Time to approval (slowest)",
        took,
        t.approval if record.approvals else None,
        "min",
        (
            f"The {slowest.update.replace('_', ' ') if slowest else ''} update was never approved "
            f"within the drill: add a second approver to the rota and make sure the review link reaches them"
            if took is None
            else f"Approval took {_fmt(took)} of {_fmt(t.approval)} minutes: add a second approver to the "
            "rota, or pre-approve the opening and holding templates for this severity"
        ),
    )
    first = record.first_message_minute
    add(
        "first_message",
        "Time to first customer message",
        first,
        t.first_message,
        "min",
        (
            "No customer message went out: check the approval timeout policy (send_holding_statement) "
            "and the customer channels"
            if first is None
            else f"The first customer message went out after {_fmt(first)} of {_fmt(t.first_message)} "
            f"minutes: pre-approve the {record.severity} opening message so it needs no review"
        ),
    )
    gaps = [b - a for a, b in zip(record.update_minutes, record.update_minutes[1:], strict=False)]
    worst = max(gaps, default=None)
    slotted = [slot(record, m) or 0.0 for m in record.update_minutes]
    worst_scored = max((b - a for a, b in itertools.pairwise(slotted)), default=None)
    add(
        "cadence",
        "Longest gap between customer updates",
        worst,
        t.cadence if len(record.update_minutes) > 1 else None,
        "min",
        f"The longest gap between updates was {_fmt(worst)} minutes against a {_fmt(t.cadence)}-minute "
        "cadence: name an update owner per incident and post a holding update when nothing is new "
        f"(reminders: {record.reminders}, escalations: {record.escalations})",
        scored=worst_scored,
    )
    judged = [c for c in record.channels if not c.injected]
    failed = [c.channel for c in judged if c.outcome == "failed"]
    ok = 100.0 * (len(judged) - len(failed)) / len(judged) if judged else None
    add(
        "channels",
        "Channels that did not fail (injected failures excluded)",
        ok,
        100.0 if judged else None,
        "%",
        (
            f"{len(failed)} channel(s) failed without being injected ({', '.join(failed)}): check their "
            "secrets, quotas and provider status before the next incident"
            if failed
            else "Every channel delivered: rehearse the plan without the busiest one (inject its failure)"
        ),
    )
    return found


def score(found: list[Measure]) -> int:
    weights = sum(m.weight for m in found if m.applies)
    return round(100 * sum(m.points for m in found if m.applies) / weights) if weights else 0


def improvements(found: list[Measure], count: int = 3) -> list[Measure]:
    """The measures that missed their target by the most (then the closest to missing), worst first."""
    ranked = sorted((m for m in found if m.applies), key=lambda m: (-m.ratio, m.key))
    return ranked[:count]


def _when(record: DrillRecord, minute: float | None) -> str:
    if minute is None:
        return "never"
    return f"{_fmt(minute)} min"


def _actual(record: DrillRecord, measure: Measure) -> str:
    if measure.unit == "%":
        return "-" if measure.actual is None else f"{measure.actual:.0f} %"
    return _when(record, measure.actual) if measure.applies or measure.actual is not None else "-"


def _verdict(measure: Measure) -> str:
    """From the points, so a verdict never contradicts them."""
    if not measure.applies:
        return "n/a"
    if measure.points >= measure.weight:
        return "met"
    return "partly met" if measure.points > 0 else "missed"


def _clock(record: DrillRecord) -> str:
    if not record.compressed:
        return "real time (plan minutes are real minutes)"
    start = f", starting {record.start}" if record.start else ""
    return (
        f"plan clock{start}: 1 plan minute = {record.seconds_per_minute:g} wall s (the same definition, "
        "compressed waits); every time people read is on this clock. Handler processing is measured apart: "
        f"{record.processing_seconds:.1f} wall s in all, not counted as plan minutes"
    )


# -- markdown -----------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(record: DrillRecord) -> str:
    found = measures(record)
    total = score(found)
    clock = _clock(record)
    lines = [
        f"# Drill report: {_md(record.scenario)} ({record.target})",
        "",
        f"{_md(record.description)}",
        "",
        f"- Plan: {_md(record.plan)}; incident `{record.incident_id}`, severity {record.severity}; "
        f"outcome **{record.status}**.",
        f"- Clock: {clock}.",
        *([f"- Status site: {_md(record.status_site)}."] if record.status_site else []),
        f"- **Score: {total} / 100.**",
        "",
        "## Against the plan's targets",
        "",
        "| measure | actual (plan clock) | scored as | target | target from | verdict | points |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for m in found:
        target = (
            "-" if m.target is None else (f"{m.target:.0f} %" if m.unit == "%" else _when(record, m.target))
        )
        points = f"{m.points:.1f} / {m.weight}" if m.applies else "-"
        scored = _actual(record, replace(m, actual=m.scored))
        lines.append(
            f"| {m.label} | {_actual(record, m)} | {scored} | {target} | {m.source or '-'} | {_verdict(m)} | "
            f"{points} |"
        )
    lines += ["", f"How the score is computed: {SCORE_FORMULA}", "", "## Three improvements", ""]
    lines += [f"{n}. {_md(m.advice)}" for n, m in enumerate(improvements(found), start=1)]
    lines += [
        "",
        "## Customer updates",
        "",
        "| update | sent at | gap since previous | cadence |",
        "|---:|---:|---:|---:|",
    ]
    previous: float | None = None
    for number, minute in enumerate(record.update_minutes, start=1):
        gap = "-" if previous is None else _when(record, minute - previous)
        lines.append(f"| {number} | {_when(record, minute)} | {gap} | {_fmt(record.targets.cadence)} min |")
        previous = minute
    lines += [
        "",
        "## Approvals",
        "",
        "| update | requested | decided | took | decision | by |",
        "|---|---:|---:|---:|---|---|",
    ]
    for a in record.approvals:
        lines.append(
            f"| {_md(a.update)} | {_when(record, a.requested_minute)} | {_when(record, a.decided_minute)} | "
            f"{_when(record, a.minutes)} | {a.decision} | {_md(', '.join(a.by)) or '-'} |"
        )
    lines += ["", "## Channels", "", "| channel | outcome | injected | detail |", "|---|---|---|---|"]
    for c in record.channels:
        lines.append(
            f"| {c.channel}{' (team)' if c.team else ''} | {c.outcome} | {'yes' if c.injected else 'no'} | "
            f"{_md(c.detail) or '-'} |"
        )
    if record.notes:
        lines += ["", "## Notes", "", *(f"- {_md(n)}" for n in record.notes)]
    lines += ["", "## What happened when", "", "| plan min | wall s | lane | what |", "|---:|---:|---|---|"]
    for s in record.steps:
        lines.append(f"| {s.minute:.2f} | {s.seconds:.2f} | {s.actor} | {_md(s.kind)}: {_md(s.text)} |")
    lines += ["", "Timeline chart: `timeline.svg` (also inside `report.html`).", ""]
    return "\n".join(lines)


# -- SVG ------------------------------------------------------------------------------------------

_COLOURS = {
    "drill script": "#1d4ed8",
    "workflow": "#4b5563",
    "team chat": "#7c3aed",
    "approvers": "#b45309",
    "customers": "#047857",
    "channel failures": "#b91c1c",
}


def render_svg(record: DrillRecord) -> str:
    """A lane per actor, a marker per step, dashed lines for the targets. Valid standalone SVG."""
    e = html.escape
    lanes = [lane for lane in LANES if lane in {s.actor for s in record.steps}] or list(LANES[:1])
    lanes += sorted({s.actor for s in record.steps} - set(lanes))
    left, top, lane_height, width = 150, 50, 44, 960
    plot = width - left - 20
    horizon = max(
        [s.minute for s in record.steps] + [record.targets.first_message, record.targets.internal_notice, 1.0]
    )
    horizon = math.ceil(horizon * 1.05)
    height = top + lane_height * len(lanes) + 60

    def x(minute: float) -> float:
        return round(left + plot * max(0.0, minute) / horizon, 1)

    title = f"Drill timeline: {record.scenario}, incident {record.incident_id}"
    desc = (
        f"{len(record.steps)} steps over {horizon} plan minutes in {len(lanes)} lanes ({', '.join(lanes)}); "
        "dashed lines mark the targets"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc" '
        f'font-family="sans-serif" font-size="12">',
        f'<title id="chart-title">{e(title)}</title>',
        f'<desc id="chart-desc">{e(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for index, lane in enumerate(lanes):
        y = top + index * lane_height
        fill = "#f3f4f6" if index % 2 == 0 else "#ffffff"
        parts.append(f'<rect x="{left}" y="{y}" width="{plot}" height="{lane_height}" fill="{fill}"/>')
        parts.append(f'<text x="{left - 8}" y="{y + lane_height / 2 + 4}" text-anchor="end">{e(lane)}</text>')
    step = next((n for n in (1, 2, 5, 10, 15, 20, 30, 60, 120, 240) if horizon / n <= 12), 480)
    axis_y = top + lane_height * len(lanes)
    for minute in range(0, horizon + 1, step):
        parts.append(
            f'<line x1="{x(minute)}" y1="{axis_y}" x2="{x(minute)}" y2="{axis_y + 5}" stroke="#111827"/>'
            f'<text x="{x(minute)}" y="{axis_y + 18}" text-anchor="middle">{minute}m</text>'
        )
    parts.append(
        f'<text x="{left + plot / 2}" y="{axis_y + 34}" text-anchor="middle">'
        "plan minutes after the trigger</text>"
    )
    targets = [
        (record.targets.internal_notice, "internal notice target"),
        (record.targets.first_message, "first message target"),
    ]
    if record.update_minutes:
        deadline = record.update_minutes[0] + record.targets.cadence
        if deadline <= horizon:
            targets.append((deadline, "next update due (cadence)"))
    for number, (minute, label) in enumerate(sorted(targets)):
        label_y = top - 8 - 12 * (number % 2)  # alternate rows: close targets' labels do not overlap
        parts.append(
            f"<g><title>{e(label)}: {_fmt(minute)} min</title>"
            f'<line x1="{x(minute)}" y1="{label_y + 2}" x2="{x(minute)}" y2="{axis_y}" stroke="#dc2626" '
            f'stroke-dasharray="4 3"/>'
            f'<text x="{x(minute) + 3}" y="{label_y}" fill="#dc2626" font-size="10">{e(label)}</text></g>'
        )
    for s in record.steps:
        index = lanes.index(s.actor)
        cy = top + index * lane_height + lane_height / 2
        colour = _COLOURS.get(s.actor, "#111827")
        label = f"{_fmt(s.minute)} min: {s.kind}: {s.text}"
        if s.actor == "channel failures":
            shape = f'<rect x="{x(s.minute) - 5}" y="{cy - 5}" width="10" height="10" fill="{colour}"/>'
        elif s.kind in ("reminder", "escalation", "held"):
            cx = x(s.minute)
            points = f"{cx},{cy - 7} {cx + 7},{cy} {cx},{cy + 7} {cx - 7},{cy}"
            shape = f'<polygon points="{points}" fill="#dc2626"/>'
        else:
            shape = f'<circle cx="{x(s.minute)}" cy="{cy}" r="5" fill="{colour}" fill-opacity="0.8"/>'
        parts.append(f"<g><title>{e(label)}</title>{shape}</g>")
    parts.append(
        f'<text x="{left}" y="{height - 6}" font-size="11">Circle: a step. Diamond: reminder or escalation. '
        "Square: a channel failure. Dashed red line: a target. Hover a marker for what happened.</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# -- HTML -----------------------------------------------------------------------------------------


def render_html(record: DrillRecord, svg: str | None = None) -> str:
    """Self-contained, accessible HTML: headings, table headers, the chart inline with its title."""
    e = html.escape
    found = measures(record)
    total = score(found)
    svg = svg or render_svg(record)

    def table(caption: str, headers: list[str], rows: list[list[str]]) -> str:
        head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
        body = "".join(
            "<tr>" + f'<th scope="row">{e(r[0])}</th>' + "".join(f"<td>{e(c)}</td>" for c in r[1:]) + "</tr>"
            for r in rows
        )
        return (
            f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )

    measure_rows = [
        [
            m.label,
            _actual(record, m),
            _actual(record, replace(m, actual=m.scored)),
            "-" if m.target is None else (f"{m.target:.0f} %" if m.unit == "%" else _when(record, m.target)),
            m.source or "-",
            _verdict(m),
            f"{m.points:.1f} / {m.weight}" if m.applies else "-",
        ]
        for m in found
    ]
    approval_rows = [
        [
            a.update,
            _when(record, a.requested_minute),
            _when(record, a.decided_minute),
            _when(record, a.minutes),
            a.decision,
            ", ".join(a.by) or "-",
        ]
        for a in record.approvals
    ]
    channel_rows = [
        [c.channel + (" (team)" if c.team else ""), c.outcome, "yes" if c.injected else "no", c.detail or "-"]
        for c in record.channels
    ]
    step_rows = [
        [f"{s.minute:.2f}", f"{s.seconds:.2f}", s.actor, f"{s.kind}: {s.text}"] for s in record.steps
    ]
    advice = "".join(f"<li>{e(m.advice)}</li>" for m in improvements(found))
    notes = "".join(f"<li>{e(n)}</li>" for n in record.notes)
    clock = _clock(record)
    style = (
        "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#111827}"
        "table{border-collapse:collapse;margin:1rem 0;width:100%}caption{text-align:left;font-weight:600}"
        "th,td{border:1px solid #d1d5db;padding:.3rem .5rem;text-align:left;vertical-align:top}"
        "thead th{background:#f3f4f6}.score{font-size:1.6rem;font-weight:700}"
        "figure{margin:1rem 0;overflow-x:auto}"
    )
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Drill report: {e(record.scenario)}</title>\n<style>{style}</style>\n</head>\n"
        "<body>\n<main>\n"
        f"<h1>Drill report: {e(record.scenario)} ({e(record.target)})</h1>\n"
        f"<p>{e(record.description)}</p>\n"
        f"<p>Plan: {e(record.plan)}; incident <code>{e(record.incident_id)}</code>, severity "
        f"{e(record.severity)}; outcome <strong>{e(record.status)}</strong>. Clock: {e(clock)}.</p>\n"
        + (f"<p>Status site: {e(record.status_site)}.</p>\n" if record.status_site else "")
        + f'<p class="score">Score: {total} / 100</p>\n'
        "<h2>Against the plan's targets</h2>\n"
        + table(
            "Each measure against its target",
            ["measure", "actual (plan clock)", "scored as", "target", "target from", "verdict", "points"],
            measure_rows,
        )
        + f"\n<p>How the score is computed: {e(SCORE_FORMULA)}</p>\n"
        f"<h2>Three improvements</h2>\n<ol>{advice}</ol>\n"
        "<h2>Timeline</h2>\n"
        f"<figure>{svg}<figcaption>Timeline of the drill: one lane per actor; dashed red lines mark the "
        "targets. The same steps are listed in the table below.</figcaption></figure>\n"
        "<h2>Approvals</h2>\n"
        + table("Approvals", ["update", "requested", "decided", "took", "decision", "by"], approval_rows)
        + "\n<h2>Channels</h2>\n"
        + table("Channels", ["channel", "outcome", "injected", "detail"], channel_rows)
        + (f"\n<h2>Notes</h2>\n<ul>{notes}</ul>" if notes else "")
        + "\n<h2>What happened when</h2>\n"
        + table("Every step", ["plan min", "wall s", "lane", "what"], step_rows)
        + "\n</main>\n</body>\n</html>\n"
    )


def write_report(record: DrillRecord, out_dir: Path) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``timeline.svg`` (and ``record.json``) into ``out_dir``."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    svg = render_svg(record)
    paths = {
        "markdown": out_dir / "report.md",
        "html": out_dir / "report.html",
        "svg": out_dir / "timeline.svg",
        "record": out_dir / "record.json",
    }
    paths["markdown"].write_text(render_markdown(record), encoding="utf-8")
    paths["html"].write_text(render_html(record, svg), encoding="utf-8")
    paths["svg"].write_text(svg, encoding="utf-8")
    paths["record"].write_text(json.dumps(record.as_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return paths
