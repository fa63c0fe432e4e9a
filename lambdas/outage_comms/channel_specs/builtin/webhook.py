"""A signed JSON POST to the customer's (or partner's) own endpoint."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec, LocalTarget
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="webhook",
    format=MessageFormat.WEBHOOK,
    reach="customer",
    label="webhook",
    settings="outage_comms.plan:OutboundWebhookSettings",
    drill=DrillSpec("secret", secret_field="signing_secret", target_fields=(("url", "url", True),)),  # noqa: S106 (a field name)
    adapter="outage_comms.channels.webhook:build",
    feedback_code=12,
    feedback_default=True,
    secret_fields=("signing_secret",),
    local=LocalTarget(
        secret={"signing_key": "{token}"},
        drill_secret={"signing_key": "{token}", "url": "https://drill-hooks.example/status"},
        routes=("url",),
    ),
)
