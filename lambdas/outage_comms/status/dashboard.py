"""The public CloudWatch dashboard: a markdown summary plus the per-component status metric.

The body is written to ``dashboard/body.json`` with the site (the drill keeps it) and put with
``PutDashboard`` by the publisher. Only public words appear: plan names and status-page titles.
"""

from __future__ import annotations

import json
import re
from typing import Any

from outage_comms.status.model import STATUS_METRIC_VALUE, ComponentStatus
from outage_comms.status.site_state import SiteState
from outage_comms.status.view import Artefact

STATUS_NAMESPACE = "OutageComms/Status"
STATUS_METRIC = "ComponentStatus"
STATUS_DIMENSION = "component"
DASHBOARD_BODY_PATH = "dashboard/body.json"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def md(text: str) -> str:
    """Text safe inside CloudWatch markdown: special characters escaped, no line breaks, no HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def dashboard_markdown(state: SiteState) -> str:
    plan = state.plan
    locale = plan.default_locale
    strings = state.strings[locale]
    lines = [
        f"# {md(str(strings['page_title']).format(org=plan.organization.name))}",
        "",
        f"**{md(str(strings['current_status']))}:** {md(str(strings['indicator'][state.indicator.value]))}",
        "",
        f"## {md(str(strings['components']))}",
        "",
        f"| {md(str(strings['components']))} | {md(str(strings['current_status']))} |",
        "|---|---|",
    ]
    for component in plan.components:
        status = state.statuses[component.id]
        label = md(str(strings["component_status"][status.value]))
        lines.append(f"| {md(component.name.get(locale, component.id))} | {label} |")
    lines += ["", f"## {md(str(strings['active_incidents']))}", ""]
    active = state.active_incidents() + state.active_maintenances()
    if not active:
        lines.append(md(str(strings["no_active_incidents"])))
    for view in active:
        said = md(str(strings["incident_status"].get(view.status, view.status)))
        line = f"- **{md(view.name(locale))}** ({said})"
        if view.next_update:
            line += " - " + md(str(strings["next_update"]).format(time=state.time(view.next_update, locale)))
        lines.append(line + f" [{md(str(strings['posted']))}]({state.shortlink(view)})")
    lines += ["", f"[{md(plan.organization.status_page_url)}]({plan.organization.status_page_url})"]
    return "\n".join(lines)


def dashboard_body(state: SiteState) -> dict[str, Any]:
    region = state.options.region
    metrics = [
        [
            STATUS_NAMESPACE,
            STATUS_METRIC,
            STATUS_DIMENSION,
            c.id,
            {"label": c.name.get(state.plan.default_locale, c.id)},
        ]
        for c in state.plan.components
    ]
    legend = ", ".join(f"{value} {status.value}" for status, value in STATUS_METRIC_VALUE.items())
    text_height = min(24, 8 + len(state.plan.components) + 2 * len(state.active_incidents()))
    return {
        "start": "-PT24H",
        "periodOverride": "inherit",
        "widgets": [
            {
                "type": "text",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": text_height,
                "properties": {"markdown": dashboard_markdown(state), "background": "solid"},
            },
            {
                "type": "metric",
                "x": 0,
                "y": text_height,
                "width": 24,
                "height": 8,
                "properties": {
                    "title": f"Component status ({legend})",
                    "view": "timeSeries",
                    "region": region,
                    "stat": "Maximum",
                    "period": 60,
                    "metrics": metrics,
                    "yAxis": {"left": {"min": 0, "max": STATUS_METRIC_VALUE[ComponentStatus.MAJOR_OUTAGE]}},
                },
            },
            {
                "type": "metric",
                "x": 0,
                "y": text_height + 8,
                "width": 24,
                "height": 4,
                "properties": {
                    "title": "Component status now",
                    "view": "singleValue",
                    "region": region,
                    "stat": "Maximum",
                    "period": 60,
                    "metrics": metrics,
                },
            },
        ],
    }


def metric_data(state: SiteState) -> list[dict[str, Any]]:
    """``PutMetricData`` entries: one status value per component, at the build time."""
    return [
        {
            "MetricName": STATUS_METRIC,
            "Dimensions": [{"Name": STATUS_DIMENSION, "Value": c.id}],
            "Timestamp": state.now,
            "Value": float(STATUS_METRIC_VALUE[state.statuses[c.id]]),
            "Unit": "None",
        }
        for c in state.plan.components
    ]


def dashboard_artefact(state: SiteState) -> dict[str, Artefact]:
    body = json.dumps(dashboard_body(state), ensure_ascii=False, separators=(",", ":")).encode()
    return {DASHBOARD_BODY_PATH: Artefact(body, "application/json; charset=utf-8", "no-store")}
