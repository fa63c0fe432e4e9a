"""What a drill sets up before the story: the drill's subscribers, its test targets, a warm review page."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from outage_comms.plan import Plan
from outage_comms_cli.drills.embedded_inputs import DRILL_PRINCIPAL
from outage_comms_embedded import EmbeddedAws


def _warm_up(aws: EmbeddedAws) -> None:
    """One request to the review page before the story: its first load (seconds on a busy machine)
    would otherwise eat into the first approval's timeout, which moto counts in wall seconds."""
    from outage_comms_embedded import api_event

    with contextlib.suppress(Exception):
        aws.invoke(
            aws.function_name("workflow_review_page"),
            api_event("GET", "inc-20000101-0000-000000", "warm-up", DRILL_PRINCIPAL),
        )


def _create_drill_secrets(aws: EmbeddedAws, plan: Plan) -> None:
    """The plan's drill targets for the web channels (a test chat channel, a test account ...).

    Each is a secret of its own, aimed at the same local sink as the real one but at a test target
    (its own path or host, as the channel's spec says: :func:`channel_sink.drill_secret`), as an operator
    would store the drill targets next to the real ones, in every engine region.
    """
    from outage_comms_embedded import drill_secret

    enabled = {c.value for c in plan.channels.enabled()}
    for channel, name in plan.drill.webhook_secrets.items():
        if channel.value not in enabled or name in aws.channel_secrets:
            continue
        value = drill_secret(channel.value, aws.sink)
        if value is None:
            continue
        for region in aws.regions:
            secrets = aws.client("secretsmanager", region=region)
            secrets.create_secret(Name=name, SecretString=json.dumps(value))


#: Who the drill's customers are, per subscriber channel (confirmed, as after double opt-in).
DRILL_SUBSCRIBERS: dict[str, list[dict[str, Any]]] = {
    "email": [
        {"address": "ana.customer@example.com", "locale": "en"},
        {"address": "joao.cliente@example.com.br", "locale": "pt-BR"},
    ],
    "sms": [{"address": "+12065550123", "locale": "en"}, {"address": "+5511955550123", "locale": "pt-BR"}],
    "voice": [{"address": "+12065550188", "locale": "en", "audiences": ("enterprise",)}],
    "push": [{"address": "drill-device-token-1", "locale": "en", "platform": "GCM"}],
}


#: The plan's drill audience (test addresses): the only subscribers a drill-mode incident reaches.
DRILL_AUDIENCE_SUBSCRIBERS: dict[str, list[dict[str, Any]]] = {
    "email": [
        {"address": "game-day@example.com", "locale": "en"},
        {"address": "dia-de-simulacao@example.com.br", "locale": "pt-BR"},
    ],
    "sms": [{"address": "+12065550142", "locale": "en"}, {"address": "+5511955550142", "locale": "pt-BR"}],
    "voice": [{"address": "+12065550143", "locale": "en"}],
    "push": [{"address": "drill-test-device-1", "locale": "en", "platform": "GCM"}],
}


def _seed_subscribers(aws: EmbeddedAws, plan: Plan) -> list[str]:
    """The built-in subscribers, covering every locale of the plan on each enabled subscriber channel."""
    from outage_comms_embedded import drill_subscribers

    enabled = {c.value for c in plan.channels.enabled()}
    customers = drill_subscribers(plan.locale_codes, DRILL_SUBSCRIBERS)
    audience = drill_subscribers(plan.locale_codes, DRILL_AUDIENCE_SUBSCRIBERS, drill=True)
    seeded = []
    for channel, people in customers.items():
        if channel not in enabled:
            continue
        drill = audience.get(channel, [])
        for person in people + [{**p, "audiences": (plan.drill.audience,)} for p in drill]:
            aws.subscribe(
                channel,
                person["address"],
                person["locale"],
                audiences=tuple(person.get("audiences", ())),
                platform=str(person.get("platform", "")),
            )
        seeded.append(f"{channel} x{len(people)} (+{len(drill)} of the drill audience)")
    return seeded
