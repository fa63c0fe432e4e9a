"""Public posts on the organization's Bluesky account."""

from outage_comms.channel_specs.spec import ChannelSpec, DrillSpec, LocalTarget
from outage_comms.vocabulary import MessageFormat

SPEC = ChannelSpec(
    name="bluesky",
    markup="bluesky",
    format=MessageFormat.SOCIAL,
    reach="customer",
    label="Bluesky",
    settings="outage_comms.plan:BlueskySettings",
    drill=DrillSpec(
        "secret",
        secret_field="app_password_secret",  # noqa: S106 (a field name)
        target_fields=(("handle", "handle", True),),
    ),
    adapter="outage_comms.channels.bluesky:build",
    feedback_code=11,
    feedback_default=True,
    secret_fields=("app_password_secret",),
    guard_rule="outage_comms.guard:bluesky_findings",
    local=LocalTarget(
        secret={"app_password": "{token}"},
        drill_secret={"app_password": "{token}", "handle": "drill.status.example"},
        routes=("service_url",),
    ),
)
