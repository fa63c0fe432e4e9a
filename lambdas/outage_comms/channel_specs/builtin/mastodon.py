"""Public posts on the organization's Mastodon account."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec, LocalTarget
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="mastodon",
    markup="mastodon",
    format=MessageFormat.SOCIAL,
    reach="customer",
    label="Mastodon",
    settings="outage_comms.plan:MastodonSettings",
    drill=DrillSpec(
        "secret",
        secret_field="access_token_secret",  # noqa: S106 (a field name)
        target_fields=(("instance_url", "instance_url", False),),
    ),
    adapter="outage_comms.channels.mastodon:build",
    feedback_code=10,
    feedback_default=True,
    secret_fields=("access_token_secret",),
    guard_rule="outage_comms.guard:mastodon_findings",
    local=LocalTarget(
        secret={"access_token": "{token}"},
        drill_secret={"access_token": "{token}", "instance_url": "https://drill.mastodon.example"},
        routes=("instance_url",),
    ),
)
