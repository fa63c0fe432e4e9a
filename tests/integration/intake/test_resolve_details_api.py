"""Resolve takes typed cause / fix / impact through the incident API: checked like every human field."""

from __future__ import annotations

from typing import Any

import pytest
from test_incident_api_handler import api_event, call, declare_body

from outage_comms.intake.runtime import IntakeDependencies
from outage_comms.plan import Plan

pytestmark = pytest.mark.integration


@pytest.fixture
def dependencies(world: Any, plan: Plan) -> IntakeDependencies:
    return world.api_dependencies(plan)


def opened(dependencies: IntakeDependencies) -> str:
    status, body = call(dependencies, api_event("POST", "/incidents", declare_body()))
    assert status == 201, body
    return str(body["incident_id"])


def test_resolve_stores_the_typed_cause_fix_and_impact_per_locale(dependencies: IntakeDependencies) -> None:
    incident_id = opened(dependencies)
    body = {
        "request_id": "r1",
        "cause": {
            "en": "A settings change broke sign-in",
            "pt-BR": "Uma mudança de configuração quebrou o login",
        },
        "fix": "We undid the change",  # one text: the plan's default locale
        "impact": {"en": "You could not sign in\u0301"},
    }
    status, answer = call(dependencies, api_event("POST", f"/incidents/{incident_id}/resolve", body))
    assert (status, answer["kind"]) == (200, "resolve"), answer
    details = dependencies.incidents.get(incident_id).resolution_details
    assert details.cause["pt-BR"] == "Uma mudança de configuração quebrou o login"
    assert details.fix == {"en": "We undid the change"}
    assert details.missing("pt-BR") == ["impact", "fix"]
    assert details.impact["en"] == "You could not sign iń"  # NFC, as every human field
    status, read = call(dependencies, api_event("GET", f"/incidents/{incident_id}"))
    assert read["resolution_details"]["cause"]["en"] == "A settings change broke sign-in"


@pytest.mark.parametrize(
    ("path", "body", "error", "hint"),
    [
        ("resolve", {"cause": "Back \u202eetadpu"}, "invalid_text", "'cause'"),
        ("resolve", {"fix": {"pt-BR": "x\x1b[31m"}}, "invalid_text", "'fix.pt-BR'"),
        ("resolve", {"impact": "x" * 2001}, "invalid_text", "2,000"),
        ("resolve", {"cause": {"fr": "Une erreur"}}, "unknown_locale", "'cause'"),
        ("resolve", {"cause": ["not", "text"]}, "invalid_event", "cause"),
        ("updates", {"cause": "A settings change"}, "resolution_details_need_resolve", "resolve"),
    ],
)
def test_bad_details_are_a_clear_400_and_change_nothing(
    dependencies: IntakeDependencies, path: str, body: dict[str, Any], error: str, hint: str
) -> None:
    incident_id = opened(dependencies)
    status, answer = call(
        dependencies, api_event("POST", f"/incidents/{incident_id}/{path}", {"request_id": "x", **body})
    )
    assert (status, answer["error"]) == (400, error), answer
    assert hint in answer["message"]
    incident = dependencies.incidents.get(incident_id)
    assert incident.status != "resolved" and incident.resolution_details.missing("en") == [
        "impact",
        "cause",
        "fix",
    ]
