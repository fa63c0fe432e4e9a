"""An embedded AWS for Outage Comms: the synthesized app deployed into moto, handlers run in-process.

The one public API of the ``[local]`` extra, used by the tests, ``outage-comms drill``, the benchmarks and
``outage-comms local``: import from here, not from the submodules (their layout may change).

- :func:`synthesize_app` and :class:`EmbeddedAws` (deploy, invoke, pump events, the plan clock, a region's
  outage): :mod:`.harness` and the modules it is made of.
- The people of a drill acting through their doors (:func:`review`, :func:`review_links`,
  :func:`session_arn`, :func:`api_event`, :func:`rest_event`) and its subscribers
  (:func:`drill_subscribers`): :mod:`.people`.
- The outside world the channels reach: :class:`ChannelSink` (what it received: :class:`SinkRequest`), the
  channel secrets aimed at it (:func:`channel_secrets`, :func:`drill_secret`).
- :func:`lambda_context`: the context object a handler gets (for a server that invokes handlers itself).
- :func:`run_failover_story`: the two-region story on the runtime pieces alone (no synthesized stacks).

:mod:`.template_patches` is public on purpose: its module docstring is the list of every change made to
a synthesized template so moto can create it, and its tests read it.
"""

from outage_comms_embedded.channel_sink import ChannelSink, SinkRequest, channel_secrets, drill_secret
from outage_comms_embedded.event_routing import EventSource, PumpedBatch, event_entry
from outage_comms_embedded.harness import ACCOUNT, REGION, EmbeddedAws, synthesize_app
from outage_comms_embedded.lambda_router import Invocation, lambda_context
from outage_comms_embedded.outage import OBSERVER_KEY, RegionOutages
from outage_comms_embedded.people import (
    ReviewOutcome,
    api_event,
    drill_subscribers,
    rest_event,
    review,
    review_links,
    session_arn,
)
from outage_comms_embedded.regions import StoryResult, run_failover_story

__all__ = [
    "ACCOUNT",
    "OBSERVER_KEY",
    "REGION",
    "ChannelSink",
    "EmbeddedAws",
    "EventSource",
    "Invocation",
    "PumpedBatch",
    "RegionOutages",
    "ReviewOutcome",
    "SinkRequest",
    "StoryResult",
    "api_event",
    "channel_secrets",
    "drill_secret",
    "drill_subscribers",
    "event_entry",
    "lambda_context",
    "rest_event",
    "review",
    "review_links",
    "run_failover_story",
    "session_arn",
    "synthesize_app",
]
