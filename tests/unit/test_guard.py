"""The checks every customer-facing message must pass."""

from __future__ import annotations

import pytest

from outage_comms.guard import find_identifiers, find_jargon, sms_size

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("é à ü Ñ", "GSM-7", 7, 1),  # in the default alphabet
        ("ã" * 70, "UCS-2", 70, 1),
        ("ã" * 71, "UCS-2", 71, 2),
        ("Sincronização" + "a" * 121, "UCS-2", 134, 2),
        ("🙂" * 35, "UCS-2", 70, 1),  # an emoji is two UTF-16 units
    ],
)
def test_sms_size_counts_segments(text: str, encoding: str, units: int, segments: int) -> None:
    size = sms_size(text)
    assert (size.encoding, size.units, size.segments) == (encoding, units, segments)


def test_sms_size_names_the_characters_that_forced_ucs2() -> None:
    assert sms_size("Não abre — tente depois").offending == "ã—"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("see arn:aws:rds:us-east-1:123456789012:db:prod-notes", "identifier.arn"),
        ("account 123456789012 is affected", "identifier.account_id"),
        ("server 10.0.3.17 is down", "identifier.ip_address"),
        ("reach 2001:db8::1 now", "identifier.ip_address"),
        ("db1.corp.nimbusnotes.example is slow", "identifier.internal_host"),
        ("ip-10-0-0-1.ec2.internal failed", "identifier.internal_host"),
    ],
)
def test_internal_identifiers_are_found(text: str, code: str) -> None:
    codes = {f.code for f in find_identifiers(text, ["corp.nimbusnotes.example"])}
    assert code in codes


@pytest.mark.parametrize(
    "text",
    [
        "Next update at 14:35 UTC on 27 Nov.",
        "Próxima atualização até 27/11 às 11h35 (horário de Brasília).",
        "Visit https://status.nimbusnotes.example/incidents/inc-1 for details.",
        "Call +1 415 555 0100 or read version 2.4.1 notes.",
    ],
)
def test_ordinary_customer_text_is_not_flagged(text: str) -> None:
    assert find_identifiers(text, ["corp.nimbusnotes.example"]) == []


def test_jargon_matches_words_not_fragments() -> None:
    terms = ["AZ", "p99", "throttl*", "latency"]
    assert [f.message for f in find_jargon("One AZ is down", terms)] == ["uses jargon 'AZ'"]
    assert find_jargon("AMAZING news from Arizona", terms) == []
    assert find_jargon("requests were throttled", terms)[0].message == "uses jargon 'throttled'"
    assert find_jargon("high Latency seen", terms)[0].message == "uses jargon 'Latency'"
    assert find_jargon("Your notes are safe.", terms) == []


# ---------------------------------------------------------------------------------------------
# Issue 11, finding 3: credentials and AWS internals
# ---------------------------------------------------------------------------------------------

from outage_comms.guard import find_leaks, guard_message  # noqa: E402
from outage_comms.leaks import find_credentials, redact_credentials  # noqa: E402
from outage_comms.plan import Plan, load_plan  # noqa: E402
from outage_comms.rendering import RenderedMessage  # noqa: E402
from outage_comms.vocabulary import Channel, MessageFormat, Scenario  # noqa: E402
from tests.security.guard_corpus import LEAKS, ORDINARY  # noqa: E402
from tests.unit.conftest import EXAMPLE_PLAN  # noqa: E402


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


@pytest.mark.parametrize(("text", "secret", "kind"), LEAKS, ids=[s for _, s, _ in LEAKS])
def test_every_leak_of_the_corpus_is_found(plan: Plan, text: str, secret: str, kind: str) -> None:
    findings = find_leaks(plan, text)
    assert findings, f"the guard let {secret!r} through"
    assert any(f.code.startswith(kind) for f in findings), [f.code for f in findings]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_customer_words_pass_in_english_and_portuguese(plan: Plan, text: str) -> None:
    assert find_leaks(plan, text) == []


@pytest.mark.parametrize(("text", "secret", "kind"), [c for c in LEAKS if c[2] == "credential"])
def test_a_finding_never_repeats_the_credential(text: str, secret: str, kind: str) -> None:
    # The reasons go to the team's chat and the review page: they name the kind, not the key.
    for finding in find_credentials(text):
        assert secret not in finding.message
        assert secret[5:] not in finding.message


@pytest.mark.parametrize(("text", "secret", "kind"), [c for c in LEAKS if c[2] == "credential"])
def test_redacting_removes_every_credential(text: str, secret: str, kind: str) -> None:
    redacted = redact_credentials(text)
    assert find_credentials(redacted) == []
    assert "[removed" in redacted


def _message(fmt: MessageFormat, body: str) -> RenderedMessage:
    fields = {"title": "Update", "body": body} if fmt is MessageFormat.CHAT else {"body": body}
    if fmt is MessageFormat.SNS:
        fields = {"subject": "Update", "body": body}
    return RenderedMessage(scenario=Scenario.INVESTIGATING, format=fmt, locale="en", fields=fields)


def test_the_team_chat_may_name_a_host_but_never_carry_a_key(plan: Plan) -> None:
    chat_host = _message(MessageFormat.CHAT, "sync-api is down on ip-10-0-3-17 (i-0abcd1234ef567890)")
    assert guard_message(plan, chat_host, Channel.SLACK) == []
    chat_key = _message(MessageFormat.CHAT, "rotate AKIAIOSFODNN7EXAMPLE now")
    assert [f.code for f in guard_message(plan, chat_key, Channel.SLACK)] == ["credential.aws_access_key_id"]
    customers = _message(MessageFormat.SNS, "sync-api is down on ip-10-0-3-17")
    assert "identifier.internal_host" in {f.code for f in guard_message(plan, customers, Channel.SNS)}


def test_the_plans_own_links_and_public_api_urls_pass(plan: Plan) -> None:
    text = (
        f"Details: {plan.organization.status_page_url}/incidents/inc-1 "
        "Vote: https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/f/KrIAAw9IrT-iwQLQ9cIRguSbQ3XR/y"
    )
    assert find_leaks(plan, text) == []
    assert find_leaks(plan, "open https://d111111abcdef8.cloudfront.net/status") == []


def test_an_aws_host_the_plan_publishes_is_not_flagged(plan: Plan) -> None:
    url = "https://nimbus-status.s3-website-us-east-1.amazonaws.com/"
    assert find_leaks(plan, f"See {url}")  # an AWS endpoint ...
    published = plan.model_copy(update={"guard": plan.guard.model_copy(update={"public_urls": [url]})})
    assert find_leaks(published, f"See {url}") == []  # ... unless the plan says customers use it


def test_a_plan_fallback_with_an_identifier_is_refused(write_plan) -> None:  # type: ignore[no-untyped-def]
    from outage_comms.plan import PlanError

    def change(data: dict) -> None:  # type: ignore[type-arg]
        data["guard"]["fallback"] = {"en": "Server 10.0.3.17 is down", "pt-BR": "O servidor caiu"}

    with pytest.raises(PlanError, match=r"fallback\.en contains an IP address"):
        load_plan(write_plan(change))


def test_a_plan_fallback_must_cover_every_locale(write_plan) -> None:  # type: ignore[no-untyped-def]
    from outage_comms.plan import PlanError

    def change(data: dict) -> None:  # type: ignore[type-arg]
        data["guard"]["fallback"] = {"en": "Some of our services are not working as they should"}

    with pytest.raises(PlanError, match=r"guard\.fallback\.pt-BR"):
        load_plan(write_plan(change))


# The lint runs the same guard on the templates, every branch, and on the plan's fallback text.


def _templates_with(tmp_path, scenario: str, fmt: str, field: str, value: str):  # type: ignore[no-untyped-def]
    import shutil

    import yaml

    target = tmp_path / "templates"
    shutil.copytree(EXAMPLE_PLAN.parent.parent / "templates", target)
    path = target / "messages" / "en" / f"{scenario}.yaml"
    data = yaml.safe_load(path.read_text())
    data[fmt][field] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return target


def test_lint_finds_a_key_in_a_template_branch_the_samples_never_take(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from outage_comms.plan_lint import lint_plan

    body = (
        "{{ impact }}.{% if maintenance.cancelled %} Ask ops (AKIAIOSFODNN7EXAMPLE).{% endif %} "
        "{{ links.incident }}"
    )
    templates = _templates_with(tmp_path, "investigating", "sms", "body", body)
    findings = lint_plan(EXAMPLE_PLAN, templates).findings
    assert any(
        f.code == "credential.aws_access_key_id" and "en/investigating.yaml: sms.body" in f.where
        for f in findings
    )


def test_lint_checks_the_fallback_in_every_template(write_plan) -> None:  # type: ignore[no-untyped-def]
    from outage_comms.plan_lint import lint_plan

    def change(data: dict) -> None:  # type: ignore[type-arg]
        data["guard"]["fallback"] = {"en": "Everything is slow " * 10, "pt-BR": "Tudo está lento"}

    findings = lint_plan(write_plan(change)).findings
    assert any(f.code == "guard.fallback" and "push" in f.where for f in findings)
