"""Settings of the functions whose domain code takes its configuration as arguments.

The pattern of :mod:`outage_comms.function_settings`: one model per function, fields aliased to the
variables their construct sets, read once per execution environment. Handlers import this module on
their first invocation, never at init (pydantic is not a cold-start import of these handlers).
"""

from __future__ import annotations

from pydantic import Field, Json, field_validator

from outage_comms.function_settings import PLAN_PATH_DEFAULT, FunctionSettings


class RedriveSettings(FunctionSettings):
    """``handlers.workflow_redrive``: the dead-letter queues and the two delivery functions."""

    set_by = "stacks/constructs/channel_fanout.py (DeliveryRedrive)"

    #: channel -> dead-letter queue URL, as JSON
    dead_letter_queues: Json[dict[str, str]] = Field(alias="DEAD_LETTER_QUEUES")
    deliver_function: str = Field(alias="DELIVER_FUNCTION", min_length=1)
    notify_function: str = Field(alias="NOTIFY_FUNCTION", min_length=1)


class SocialMentionsSettings(FunctionSettings):
    """``handlers.social_mentions``: the counting window (the schedule's period)."""

    set_by = "stacks/constructs/social_mentions.py"

    plan_path: str = Field(default=PLAN_PATH_DEFAULT, alias="PLAN_PATH", min_length=1)
    window_seconds: int = Field(default=300, alias="PERCEPTION_WINDOW_SECONDS", gt=0)
    #: Bluesky search terms, a JSON list (unset or empty: the organization's name)
    keywords: Json[list[str]] | None = Field(default=None, alias="PERCEPTION_KEYWORDS")
    #: Mastodon hashtags, a JSON list (unset or empty: from the organization's name)
    hashtags: Json[list[str]] | None = Field(default=None, alias="PERCEPTION_HASHTAGS")

    @field_validator("keywords", "hashtags", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value


class StatusPublisherSettings(FunctionSettings):
    """``handlers.publish_status``: the status account's role, bucket, dashboard and CDN."""

    set_by = "stacks/constructs/status_publisher.py"

    plan_path: str = Field(default=PLAN_PATH_DEFAULT, alias="PLAN_PATH", min_length=1)
    incidents_table: str = Field(alias="INCIDENTS_TABLE_NAME", min_length=1)
    role_arn: str = Field(alias="STATUS_PUBLISHER_ROLE_ARN", min_length=1)
    bucket: str = Field(alias="STATUS_BUCKET", min_length=1)
    dashboard_name: str = Field(alias="STATUS_DASHBOARD_NAME", min_length=1)
    region: str = Field(alias="STATUS_REGION", min_length=1)
    distribution_id: str = Field(default="", alias="STATUS_DISTRIBUTION_ID")
    #: the subscribe form's action when the API is not behind the status site (empty: ``/api/...``)
    subscribe_url: str = Field(default="", alias="STATUS_SUBSCRIBE_URL")
