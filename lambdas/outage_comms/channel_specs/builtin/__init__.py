"""The built-in channels' specs, one light module each (no adapter, boto3 or pydantic imported).

Their order here is the registry's order: the plan lists enabled channels, and the workflow branches on
them, in this order. A new built-in channel adds its module here; a channel from outside the product
calls ``outage_comms.channel_specs.registry.register`` instead.
"""

from outage_comms.channel_specs.builtin import (
    bluesky,
    chatbot,
    dashboard,
    email,
    in_app,
    mastodon,
    push,
    slack,
    sms,
    sns,
    status_page,
    support,
    teams,
    voice,
    webhook,
)

BUILT_IN = (
    sns.SPEC,
    email.SPEC,
    sms.SPEC,
    voice.SPEC,
    push.SPEC,
    in_app.SPEC,
    chatbot.SPEC,
    slack.SPEC,
    teams.SPEC,
    mastodon.SPEC,
    bluesky.SPEC,
    webhook.SPEC,
    support.SPEC,
    status_page.SPEC,
    dashboard.SPEC,
)
