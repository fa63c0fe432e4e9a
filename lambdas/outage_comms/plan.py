"""The customer communication plan: schema, loading and error reporting.

The plan is one reviewed YAML file. It is validated at synth time (``app.py``), by
``outage-comms lint`` and by every Lambda at cold start, so a broken plan fails with a message
that names the file, the path inside it and what to do, before anything deploys.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from outage_comms.channel_specs import registry
from outage_comms.secret_names import (
    SECRET_NAME,
    looks_secret,
    redact,
    secret_name_fix,
    secret_name_problem,
)
from outage_comms.vocabulary import (
    CHANNEL_FORMAT,
    Channel,
    Impact,
    MessageFormat,
    Scenario,
    TimeoutAction,
)

Identifier = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="lower-case id: a-z, 0-9, -")
]
LocaleCode = Annotated[
    str,
    Field(
        # BCP-47: language, optional script, optional region (ISO 3166 or UN M.49), e.g. zh-Hant-TW, es-419
        pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$",
        description="a BCP-47 tag, e.g. en, de, pt-BR, ja, zh-Hant-TW, es-419",
    ),
]


def _secret_name(value: str) -> str:
    """One validator for every field naming a Secrets Manager secret (see outage_comms.secret_names)."""
    reason = secret_name_problem(value)
    if reason is not None:
        raise PydanticCustomError("secret_name", "{reason}", {"reason": reason})
    return value


SecretName = Annotated[
    str,
    AfterValidator(_secret_name),
    Field(
        description="the NAME (or ARN) of a Secrets Manager secret, never the secret itself",
        json_schema_extra={"pattern": SECRET_NAME.pattern},
    ),
]
LocalizedText = dict[str, str]
_BUILT_IN_ERROR_TYPES = frozenset(get_args(ErrorType))
#: Channels that post to a URL held in Secrets Manager (their drill target is another secret).
WEB_CHANNELS = registry.ChannelSet(lambda s: s.drill.kind == "secret", "web channels")
IAM_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|user|assumed-role)/[\w+=,.@/-]+$")


class PlanModel(BaseModel):
    """Base for every plan section: unknown fields are errors (typos must not pass silently)."""

    # hide_input_in_errors: str(ValidationError) must never print a pasted secret.
    model_config = ConfigDict(
        defer_build=True, extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True
    )


class Organization(PlanModel):
    name: str = Field(min_length=1, max_length=80)
    status_page_url: str = Field(pattern=r"^https://")
    support_url: str = Field(pattern=r"^https://")
    internal_domains: list[str] = Field(
        default_factory=list,
        description="DNS suffixes that must never appear in customer-facing text (e.g. corp.example.com)",
    )


class Person(PlanModel):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = Field(pattern=r"^\+[1-9]\d{6,14}$", description="E.164, e.g. +14155550100")
    chat_handle: str = Field(min_length=1)
    approver_principals: list[str] = Field(
        default_factory=list, description="IAM role/user ARNs allowed to approve external messages"
    )

    @field_validator("approver_principals")
    @classmethod
    def _principals_are_iam_arns(cls, value: list[str]) -> list[str]:
        for principal in value:
            if not IAM_PRINCIPAL.match(principal):
                raise ValueError(
                    f"'{principal}' is not an IAM role or user ARN "
                    "(expected arn:aws:iam::123456789012:role/Name)"
                )
        return value


class Roles(PlanModel):
    incident_manager: Person
    communications_manager: Person
    support_manager: Person


class ComponentGroup(PlanModel):
    id: Identifier
    name: LocalizedText


class SignalMappings(PlanModel):
    alarm_name_patterns: list[str] = Field(default_factory=list, description="fnmatch patterns, e.g. 'api-*'")
    resource_tags: dict[str, str] = Field(default_factory=dict)
    health_services: list[str] = Field(default_factory=list, description="AWS Health service codes, e.g. EC2")
    health_regions: list[str] = Field(default_factory=list, description="empty means any region")


class Component(PlanModel):
    id: Identifier
    name: LocalizedText
    description: LocalizedText
    group: Identifier
    audiences: list[Identifier] = Field(min_length=1)
    signals: SignalMappings = Field(default_factory=SignalMappings)


class Audience(PlanModel):
    id: Identifier
    description: str
    kind: Literal["customers", "tier", "region", "internal", "drill"]
    critical: bool = Field(default=False, description="receives voice calls when the voice channel is on")


class ChannelSettings(PlanModel):
    enabled: bool = True


class SnsSettings(ChannelSettings):
    topic_name: str = "outage-comms-subscribers"


class EmailSettings(ChannelSettings):
    from_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    reply_to: str | None = None
    configuration_set: str = "outage-comms"


class SmsSettings(ChannelSettings):
    origination_identity: str = Field(min_length=1, description="phone number, pool or sender id")
    configuration_set: str = "outage-comms"
    max_segments: int = Field(default=3, ge=1, le=10)


class VoiceSettings(ChannelSettings):
    origination_identity: str = Field(min_length=1)
    voice_ids: LocalizedText = Field(default_factory=dict, description="Polly voice per locale")
    audiences: list[Identifier] = Field(default_factory=list, description="empty: the critical audiences")


class PushSettings(ChannelSettings):
    application_id_parameter: str = Field(
        min_length=1, description="SSM parameter holding the End User Messaging Push application id"
    )


class InAppSettings(ChannelSettings):
    banner_path: str = "api/v2/banner.json"


class ChatbotSettings(ChannelSettings):
    topic_name: str = "outage-comms-internal-chat"


class WebhookChatSettings(ChannelSettings):
    webhook_url_secret: SecretName


class MastodonSettings(ChannelSettings):
    instance_url: str = Field(pattern=r"^https://")
    access_token_secret: SecretName


class BlueskySettings(ChannelSettings):
    handle: str = Field(min_length=3)
    service_url: str = Field(default="https://bsky.social", pattern=r"^https://")
    app_password_secret: SecretName


class OutboundWebhookSettings(ChannelSettings):
    url: str = Field(pattern=r"^https://")
    signing_secret: SecretName


class SupportSettings(ChannelSettings):
    ticketing_webhook_secret: SecretName


#: A brand file in the team's ``templates/status/assets/`` (published under ``assets/``).
_BRAND_FILE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(svg|png|webp|jpg|jpeg|gif|ico)$"


class StatusPageSettings(ChannelSettings):
    domain: str | None = None
    logo: str | None = Field(
        default=None, pattern=_BRAND_FILE, description="logo file in templates/status/assets/, e.g. logo.svg"
    )
    accent_color: str | None = Field(
        default=None,
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="links and buttons, e.g. #0b5cad; lint checks WCAG AA contrast (4.5:1) on white",
    )
    favicon: str | None = Field(
        default=None, pattern=_BRAND_FILE, description="favicon file in templates/status/assets/"
    )


class DashboardSettings(ChannelSettings):
    dashboard_name: str = Field(default="public-status", pattern=r"^[A-Za-z0-9_-]{1,255}$")


class Channels(PlanModel):
    """``channels.<name>``: one entry per channel, each validated by its registry spec's settings model.

    The built-in channels are fields (typed access, e.g. ``plan.channels.email.from_address``); a channel
    registered from outside the product (``outage_comms.channel_specs.registry.register``) is accepted under
    its name and read the same way (``plan.channels.discord``). An unregistered name is an error naming
    the registered ones.
    """

    model_config = ConfigDict(
        defer_build=True, extra="allow", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True
    )

    sns: SnsSettings | None = None
    email: EmailSettings | None = None
    sms: SmsSettings | None = None
    voice: VoiceSettings | None = None
    push: PushSettings | None = None
    in_app: InAppSettings | None = None
    chatbot: ChatbotSettings | None = None
    slack: WebhookChatSettings | None = None
    teams: WebhookChatSettings | None = None
    mastodon: MastodonSettings | None = None
    bluesky: BlueskySettings | None = None
    webhook: OutboundWebhookSettings | None = None
    support: SupportSettings | None = None
    status_page: StatusPageSettings | None = None
    dashboard: DashboardSettings | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _registered_channels(cls, data: Any, handler: Any) -> Any:
        """Validate the channels that are not fields here with their spec's settings model."""
        if not isinstance(data, dict):
            return handler(data)
        known, extra, errors = {}, {}, []
        for name, value in data.items():
            if name in cls.model_fields:
                known[name] = value
            elif not registry.is_registered(name):
                errors.append(InitErrorDetails(type="extra_forbidden", loc=(name,), input=value))
            elif value is not None:
                try:
                    extra[name] = registry.settings_model(name).model_validate(value)
                except ValidationError as exc:
                    errors.extend(_nested_errors(name, exc))
        try:
            model = handler(known)
        except ValidationError as exc:
            raise ValidationError.from_exception_data(
                cls.__name__, [*_nested_errors(None, exc), *errors]
            ) from None
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        if extra:
            assert model.__pydantic_extra__ is not None
            model.__pydantic_extra__.update(extra)
        return model

    def settings(self, channel: str) -> ChannelSettings | None:
        """The plan's settings of ``channel`` (None when the plan does not configure it)."""
        value = getattr(self, str(channel), None)
        return value if isinstance(value, ChannelSettings) else None

    def enabled(self) -> list[Channel]:
        """The channels switched on, in registration order."""
        return [c for c in Channel if (s := self.settings(c)) is not None and s.enabled]


def _nested_errors(name: str | None, exc: ValidationError) -> list[InitErrorDetails]:
    """``exc``'s errors, placed under ``channels.<name>`` (custom error types kept with their message)."""
    out: list[InitErrorDetails] = []
    for error in exc.errors():
        kind: Any = error["type"]
        if kind not in _BUILT_IN_ERROR_TYPES:
            kind = PydanticCustomError(kind, error["msg"], error.get("ctx"))
        loc = tuple(error["loc"]) if name is None else (name, *error["loc"])
        detail = InitErrorDetails(type=kind, loc=loc, input=error.get("input"))
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
        out.append(detail)
    return out


class Approval(PlanModel):
    required: bool
    timeout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    on_timeout: TimeoutAction = TimeoutAction.ESCALATE
    dual: bool = Field(default=False, description="two different approvers (highest severity)")


class Severity(PlanModel):
    id: Identifier
    name: LocalizedText
    impact: Impact
    incident_manager_impact: list[Annotated[int, Field(ge=1, le=5)]] = Field(
        default_factory=list,
        description="Incident Manager impact values (1 critical .. 5 none) that map here",
    )
    cadence_minutes: int = Field(ge=5, le=24 * 60, description="how often customers get an update")
    approval: Approval
    default_scenario: Scenario = Scenario.INVESTIGATING
    first_message_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="communication SLO: the first customer message goes out within this many minutes",
    )


class ScenarioSettings(PlanModel):
    statuspage_status: Literal[
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "postmortem",
        "scheduled",
        "in_progress",
        "verifying",
        "completed",
    ]
    channels: list[Channel] | None = Field(
        default=None, description="limit this scenario to some channels; default every enabled channel"
    )


class LocaleSettings(PlanModel):
    code: LocaleCode
    timezone: str = Field(min_length=1, description="IANA zone used for times in messages")
    timezone_label: str = Field(min_length=1, description="how customers read the zone, e.g. UTC")


class Guard(PlanModel):
    jargon: list[str] = Field(
        default_factory=lambda: [
            "5xx",
            "4xx",
            "p99",
            "p95",
            "RDS",
            "AZ",
            "EC2",
            "ELB",
            "DNS",
            "latency",
            "TLS",
        ]
    )
    max_grade_level: float = Field(default=8.0, ge=1, le=20)
    fallback: LocalizedText | None = Field(
        default=None,
        description="what customers hear instead of words the guard blocked (e.g. a note with an internal "
        "host name), per locale: one plain sentence, no final full stop, it takes the place of the "
        "team's note in every template; without it a blocked message is not sent",
    )
    public_urls: list[Annotated[str, Field(pattern=r"^https://[^\s/]+")]] = Field(
        default_factory=list,
        description="web addresses customers may be sent to besides the status page and support site "
        "(e.g. an API Gateway URL of the subscribe API), so the guard does not flag their hosts",
    )

    @field_validator("fallback")
    @classmethod
    def _fallback_is_safe(cls, value: LocalizedText | None) -> LocalizedText | None:
        """The fallback is customer text: short, one line, no identifiers or credentials of its own."""
        if value is None:
            return None
        from outage_comms.leaks import find_credentials, find_identifiers

        for code, text in value.items():
            if not text.strip() or len(text) > 200 or any(ord(ch) < 32 for ch in text):
                raise ValueError(f"fallback.{code}: write one plain sentence of 1-200 characters on one line")
            leaks = find_identifiers(text) + find_credentials(text)
            if leaks:
                raise ValueError(f"fallback.{code} {leaks[0].message}; write it in customer words")
        return {code: text.strip().rstrip(".") for code, text in value.items()}


class DrillSettings(PlanModel):
    """Game days: who hears a drill, how it is marked, where its status page goes."""

    audience: Identifier = Field(
        default="drill",
        description="the audience (kind: drill) whose subscribers are a drill's only recipients",
    )
    marker: LocalizedText = Field(
        default_factory=lambda: {"en": "[DRILL]", "pt-BR": "[SIMULAÇÃO]"},
        description="put in front of every drill message, per locale",
    )
    webhook_secrets: dict[Channel, SecretName] = Field(
        default_factory=dict,
        description="drill targets of the web channels (a test chat channel, a test social account): the "
        "NAME of the secret holding each; a web channel without one is skipped in drills",
    )
    status_prefix: str = Field(
        default="drill/",
        pattern=r"^[a-z0-9-]+/$",
        description="the drill status page's folder on the status site",
    )


class FeedbackSettings(PlanModel):
    """'Was this update helpful?' links in customer-facing messages."""

    enabled: bool = True
    base_url: str | None = Field(
        default=None,
        pattern=r"^https://",
        description="public address of the feedback API (a custom domain); default: the status site, which "
        "routes /f/* to it (short links: https://<status domain>/f/<code>)",
    )
    link_lifetime_days: int = Field(default=30, ge=1, le=365)
    channels: list[Channel] = Field(
        default_factory=lambda: list(registry.channels(where=lambda s: s.feedback_default)),
        description="channels whose messages carry the links (voice cannot carry a link); default: the "
        "channels whose spec says so (email, SMS, SNS, Mastodon, Bluesky, webhook, status page)",
    )
    sms_replies: bool = Field(
        default=False,
        description="an SMS too short for the two links asks 'Reply YES or NO' instead of one link to the "
        "answer page; the plan's SMS origination number must have two-way SMS on, sending to the stack "
        "output SmsRepliesTopicArn",
    )


class PagingSettings(PlanModel):
    sms: bool = Field(
        default=True, description="text the incident manager's phone (SNS SMS, not our own SMS path)"
    )
    email: bool = Field(default=True, description="email the incident manager (SNS email subscription)")


class SloSettings(PlanModel):
    """Communication SLOs held by CloudWatch alarms on Outage Comms itself."""

    delivery_success_percent: float = Field(default=99.0, ge=50, le=100)
    update_gap_tolerance_percent: int = Field(
        default=10,
        ge=0,
        le=200,
        description="an update may be this much later than the cadence before it counts as missed",
    )
    approval_latency_minutes: int | None = Field(
        default=None, ge=1, le=24 * 60, description="default: the shortest approval timeout of the plan"
    )
    paging: PagingSettings = Field(default_factory=PagingSettings)


class MaintenanceSettings(PlanModel):
    """Scheduled maintenance: when subscribers hear, and what alarms mean during a window."""

    reminders_hours_before: list[Annotated[int, Field(ge=1, le=24 * 14)]] = Field(
        default_factory=lambda: [24, 1], description="besides the declaration, the start and the completion"
    )
    verify_minutes: int = Field(
        default=15,
        ge=0,
        le=24 * 60,
        description="after the window ends, 'verifying' lasts this long before 'completed'",
    )
    expected_alarms: bool = Field(
        default=True,
        description="alarms / Incident Manager incidents of the window's components are tagged "
        "'expected' and open no customer incident",
    )


class PostIncidentSettings(PlanModel):
    """The customer-facing post-incident summary."""

    approval_timeout_days: int = Field(default=5, ge=1, le=30)


#: CloudFront takes certificates from ACM in us-east-1 only.
_CLOUDFRONT_CERTIFICATE_ARN = r"^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+$"
_HOST_NAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class WafSettings(PlanModel):
    """AWS WAF on the public APIs and the status site: managed rule groups plus a per-address rate rule."""

    enabled: bool = Field(
        default=False,
        description="attach web ACLs (about US$19 a month at rest, plus US$0.60 per million requests)",
    )
    rate_limit_per_5_min: int = Field(
        default=300,
        ge=10,
        le=2_000_000_000,
        description="requests one address may make to a public API in any 5 minutes before a 429",
    )
    status_site_rate_limit_per_5_min: int = Field(
        default=3000,
        ge=10,
        le=2_000_000_000,
        description="the same for the status site; higher, as a whole office behind one address reloads it",
    )


class StatusSiteEdge(PlanModel):
    """The status site's own domain on CloudFront, with TLS 1.2 (TLSv1.2_2021) as the minimum."""

    domain: str | None = Field(
        default=None, pattern=_HOST_NAME, max_length=253, description="e.g. status.example.com"
    )
    certificate_arn: str | None = Field(
        default=None,
        pattern=_CLOUDFRONT_CERTIFICATE_ARN,
        description="an ACM certificate for the domain, in us-east-1 (CloudFront takes no other region)",
    )

    @model_validator(mode="after")
    def _domain_and_certificate_together(self) -> StatusSiteEdge:
        if (self.domain is None) != (self.certificate_arn is None):
            raise ValueError(
                "edge.status_site needs both domain and certificate_arn (an ACM certificate in us-east-1 "
                "for that domain), or neither to keep the *.cloudfront.net address"
            )
        return self


class PublicConcurrency(PlanModel):
    """Reserved concurrency of the public functions: a flood can use no more, and always has this much."""

    subscribe_api: int = Field(default=10, ge=1, le=1000)
    feedback_api: int = Field(default=10, ge=1, le=1000)
    review_page: int = Field(default=5, ge=1, le=1000)
    incident_api: int = Field(default=5, ge=1, le=1000)


class EdgeSettings(PlanModel):
    """What stands in front of the public entry points (see the README's Edge section)."""

    waf: WafSettings = Field(default_factory=WafSettings)
    status_site: StatusSiteEdge = Field(default_factory=StatusSiteEdge)
    reserved_concurrency: PublicConcurrency = Field(default_factory=PublicConcurrency)


#: A deployment id: lowercase letters, digits and inner hyphens, at most 20 characters.
DEPLOYMENT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$"


def deployed_name(base: str, deployment: str | None) -> str:
    """A physical name with the deployment id in it; without one, ``base`` unchanged.

    ``outage-comms-incident`` → ``outage-comms-<id>-incident``, ``OutageComms-SLO-`` →
    ``OutageComms-<id>-SLO-``,
    ``OutageCommsStatusPublisherAccess`` → ``OutageComms-<id>-StatusPublisherAccess``,
    ``/outage-comms/`` → ``/outage-comms/<id>/``, ``alias/outage-comms`` → ``alias/outage-comms-<id>``;
    anything else gets ``-<id>`` appended.
    """
    if deployment is None:
        return base
    for lead in ("/outage-comms/", "alias/outage-comms", "outage-comms", "OutageComms"):
        if base.startswith(lead):
            rest = base[len(lead) :]
            if lead.endswith("/"):
                return f"{lead}{deployment}/{rest}"
            separator = "" if not rest or rest.startswith("-") else "-"
            return f"{lead}-{deployment}{separator}{rest}"
    return f"{base}-{deployment}"


class Deployment(PlanModel):
    """Which deployment this is, so two products or stages can share an account and region."""

    #: Goes into every stack name and every physical name (``OutageComms-<id>-Core``,
    #: ``outage-comms-<id>-incident``); none keeps the original names. ``-c deployment=<id>`` overrides it.
    id: str | None = Field(
        default=None,
        pattern=DEPLOYMENT_ID_PATTERN,
        description="lowercase letters, digits and hyphens, at most 20 characters, e.g. acme-prod",
    )


#: An AWS commercial region name, e.g. eu-west-1, us-east-2, ap-southeast-4.
AWS_REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d$"
AwsRegion = Annotated[str, Field(pattern=AWS_REGION_PATTERN, description="an AWS region, e.g. eu-west-1")]


class RegionChannelIdentities(PlanModel):
    """Sending identities that exist in one region only (they cannot fail over; docs/regions.md).

    An SES identity is verified per region and End User Messaging numbers belong to one region, so the
    standby names its own. Leave one out and that channel stays silent from the standby (lint says so).
    """

    email_from_address: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="an SES identity verified in this region (may be the same address as channels.email)",
    )
    sms_origination_identity: str | None = Field(
        default=None,
        min_length=1,
        description="End User Messaging phone number, pool or sender id in this region",
    )
    voice_origination_identity: str | None = Field(default=None, min_length=1)
    push_application_id_parameter: str | None = Field(
        default=None, min_length=1, description="SSM parameter (in this region) with the push application id"
    )


class SyntheticCheck(PlanModel):
    """A CloudWatch Synthetics canary in the standby region that probes the public product.

    A failed region may raise no alarm at all; the canary's alarm does, in the standby, and reaches
    intake like any alarm: a component must map ``alarm_name`` (``signals.alarm_name_patterns``).
    """

    urls: list[Annotated[str, Field(pattern=r"^https?://[^\s/]+")]] = Field(min_length=1, max_length=20)
    alarm_name: str = Field(default="outage-comms-synthetic-check", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    every_minutes: int = Field(default=5, ge=1, le=60, description="how often the canary runs")
    failed_runs: int = Field(
        default=2, ge=1, le=10, description="consecutive failed runs that raise the alarm"
    )


class Regions(PlanModel):
    """Where the engine runs: one region, or a primary and a standby (docs/regions.md)."""

    primary: AwsRegion
    standby: AwsRegion | None = None
    #: Regions whose AWS events (alarms, AWS Health) concern the product; their default bus forwards
    #: them to both engines. Empty: the primary only.
    workload: list[AwsRegion] = Field(default_factory=list)
    standby_channels: RegionChannelIdentities = Field(default_factory=RegionChannelIdentities)
    synthetic_check: SyntheticCheck | None = None

    @model_validator(mode="after")
    def _two_different_regions(self) -> Regions:
        if self.standby is not None and self.standby == self.primary:
            raise ValueError("regions.standby must differ from regions.primary (or leave standby out)")
        return self

    @property
    def engine_regions(self) -> list[str]:
        """The primary, then the standby if there is one."""
        return [self.primary] + ([self.standby] if self.standby else [])

    @property
    def workload_regions(self) -> list[str]:
        return list(dict.fromkeys(self.workload or [self.primary]))


def region_bound_channels() -> dict[Channel, tuple[str, str]]:
    """The channels whose sending identity lives in one region: (``regions.standby_channels`` field,
    ``channels.<name>`` field), from their registry specs."""
    return {Channel(s.name): s.region_identity for s in registry.specs() if s.region_identity is not None}


def channel_identities(plan: Plan, region: str | None = None) -> dict[Channel, str]:
    """The sending identity of each enabled region-bound channel in ``region`` (None: the primary).

    The primary's are ``channels.*``; the standby's are ``regions.standby_channels`` (a channel it
    does not name is missing here: that channel cannot send from the standby).
    """
    enabled = plan.channels.enabled()
    standby = plan.regions is not None and region is not None and region == plan.regions.standby
    out: dict[Channel, str] = {}
    for channel, (standby_field, primary_field) in region_bound_channels().items():
        if channel not in enabled:
            continue
        if standby:
            assert plan.regions is not None
            value = getattr(plan.regions.standby_channels, standby_field)
        else:
            value = getattr(getattr(plan.channels, channel.value), primary_field, None)
        if value:
            out[channel] = str(value)
    return out


EngagedRole = Literal["incident_manager", "communications_manager", "support_manager"]
ContactChannel = Literal["email", "sms", "voice"]
_ALL_ROLES: tuple[EngagedRole, ...] = ("incident_manager", "communications_manager", "support_manager")
_DEFAULT_CONTACT_CHANNELS: tuple[ContactChannel, ...] = ("email", "sms")


class IncidentManagerSettings(PlanModel):
    """Incident Manager resources for teams that already have it (closed to new customers 2025-11-07)."""

    enabled: bool = True
    #: One replication set per account: create it only if the account has none yet.
    create_replication_set: bool = Field(
        default=False, description="create the replication set (both regions)"
    )
    engage_roles: list[EngagedRole] = Field(
        default_factory=lambda: list(_ALL_ROLES),
        description="plan roles engaged by every response plan (SSM Incident Manager contacts)",
    )
    contact_channels: list[ContactChannel] = Field(
        default_factory=lambda: list(_DEFAULT_CONTACT_CHANNELS), min_length=1
    )
    slack_workspace_id: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,255}$")
    slack_channel_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,255}$")

    @model_validator(mode="after")
    def _slack_ids_together(self) -> IncidentManagerSettings:
        if (self.slack_workspace_id is None) != (self.slack_channel_id is None):
            raise ValueError(
                "incident_manager needs both slack_workspace_id and slack_channel_id, or neither"
            )
        return self


def incident_manager_impact(plan: Plan, severity: Severity) -> int:
    """The Incident Manager impact (1 critical .. 5 none) a severity's response plan opens incidents with:
    the most severe impact it maps, else its rank in the plan (first severity 1), at most 5."""
    if severity.incident_manager_impact:
        return min(severity.incident_manager_impact)
    return min(5, [s.id for s in plan.severities].index(severity.id) + 1)


def region_problems(plan: Plan, file: str) -> list[PlanProblem]:
    """Lint: the standby can send on every channel the primary can, and the synthetic check is mapped."""
    regions = plan.regions
    if regions is None:
        return []
    problems: list[PlanProblem] = []
    if regions.standby is not None:
        primary, standby = (
            channel_identities(plan, regions.primary),
            channel_identities(plan, regions.standby),
        )
        for channel in primary:
            if channel not in standby:
                field = region_bound_channels()[channel][0]
                problems.append(
                    PlanProblem(
                        file,
                        f"regions.standby_channels.{field}",
                        f"channel '{channel.value}' has no sending identity in the standby region "
                        f"{regions.standby}: it would stay silent after a failover",
                        f"verify or buy one in {regions.standby} and name it here "
                        "(SES identities and End User Messaging numbers are per region)",
                    )
                )
    check = regions.synthetic_check
    if check is not None:
        import fnmatch

        if not any(
            fnmatch.fnmatchcase(check.alarm_name, pattern)
            for component in plan.components
            for pattern in component.signals.alarm_name_patterns
        ):
            problems.append(
                PlanProblem(
                    file,
                    "regions.synthetic_check.alarm_name",
                    f"no component maps the synthetic check's alarm '{check.alarm_name}': "
                    "a failed check would open no incident",
                    "add it (or a pattern matching it) to a component's signals.alarm_name_patterns",
                )
            )
        if regions.standby is None:
            problems.append(
                PlanProblem(
                    file,
                    "regions.synthetic_check",
                    "the synthetic check runs in the standby region, and there is none",
                    "set regions.standby, or remove regions.synthetic_check",
                )
            )
    return problems


class Plan(PlanModel):
    version: Literal[1]
    organization: Organization
    locales: list[LocaleSettings] = Field(min_length=1)
    default_locale: LocaleCode
    roles: Roles
    groups: list[ComponentGroup] = Field(min_length=1)
    components: list[Component] = Field(min_length=1)
    audiences: list[Audience] = Field(min_length=1)
    channels: Channels
    severities: list[Severity] = Field(min_length=1)
    scenarios: dict[Scenario, ScenarioSettings]
    guard: Guard = Field(default_factory=Guard)
    drill: DrillSettings = Field(default_factory=DrillSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    slo: SloSettings = Field(default_factory=SloSettings)
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)
    post_incident: PostIncidentSettings = Field(default_factory=PostIncidentSettings)
    edge: EdgeSettings = Field(default_factory=EdgeSettings)
    deployment: Deployment = Field(default_factory=Deployment)
    #: One region (absent, as before) or a primary and a standby (docs/regions.md).
    regions: Regions | None = None
    #: Incident Manager replication set, response plans, contacts and chat channel (optional).
    incident_manager: IncidentManagerSettings | None = None
    #: Where the templates are, relative to the plan file (outage_comms.templates_location).
    templates: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="templates folder, relative to the plan file (default: templates/ beside the plan)",
    )

    @property
    def locale_codes(self) -> list[str]:
        return [locale.code for locale in self.locales]

    def component(self, component_id: str) -> Component:
        return next(c for c in self.components if c.id == component_id)

    def severity(self, severity_id: str) -> Severity:
        return next(s for s in self.severities if s.id == severity_id)

    def locale(self, code: str) -> LocaleSettings:
        return next(loc for loc in self.locales if loc.code == code)

    def channels_for(self, scenario: Scenario) -> list[Channel]:
        """Enabled channels this scenario speaks on."""
        enabled = self.channels.enabled()
        chosen = self.scenarios[scenario].channels
        return enabled if chosen is None else [c for c in enabled if c in chosen]

    def formats_for(self, scenario: Scenario) -> list[MessageFormat]:
        return list(dict.fromkeys(CHANNEL_FORMAT[c] for c in self.channels_for(scenario)))


# ---------------------------------------------------------------------------------------------
# Errors that a person can act on
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong with a plan: where it is and what to do about it."""

    file: str
    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.message}. Fix: {self.fix}"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "message": self.message, "fix": self.fix}


class PlanError(Exception):
    """The plan cannot be used. ``problems`` lists every reason found."""

    def __init__(self, problems: list[PlanProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(loc: Iterable[str | int]) -> str:
    """``('severities', 2, 'cadence_minutes')`` -> ``severities[2].cadence_minutes``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _known_fields(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Walk the schema along ``loc`` (minus the last part) and list the fields allowed there."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if current is Channels and part not in (fields or {}) and registry.is_registered(part):
            current = registry.settings_model(part)
            continue
        if not fields or part not in fields:
            return []
        current = _unwrap_model(fields[part].annotation)
        if current is None:
            return []
    if current is Channels:
        return [s.name for s in registry.specs()]
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _shown(loc: tuple[str | int, ...], value: Any) -> str:
    """How an error quotes the value: a secret-name field's or a secret-looking value only starts."""
    if looks_secret(value) or any(str(part).endswith(("_secret", "_secrets")) for part in loc):
        return redact(value)
    return repr(value) if not isinstance(value, str) else f"'{value}'"


def _problem_from_pydantic(file: str, error: Any) -> PlanProblem:
    loc = tuple(error["loc"])
    path = format_path(loc)
    kind = error["type"]
    if kind == "secret_name":
        return PlanProblem(
            file, path, f"{redact(error.get('input'))} {error['ctx']['reason']}", secret_name_fix(loc)
        )
    if kind == "extra_forbidden":
        name = str(loc[-1])
        known = _known_fields(Plan, loc)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(known) or 'nothing'}"
        return PlanProblem(file, path, f"unknown field '{name}'", f"remove it or rename it; {hint}")
    if kind == "missing":
        return PlanProblem(file, path, "required field is missing", f"add '{loc[-1]}' here")
    if kind == "enum" or kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return PlanProblem(
            file, path, f"{_shown(loc, error.get('input'))} is not allowed", f"use one of {expected}"
        )
    if kind == "string_pattern_mismatch":
        return PlanProblem(
            file,
            path,
            f"{_shown(loc, error.get('input'))} has the wrong form",
            f"write it to match {error['ctx']['pattern']}",
        )
    expected = error["msg"]
    return PlanProblem(
        file,
        path,
        f"{expected} (got {type(error.get('input')).__name__} {_shown(loc, error.get('input')):.60})",
        "correct the value's type or range as the message says",
    )


def _duplicates(values: Iterable[str]) -> list[str]:
    return [v for v, n in Counter(values).items() if n > 1]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


#: WCAG 2.2 AA for normal text; the accent colours link text on the page and is the button under white text.
MIN_TEXT_CONTRAST = 4.5
STATUS_PAGE_BACKGROUND = "#ffffff"


def brand_problems(plan: Plan, file: str, templates_dir: Path | None = None) -> list[PlanProblem]:
    """The status page brand: an accent colour below WCAG AA on the page, a logo or favicon file missing."""
    settings = plan.channels.status_page
    if settings is None:
        return []
    problems = []
    if settings.accent_color is not None:
        ratio = contrast_ratio(settings.accent_color, STATUS_PAGE_BACKGROUND)
        if ratio < MIN_TEXT_CONTRAST:
            problems.append(
                PlanProblem(
                    file,
                    "channels.status_page.accent_color",
                    f"{settings.accent_color} on white has a contrast of {ratio:.2f}:1, below WCAG AA "
                    f"({MIN_TEXT_CONTRAST}:1 for text: links and the white button label use it)",
                    "choose a darker accent colour (check it at 4.5:1 against #ffffff)",
                )
            )
    for field_name in ("logo", "favicon"):
        name = getattr(settings, field_name)
        assets = templates_dir / "status" / "assets" if templates_dir is not None else None
        missing = assets is not None and not (assets / str(name)).is_file()
        if name is not None and missing:
            problems.append(
                PlanProblem(
                    file,
                    f"channels.status_page.{field_name}",
                    f"{templates_dir}/status/assets/{name} does not exist",
                    f"put the file there or remove {field_name} from the plan",
                )
            )
    return problems


def scenario_channel_problems(plan: Plan, file: str) -> list[PlanProblem]:
    """A scenario's ``channels`` naming a channel that is off (lint: it would be skipped silently)."""
    enabled = plan.channels.enabled()
    on = ", ".join(c.value for c in enabled) or "none"
    problems = []
    for scenario, settings in plan.scenarios.items():
        for index, channel in enumerate(settings.channels or []):
            if channel not in enabled:
                problems.append(
                    PlanProblem(
                        file,
                        f"scenarios.{scenario.value}.channels[{index}]",
                        f"channel '{channel.value}' is not enabled in the plan",
                        f"remove it from this list, or turn it on (channels.{channel.value}); on now: {on}",
                    )
                )
    return problems


class _Problems:
    """Collects the problems of one plan file (the cross-reference checks below add to it)."""

    def __init__(self, plan: Plan, file: str) -> None:
        self.plan, self.file, self.found = plan, file, list[PlanProblem]()

    def add(self, path: str, message: str, fix: str) -> None:
        self.found.append(PlanProblem(self.file, path, message, fix))

    def localized(self, path: str, text: LocalizedText) -> None:
        """Every declared locale has words here, and no undeclared locale does."""
        codes = self.plan.locale_codes
        for code in codes:
            if not text.get(code, "").strip():
                self.add(f"{path}.{code}", f"no text for locale '{code}'", f"add the '{code}' wording")
        for code in text:
            if code not in codes:
                self.add(
                    f"{path}.{code}",
                    f"locale '{code}' is not declared in 'locales'",
                    "declare it under 'locales' or remove this text",
                )

    def known(self, path: str, kind: str, value: str, known: set[str], *, close_match: bool = True) -> None:
        """``value`` is one of ``known`` ids (``kind``: group, audience), else a problem naming them."""
        if value in known:
            return
        close = difflib.get_close_matches(value, sorted(known), n=1) if close_match else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        self.add(path, f"unknown {kind} '{value}'", f"use one of {sorted(known)}{hint}")


def _unique_ids(problems: _Problems) -> None:
    plan = problems.plan
    for section, items in (
        ("groups", plan.groups),
        ("components", plan.components),
        ("audiences", plan.audiences),
        ("severities", plan.severities),
        ("locales", plan.locales),
    ):
        keys = [str(getattr(item, "code", None) or getattr(item, "id", "")) for item in items]
        for dup in _duplicates(keys):
            index = [i for i, k in enumerate(keys) if k == dup][1]
            problems.add(
                f"{section}[{index}]", f"duplicate id '{dup}'", f"give each entry of '{section}' its own id"
            )


def _locales_and_components(problems: _Problems) -> None:
    plan = problems.plan
    if plan.default_locale not in plan.locale_codes:  # any set of locales: only the default one is required
        problems.add(
            "default_locale",
            f"'{plan.default_locale}' is not one of the plan's locales {plan.locale_codes}",
            "add it to 'locales' or pick one listed there",
        )
    if plan.guard.fallback is not None:
        problems.localized("guard.fallback", plan.guard.fallback)
    for i, group in enumerate(plan.groups):
        problems.localized(f"groups[{i}].name", group.name)
    group_ids, audience_ids = {g.id for g in plan.groups}, {a.id for a in plan.audiences}
    for i, comp in enumerate(plan.components):
        problems.localized(f"components[{i}].name", comp.name)
        problems.localized(f"components[{i}].description", comp.description)
        problems.known(f"components[{i}].group", "group", comp.group, group_ids)
        for j, aud in enumerate(comp.audiences):
            problems.known(f"components[{i}].audiences[{j}]", "audience", aud, audience_ids)


def _severities_and_scenarios(problems: _Problems) -> None:
    plan = problems.plan
    for i, sev in enumerate(plan.severities):
        problems.localized(f"severities[{i}].name", sev.name)
        if sev.default_scenario not in plan.scenarios:
            problems.add(
                f"severities[{i}].default_scenario",
                f"scenario '{sev.default_scenario}' is not in 'scenarios'",
                "add it under 'scenarios' or pick another",
            )
    im_impacts = [v for s in plan.severities for v in s.incident_manager_impact]
    for dup in _duplicates(str(v) for v in im_impacts):
        problems.add(
            "severities",
            f"Incident Manager impact {dup} maps to more than one severity",
            "list each impact value (1-5) under one severity only",
        )
    for scenario in Scenario:
        if scenario not in plan.scenarios:
            problems.add(
                f"scenarios.{scenario.value}",
                f"scenario '{scenario.value}' is missing",
                "every scenario needs words before an incident needs them: add it",
            )


def _channels_drill_and_feedback(problems: _Problems) -> None:
    plan = problems.plan
    voice = plan.channels.voice
    if voice is not None and voice.enabled:
        audience_ids = {a.id for a in plan.audiences}
        for j, aud in enumerate(voice.audiences):
            problems.known(f"channels.voice.audiences[{j}]", "audience", aud, audience_ids, close_match=False)
        for code in voice.voice_ids:
            if code not in plan.locale_codes:
                problems.add(
                    f"channels.voice.voice_ids.{code}",
                    f"locale '{code}' is not declared",
                    "declare it or remove it",
                )
    drill_audience = next((a for a in plan.audiences if a.id == plan.drill.audience), None)
    if drill_audience is None or drill_audience.kind != "drill":
        problems.add(
            "drill.audience",
            f"'{plan.drill.audience}' is not an audience of kind 'drill'",
            "add an audience with 'kind: drill' (test addresses only) and name it here",
        )
    if "marker" in plan.drill.model_fields_set:  # the built-in default falls back per locale (drill_mode)
        problems.localized("drill.marker", plan.drill.marker)
    for channel in plan.drill.webhook_secrets:
        if channel not in WEB_CHANNELS:
            problems.add(
                f"drill.webhook_secrets.{channel.value}",
                f"'{channel.value}' is not a web channel",
                f"only {', '.join(sorted(c.value for c in WEB_CHANNELS))} take a drill webhook secret",
            )
    for j, channel in enumerate(plan.feedback.channels):
        if not registry.spec(channel).carries_links:
            problems.add(
                f"feedback.channels[{j}]",
                f"a {registry.spec(channel).label} message cannot carry a link",
                f"remove '{channel.value}' from feedback.channels",
            )
    if not plan.channels.enabled():
        problems.add(
            "channels", "no channel is enabled", "enable at least one channel: customers must hear from you"
        )


def cross_reference_problems(plan: Plan, file: str) -> list[PlanProblem]:
    """Everything a schema alone cannot see: ids that must exist, be unique, cover every locale."""
    problems = _Problems(plan, file)
    _unique_ids(problems)
    _locales_and_components(problems)
    _severities_and_scenarios(problems)
    _channels_drill_and_feedback(problems)
    return problems.found


def parse_plan(data: Any, file: str = "<plan>") -> Plan:
    """Validate plan data (already parsed from YAML/JSON). Raises PlanError with every problem."""
    if not isinstance(data, dict):
        raise PlanError(
            [
                PlanProblem(
                    file, "", "the plan must be a mapping at the top level", "start from plans/example.yaml"
                )
            ]
        )
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError([_problem_from_pydantic(file, e) for e in exc.errors()]) from None
    problems = cross_reference_problems(plan, file)
    if problems:
        raise PlanError(problems)
    return plan


def read_plan_data(path: Path) -> Any:
    """Read YAML (or JSON) from disk, turning I/O and syntax errors into PlanError."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(
            [PlanProblem(file, "", "file not found", "pass the path of your plan YAML")]
        ) from None
    except OSError as exc:
        raise PlanError(
            [
                PlanProblem(
                    file, "", f"cannot read the file ({exc.strerror})", "check the path and its permissions"
                )
            ]
        ) from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(
                [
                    PlanProblem(
                        file,
                        f"line {exc.lineno}",
                        f"invalid JSON: {exc.msg}",
                        "fix the JSON syntax at that line",
                    )
                ]
            ) from None
    import yaml  # lazy: the Lambda reads the plan as JSON and never needs YAML

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise PlanError(
            [
                PlanProblem(
                    file,
                    where,
                    f"invalid YAML: {getattr(exc, 'problem', exc)}",
                    "fix the YAML syntax (indentation, quotes, colons) at that line",
                )
            ]
        ) from None


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file."""
    path = Path(path)
    return parse_plan(read_plan_data(path), str(path))


@functools.cache
def plan_at(path: str) -> Plan:
    """The plan a Lambda function ships with (``PLAN_PATH``), read and validated once per environment."""
    return load_plan(path)
