"""SMS to subscribers through AWS End User Messaging SMS."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="sms",
    format=MessageFormat.SMS,
    reach="customer",
    label="SMS",
    settings="outage_comms.plan:SmsSettings",
    drill=DrillSpec("audience"),
    adapter="outage_comms.channels.sms:build",
    cdk="outage_comms_cdk.constructs.channel_wiring:SMS",
    feedback_code=3,
    feedback_default=True,
    region_identity=("sms_origination_identity", "origination_identity"),
    self_service=True,
)
