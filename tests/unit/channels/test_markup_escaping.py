"""Per-channel escaping of typed words (issue 11, finding 9): each platform's markup, made inert."""

from __future__ import annotations

import pytest

from outage_comms.channel_markup import WORD_JOINER, active_markup, neutralise
from outage_comms.channels.bluesky import post_text_and_facets
from outage_comms.channels.slack import block_kit_message
from outage_comms.channels.teams import adaptive_card_message
from outage_comms.leaks import scan_text
from outage_comms.vocabulary import Channel

pytestmark = pytest.mark.unit
WJ = WORD_JOINER
IDS = {"incident_id": "inc-1", "update_id": "001", "severity": "sev2"}


def test_slack_escapes_its_three_control_characters_and_nothing_else() -> None:
    note = "<!channel> <@U024BE7LH> <https://evil.example|status> R&D 'quoted' \"x\""
    assert neutralise(Channel.SLACK, note).replace(WJ, "") == (
        "&lt;!channel&gt; &lt;@U024BE7LH&gt; &lt;https://evil.example|status&gt; R&amp;D 'quoted' \"x\""
    )


def test_slack_breaks_a_bare_broadcast_but_not_an_email_or_a_url() -> None:
    text = neutralise(Channel.SLACK, "@here write to help@example.com or https://m.example/@me")
    assert text == f"@{WJ}here write to help@example.com or https://m.example/@me"


def test_the_slack_header_shows_the_words_as_typed_the_section_keeps_them_escaped() -> None:
    title = neutralise(Channel.SLACK, "R&D <b>")
    message = block_kit_message({"title": title, "body": title}, **IDS)
    assert message["blocks"][0]["text"]["text"] == "R&D <b>"  # plain_text: not parsed
    assert message["blocks"][1]["text"]["text"] == "R&amp;D &lt;b&gt;"  # mrkdwn: parsed


def test_teams_gets_no_markdown_link_image_reference_or_card_function() -> None:
    for note in (
        "[page](https://evil.example)",
        "![x](https://evil.example/p.png)",
        "[a][1]\n[1]: https://e",
    ):
        card = adaptive_card_message({"title": "t", "body": neutralise(Channel.TEAMS, note)}, **IDS)
        text = card["attachments"][0]["content"]["body"][1]["text"]
        assert "](" not in text and "][" not in text and "]:" not in text
    assert neutralise(Channel.TEAMS, "{{DATE(2017-02-14T06:08:39Z, SHORT)}}").startswith(f"{{{WJ}{{DATE")


def test_mastodon_mentions_and_hashtags_are_broken_where_the_server_would_link_them() -> None:
    text = neutralise(
        Channel.MASTODON, "ask @admin@evil.example #outage, mail a@b.example, see https://x.example/#top"
    )
    assert text == f"ask @{WJ}admin@evil.example #{WJ}outage, mail a@b.example, see https://x.example/#top"
    assert active_markup(Channel.MASTODON, text) == []
    assert active_markup(Channel.MASTODON, "ask @admin") == ["a mention '@a'"]


def test_a_bluesky_note_cannot_make_a_link_whose_words_differ_from_its_target() -> None:
    body = "Read " + neutralise(Channel.BLUESKY, "[our page](https://evil.example/phish)") + " now"
    text, facets = post_text_and_facets(body)
    for facet in facets:
        shown = text.encode()[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        assert shown == facet["features"][0]["uri"]  # only the bare address, linked to itself
    # while the template's own link markup (the feedback words) still becomes a facet
    _, ours = post_text_and_facets("Helpful? [Yes](https://status.example/f/t/y)")
    assert ours[0]["features"][0]["uri"] == "https://status.example/f/t/y"


def test_chatbot_gets_neither_slack_nor_markdown_markup() -> None:
    text = neutralise(Channel.CHATBOT, "<!here> [x](https://e) @channel {{DATE(x)}}")
    assert active_markup(Channel.CHATBOT, text) == []
    assert "<!" not in text and "](" not in text


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL, Channel.STATUS_PAGE, Channel.WEBHOOK])
def test_plain_text_channels_are_left_as_typed(channel: Channel) -> None:
    assert (
        neutralise(channel, "<!channel> [x](https://e) @here & #tag")
        == "<!channel> [x](https://e) @here & #tag"
    )


def test_escaping_cannot_hide_an_identifier_from_the_guard() -> None:
    escaped = neutralise(Channel.SLACK, "@ip-10-0-3-17 & <10.0.3.17>")
    assert "10.0.3.17" in scan_text(escaped) and "@ip-10-0-3-17" in scan_text(escaped)


def test_every_markup_a_spec_may_name_has_a_neutraliser_and_a_new_channel_picks_one() -> None:
    from typing import get_args

    from outage_comms.channel_markup import MARKUP_CHANNELS, NEUTRALISERS, active_markup, neutralise
    from outage_comms.channel_specs import registry
    from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec, Markup
    from outage_comms.vocabulary import Channel, MessageFormat

    assert set(NEUTRALISERS) == set(get_args(Markup))
    registry.register(
        ChannelSpec(
            name="forum",
            format=MessageFormat.CHAT,
            reach="team",
            label="forum",
            settings="outage_comms.plan:ChatbotSettings",
            drill=DrillSpec("none"),
            markup="chatbot",
        )
    )
    try:
        forum = Channel("forum")
        assert forum in MARKUP_CHANNELS
        typed = "ping @everyone [here](https://evil.example) {{DATE(x)}}"
        assert neutralise(forum, typed) == neutralise(Channel.CHATBOT, typed) != typed
        assert active_markup(forum, typed) == active_markup(Channel.CHATBOT, typed) != []
    finally:
        registry.unregister("forum")
    assert "forum" not in Channel
