"""The team's chat through Amazon Q Developer in chat applications (an SNS topic the workflow owns)."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="chatbot",
    markup="chatbot",
    format=MessageFormat.CHAT,
    reach="team",
    label="team chat (Amazon Q)",
    settings="outage_comms.plan:ChatbotSettings",
    drill=DrillSpec("internal"),
    feedback_code=7,
)
