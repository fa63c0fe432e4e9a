"""Each channel's CDK wiring: what its spec's ``cdk`` hook adds to the channels stack.

A channel spec (``outage_comms.channel_specs.builtin.<name>``) names its wiring as ``"module:attr"``; the
channels stack resolves it at synth (``registry.cdk_hook``) and calls, for every enabled channel:

- :meth:`ChannelWiring.set_up` once, when the stack is built (SES configuration set and suppression);
- :meth:`ChannelWiring.environment` for the functions that build the channel's adapters;
- :meth:`ChannelWiring.grant_delivery` on every function that delivers on the channels;
- :meth:`ChannelWiring.grant_subscribe` on the subscribe API's function (confirmation messages).

A channel that only needs its plan secrets read (Slack, Teams, Mastodon, Bluesky, the webhook, the
support desk, or a channel added outside the product) needs no wiring: the stack grants every enabled
channel's ``secret_fields`` by name. Each grant is scoped to the plan's own identities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm

from outage_comms_cdk.quality_gates import acknowledge

if TYPE_CHECKING:
    from outage_comms_cdk.channels_stack import OutageCommsChannelsStack
    from outage_comms_cdk.constructs.lambda_runtime import OutageCommsFunction
    from outage_comms_cdk.core_stack import OutageCommsCoreStack


def sms_voice_arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:sms-voice:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def origination_resources(identity: str) -> list[str]:
    """IAM resources for an origination identity as the plan writes it.

    An ARN is used as is, and ids (``phone-…``, ``pool-…``) become their ARN. A phone number in
    E.164 or a sender id can't be turned into its ARN (the ARN holds a generated id), so those allow
    the account's phone numbers / sender ids / pools in this region: write the ARN in the plan to
    tighten it.
    """
    if identity.startswith("arn:"):
        return [identity]
    if identity.startswith("phone-"):
        return [sms_voice_arn(f"phone-number/{identity}")]
    if identity.startswith("pool-"):
        return [sms_voice_arn(f"pool/{identity}")]
    if identity.startswith("+"):
        return [sms_voice_arn("phone-number/*"), sms_voice_arn("pool/*")]
    return [sms_voice_arn(f"sender-id/{identity}/*"), sms_voice_arn("pool/*")]


def acknowledge_sms_voice(function: OutageCommsFunction, resources: list[str]) -> None:
    """cdk-nag: the wildcards of End User Messaging resources, each with its reason."""
    for resource in resources:
        if "*" not in resource:
            continue
        shown = (
            resource.replace(str(Aws.PARTITION), "<AWS::Partition>")
            .replace(str(Aws.REGION), "<AWS::Region>")
            .replace(str(Aws.ACCOUNT_ID), "<AWS::AccountId>")
        )
        acknowledge(
            function.role,
            f"AwsSolutions-IAM5[Resource::{shown}]",
            "Scoped to this account and region. Opt-out lists: the send checks the identity's list. An "
            "E.164 number or sender id has no name-based ARN (it holds a generated id), so its type is "
            "wildcarded; write the identity's ARN in the plan to pin it. No other sms-voice "
            "action is granted.",
        )


class ChannelWiring:
    """A channel's wiring; every step does nothing unless the channel overrides it."""

    def set_up(self, stack: OutageCommsChannelsStack, core: OutageCommsCoreStack, settings: Any) -> None:
        return None

    def environment(self, stack: OutageCommsChannelsStack, settings: Any) -> dict[str, str]:
        return {}

    def grant_delivery(
        self, stack: OutageCommsChannelsStack, function: OutageCommsFunction, settings: Any
    ) -> None:
        return None

    def grant_subscribe(
        self, stack: OutageCommsChannelsStack, function: OutageCommsFunction, settings: Any
    ) -> None:
        return None


class EmailWiring(ChannelWiring):
    """SES: the configuration set with its bounce/complaint suppression; SendEmail from the plan address."""

    def set_up(self, stack: OutageCommsChannelsStack, core: OutageCommsCoreStack, settings: Any) -> None:
        from outage_comms_cdk.constructs.email_setup import EmailSetup

        stack.email_setup = EmailSetup(
            stack,
            core=core,
            settings=settings,
            subscribers_table=stack.subscribers.table_name,
            grant_subscribers=stack.grant_subscribers,
        )

    def grant_delivery(
        self, stack: OutageCommsChannelsStack, function: OutageCommsFunction, settings: Any
    ) -> None:
        domain = settings.from_address.split("@", 1)[1]
        function.role.add_to_policy(
            iam.PolicyStatement(
                sid="SendEmailFromThePlanAddress",
                actions=["ses:SendEmail"],
                resources=[
                    stack.format_arn(service="ses", resource="identity", resource_name=domain),
                    stack.format_arn(service="ses", resource="identity", resource_name=settings.from_address),
                    stack.format_arn(
                        service="ses", resource="configuration-set", resource_name=settings.configuration_set
                    ),
                ],
                conditions={"StringEquals": {"ses:FromAddress": settings.from_address}},
            )
        )

    grant_subscribe = grant_delivery  # the confirmation email


class SmsWiring(ChannelWiring):
    """End User Messaging SMS: SendTextMessage through the plan's configuration set and identity."""

    def grant_delivery(
        self, stack: OutageCommsChannelsStack, function: OutageCommsFunction, settings: Any
    ) -> None:
        identity = origination_resources(settings.origination_identity)
        function.role.add_to_policy(
            iam.PolicyStatement(
                sid="SendTextThroughThePlanIdentity",
                actions=["sms-voice:SendTextMessage"],
                resources=[
                    sms_voice_arn(f"configuration-set/{settings.configuration_set}"),
                    sms_voice_arn("opt-out-list/*"),
                    *identity,
                ],
            )
        )
        acknowledge_sms_voice(function, [sms_voice_arn("opt-out-list/*"), *identity])

    grant_subscribe = grant_delivery  # the confirmation text


class VoiceWiring(ChannelWiring):
    """End User Messaging voice: SendVoiceMessage through the plan's identity (delivery only)."""

    def grant_delivery(
        self, stack: OutageCommsChannelsStack, function: OutageCommsFunction, settings: Any
    ) -> None:
        resources = [sms_voice_arn("opt-out-list/*"), *origination_resources(settings.origination_identity)]
        function.role.add_to_policy(
            iam.PolicyStatement(
                sid="CallThroughThePlanIdentity", actions=["sms-voice:SendVoiceMessage"], resources=resources
            )
        )
        acknowledge_sms_voice(function, resources)


class PushWiring(ChannelWiring):
    """End User Messaging Push: the application id from SSM, SendMessages through that application only."""

    def application_id(self, stack: OutageCommsChannelsStack, settings: Any) -> str:
        # One CloudFormation parameter per stack and name: CDK reuses it on a second call.
        return ssm.StringParameter.value_for_string_parameter(stack, settings.application_id_parameter)

    def environment(self, stack: OutageCommsChannelsStack, settings: Any) -> dict[str, str]:
        return {"PUSH_APPLICATION_ID": self.application_id(stack, settings)}

    def _send(self, stack: OutageCommsChannelsStack, settings: Any, sid: str) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid=sid,
            actions=["mobiletargeting:SendMessages"],
            resources=[
                stack.format_arn(
                    service="mobiletargeting",
                    resource="apps",
                    resource_name=f"{self.application_id(stack, settings)}/messages",
                )
            ],
        )

    def grant_delivery(
        self, stack: OutageCommsChannelsStack, function: OutageCommsFunction, settings: Any
    ) -> None:
        function.role.add_to_policy(self._send(stack, settings, "SendPushThroughThePlanApplication"))

    def grant_subscribe(
        self, stack: OutageCommsChannelsStack, function: OutageCommsFunction, settings: Any
    ) -> None:
        """The subscribe API's silent confirmation push (channels/confirmations.py), via the plan's app."""
        function.role.add_to_policy(self._send(stack, settings, "SendPushConfirmations"))


EMAIL = EmailWiring()
SMS = SmsWiring()
VOICE = VoiceWiring()
PUSH = PushWiring()
