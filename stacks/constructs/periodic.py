"""Run a function on a fixed rate, where a missed round is superseded by the next, never retried."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def every(
    scope: Construct,
    construct_id: str,
    *,
    function: lambda_.IFunction,
    interval: Duration,
    description: str,
    dead_letter_queue: sqs.IQueue,
) -> events.Rule:
    """An EventBridge rule invoking ``function`` every ``interval``; undeliverable rounds go to the queue."""
    return events.Rule(
        scope,
        construct_id,
        description=description,
        schedule=events.Schedule.rate(interval),
        targets=[
            targets.LambdaFunction(
                function, dead_letter_queue=dead_letter_queue, retry_attempts=0, max_event_age=interval
            )
        ],
    )
