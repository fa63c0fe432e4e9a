"""Email to subscribers through Amazon SES (bulk through the batch state machine)."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="email",
    format=MessageFormat.EMAIL,
    reach="customer",
    label="email",
    settings="outage_comms.plan:EmailSettings",
    drill=DrillSpec("audience"),
    adapter="outage_comms.channels.email:build",
    cdk="outage_comms_cdk.constructs.channel_wiring:EMAIL",
    feedback_code=2,
    feedback_default=True,
    region_identity=("email_from_address", "from_address"),
    self_service=True,
)
