"""Configuration of the channel functions, read once from the environment the channels stack sets."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict


class ChannelSettings(BaseModel):
    """Names, ARNs and rates. Empty means "not deployed"; secrets are *names*, never values."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    plan_path: str = "plan.json"
    subscribers_table: str = ""
    limits_table: str = ""
    token_secret_name: str = ""
    api_base_url: str = ""
    bulk_bucket: str = ""
    bulk_state_machine_arn: str = ""
    push_application_id: str = ""
    #: the feedback table: where SMS that ask "Reply YES or NO" are remembered (empty: not deployed)
    feedback_table: str = ""
    email_rate_per_second: float = 14.0
    sms_parts_per_second: float = 3.0
    inline_limit: int = 200

    @classmethod
    def from_environment(cls) -> ChannelSettings:
        env = os.environ
        return cls(
            plan_path=env.get("PLAN_PATH", "plan.json"),
            subscribers_table=env.get("SUBSCRIBERS_TABLE", ""),
            limits_table=env.get("SUBSCRIBE_LIMITS_TABLE", ""),
            token_secret_name=env.get("SUBSCRIBER_TOKEN_SECRET_NAME", ""),
            api_base_url=env.get("SUBSCRIBE_API_URL", "").rstrip("/"),
            bulk_bucket=env.get("BULK_BUCKET", ""),
            bulk_state_machine_arn=env.get("BULK_STATE_MACHINE_ARN", ""),
            push_application_id=env.get("PUSH_APPLICATION_ID", ""),
            feedback_table=env.get("FEEDBACK_TABLE", ""),
            email_rate_per_second=float(env.get("EMAIL_RATE_PER_SECOND", "14")),
            sms_parts_per_second=float(env.get("SMS_PARTS_PER_SECOND", "3")),
            inline_limit=int(env.get("INLINE_LIMIT", "200")),
        )

    @property
    def unsubscribe_url(self) -> str:
        return f"{self.api_base_url}/unsubscribe"

    @property
    def confirm_url(self) -> str:
        return f"{self.api_base_url}/subscriptions/confirm"


@functools.cache
def channel_settings() -> ChannelSettings:
    return ChannelSettings.from_environment()
