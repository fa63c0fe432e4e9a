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
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from outage_comms.feedback.links import FeedbackLinker, LinkSigner
from outage_comms.feedback.pages import Site
from outage_comms.feedback.service import FeedbackService
from outage_comms.feedback.short_links import DynamoShortLinks, Shortener
from outage_comms.function_settings import PLAN_PATH_DEFAULT, FunctionSettings
from outage_comms.plan import plan_at

if TYPE_CHECKING:
    from outage_comms.feedback.replies import SmsReplyService


class FeedbackSettings(FunctionSettings):
    """The render step's links (all optional) and the feedback API / SMS replies functions' tables."""

    set_by = "stacks/constructs/feedback_api.py and stacks/workflow_stack.py"

    plan_path: str = Field(default=PLAN_PATH_DEFAULT, alias="PLAN_PATH", min_length=1)
    base_url: str = Field(default="", alias="FEEDBACK_BASE_URL")
    secret_arn: str = Field(default="", alias="FEEDBACK_SECRET_ARN")
    table: str = Field(default="", alias="FEEDBACK_TABLE")
    workflow_table: str = Field(default="", alias="WORKFLOW_TABLE")


class FeedbackApiSettings(FeedbackSettings):
    """The feedback API and the SMS replies function cannot work without the secret and the table."""

    secret_arn: str = Field(alias="FEEDBACK_SECRET_ARN", min_length=1)
    table: str = Field(alias="FEEDBACK_TABLE", min_length=1)


@functools.cache
def signing_secret(secret_arn: str) -> bytes:
    from outage_comms.aws_clients import client

    return str(client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]).encode("utf-8")


@functools.cache
def feedback_linker() -> FeedbackLinker | None:
    """The render step's link maker, or None when this deployment has no feedback API."""
    settings = FeedbackSettings.from_environment()  # once: the linker is cached
    if not settings.base_url or not settings.secret_arn:
        return None
    plan = plan_at(settings.plan_path)
    if not plan.feedback.enabled:
        return None
    secret = signing_secret(settings.secret_arn)
    return FeedbackLinker(
        signer=LinkSigner(secret),
        base_url=settings.base_url,
        lifetime=timedelta(days=plan.feedback.link_lifetime_days),
        shortener=_shortener(secret, settings.table),
    )


def _shortener(secret: bytes, table: str) -> Shortener | None:
    """Short links when the feedback table is at hand (``FEEDBACK_TABLE``), else the signed token in full."""
    if not table:
        return None
    from outage_comms.aws_clients import client

    return Shortener(secret, DynamoShortLinks(table_name=table, client=client("dynamodb")))


@functools.cache
def feedback_service() -> FeedbackService:
    """The API's service: the plan's organization, the secret, the feedback and workflow tables."""
    from outage_comms.aws_clients import client
    from outage_comms.feedback.store import DynamoFeedbackStore, WorkflowUpdates

    settings = FeedbackApiSettings.from_environment()  # once: the service is cached
    plan = plan_at(settings.plan_path)
    updates = (
        WorkflowUpdates(table_name=settings.workflow_table, client=client("dynamodb"))
        if settings.workflow_table
        else None
    )
    return FeedbackService(
        secret=signing_secret(settings.secret_arn),
        store=DynamoFeedbackStore.named(settings.table),
        short_links=DynamoShortLinks(table_name=settings.table, client=client("dynamodb")),
        site=Site(org=plan.organization.name, status_url=plan.organization.status_page_url),
        update_exists=updates.exists if updates else None,
    )


@functools.cache
def sms_reply_service() -> SmsReplyService:
    """The SMS reply function's service: the signing secret (client hashing) and the feedback table."""
    from outage_comms.aws_clients import client
    from outage_comms.feedback.replies import SentSmsLog, SmsReplyService
    from outage_comms.feedback.store import DynamoFeedbackStore

    settings = FeedbackApiSettings.from_environment()  # once: the service is cached
    table = settings.table
    return SmsReplyService(
        secret=signing_secret(settings.secret_arn),
        sent=SentSmsLog(table_name=table, client=client("dynamodb")),
        store=DynamoFeedbackStore.named(table),
    )
