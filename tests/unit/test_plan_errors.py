"""A broken plan fails with the file, the path inside it and what to do."""

from __future__ import annotations

import copy
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
        "groups[0].name.pt-BR",
        "declare it under 'locales'",
        id="text-for-an-undeclared-locale",
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
        "put the value in Secrets Manager and give its name here: aws secretsmanager create-secret",
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


# ---------------------------------------------------------------------------------------------
# Secret-name fields hold names, never secrets; a pasted secret is refused and never echoed whole
# ---------------------------------------------------------------------------------------------

SLACK_URL = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"
PASTED_SECRETS = {
    "slack-webhook-url": SLACK_URL,
    "slack-bot-token": "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "slack-user-token": "xoxp-1234567890-1234567890-1234567890123-0123456789abcdef0123456789abcdef",
    "slack-app-token": "xapp-1-A0123456789-1234567890123-0123456789abcdef0123456789abcdef",
    "github-classic-token": "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "github-fine-grained-token": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    "aws-access-key-id": "AKIAIOSFODNN7EXAMPLE",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "url-with-credentials": "https://bot:s3cr3t-passw0rd@hooks.partner.example/status",
    "url-without-scheme": "hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx",
    "teams-webhook": "https://contoso.webhook.office.com/webhookb2/0123-4567@89ab/IncomingWebhook/cdef/0123",
    "mastodon-token": "Zx9QeR4tYu8IoP2aSdF6gHjK1lMnB3vC5xZ7qW0eRtY",
    "bluesky-app-password": "abcd-efgh-ijkl-mnop",
    "not-a-secrets-manager-arn": "arn:aws:ssm:eu-west-1:123456789012:parameter/slack",
}
SECRET_FIELDS = {
    "channels.slack.webhook_url_secret": lambda d, v: d["channels"]["slack"].update(webhook_url_secret=v),
    "channels.teams.webhook_url_secret": lambda d, v: d["channels"]["teams"].update(webhook_url_secret=v),
    "channels.mastodon.access_token_secret": lambda d, v: d["channels"]["mastodon"].update(
        access_token_secret=v
    ),
    "channels.bluesky.app_password_secret": lambda d, v: d["channels"]["bluesky"].update(
        app_password_secret=v
    ),
    "channels.webhook.signing_secret": lambda d, v: d["channels"]["webhook"].update(signing_secret=v),
    "channels.support.ticketing_webhook_secret": lambda d, v: d["channels"]["support"].update(
        ticketing_webhook_secret=v
    ),
    "drill.webhook_secrets.slack": lambda d, v: d["drill"]["webhook_secrets"].update(slack=v),
}


@pytest.mark.parametrize("field", sorted(SECRET_FIELDS))
@pytest.mark.parametrize("kind", sorted(PASTED_SECRETS))
def test_a_secret_in_a_secret_name_field_is_refused_with_the_fix_and_not_echoed(
    write_plan, field: str, kind: str
) -> None:
    # Given a plan with a secret pasted where the NAME of a Secrets Manager secret belongs
    value = PASTED_SECRETS[kind]
    path = write_plan(lambda d: SECRET_FIELDS[field](d, value))
    # When it is loaded
    problems = problems_of(path)
    # Then that field is refused with the Secrets Manager fix
    (problem,) = [p for p in problems if f": {field}: " in p]
    assert "put the value in Secrets Manager and give its name here" in problem
    assert "aws secretsmanager create-secret --name outage-comms/" in problem
    # And no problem quotes more than the value's first characters
    for text in problems:
        assert value not in text
        assert value[:12] not in text, text


def test_the_error_shows_the_first_characters_so_people_recognise_what_they_pasted(write_plan) -> None:
    path = write_plan(lambda d: d["channels"]["slack"].update(webhook_url_secret=SLACK_URL))
    (problem,) = problems_of(path)
    assert "'https://hoo…'" in problem
    assert "--name outage-comms/slack-webhook-url" in problem


@pytest.mark.parametrize(
    "name",
    [
        "outage-comms/slack-webhook",
        "prod/status_page+teams=1@acme.example",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:outage-comms/slack-AbCdEf",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:comms/teams-webhook-a1B2c3",
        "OutageCommsSlackWebhook",
        "OutageCommsSlackWebhookProduction2024",
        "prod.acme.example/slack_webhook+eu=1",
    ],
)
def test_secret_names_and_arns_pass(write_plan, name: str) -> None:
    path = write_plan(lambda d: d["channels"]["slack"].update(webhook_url_secret=name))
    assert load_plan(path).channels.slack is not None


def test_pydantic_own_error_text_never_prints_the_secret(example_data) -> None:
    # Anyone validating the model directly (not through load_plan) prints pydantic's text, which
    # quotes every input by default.
    from pydantic import ValidationError

    from outage_comms.plan import Plan

    data = copy.deepcopy(example_data)
    data["channels"]["slack"]["webhook_url_secret"] = SLACK_URL
    data["drill"]["webhook_secrets"]["teams"] = 12345678901234567890
    with pytest.raises(ValidationError) as caught:
        Plan.model_validate(data)
    assert SLACK_URL not in str(caught.value)
    assert "12345678901234567890" not in str(caught.value)


def test_a_wrongly_typed_secret_name_is_not_echoed(write_plan) -> None:
    path = write_plan(lambda d: d["drill"]["webhook_secrets"].update(teams=12345678901234567890))
    (problem,) = [p for p in problems_of(path) if "drill.webhook_secrets.teams" in p]
    assert "12345678901234567890" not in problem and "string" in problem


def test_a_secret_looking_value_in_any_field_is_not_echoed(write_plan) -> None:
    # An enum field, but the value pasted there is a token: quote its start only.
    token = PASTED_SECRETS["slack-bot-token"]
    path = write_plan(lambda d: d["severities"][0]["approval"].update(on_timeout=token))
    (problem,) = problems_of(path)
    assert token not in problem and "use one of" in problem
