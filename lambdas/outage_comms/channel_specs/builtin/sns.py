"""SNS subscribers: one topic that customers (or their systems) subscribe to."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="sns",
    format=MessageFormat.SNS,
    reach="customer",
    label="SNS subscribers",
    settings="outage_comms.plan:SnsSettings",
    drill=DrillSpec("topic"),
    feedback_code=1,
    feedback_default=True,
)
