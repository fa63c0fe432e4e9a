"""The team's Slack channel, through an incoming webhook whose URL is a secret."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec, LocalTarget
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="slack",
    markup="slack",
    format=MessageFormat.CHAT,
    reach="team",
    label="team Slack",
    settings="outage_comms.plan:WebhookChatSettings",
    drill=DrillSpec("secret", secret_field="webhook_url_secret"),  # noqa: S106 (a field name)
    adapter="outage_comms.channels.slack:build",
    feedback_code=8,
    secret_fields=("webhook_url_secret",),
    local=LocalTarget(
        secret={"url": "{sink}/slack/services/T000/B000/embedded"},
        drill_secret={"url": "{sink}/slack/services/TDRILL/BDRILL/drill"},
    ),
)
