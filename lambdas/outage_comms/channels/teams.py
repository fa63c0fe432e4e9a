"""Microsoft Teams incoming webhook (Workflows) with an Adaptive Card.

Envelope: ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard 1.4>}]}``. The card holds the
title (bold), the body (Teams markdown: ``*x*`` from the chat template becomes ``**x**``) and a
FactSet with the incident, update and severity. Teams answers ``200`` or ``202 Accepted``.

The words arrive made inert for Teams (``outage_comms.channel_markup``): a note can form no Markdown
link (``[text](url)``), image or card function (``{{DATE(...)}}``), and the card carries no
``msteams.entities``, so ``<at>`` is plain text. HTML is not rendered in Adaptive Cards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from outage_comms.channels.catalog import settings_of
from outage_comms.channels.chat_webhook import ChatWebhookChannel
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_SLACK_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def teams_markdown(text: str) -> str:
    return _SLACK_BOLD.sub(r"**\1**", text)


def adaptive_card_message(
    fields: Mapping[str, str], *, incident_id: str, update_id: str, severity: str
) -> dict[str, Any]:

    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": fields.get("title", ""),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": teams_markdown(fields.get("body", "")), "wrap": True},
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Incident", "value": incident_id},
                    {"title": "Update", "value": update_id},
                    {"title": "Severity", "value": severity},
                ],
            },
        ],
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


class TeamsChannel(ChatWebhookChannel):
    channel = Channel.TEAMS
    service = "Teams webhook"

    def message(
        self, fields: Mapping[str, str], *, incident_id: str, update_id: str, severity: str
    ) -> dict[str, Any]:
        return adaptive_card_message(fields, incident_id=incident_id, update_id=update_id, severity=severity)


def build(ctx: ChannelContext) -> TeamsChannel:
    """The Teams adapter (``registry`` spec ``teams``): its webhook URL is the plan's secret."""
    s = settings_of(ctx.plan, "teams")
    return TeamsChannel(
        secret_name=s.webhook_url_secret, secrets=ctx.secrets, default_locale=ctx.plan.default_locale
    )
