"""Mobile push to subscribed devices through AWS End User Messaging Push."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="push",
    format=MessageFormat.PUSH,
    reach="customer",
    label="push",
    settings="outage_comms.plan:PushSettings",
    drill=DrillSpec("audience"),
    adapter="outage_comms.channels.push:build",
    cdk="outage_comms_cdk.constructs.channel_wiring:PUSH",
    feedback_code=5,
    region_identity=("push_application_id_parameter", "application_id_parameter"),
    self_service=True,
)
