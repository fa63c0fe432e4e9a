"""What a drill leaves behind: every delivery, the status site, per-channel outcomes, quality and the record's
headline."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan
from outage_comms.workflow.channels_plan import STATUS_SURFACES
from outage_comms_cli.drills.embedded_inputs import CUSTOMER_HANDLER, PROVIDER_LABELS, STATUS_HANDLER
from outage_comms_cli.drills.record import DrillRecord
from outage_comms_embedded import EmbeddedAws


def _write_quality(out_dir: Path, files: list[str]) -> dict[str, Any]:
    """Every delivered message's quality in ``quality.json``; the summary table appended to ``report.md``."""
    from outage_comms_cli.quality import assess_deliveries, markdown_table, summary_rows

    rows = assess_deliveries(out_dir, files)
    (out_dir / "quality.json").write_text(
        json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False), encoding="utf-8"
    )
    report = out_dir / "report.md"
    if report.exists():
        report.write_text(report.read_text(encoding="utf-8") + "\n" + markdown_table(rows), encoding="utf-8")
    return {
        "messages": len(rows),
        "findings": sum(len(r.findings) for r in rows),
        "by_channel": summary_rows(rows),
    }


def _headline(record: DrillRecord) -> dict[str, Any]:
    from outage_comms_cli.drills.report import improvements, measures, score

    found = measures(record)
    return {
        "score": score(found),
        "improvements": [m.advice for m in improvements(found)],
        "channels": {c.channel: {"outcome": c.outcome, "injected": c.injected} for c in record.channels},
        "notes": record.notes,
    }


#: Public keys of the status site a drill must never write: its home page and the Statuspage summary.
PUBLIC_STATUS_KEYS = ("index.html", "api/v2/summary.json")


def _dashboard_body(aws: EmbeddedAws) -> str | None:
    """The public dashboard's body in the embedded status stack (None when it is not there)."""
    with contextlib.suppress(Exception):
        name = aws.output("PublicDashboardName")
        return str(aws.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    return None


def _write_published_status(
    aws: EmbeddedAws, plan: Plan, target: Path, incident_id: str, dashboard_before: str | None
) -> dict[str, Any]:
    """The status site as the real status publisher left it in the embedded bucket, copied to ``target``.

    The status stack is deployed into the embedded account (``with_status_site``): the workflow's
    "Publish status surfaces" step invoked the publisher, which assumed ``OutageCommsStatusPublisherAccess``
    and wrote the bucket. A drill incident goes only under ``plan.drill.status_prefix``; the result
    counts the objects there and names the public keys written (none, for a drill). When the bucket
    holds nothing, the site is generated locally with the same generator instead, and says so.
    """
    from botocore.exceptions import ClientError

    runs = [i for i in aws.invocations if i.handler == STATUS_HANDLER]
    failures = [i for i in runs if i.error]
    reasons = sorted({f"{i.error}: {i.error_message}"[:300] for i in failures})
    drill = (
        DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
        .get(incident_id)
        .drill
    )
    prefix = plan.drill.status_prefix
    try:
        objects, bucket = aws.status_objects(), aws.output("StatusBucketName")
    except (ClientError, KeyError) as error:
        objects, bucket = {}, ""
        reasons.append(f"status bucket not readable: {error}")
    shutil.rmtree(target, ignore_errors=True)  # a previous run's files would read as published now
    for key, body in objects.items():
        path = target / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    public = sorted(k for k in objects if not k.startswith(prefix))
    result: dict[str, Any] = {
        "source": "published by the status publisher",
        "bucket": bucket,
        "directory": str(target),
        "files": len(objects),
        "keys": sorted(objects),
        "drill": drill,
        "drill_prefix": prefix,
        "drill_objects": len(objects) - len(public),
        "public_objects": len(public),
        "public_keys_written": [k for k in PUBLIC_STATUS_KEYS if k in objects],
        "public_dashboard_unchanged": _dashboard_body(aws) == dashboard_before,
        "publisher_runs": len(runs),
        "publisher_failures": len(failures),
        "publisher_errors": reasons,
    }
    page = prefix if drill else ""
    if drill:
        untouched = (
            "public keys not written" if not public else f"PUBLIC KEYS WRITTEN: {', '.join(public[:5])}"
        )
        published = len(objects) - len(public)
        headline = f"{published} objects published under {prefix} by the status publisher; {untouched}"
    else:
        headline = f"{len(objects)} objects published on the public status site by the status publisher"
    if not objects:
        why = "; ".join(reasons) or f"it ran {len(runs)}x and wrote nothing"
        fallback = _write_status_site(aws, plan, target, incident_id)
        result.update(source="generated locally (fallback): nothing was published", files=fallback["files"])
        headline = (
            f"status page NOT published ({why}); status/ holds {fallback['files']} files generated locally "
            "from the embedded store by the same generator, as a fallback"
        )
    result["headline"] = headline
    result["open"] = (
        f"python3 -m http.server 8000 --bind 127.0.0.1 --directory {target}  # then http://127.0.0.1:8000/{page}"
    )
    return result


def _status_outcome(channel: str, site: Mapping[str, Any]) -> tuple[str, str]:
    """The status_page / dashboard row: what the real publisher did to the embedded status stack."""
    runs, failed = site["publisher_runs"], site["publisher_failures"]
    ran = f"the status publisher ran {runs}x" + (
        f" ({failed} failed: {'; '.join(site['publisher_errors'])})" * bool(failed)
    )
    if not runs:
        return "not published", "the status publisher was never invoked"
    if not site["files"] or not site["source"].startswith("published"):
        return "failed", f"{ran}; nothing in the status bucket"
    drill, prefix = site["drill"], site["drill_prefix"]
    if channel == "dashboard":
        unchanged = site["public_dashboard_unchanged"]
        if drill and unchanged:
            return "left alone (drill)", f"{ran}; drill mode keeps the public dashboard unchanged"
        if drill:
            return "failed", f"{ran}; the drill changed the public dashboard"
        if unchanged:
            return "failed", f"{ran}; the public dashboard's body was not replaced"
        return "published", f"{ran}; the public dashboard's body was replaced"
    if drill and site["public_objects"]:
        return "failed", f"{ran}; the drill wrote {site['public_objects']} public key(s) outside {prefix}"
    if drill:
        return (
            "published",
            f"{site['drill_objects']} objects under {prefix} in the status bucket; {ran}; "
            "public keys not written",
        )
    return "published", f"{site['files']} objects in the status bucket; {ran}"


def _write_status_site(aws: EmbeddedAws, plan: Plan, target: Path, incident_id: str) -> dict[str, Any]:
    """Fallback when the publisher published nothing: the same artefacts, from the embedded store.

    The drill writes what the publisher would have built (same generator) to disk for a person to open.
    A drill incident goes only on the drill page (``status/<plan.drill.status_prefix>``); the public
    site is written without it, as the publisher keeps it.
    """
    import importlib

    from outage_comms.status import write_status_artifacts

    repository = DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))
    incident = repository.get(incident_id)
    now = datetime.now(UTC)
    if not incident.drill:
        return write_status_artifacts(target, plan, [incident], now)
    public = write_status_artifacts(target, plan, [], now)
    drill_mode = importlib.import_module("outage_comms.drill_mode")  # the drill-mode runtime
    folder = target / plan.drill.status_prefix.rstrip("/")
    drill_page = write_status_artifacts(folder, drill_mode.drill_site_plan(plan), [incident], now)
    return {**public, "files": public["files"] + drill_page["files"], "drill_page": str(folder)}


def _recorded(aws: EmbeddedAws, incident_id: str) -> dict[str, list[dict[str, Any]]]:
    """What the workflow recorded on the incident, per channel: the fan-out's results."""
    table = aws.physical_id("AWS::DynamoDB::Table", contains="Incidents")
    items = aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
        ExpressionAttributeValues={":pk": {"S": f"INCIDENT#{incident_id}"}, ":d": {"S": "DELIVERY#"}},
    )["Items"]
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_channel.setdefault(item["channel"]["S"], []).append(json.loads(item["result"]["S"]))
    return by_channel


def _team_notified(aws: EmbeddedAws, incident_id: str) -> dict[str, list[str]]:
    """``Notify team first`` records ``slack: delivered, teams: failed`` events: per channel, each status."""
    table = aws.physical_id("AWS::DynamoDB::Table", contains="State")
    from outage_comms.workflow.store import DynamoWorkflowStore

    store = DynamoWorkflowStore(table_name=table, client=aws.client("dynamodb"))
    statuses: dict[str, list[str]] = {}
    for event in store.events(incident_id):
        if event.get("kind") != "team_notified":
            continue
        for part in str(event.get("text", "")).split(", "):
            channel, _, status = part.partition(": ")
            if status:
                statuses.setdefault(channel, []).append(status)
    return statuses


def _channel_results(aws: EmbeddedAws, plan: Plan, summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every enabled channel: what the workflow recorded and what the provider side received."""
    recorded = _recorded(aws, summary["incident_id"])
    team = _team_notified(aws, summary["incident_id"])
    files: dict[str, int] = {}
    for path in summary["delivered_files"]:
        label = path.split("/")[1]
        files[label] = files.get(label, 0) + 1
    results: dict[str, dict[str, Any]] = {}
    for channel in plan.channels.enabled():
        name = channel.value
        statuses = [r["status"] for r in recorded.get(name, [])] + team.get(name, [])
        received = files.get(name, 0)
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        if channel in STATUS_SURFACES:
            outcome, why = _status_outcome(name, summary["status_site"])
        elif counts.get("delivered") and received:
            outcome, why = "delivered", f"{received} message(s) received by the provider side"
        elif counts.get("delivered"):
            outcome, why = "delivered (no recipients)", "the workflow delivered, nobody was in the audience"
        else:
            details = [r.get("detail") or r.get("error", "") for r in recorded.get(name, [])]
            outcome = "failed" if counts.get("failed") else "skipped"
            why = "; ".join(sorted({d for d in details if d})) or "no delivery recorded"
        results[name] = {"outcome": outcome, "why": why, "recorded": counts, "received": received}
    return results


def _first_customer_delivery(aws: EmbeddedAws, trigger: float) -> float:
    ends = [
        inv.started + inv.seconds - trigger
        for inv in aws.invocations
        if inv.handler == CUSTOMER_HANDLER and inv.error is None and inv.started >= trigger
    ]
    return min(ends) if ends else float("nan")


def _handler_seconds(aws: EmbeddedAws) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {}
    for inv in aws.invocations:
        seconds.setdefault(inv.handler.split(".")[1], []).append(round(inv.seconds, 4))
    return seconds


def _write_deliveries(aws: EmbeddedAws, out_dir: Path, summary: dict[str, Any]) -> None:
    """Every message the provider side received, one file each under ``deliveries/<channel>/``."""
    target = out_dir / "deliveries"
    files: list[str] = []

    counters: dict[str, int] = {}

    def write(label: str, name: str, text: str) -> None:
        counters[label] = counters.get(label, 0) + 1
        name = f"{counters[label]:03d}{name}"
        folder = target / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        files.append(str((folder / name).relative_to(out_dir)))

    topics = []  # a channel that is off has no topic (and no stack output): nothing to read there
    outputs = (("sns", "SubscribersTopicArn"), ("chatbot", "InternalChatTopicArn"), ("sns", "DrillTopicArn"))
    for region in aws.regions:  # each engine region has its own topics
        for label, output in outputs:
            with contextlib.suppress(KeyError):
                topic = aws.output(output, region=region)
                if topic.split(":")[3] == region and (label, topic) not in topics:
                    topics.append((label, topic))
    for label, topic in topics:
        for message in aws.published(topic):
            attributes = {k: v.get("Value") for k, v in (message["attributes"] or {}).items()}
            if label == "sns" and attributes.get("incident_id") != summary["incident_id"]:
                continue
            scenario, locale = attributes.get("scenario", "notification"), attributes.get("locale", "all")
            body = message["message"]
            if label == "chatbot":
                content = json.loads(body).get("content", {})
                body = f"{content.get('title', '')}\n\n{content.get('description', '')}"
            text = (f"Subject: {message['subject']}\n\n" if message.get("subject") else "") + body + "\n"
            write(label, f"-{scenario}.{locale}.txt", text)
    team = set(summary.get("team_addresses", []))
    for email in aws.sent_emails():
        raw = getattr(email, "raw_data", None)
        to = _recipients(email)
        text = raw if raw else f"Subject: {getattr(email, 'subject', '')}\n\n{getattr(email, 'body', '')}"
        label = "email-to-team" if to and set(to) <= team else "email"
        write(label, ".txt", f"To: {', '.join(to)}\n{text}\n")
    for call in aws.providers.calls:
        label = PROVIDER_LABELS[call.operation]
        write(label, ".json", json.dumps(call.params, indent=2, ensure_ascii=False) + "\n")
    for channel, requests in aws.sink.by_channel().items():
        for request in requests:
            if request.path.endswith("com.atproto.server.createSession"):
                continue  # Bluesky's login, not a message
            headers = {k: v for k, v in request.headers.items() if k != "authorization"}
            body = request.body.decode("utf-8", "replace")
            write(
                channel,
                ".http",
                f"{request.method} {request.path}\n{json.dumps(headers, indent=1)}\n\n{body}\n",
            )
    summary["delivered_files"] = files
    # Messages to subscribers on whichever subscriber channels the plan has (not only an SNS topic).
    customer = tuple(f"deliveries/{label}/" for label in ("sns", "email", "sms", "voice", "push"))
    summary["customer_messages"] = sum(1 for f in files if f.startswith(customer))


def _recipients(email: Any) -> list[str]:
    """moto keeps a simple message's ``destinations`` as a dict, a raw one's as a list."""
    destinations = getattr(email, "destinations", None)
    if isinstance(destinations, dict):
        return sorted({str(a) for key in ("ToAddresses", "CcAddresses") for a in destinations.get(key, [])})
    return sorted({str(a) for a in destinations or []})
