"""The support desk's macro (ticketing webhook): the words agents answer customers with."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec, LocalTarget
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="support",
    format=MessageFormat.SUPPORT,
    reach="customer",
    label="support macro",
    settings="outage_comms.plan:SupportSettings",
    drill=DrillSpec("secret", secret_field="ticketing_webhook_secret"),  # noqa: S106 (a field name)
    adapter="outage_comms.channels.support:build",
    feedback_code=13,
    secret_fields=("ticketing_webhook_secret",),
    local=LocalTarget(
        secret={"url": "{sink}/support/api/v2/tickets", "token": "{token}"},
        drill_secret={"url": "{sink}/support/api/v2/drill-tickets", "token": "{token}"},
    ),
)
