"""The feedback API's and the render step's dependencies, read once per execution environment.

Environment: ``FEEDBACK_TABLE`` (the feedback table), ``FEEDBACK_SECRET_ARN`` (the signing
secret), ``FEEDBACK_BASE_URL`` (the public URL links point at: the status site, which routes
``/f/*`` to the feedback API, or the plan's feedback domain), ``WORKFLOW_TABLE`` (to check that
an update exists), ``PLAN_PATH``. With ``FEEDBACK_TABLE`` the render step writes short links.
An empty ``FEEDBACK_BASE_URL`` or ``FEEDBACK_SECRET_ARN``
(an older deployment) means: render messages without links.
"""

from __future__ import annotations

import functools
import os
from datetime import timedelta
from typing import TYPE_CHECKING

from outage_comms.feedback.links import FeedbackLinker, LinkSigner
from outage_comms.feedback.pages import Site
from outage_comms.feedback.service import FeedbackService
from outage_comms.feedback.short_links import DynamoShortLinks, Shortener
from outage_comms.plan import plan_at

if TYPE_CHECKING:
    from outage_comms.feedback.replies import SmsReplyService


@functools.cache
def signing_secret(secret_arn: str) -> bytes:
    from outage_comms.aws_clients import client

    return str(client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]).encode("utf-8")


@functools.cache
def feedback_linker() -> FeedbackLinker | None:
    """The render step's link maker, or None when this deployment has no feedback API."""
    base_url = os.environ.get("FEEDBACK_BASE_URL", "")
    secret_arn = os.environ.get("FEEDBACK_SECRET_ARN", "")
    if not base_url or not secret_arn:
        return None
    plan = plan_at(os.environ.get("PLAN_PATH", "plan.json"))
    if not plan.feedback.enabled:
        return None
    secret = signing_secret(secret_arn)
    return FeedbackLinker(
        signer=LinkSigner(secret),
        base_url=base_url,
        lifetime=timedelta(days=plan.feedback.link_lifetime_days),
        shortener=_shortener(secret),
    )


def _shortener(secret: bytes) -> Shortener | None:
    """Short links when the feedback table is at hand (``FEEDBACK_TABLE``), else the signed token in full."""
    table = os.environ.get("FEEDBACK_TABLE", "")
    if not table:
        return None
    from outage_comms.aws_clients import client

    return Shortener(secret, DynamoShortLinks(table_name=table, client=client("dynamodb")))


@functools.cache
def feedback_service() -> FeedbackService:
    """The API's service: the plan's organization, the secret, the feedback and workflow tables."""
    from outage_comms.aws_clients import client
    from outage_comms.feedback.store import DynamoFeedbackStore, WorkflowUpdates

    plan = plan_at(os.environ.get("PLAN_PATH", "plan.json"))
    workflow_table = os.environ.get("WORKFLOW_TABLE", "")
    updates = (
        WorkflowUpdates(table_name=workflow_table, client=client("dynamodb")) if workflow_table else None
    )
    return FeedbackService(
        secret=signing_secret(os.environ["FEEDBACK_SECRET_ARN"]),
        store=DynamoFeedbackStore.named(os.environ["FEEDBACK_TABLE"]),
        short_links=DynamoShortLinks(table_name=os.environ["FEEDBACK_TABLE"], client=client("dynamodb")),
        site=Site(org=plan.organization.name, status_url=plan.organization.status_page_url),
        update_exists=updates.exists if updates else None,
    )


@functools.cache
def sms_reply_service() -> SmsReplyService:
    """The SMS reply function's service: the signing secret (client hashing) and the feedback table."""
    from outage_comms.aws_clients import client
    from outage_comms.feedback.replies import SentSmsLog, SmsReplyService
    from outage_comms.feedback.store import DynamoFeedbackStore

    table = os.environ["FEEDBACK_TABLE"]
    return SmsReplyService(
        secret=signing_secret(os.environ["FEEDBACK_SECRET_ARN"]),
        sent=SentSmsLog(table_name=table, client=client("dynamodb")),
        store=DynamoFeedbackStore.named(table),
    )
