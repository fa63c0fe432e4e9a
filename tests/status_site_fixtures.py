"""Incidents for the status-site tests (unit, integration, e2e): one of each kind customers see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from outage_comms.drill_mode import drill_marker
from outage_comms.incident import Incident, IncidentSource, PublishedUpdate, PublishedWords, TimelineEntry
from outage_comms.plan import Plan, load_plan
from outage_comms.rendering import UpdateFacts, build_context, render_message
from outage_comms.status.model import published_status
from outage_comms.vocabulary import SCENARIOS_WITHOUT_NEXT_UPDATE, MessageFormat, Scenario

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PLAN = ROOT / "plans" / "example.yaml"
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
ALARM = IncidentSource(
    type="alarm", reference="arn:aws:cloudwatch:us-east-1:111122223333:alarm:web-5xx-prod-alb-use1-az2"
)
INTERNAL_TITLE = "web-5xx alarm on prod-web-alb.corp.nimbusnotes.example"
XSS_NOTE = {
    "en": '<script>window.__xss = 1</script> Pages load again <img src=x onerror="window.__xss = 2">',
    "pt-BR": '<script>window.__xss = 3</script> As páginas voltaram <img src=x onerror="window.__xss = 4">',
}


def example_plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


def entry(
    at: datetime, kind: str, text: str, event: str, note: dict[str, str] | None = None
) -> TimelineEntry:
    return TimelineEntry(at=at, kind=kind, text=text, source=ALARM, event_id=event, public_note=note or {})  # type: ignore[arg-type]


def sent(
    incident: Incident,
    at: datetime,
    update_id: str,
    *,
    note: dict[str, str] | None = None,
    scenario: Scenario | None = None,
    plan: Plan | None = None,
) -> PublishedUpdate:
    """The update sent at ``at``: the plan's real status-page and in-app templates with ``note`` as the
    person's words (as the workflow renders them), stored as ``record_published`` stores them."""
    plan = plan or example_plan()
    scenario = scenario or incident.scenario
    state = incident.model_copy(update={"public_note": note or {}})
    cadence = timedelta(minutes=plan.severity(incident.severity).cadence_minutes)
    facts = UpdateFacts(
        component_ids=list(incident.components),
        severity_id=incident.severity,
        impact={
            code: (note or {}).get(code) or f"There is a problem with {incident.public_title[code]}"
            for code in plan.locale_codes
        },
        started_at=incident.started_at,
        now=at,
        incident_id=incident.id,
        next_update_at=None if scenario in SCENARIOS_WITHOUT_NEXT_UPDATE else at + cadence,
        resolved_at=at if scenario is Scenario.RESOLVED else None,
        maintenance_starts_at=incident.scheduled_for,
        maintenance_ends_at=incident.scheduled_until,
    )

    def words(fmt: MessageFormat) -> dict[str, PublishedWords]:
        rendered = {
            code: render_message(
                scenario=scenario, fmt=fmt, locale=code, context=build_context(plan, facts, code)
            ).fields
            for code in plan.locale_codes
        }
        if incident.drill:  # the workflow marks a drill's words (mark_message)
            rendered = {code: drill_marker(plan).fields(fmt, code, f) for code, f in rendered.items()}
        return {
            code: PublishedWords(title=f.get("title", ""), body=f["body"]) for code, f in rendered.items()
        }

    return PublishedUpdate(
        update_id=update_id,
        at=at,
        status=published_status(plan, state, scenario),
        scenario=scenario,
        text=words(MessageFormat.STATUS_PAGE),
        in_app=words(MessageFormat.IN_APP),
    )


def with_words(incident: Incident, *updates: tuple[datetime, str, dict[str, object]]) -> Incident:
    """``incident`` with the updates customers were sent: (at, status, overrides of the record)."""
    published = []
    for number, (at, status, changes) in enumerate(updates, start=1):
        note = changes.pop("note", None)
        state = incident.model_copy(update={"status": status, **changes})
        published.append(sent(state, at, f"{number:03d}-{state.scenario.value}", note=note))  # type: ignore[arg-type]
    return incident.model_copy(update={"published": tuple(published)})


def major_outage(now: datetime = NOW, note: dict[str, str] | None = None) -> Incident:
    """Open, critical, cause identified; its second update carried a person's note, approved and sent
    (XSS payloads by default)."""
    started = now - timedelta(minutes=50)
    return with_words(
        _major_outage(now, note),
        (started, "investigating", {}),
        (now - timedelta(minutes=10), "identified", {"note": XSS_NOTE if note is None else note}),
    )


def _major_outage(now: datetime, note: dict[str, str] | None) -> Incident:
    started = now - timedelta(minutes=50)
    return Incident(
        id="inc-20261127-1410-abcdef",
        internal_title=INTERNAL_TITLE,
        public_title={"en": "Web app and Sync", "pt-BR": "Aplicativo web e Sincronização"},
        components=("web-app", "sync"),
        severity="sev1",
        status="identified",
        scenario="major_outage",  # type: ignore[arg-type]
        audiences=("all-customers",),
        started_at=started,
        updated_at=now - timedelta(minutes=10),
        source=ALARM,
        timeline=(
            entry(started, "opened", INTERNAL_TITLE, "e1"),
            entry(started + timedelta(minutes=5), "signal", "search-p99 alarm", "e2"),
            entry(
                now - timedelta(minutes=10),
                "status",
                f"{INTERNAL_TITLE} (status investigating -> identified)",
                "e3",
                XSS_NOTE if note is None else note,
            ),
        ),
    )


def resolved_minor(now: datetime = NOW) -> Incident:
    started = now - timedelta(days=3, hours=2)
    return with_words(
        _resolved_minor(now),
        (started, "investigating", {"scenario": Scenario.DEGRADED_PERFORMANCE, "resolved_at": None}),
        (
            started + timedelta(minutes=30),
            "monitoring",
            {"scenario": Scenario.DEGRADED_PERFORMANCE, "resolved_at": None},
        ),
        (started + timedelta(hours=1), "resolved", {}),
    )


def _resolved_minor(now: datetime) -> Incident:
    started = now - timedelta(days=3, hours=2)
    return Incident(
        id="inc-20261124-1300-123456",
        internal_title="search-latency p99 on es-prod",
        public_title={"en": "Search", "pt-BR": "Busca"},
        components=("search",),
        severity="sev3",
        status="resolved",
        scenario="resolved",  # type: ignore[arg-type]
        audiences=("all-customers",),
        started_at=started,
        updated_at=started + timedelta(hours=1),
        resolved_at=started + timedelta(hours=1),
        source=ALARM,
        timeline=(
            entry(started, "opened", "search-latency", "r1"),
            entry(started + timedelta(minutes=30), "status", "x (status investigating -> monitoring)", "r2"),
            entry(started + timedelta(hours=1), "resolved", "ok", "r3"),
        ),
    )


def scheduled_maintenance(now: datetime = NOW) -> Incident:
    created = now - timedelta(days=1)
    return with_words(_scheduled_maintenance(now), (created, "identified", {}))


def _scheduled_maintenance(now: datetime) -> Incident:
    created = now - timedelta(days=1)
    return Incident(
        id="inc-20261126-1500-fedcba",
        internal_title="db engine upgrade on prod cluster",
        public_title={"en": "Sign-in", "pt-BR": "Login"},
        components=("sign-in",),
        severity="sev4",
        status="identified",
        scenario="maintenance_scheduled",  # type: ignore[arg-type]
        audiences=("all-customers",),
        started_at=created,
        updated_at=created,
        source=IncidentSource(
            type="human", reference="arn:aws:iam::111122223333:role/OutageCommsIncidentManager"
        ),
        timeline=(entry(created, "opened", "db engine upgrade", "m1"),),
        scheduled_for=now + timedelta(days=2),
        scheduled_until=now + timedelta(days=2, hours=2),
    )


def maintenance_in_progress(now: datetime = NOW) -> Incident:
    created = now - timedelta(days=2)
    return with_words(
        _maintenance_in_progress(now),
        (created, "identified", {"scenario": Scenario.MAINTENANCE_SCHEDULED}),
        (now - timedelta(minutes=30), "identified", {}),
    )


def _maintenance_in_progress(now: datetime) -> Incident:
    created = now - timedelta(days=2)
    return Incident(
        id="inc-20261125-1500-0a0b0c",
        internal_title="attachments bucket migration",
        public_title={"en": "File attachments", "pt-BR": "Anexos"},
        components=("attachments",),
        severity="sev4",
        status="identified",
        scenario="maintenance_in_progress",  # type: ignore[arg-type]
        audiences=("all-customers",),
        started_at=created,
        updated_at=now - timedelta(minutes=30),
        source=ALARM,
        timeline=(
            entry(created, "opened", "migration", "p1"),
            entry(now - timedelta(minutes=30), "status", "x (scenario -> maintenance_in_progress)", "p2"),
        ),
        scheduled_for=now - timedelta(minutes=30),
        scheduled_until=now + timedelta(hours=1),
    )


def all_kinds(now: datetime = NOW) -> list[Incident]:
    return [major_outage(now), resolved_minor(now), scheduled_maintenance(now), maintenance_in_progress(now)]
