"""Configuration of the channel functions, read once from the environment the channels stack sets."""

from __future__ import annotations

import functools

from pydantic import Field, field_validator

from outage_comms.function_settings import PLAN_PATH_DEFAULT, FunctionSettings


class ChannelSettings(FunctionSettings):
    """Names, ARNs and rates. Empty means "not deployed"; secrets are *names*, never values."""

    set_by = "stacks/channels_stack.py (channel_environment)"

    plan_path: str = Field(default=PLAN_PATH_DEFAULT, alias="PLAN_PATH", min_length=1)
    subscribers_table: str = Field(default="", alias="SUBSCRIBERS_TABLE")
    limits_table: str = Field(default="", alias="SUBSCRIBE_LIMITS_TABLE")
    token_secret_name: str = Field(default="", alias="SUBSCRIBER_TOKEN_SECRET_NAME")
    api_base_url: str = Field(default="", alias="SUBSCRIBE_API_URL")
    bulk_bucket: str = Field(default="", alias="BULK_BUCKET")
    bulk_state_machine_arn: str = Field(default="", alias="BULK_STATE_MACHINE_ARN")
    push_application_id: str = Field(default="", alias="PUSH_APPLICATION_ID")
    #: the feedback table: where SMS that ask "Reply YES or NO" are remembered (empty: not deployed)
    feedback_table: str = Field(default="", alias="FEEDBACK_TABLE")
    #: the feedback signing secret: each email recipient's own "Was this update helpful?" token
    #: (empty: no personal links)
    feedback_secret_arn: str = Field(default="", alias="FEEDBACK_SECRET_ARN")
    email_rate_per_second: float = Field(default=14.0, alias="EMAIL_RATE_PER_SECOND", gt=0)
    sms_parts_per_second: float = Field(default=3.0, alias="SMS_PARTS_PER_SECOND", gt=0)
    inline_limit: int = Field(default=200, alias="INLINE_LIMIT", ge=0)

    @field_validator("api_base_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def unsubscribe_url(self) -> str:
        return f"{self.api_base_url}/unsubscribe"

    @property
    def confirm_url(self) -> str:
        return f"{self.api_base_url}/subscriptions/confirm"


@functools.cache
def channel_settings() -> ChannelSettings:
    """Read once per execution environment (a bad variable raises ``SettingsError``)."""
    return ChannelSettings.from_environment()
