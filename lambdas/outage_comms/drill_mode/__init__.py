"""Drill mode: a game-day incident that only the plan's drill audience ever hears.

A drill incident (``Incident.drill``) runs through the very same workflow as a real one. What changes
is decided here, once per update, and carried as data (:class:`Reach`, stored on the update record
by the render step):

* ``audience``: ``"public"`` or ``"drill"``.
* ``marker`` / ``spoken_marker`` (:class:`Marker`): per locale, the words every message starts with
  (``plan.drill.marker``), in the subject or title where the format has one, in the body otherwise
  (SMS, social); a voice call *says* it ("This is a drill."). None for a real incident. Marking is
  idempotent, so delivery marks again with the record's marker: a reviewer who removed it loses nothing.
* ``recipients``: the audiences every channel delivers to: the incident's, or ``plan.drill.audience``.
* ``targets``: per channel, the kind of target its adapter is built for: ``"public"`` (the real one)
  or a drill's (:func:`drill_kind`): ``"audience"`` (subscriber channels send only to confirmed
  subscribers of the drill audience, whatever component they chose), ``"topic"`` (the separate drill
  SNS topic, never the customers'), ``"secret"`` (web channels post with the secret named in
  ``plan.drill.webhook_secrets``: no drill secret, no post), ``"internal"`` (the team's own chat
  topic hears the drill, marked), ``"none"`` (never sent). :func:`drill_adapters` builds them.
* ``failures``: channels that fail with ``ChannelPermanentError`` on purpose (``Incident.drill_failures``)
  so the fan-out's Catch path is exercised. Only drills.
* ``site_url``: where the messages' links lead (the drill page under ``plan.drill.status_prefix``).

Delivery and publishing read that data and hold no drill branch of their own; the status publisher
asks :func:`audience_of` which site an incident belongs on (a drill is never on the public site).

One module per concern: :mod:`.reach` (the decision and its record), :mod:`.marking`, :mod:`.targets`
(a drill's adapters), :mod:`.intake` (drill alarms, injectable failures); import from the package. No boto3
at import, and nothing from the workflow or status packages: AWS-facing pieces come in as arguments.
"""

from __future__ import annotations

from outage_comms.drill_mode.intake import (
    DRILL_ALARM_TAG,
    alarm_is_drill,
    drill_failures_problem,
    injectable_channels,
)
from outage_comms.drill_mode.marking import (
    NO_MARKER,
    Marker,
    drill_marker,
    marker,
    spoken_marker,
)
from outage_comms.drill_mode.reach import (
    AUDIENCE,
    DRILL,
    DRILL_TARGETS,
    INJECTED_FAILURE,
    INTERNAL,
    NO_DRILL_TARGET,
    NONE,
    PUBLIC,
    PUBLIC_TARGET,
    REAL_SECONDS_PER_MINUTE,
    SECRET,
    TOPIC,
    Reach,
    audience_of,
    drill_kind,
    drill_site_plan,
    drill_site_url,
    in_audience,
    is_drill,
    linked_plan,
    marker_of,
    reach_for,
)
from outage_comms.drill_mode.targets import (
    AdapterFactory,
    DrillAudience,
    drill_adapters,
    drill_web_adapter,
    drill_web_plan,
    redirect_subscribers,
)

__all__ = [
    "AUDIENCE",
    "DRILL",
    "DRILL_ALARM_TAG",
    "DRILL_TARGETS",
    "INJECTED_FAILURE",
    "INTERNAL",
    "NONE",
    "NO_DRILL_TARGET",
    "NO_MARKER",
    "PUBLIC",
    "PUBLIC_TARGET",
    "REAL_SECONDS_PER_MINUTE",
    "SECRET",
    "TOPIC",
    "AdapterFactory",
    "DrillAudience",
    "Marker",
    "Reach",
    "alarm_is_drill",
    "audience_of",
    "drill_adapters",
    "drill_failures_problem",
    "drill_kind",
    "drill_marker",
    "drill_site_plan",
    "drill_site_url",
    "drill_web_adapter",
    "drill_web_plan",
    "in_audience",
    "injectable_channels",
    "is_drill",
    "linked_plan",
    "marker",
    "marker_of",
    "reach_for",
    "redirect_subscribers",
    "spoken_marker",
]
