"""The one shape of every dead-letter queue in the app: where failures wait for a person."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from outage_comms_cdk.quality_gates import acknowledge

RETENTION = Duration.days(14)


def dead_letter_queue(scope: Construct, construct_id: str, *, key: kms.IKey, holds: str) -> sqs.Queue:
    """An SQS queue encrypted with ``key``, TLS only, keeping messages 14 days (SQS's maximum).

    ``holds`` says what lands here (e.g. "the watchdog's schedule and asynchronous invocations"); it
    becomes the written reason for the two cdk-nag rules a terminal queue cannot satisfy.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=RETENTION,
    )
    reason = (
        f"This queue is itself the terminal dead-letter queue of {holds}; nothing consumes it "
        "automatically, so a redrive policy or a dead-letter queue behind it would only move the same "
        "messages."
    )
    acknowledge(queue, "AwsSolutions-SQS3", reason)
    acknowledge(queue, "Serverless-SQSRedrivePolicy", reason)
    return queue
