"""The public CloudWatch dashboard: the status page's words, no template of its own."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="dashboard",
    format=MessageFormat.STATUS_PAGE,
    reach="public",
    label="dashboard",
    settings="outage_comms.plan:DashboardSettings",
    drill=DrillSpec("none"),
    feedback_code=15,
)
