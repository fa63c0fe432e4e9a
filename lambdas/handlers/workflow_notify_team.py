"""``Notify <team chat>``: one branch of ``Notify team first`` — a team chat hears (with the draft
words) before the approval — or, for an update that needed no approval, of ``Fan out to channels``
(``Notify <team chat> with the customers``: the team hears at the customers' moment). Its typed channel
errors drive the branch's Retry and Catch, like a customer channel's; the redrive function invokes it
again for a dead-lettered team notice.

A fan-out branch passes the update's ``render`` summary: unless it says ``team_with_customers``, the
team already heard this update before its approval and nothing is sent (answered before any domain
code or AWS client is loaded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import logger, metrics, tracer

# The step's domain code loads on the first invocation (see outage_comms.observability on cold starts).
if TYPE_CHECKING:
    from outage_comms.workflow.services import Services


#: The flag ``Team hears with the customers`` sets on ``$.render`` (stacks/constructs/channel_fanout.py).
TEAM_WITH_CUSTOMERS = "team_with_customers"
#: A fan-out branch's answer when the team heard the update in ``Notify team first``.
HEARD_BEFORE_APPROVAL = "heard_before_approval"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(
    event: dict[str, Any], context: LambdaContext, services: Services | None = None
) -> dict[str, Any]:
    render = event.get("render")
    if isinstance(render, dict) and not render.get(TEAM_WITH_CUSTOMERS):
        return {"channel": str(event["channel"]), "status": HEARD_BEFORE_APPROVAL}
    from outage_comms.regions.fence import fenced_services  # the delivery ledger, fenced in two regions
    from outage_comms.workflow.step_deliver import notify_team

    return notify_team(event, services or fenced_services())
