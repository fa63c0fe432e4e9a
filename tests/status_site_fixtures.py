"""Incidents for the status-site tests (unit, integration, e2e): one of each kind customers see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from outage_comms.incident import Incident, IncidentSource, TimelineEntry
from outage_comms.plan import Plan, load_plan

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


def major_outage(now: datetime = NOW, note: dict[str, str] | None = None) -> Incident:
    """Open, critical, cause identified, with a person's note (XSS payloads by default)."""
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
