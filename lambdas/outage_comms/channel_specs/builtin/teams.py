"""The team's Microsoft Teams channel, through a workflow webhook whose URL is a secret."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec, LocalTarget
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="teams",
    markup="teams",
    format=MessageFormat.CHAT,
    reach="team",
    label="team Microsoft Teams",
    settings="outage_comms.plan:WebhookChatSettings",
    drill=DrillSpec("secret", secret_field="webhook_url_secret"),  # noqa: S106 (a field name)
    adapter="outage_comms.channels.teams:build",
    feedback_code=9,
    secret_fields=("webhook_url_secret",),
    local=LocalTarget(
        secret={"url": "{sink}/teams/webhookb2/embedded"},
        drill_secret={"url": "{sink}/teams/webhookb2/drill"},
    ),
)
