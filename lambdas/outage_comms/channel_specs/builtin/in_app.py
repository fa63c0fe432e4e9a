"""The in-app banner, published by the status site (no adapter: the publisher writes it)."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="in_app",
    format=MessageFormat.IN_APP,
    reach="public",
    label="in_app",
    settings="outage_comms.plan:InAppSettings",
    drill=DrillSpec("none"),
    feedback_code=6,
)
