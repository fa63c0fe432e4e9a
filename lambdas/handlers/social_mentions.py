"""Every few minutes: count recent public social mentions per network into ``SocialMentions``.

Thin: the counting, the sources and the metric live in ``outage_comms.perception``. Keywords and
hashtags come from ``PERCEPTION_KEYWORDS`` / ``PERCEPTION_HASHTAGS`` (JSON lists the channels stack
sets), the window from ``PERCEPTION_WINDOW_SECONDS`` (the schedule's period).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from outage_comms.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from outage_comms.perception import measure, sources_for
    from outage_comms.plan import plan_at

    from .settings import SocialMentionsSettings

    settings = SocialMentionsSettings.from_environment()
    plan = plan_at(settings.plan_path)
    sources = sources_for(plan, keywords=settings.keywords, hashtags=settings.hashtags)
    return measure(sources, window=timedelta(seconds=settings.window_seconds))
