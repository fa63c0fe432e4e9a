"""Sample facts used to render every template for lint and preview.

The values are deliberately recognisable so the linter can check that the rendered text really
carries the impact, the next update time and the ETA the team typed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from outage_comms.plan import Plan
from outage_comms.rendering import UpdateFacts
from outage_comms.vocabulary import SCENARIOS_WITHOUT_NEXT_UPDATE, Scenario

SAMPLE_NOW = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)

SAMPLE_IMPACT = {
    "en": "Some customers cannot open their notes",
    "pt-BR": "Alguns clientes não conseguem abrir as notas",
}
SAMPLE_ETA = {
    "en": "We expect a fix by 16:00 UTC",
    "pt-BR": "Esperamos resolver até as 13h (horário de Brasília)",
}
SAMPLE_UPDATE = {
    "en": "We have moved traffic to healthy servers and pages are loading again for most people.",
    "pt-BR": (
        "Já direcionamos o acesso para servidores saudáveis e as páginas voltaram a abrir para a maioria."
    ),
}
SAMPLE_WORKAROUND = {
    "en": "Notes you opened recently are still on your devices, even offline.",
    "pt-BR": "As notas que você abriu recentemente continuam nos seus aparelhos, mesmo sem internet.",
}
SAMPLE_SUMMARY = {
    "cause": {
        "en": "A settings change made our storage system refuse new connections.",
        "pt-BR": "Uma mudança de configuração fez o nosso sistema de armazenamento recusar novas conexões.",
    },
    "fix": {
        "en": "We undid the change and brought the storage system back within 35 minutes.",
        "pt-BR": "Desfizemos a mudança e o armazenamento voltou a funcionar em 35 minutos.",
    },
    "prevention": {
        "en": "Settings changes now roll out to a small group of servers first.",
        "pt-BR": "Agora, mudanças de configuração chegam primeiro a um pequeno grupo de servidores.",
    },
    # Optional: what customers answered to "Was this update helpful?" (outage_comms.postmortem)
    "feedback": {
        "en": "40 answers: 31 yes, 9 no.",
        "pt-BR": "40 respostas: 31 sim, 9 não.",
    },
}


def sample_facts(plan: Plan, scenario: Scenario, *, with_eta: bool = True) -> UpdateFacts:
    """Facts for one scenario, using the plan's first two components and its most severe level."""
    components = [c.id for c in plan.components[:2]]
    severity = plan.severities[0]
    started = SAMPLE_NOW - timedelta(minutes=35)
    maintenance = scenario in {
        Scenario.MAINTENANCE_SCHEDULED,
        Scenario.MAINTENANCE_IN_PROGRESS,
        Scenario.MAINTENANCE_COMPLETED,
    }
    resolved = scenario in {Scenario.RESOLVED, Scenario.POST_INCIDENT_SUMMARY, Scenario.MAINTENANCE_COMPLETED}
    return UpdateFacts(
        component_ids=components,
        severity_id=severity.id,
        impact=SAMPLE_IMPACT,
        started_at=started,
        now=SAMPLE_NOW,
        incident_id="INC-20261127-01",
        internal_title="web-5xx alarm on prod-web-alb in use1-az2",
        next_update_at=None
        if scenario in SCENARIOS_WITHOUT_NEXT_UPDATE
        else SAMPLE_NOW + timedelta(minutes=severity.cadence_minutes),
        eta=SAMPLE_ETA if with_eta else None,
        update=SAMPLE_UPDATE,
        workaround=SAMPLE_WORKAROUND,
        resolved_at=SAMPLE_NOW if resolved else None,
        maintenance_starts_at=SAMPLE_NOW + timedelta(days=3) if maintenance else None,
        maintenance_ends_at=SAMPLE_NOW + timedelta(days=3, hours=2) if maintenance else None,
        summary=SAMPLE_SUMMARY if scenario is Scenario.POST_INCIDENT_SUMMARY else None,
        # what a person typed when resolving (resolve --cause --fix): the resolved templates' optional lines
        resolution={"cause": SAMPLE_SUMMARY["cause"], "fix": SAMPLE_SUMMARY["fix"]}
        if scenario is Scenario.RESOLVED
        else None,
    )
