"""The local server's pages (outage_comms_cli.local.pages): Jinja2 templates, autoescaped.

Whatever an incident or a delivered message carries is shown as text, never as markup: an incident's
components, an approver's name, a message's subject and body, an email inside its sandboxed frame.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from status_site_fixtures import major_outage

from outage_comms_cli.local import pages
from outage_comms_cli.local.inbox import InboxMessage

pytestmark = pytest.mark.unit

HOSTILE = "<script>alert('x')</script> & \"q\""
BASE = "http://127.0.0.1:8000"


class _Page(HTMLParser):
    """Tags, attributes and text of a page, as a browser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def test_an_incidents_words_are_text_on_the_index_never_markup():
    # Given an open incident whose component name, and a notice and identity, carry markup
    incident = major_outage().evolve(components=["sync", HOSTILE])
    html = pages.index_page(
        incidents=[incident],
        components=[("sync", HOSTILE)],
        severities=[("sev1", "Critical")],
        api_url=BASE + "/api",
        identity=HOSTILE,
        review_links={incident.id: ["/r/1", "/r/2", "/r/3", "/r/4"]},
        compose_links={incident.id: "/compose/x?a=1&b=2"},
        notice=HOSTILE,
    )
    page = _Page(html)
    # Then no script element exists, the words read as written, and the links keep their query strings
    assert page.all("script") == []
    assert sum(HOSTILE in t for t in page.text) >= 3  # notice, identity, component (option and table cell)
    hrefs = [a["href"] for a in page.all("a")]
    assert "/compose/x?a=1&b=2" in hrefs
    assert hrefs.count("/r/1") == 0 and {"/r/2", "/r/3", "/r/4"} <= set(hrefs)  # the three latest reviews
    assert "review page (3)" in page.text


def test_the_inbox_shows_each_message_as_text_and_the_email_in_a_sandboxed_frame():
    email = (
        "<html><head></head><body><p>Approve</p><a href='"
        + BASE
        + "/incidents/x/review/y'>r</a></body></html>"
    )
    messages = [
        InboxMessage(2, "10:01", "sms", "+1", "", "sms " + HOSTILE),
        InboxMessage(1, "10:00", "email", "a@b.c", HOSTILE, "text", html=email, facts={"k": HOSTILE}),
    ]
    page = _Page(pages.inbox_page(messages, channels=["email", "sms"], selected="sms", base_url=BASE))
    assert page.all("script") == []
    frame = page.all("iframe")[0]
    assert frame["sandbox"] == "allow-popups allow-popups-to-escape-sandbox"
    # the email as its own document, links opening outside the frame
    assert frame["srcdoc"] == email.replace("<head>", "<head><base target='_blank'>")
    assert "sms " + HOSTILE in page.text and HOSTILE in page.text  # the SMS body and the fact's value
    assert [a for a in page.all("a") if a.get("aria-current") == "page"] == [
        {"href": "/inbox/?channel=sms", "aria-current": "page"}
    ]
    assert {"href": "/incidents/x/review/y"} in page.all("a")  # a local link, by path


def test_an_empty_inbox_and_a_plain_message_page():
    assert (
        "Nothing delivered yet."
        in _Page(pages.inbox_page([], channels=[], selected=None, base_url=BASE)).text
    )
    page = _Page(pages.message_page("Not found", HOSTILE, "/back?x=1&y=2"))
    assert page.all("script") == [] and HOSTILE in page.text
    assert {"href": "/back?x=1&y=2"} in page.all("a")


def test_a_registered_channel_is_named_by_its_label_and_laid_out_by_its_format():
    from outage_comms.channels import registry
    from outage_comms.channels.spec import ChannelSpec, DrillSpec
    from outage_comms.vocabulary import MessageFormat

    # Given a chat channel registered by this test only
    registry.register(
        ChannelSpec(
            name="discord_local_page",
            format=MessageFormat.CHAT,
            reach="team",
            label="team Discord",
            settings="outage_comms.plan:WebhookChatSettings",
            drill=DrillSpec("internal"),
        )
    )
    try:
        message = InboxMessage(
            1, "10:00", "discord_local_page", "#incidents", "Incident", "line one\nline two"
        )
        html = pages.inbox_page([message], channels=["discord_local_page"], selected=None, base_url=BASE)
    finally:
        registry.unregister("discord_local_page")
    page = _Page(html)
    # Then the inbox names it by its label and shows it as a chat post (its text kept as written)
    assert "Team Discord" in page.text
    assert ("pre", {}) in page.tags and "line one\nline two" in page.text
