"""Voice calls to the critical audiences through AWS End User Messaging (it cannot carry a link)."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="voice",
    format=MessageFormat.VOICE,
    reach="customer",
    label="voice",
    settings="outage_comms.plan:VoiceSettings",
    drill=DrillSpec("audience"),
    adapter="outage_comms.channels.voice:build",
    cdk="outage_comms_cdk.constructs.channel_wiring:VOICE",
    feedback_code=4,
    carries_links=False,
    region_identity=("voice_origination_identity", "origination_identity"),
)
