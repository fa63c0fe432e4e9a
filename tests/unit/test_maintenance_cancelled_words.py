"""A cancelled window is not "done": customers read that it was called off, in every channel and locale."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from outage_comms.guard import guard_message
from outage_comms.plan import Plan, plan_at
from outage_comms.rendering import build_context, render_message
from outage_comms.sample import sample_facts
from outage_comms.vocabulary import Scenario

pytestmark = pytest.mark.unit
EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "plans" / "example.yaml"


@pytest.fixture(scope="module")
def example_plan() -> Plan:
    return plan_at(str(EXAMPLE_PLAN))


CALLED_OFF = {
    "en": ("called off", "cancelled", "Cancelled"),
    "pt-BR": ("Cancelamos", "cancelada", "Cancelada"),
}
DONE = {"en": ("is done", "complete"), "pt-BR": ("concluída", "encerrada")}


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_every_format_says_the_window_was_called_off_and_passes_the_guard(
    example_plan: Plan, locale: str
) -> None:
    scenario = Scenario.MAINTENANCE_COMPLETED
    facts = replace(sample_facts(example_plan, scenario), maintenance_cancelled=True)
    context = build_context(example_plan, facts, locale)
    for fmt in example_plan.formats_for(scenario):
        message = render_message(scenario=scenario, fmt=fmt, locale=locale, context=context)
        text = message.text()
        assert any(word in text for word in CALLED_OFF[locale]), (fmt, text)
        customer_words = text.split("FOR AGENTS ONLY")[0].split("SOMENTE PARA ATENDENTES")[0]
        assert not any(word in customer_words for word in DONE[locale]), (fmt, text)
        assert guard_message(example_plan, message) == [], (fmt, text)


def test_a_completed_window_still_says_done(example_plan: Plan) -> None:
    scenario = Scenario.MAINTENANCE_COMPLETED
    context = build_context(example_plan, sample_facts(example_plan, scenario), "en")
    message = render_message(
        scenario=scenario, fmt=example_plan.formats_for(scenario)[0], locale="en", context=context
    )
    assert "done" in message.text() or "complete" in message.text()
    assert "called off" not in message.text()
