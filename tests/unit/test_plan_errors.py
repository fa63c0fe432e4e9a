"""A broken plan fails with the file, the path inside it and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from outage_comms.plan import PlanError, load_plan

pytestmark = pytest.mark.unit


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    return [str(p) for p in caught.value.problems]


def test_example_plan_is_valid() -> None:
    plan = load_plan(Path(__file__).resolve().parents[2] / "plans" / "example.yaml")
    assert len(plan.components) >= 6
    assert len({c.group for c in plan.components}) >= 2
    assert len(plan.severities) == 4
    assert plan.locale_codes == ["en", "pt-BR"]


BROKEN_PLANS = [
    pytest.param(
        lambda d: d["severities"][2].update(cadence_minute=30),
        "severities[2].cadence_minute",
        "did you mean 'cadence_minutes'",
        id="unknown-field-with-suggestion",
    ),
    pytest.param(
        lambda d: d["severities"][2].update(cadence_minutes="often"),
        "severities[2].cadence_minutes",
        "correct the value",
        id="wrong-type",
    ),
    pytest.param(
        lambda d: d["components"][0].update(group="apss"),
        "components[0].group",
        "did you mean 'apps'",
        id="unknown-group-reference",
    ),
    pytest.param(
        lambda d: d["components"][1].update(audiences=["everyone"]),
        "components[1].audiences[0]",
        "use one of",
        id="unknown-audience-reference",
    ),
    pytest.param(
        lambda d: d["components"][0]["name"].pop("pt-BR"),
        "components[0].name.pt-BR",
        "add the 'pt-BR' wording",
        id="missing-translation",
    ),
    pytest.param(
        lambda d: d.update(locales=[loc for loc in d["locales"] if loc["code"] != "pt-BR"]),
        "locales",
        "add 'pt-BR'",
        id="missing-locale",
    ),
    pytest.param(
        lambda d: d["components"].append(dict(d["components"][0])),
        "components[7]",
        "give each entry of 'components' its own id",
        id="duplicate-component-id",
    ),
    pytest.param(
        lambda d: d["roles"].pop("support_manager"),
        "roles.support_manager",
        "add 'support_manager'",
        id="missing-role",
    ),
    pytest.param(
        lambda d: d["severities"][0]["approval"].update(on_timeout="panic"),
        "severities[0].approval.on_timeout",
        "use one of 'escalate', 'send_holding_statement' or 'hold'",
        id="invalid-timeout-action",
    ),
    pytest.param(
        lambda d: d["channels"]["slack"].update(
            webhook_url_secret="https://hooks.slack.com/services/T0/B0/XYZ"
        ),
        "channels.slack.webhook_url_secret",
        "write it to match",
        id="secret-value-instead-of-secret-name",
    ),
    pytest.param(
        lambda d: d["scenarios"].pop("holding_update"),
        "scenarios.holding_update",
        "add it",
        id="missing-scenario",
    ),
    pytest.param(
        lambda d: d["roles"]["communications_manager"].update(approver_principals=["marina"]),
        "roles.communications_manager.approver_principals",
        "correct the value",
        id="approver-not-an-iam-arn",
    ),
    pytest.param(
        lambda d: d["severities"][1].update(incident_manager_impact=[1]),
        "severities",
        "under one severity only",
        id="incident-manager-impact-mapped-twice",
    ),
    pytest.param(
        lambda d: d["drill"].update(audience="all-customers"),
        "drill.audience",
        "add an audience with 'kind: drill'",
        id="drill-audience-reaches-real-customers",
    ),
    pytest.param(
        lambda d: d["drill"]["marker"].pop("pt-BR"),
        "drill.marker.pt-BR",
        "add the 'pt-BR' wording",
        id="drill-marker-missing-translation",
    ),
    pytest.param(
        lambda d: d["drill"]["webhook_secrets"].update(email="outage-comms/drill/email"),
        "drill.webhook_secrets.email",
        "take a drill webhook secret",
        id="drill-secret-for-a-non-web-channel",
    ),
    pytest.param(
        lambda d: d["feedback"].update(channels=["email", "voice"]),
        "feedback.channels[1]",
        "remove 'voice'",
        id="feedback-link-in-a-voice-call",
    ),
    pytest.param(
        lambda d: d["severities"][0].update(first_message_minutes=0),
        "severities[0].first_message_minutes",
        "correct the value",
        id="first-message-target-zero",
    ),
]


@pytest.mark.parametrize(("change", "path", "fix"), BROKEN_PLANS)
def test_broken_plan_names_path_and_fix(write_plan, change, path: str, fix: str) -> None:
    # Given a plan with one mistake, When it is loaded
    problems = problems_of(write_plan(change))
    # Then one problem names the file, the path inside it and the fix
    matching = [p for p in problems if f": {path}: " in p]
    assert matching, f"no problem at {path}: {problems}"
    assert any(fix in p for p in matching), matching
    assert all("plan.yaml" in p for p in matching)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("version: 1\norganization:\n  name: [unclosed\n")
    problems = problems_of(path)
    assert len(problems) == 1
    assert "invalid YAML" in problems[0] and "line " in problems[0]


def test_missing_file_says_what_to_pass(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "file not found" in problem and "Fix:" in problem


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("- just\n- a list\n")
    (problem,) = problems_of(path)
    assert "mapping" in problem
