"""Templates render safely: sandboxed, strict about variables, escaped in HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from outage_comms.plan import LocaleSettings
from outage_comms.rendering import TemplateProblem, format_time, join_names, render_message
from outage_comms.vocabulary import MessageFormat, Scenario

pytestmark = pytest.mark.unit

LAYOUT = "<html><body>{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}</body></html>"


def make_templates(tmp_path: Path, body: str, subject: str = "Problem with {{ components_text }}") -> Path:
    root = tmp_path / "templates"
    (root / "messages" / "en").mkdir(parents=True)
    (root / "layouts").mkdir()
    (root / "layouts" / "email.html.j2").write_text(LAYOUT)
    (root / "messages" / "en" / "investigating.yaml").write_text(
        f"email:\n  subject: '{subject}'\n  body: |\n    {body}\n"
    )
    return root


def render(root: Path, **context: object):
    return render_message(
        scenario=Scenario.INVESTIGATING,
        fmt=MessageFormat.EMAIL,
        locale="en",
        context={"components_text": "Sync", **context},
        templates_dir=root,
    )


def test_missing_variable_is_an_error_naming_template_and_field(tmp_path: Path) -> None:
    root = make_templates(tmp_path, "{{ impact }} until {{ next_update_at }}")
    with pytest.raises(TemplateProblem) as caught:
        render(root, impact="Notes do not open")
    assert "investigating.yaml: email.body" in str(caught.value)
    assert "next_update_at" in str(caught.value)


def test_sandbox_refuses_reaching_into_python(tmp_path: Path) -> None:
    root = make_templates(tmp_path, "{{ impact.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateProblem, match="cannot render"):
        render(root, impact="x")


def test_html_email_escapes_user_text_but_text_part_keeps_it(tmp_path: Path) -> None:
    root = make_templates(tmp_path, "{{ impact }}")
    message = render(root, impact='<script>alert(1)</script><img src=x onerror="alert(2)">')
    assert message.fields["body"].startswith("<script>")
    assert message.html is not None
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "<img" not in message.html


def test_missing_format_section_names_what_to_add(tmp_path: Path) -> None:
    root = make_templates(tmp_path, "x")
    with pytest.raises(TemplateProblem, match="add a 'sms:' section"):
        render_message(
            scenario=Scenario.INVESTIGATING,
            fmt=MessageFormat.SMS,
            locale="en",
            context={},
            templates_dir=root,
        )


def test_times_read_naturally_in_each_locale() -> None:
    moment = datetime(2026, 11, 27, 14, 35, tzinfo=UTC)
    en = LocaleSettings(code="en", timezone="UTC", timezone_label="UTC")
    pt = LocaleSettings(code="pt-BR", timezone="America/Sao_Paulo", timezone_label="horário de Brasília")
    assert format_time(moment, en) == "27 Nov, 14:35 UTC"
    assert format_time(moment, pt) == "27/11 11:35 (horário de Brasília)"


def test_component_lists_join_in_each_language() -> None:
    assert join_names(["Sync", "Search", "Web app"], "en") == "Sync, Search and Web app"
    assert join_names(["Busca", "Login"], "pt-BR") == "Busca e Login"
    assert join_names(["Busca"], "pt-BR") == "Busca"


# ---------------------------------------------------------------------------------------------
# Issue 11: every rendered message is guarded (auto-send included) and typed words are escaped
# ---------------------------------------------------------------------------------------------

from outage_comms.incident import Incident, IncidentSource  # noqa: E402
from outage_comms.plan import Plan, load_plan  # noqa: E402
from outage_comms.rendering import channel_context  # noqa: E402
from outage_comms.vocabulary import CHANNEL_FORMAT, INTERNAL_FORMATS, Channel  # noqa: E402
from outage_comms.workflow.updates import guard_edited, render_update  # noqa: E402
from tests.unit.conftest import EXAMPLE_PLAN  # noqa: E402

NOW = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
KEY = "AKIAIOSFODNN7EXAMPLE"
FALLBACK = {
    "en": "Some of our services are not working as they should",
    "pt-BR": "Alguns dos nossos serviços não estão funcionando como deveriam",
}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


def with_fallback(plan: Plan, fallback: dict[str, str] | None = FALLBACK) -> Plan:
    return plan.model_copy(update={"guard": plan.guard.model_copy(update={"fallback": fallback})})


def incident(note: str, severity: str = "sev4") -> Incident:
    return Incident(
        id="inc-20261127-1405-abc123",
        internal_title="sync-5xx alarm",
        public_title={"en": "Sync", "pt-BR": "Sincronização"},
        components=("sync",),
        severity=severity,
        status="investigating",
        scenario=Scenario.INVESTIGATING,
        audiences=("all-customers",),
        started_at=NOW,
        updated_at=NOW,
        source=IncidentSource(type="human", reference="cli"),
        public_note={"en": note, "pt-BR": note},
    )


def customer_channels(plan: Plan) -> set[str]:
    return {
        c.value
        for c in plan.channels_for(Scenario.INVESTIGATING)
        if CHANNEL_FORMAT[c] not in INTERNAL_FORMATS
    }


def published(messages: dict) -> str:  # type: ignore[type-arg]
    return "\n".join(
        v for by_locale in messages.values() for m in by_locale.values() for v in m["fields"].values()
    )


def test_an_auto_sent_sev4_note_with_a_key_reaches_no_channel(plan: Plan) -> None:
    assert not plan.severity("sev4").approval.required  # no human sees it before it goes out
    plan = with_fallback(plan, None)
    note = f"Sync fails; key {KEY} and host ip-10-0-3-17"
    messages, blocked = render_update(plan, incident(note), Scenario.INVESTIGATING, NOW)
    assert KEY not in published(messages)
    assert "ip-10-0-3-17" not in "".join(
        published({c: messages[c]}) for c in messages if c in customer_channels(plan)
    )
    assert {b["channel"] for b in blocked} >= customer_channels(plan)  # no fallback in the plan: nothing
    assert not set(messages) & customer_channels(plan)
    assert all(KEY not in str(b) for b in blocked)  # the review page and the team never see the key


def test_the_team_hears_what_was_blocked_and_why(plan: Plan) -> None:
    messages, _ = render_update(
        with_fallback(plan, None), incident(f"key {KEY}"), Scenario.INVESTIGATING, NOW
    )
    for channel in ("slack", "teams", "chatbot"):
        body = messages[channel]["en"]["fields"]["body"]
        assert "Blocked by the guard" in body
        assert "sms (pt-BR), not sent: contains what looks like an AWS access key id" in body
        assert "[removed: an AWS access key id]" in body and KEY not in body


def test_customers_get_the_plans_fallback_instead_of_the_leak(plan: Plan) -> None:
    safe_plan = with_fallback(plan)
    messages, blocked = render_update(
        safe_plan, incident("db at 10.0.3.17 is down"), Scenario.INVESTIGATING, NOW
    )
    assert set(messages) >= customer_channels(plan)
    for channel in customer_channels(plan):
        for message in messages[channel].values():
            assert "10.0.3.17" not in str(message)
    assert FALLBACK["en"] in messages["sms"]["en"]["fields"]["body"]
    assert FALLBACK["pt-BR"] in messages["sms"]["pt-BR"]["fields"]["body"]
    assert all(b.get("fallback") for b in blocked if b["channel"] in customer_channels(plan))
    assert "sent the plan's fallback text instead" in messages["slack"]["en"]["fields"]["body"]


def test_slack_gets_a_notes_markup_as_text(plan: Plan) -> None:
    note = "<!channel> read <https://evil.example|the status page> & @here"
    messages, _ = render_update(plan, incident(note), Scenario.INVESTIGATING, NOW)
    body = messages["slack"]["en"]["fields"]["body"]
    assert "&lt;!channel&gt;" in body and "<!channel>" not in body
    assert "&lt;https://evil.example|the status page&gt;" in body and " &amp; " in body
    assert "@here" not in body and "@\u2060here" in body
    assert "*Customers are told:*" in body  # the template's own markup still works


def test_teams_bluesky_and_mastodon_get_no_link_or_mention_from_a_note(plan: Plan) -> None:
    note = "Read [our page](https://evil.example/phish) and ask @admin@evil.example #outage"
    messages, _ = render_update(plan, incident(note, severity="sev2"), Scenario.INVESTIGATING, NOW)
    assert "](" not in messages["teams"]["en"]["fields"]["body"]
    bluesky = messages["bluesky"]["en"]["fields"]["body"]
    assert "[our page](https://evil.example/phish)" not in bluesky
    mastodon = messages["mastodon"]["en"]["fields"]["body"]
    assert "@admin" not in mastodon and "#outage" not in mastodon and "@\u2060admin" in mastodon


def test_a_link_split_across_two_notes_cannot_form(plan: Plan) -> None:
    split = incident("[Click here").evolve(public_note={"en": "[Click here", "pt-BR": "[Clique aqui"})
    context = {"impact": "[Click here", "eta": "](https://evil.example)", "links": {"status": "https://s"}}
    for channel in (Channel.BLUESKY, Channel.TEAMS, Channel.CHATBOT):
        escaped = channel_context(context, channel)
        assert "](" not in escaped["impact"] + " " + escaped["eta"]
        assert escaped["links"] == context["links"]  # our own links stay whole
    assert split.public_note["en"] == "[Click here"


def test_plain_text_channels_keep_the_words_as_typed_but_cleaned() -> None:
    context = {"impact": "A & B <x> @here [y](https://z)\x1b[31m", "links": {}}
    cleaned = channel_context(context, Channel.SMS)["impact"]
    assert cleaned.startswith("A & B <x> @here [y](https://z)") and "\x1b" not in cleaned


def test_a_reviewer_edit_may_add_no_mention_or_disguised_link(plan: Plan) -> None:
    edit = {"title": "Update", "body": "All fixed <!channel>"}
    assert any(
        "Slack markup" in f for f in guard_edited(plan, Scenario.INVESTIGATING, Channel.SLACK, "en", edit)
    )
    edit = {"title": "Update", "body": "See [page](https://evil.example)"}
    assert any(
        "Markdown link" in f for f in guard_edited(plan, Scenario.INVESTIGATING, Channel.TEAMS, "en", edit)
    )
    edit = {"body": "Thanks @everyone for waiting"}
    assert any(
        "mention" in f for f in guard_edited(plan, Scenario.INVESTIGATING, Channel.MASTODON, "en", edit)
    )
    edit = {"body": "All fixed. https://status.nimbusnotes.example"}
    assert guard_edited(plan, Scenario.INVESTIGATING, Channel.MASTODON, "en", edit) == []
