"""The public status page (published by the status site)."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="status_page",
    format=MessageFormat.STATUS_PAGE,
    reach="public",
    label="status_page",
    settings="outage_comms.plan:StatusPageSettings",
    drill=DrillSpec("none"),
    feedback_code=14,
    feedback_default=True,
)
