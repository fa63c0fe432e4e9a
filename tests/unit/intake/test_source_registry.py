"""The intake source registry: built-in sources in dispatch order, one spec each, names that cannot clash,
and no source module loaded until a spec is asked for (the intake handler's cold start, issue 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from outage_comms.intake import sources
from outage_comms.intake.normalise import Rejection, to_signal
from outage_comms.plan import Plan

pytestmark = pytest.mark.unit

LAMBDAS = Path(__file__).resolve().parents[3] / "lambdas"


def test_the_built_in_sources_in_dispatch_order() -> None:
    assert sources.built_in() == ("alarm", "health", "incident_manager", "opsitem", "human")
    specs = sources.specs()[:5]
    assert tuple(s.name for s in specs) == sources.built_in()
    assert [s.event_source for s in specs] == [
        "aws.cloudwatch",
        "aws.health",
        "aws.ssm-incidents",
        "aws.ssm",
        "outage-comms.human",
    ]
    # the runbook's input is tried before a person's body: both may carry other keys
    assert [s.direct_key for s in specs if s.direct_key] == ["IncidentRecordArn", "action"]
    assert {s.name for s in specs if s.expected_in_maintenance} == {"alarm", "health", "incident_manager"}
    assert [s.name for s in specs if s.rule and s.rule.forwarded] == ["alarm", "health"]
    assert [s.name for s in specs if not s.identifies_incident] == ["human"]


def test_every_rule_pattern_names_its_own_event_source(plan: Plan) -> None:
    for spec in sources.specs():
        if spec.rule is not None:
            pattern = spec.rule.pattern(plan)
            assert pattern is not None and pattern["source"] == [spec.event_source], spec.name


def test_a_source_that_clashes_with_a_registered_one_is_refused() -> None:
    alarm = sources.spec("alarm")
    for clash in (
        {"name": "alarm", "event_source": "example.other"},
        {"name": "other", "event_source": "aws.cloudwatch"},
    ):
        spec = sources.SourceSpec(**{**alarm.__dict__, "rule": None, **clash})
        with pytest.raises(ValueError, match="clashes"):
            sources.register(spec)
    with pytest.raises(ValueError, match="built-in"):
        sources.unregister("alarm")
    assert sources.spec("alarm") is alarm


@pytest.mark.parametrize("name", ["Alarm", "9lives", "with-dash", ""])
def test_a_source_name_is_one_lowercase_word(name: str) -> None:
    with pytest.raises(ValueError, match="source name"):
        sources.SourceSpec(name=name, label="x", event_source="example.x", normalise=lambda r, p, t: r)


def test_an_unknown_source_is_refused_naming_the_sources_intake_accepts(plan: Plan) -> None:
    rejected = to_signal({"source": "example.nobody", "detail-type": "X", "detail": {}}, plan)
    assert isinstance(rejected, Rejection) and rejected.code == "unknown_source"
    assert "aws.cloudwatch, aws.health, aws.ssm, aws.ssm-incidents, outage-comms.human" in rejected.reason


def test_importing_the_dispatcher_loads_no_source_module() -> None:
    code = (
        "import sys, outage_comms.intake.normalise, outage_comms.intake.coalesce;"
        "print(sorted(m for m in sys.modules if m.startswith('outage_comms.intake.sources.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=LAMBDAS, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['outage_comms.intake.sources.registry', 'outage_comms.intake.sources.spec']"
