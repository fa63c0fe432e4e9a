"""Slack incoming webhook with Block Kit: the path to the team's chat that does not depend on AWS.

Payload: a top-level ``text`` (the notification and screen-reader fallback) and ``blocks``: a
``header`` (plain_text, at most 150 characters), a ``section`` with the ``mrkdwn`` body (at most
3000 characters) and a ``context`` line naming the incident and update. The webhook URL is the
secret (Secrets Manager, a plain string or ``{"url": ...}``). Slack answers ``200 ok``.

The words arrive escaped for Slack (``outage_comms.channel_markup``: a note's ``<``, ``>`` and ``&``
are entities, so no ``<!channel>`` or ``<url|text>`` from a note is live). ``mrkdwn`` text is sent
as is; the header is ``plain_text``, which Slack shows as typed, so it gets the characters back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from outage_comms.channel_markup import slack_unescape
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.chat_webhook import ChatWebhookChannel
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext

HEADER_MAX = 150
SECTION_MAX = 3000


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def block_kit_message(
    fields: Mapping[str, str], *, incident_id: str, update_id: str, severity: str
) -> dict[str, Any]:

    title = fields.get("title", "")
    body = fields.get("body", "")
    return {
        "text": _cut(f"{title}\n{body}", 3000),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": _cut(slack_unescape(title), HEADER_MAX),
                    "emoji": False,
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(body, SECTION_MAX)}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Incident `{incident_id}` · update `{update_id}` · {severity}",
                    }
                ],
            },
        ],
    }


class SlackChannel(ChatWebhookChannel):
    channel = Channel.SLACK
    service = "Slack webhook"

    def message(
        self, fields: Mapping[str, str], *, incident_id: str, update_id: str, severity: str
    ) -> dict[str, Any]:
        return block_kit_message(fields, incident_id=incident_id, update_id=update_id, severity=severity)


def build(ctx: ChannelContext) -> SlackChannel:
    """The Slack adapter (``registry`` spec ``slack``): its webhook URL is the plan's secret."""
    s = settings_of(ctx.plan, "slack")
    return SlackChannel(
        secret_name=s.webhook_url_secret, secrets=ctx.secrets, default_locale=ctx.plan.default_locale
    )
