"""The public subscribe API: subscribe, confirm, preferences and one-click unsubscribe (RFC 8058).

A regional REST API (throttled, JSON access logs, X-Ray, request validation) in front of one function
with reserved concurrency, and the DynamoDB table of its per-IP / per-address abuse counters. The
channels a customer may subscribe to are the registry's self-service channels (email, SMS, push).
Built into the channels stack's own scope (not a nested construct), so every resource keeps the logical
id a deployed stack already has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, Names, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb

from outage_comms.channel_specs import registry
from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.constructs.rest_api import regional_rest_api
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

if TYPE_CHECKING:
    from outage_comms_cdk.channels_stack import OutageCommsChannelsStack
    from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime
    from outage_comms_cdk.constructs.web_acl import PublicWebAcl

SUBSCRIBE_THROTTLE_RATE = 5
SUBSCRIBE_THROTTLE_BURST = 10


def subscribe_request_schema() -> apigw.JsonSchema:
    """The POST /subscriptions body: a self-service channel, an address, a locale, components."""
    return apigw.JsonSchema(
        type=apigw.JsonSchemaType.OBJECT,
        required=["channel", "address", "locale"],
        additional_properties=False,
        properties={
            "channel": apigw.JsonSchema(
                type=apigw.JsonSchemaType.STRING,
                enum=[c.value for c in registry.channels(where=lambda spec: spec.self_service)],
            ),
            "address": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=3, max_length=4096),
            "locale": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=16),
            "platform": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, enum=["APNS", "GCM"]),
            "components": apigw.JsonSchema(
                type=apigw.JsonSchemaType.ARRAY,
                max_items=50,
                items=apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, max_length=63),
            ),
        },
    )


def subscribe_limits_table(stack: Stack, key: Any) -> dynamodb.Table:
    """The subscribe API's abuse counters (expiring items), encrypted with the Outage Comms key."""
    return dynamodb.Table(
        stack,
        "SubscribeLimits",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        time_to_live_attribute="expires_at",
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=RemovalPolicy.DESTROY,
    )


class SubscribeApi:
    """``function`` (the handler), ``api`` (its REST API) and ``url`` (the v1 stage, from the API id)."""

    def __init__(
        self,
        stack: OutageCommsChannelsStack,
        *,
        runtime: LambdaRuntime,
        environment: dict[str, str],
        limits: dynamodb.Table,
        web_acl: PublicWebAcl | None,
    ) -> None:
        plan = stack.plan
        self.function = runtime.new_function(
            stack,
            "SubscribeApiFunction",
            handler="handlers.subscribe_api.handler",
            description="Outage Comms subscribe API: subscribe, confirm, preferences, one-click unsubscribe",
            service_name="subscribe-api",
            environment=environment,
            # A flood of sign-ups can hold no more than this, and never starves the delivering functions.
            reserved_concurrent_executions=plan.edge.reserved_concurrency.subscribe_api,
            synchronous_only_reason=(
                "invoked synchronously by API Gateway; the caller sees the error and retries"
            ),
        )
        role = self.function.role
        stack.grant_subscribers(role)
        limits.grant(role, "dynamodb:UpdateItem")
        limits.encryption_key.grant(role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")  # type: ignore[union-attr]
        stack.grant_token_key(role)
        for hook, settings in stack.wired_channels():
            hook.grant_subscribe(stack, self.function, settings)
        self.function.acknowledge_key_grants()
        self.api = self._rest_api(stack, stack.key, web_acl)
        self._routes(self.api)
        self._acknowledge(self.api, web_acl)
        # Built from the API id, not ``api.url`` (the stage), which would make the function depend on
        # the deployment that depends on the function.
        self.url = f"https://{self.api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/v1"
        self.function.function.add_environment("SUBSCRIBE_API_URL", self.url)

    def _rest_api(self, stack: Stack, key: Any, web_acl: PublicWebAcl | None) -> apigw.RestApi:
        rest = regional_rest_api(
            stack,
            api_id="SubscribeApi",
            access_logs_id="SubscribeApiAccessLogs",
            validator_id="Validator",
            log_group_name=LOG_GROUP_PREFIX
            + Names.unique_resource_name(stack, separator="-", max_length=180)
            + "-subscribe-api",
            key=key,
            rest_api_name=physical_name(stack, "outage-comms-subscribe"),
            description="Outage Comms: public subscribe, confirm and one-click unsubscribe",
            stage_name="v1",
            throttling_rate_limit=SUBSCRIBE_THROTTLE_RATE,
            throttling_burst_limit=SUBSCRIBE_THROTTLE_BURST,
            iam_authorization=False,
            log_caller_identity=False,
            web_acl=web_acl,
        )
        self._validator = rest.validator
        api: apigw.RestApi = rest.api
        return api

    def _routes(self, api: apigw.RestApi) -> None:
        integration = apigw.LambdaIntegration(self.function.function, proxy=True)
        validator = self._validator
        token = {"method.request.querystring.token": True}
        model = api.add_model(
            "SubscribeRequest", content_type="application/json", schema=subscribe_request_schema()
        )
        subscriptions = api.root.add_resource("subscriptions")
        subscriptions.add_method(
            "POST", integration, request_validator=validator, request_models={"application/json": model}
        )
        confirm = subscriptions.add_resource("confirm")
        confirm.add_method("GET", integration, request_validator=validator, request_parameters=token)
        confirm.add_method("POST", integration, request_validator=validator)
        subscriptions.add_resource("preferences").add_method("PUT", integration, request_validator=validator)
        unsubscribe = api.root.add_resource("unsubscribe")
        for method in ("GET", "POST"):
            unsubscribe.add_method(method, integration, request_validator=validator, request_parameters=token)

    @staticmethod
    def _acknowledge(api: apigw.RestApi, web_acl: PublicWebAcl | None) -> None:
        public = (
            "Public by design: anyone may subscribe, and unsubscribe links in email must "
            "work without a login "
            "(RFC 8058). Abuse is bounded by stage throttling (5 rps, burst 10), per-IP and "
            "per-address counters "
            "in DynamoDB, double opt-in, and signed tokens for every change."
        )
        acknowledge(api, "AwsSolutions-APIG4", public)
        acknowledge(api, "AwsSolutions-COG4", public)
        if web_acl is None:
            acknowledge(
                api,
                "AwsSolutions-APIG3",
                "No WAF web ACL while the plan's edge.waf.enabled is false (one costs about US$9 a month at "
                "rest): the stage is throttled, the function's concurrency is reserved, and it enforces "
                "per-IP and per-address limits. Set edge.waf.enabled: true to attach one.",
            )
        acknowledge(
            api,
            "AwsSolutions-APIG6",
            "Execution logging needs the account-wide API Gateway CloudWatch role, which "
            "this stack does not own "
            "(cloudWatchRole is off). JSON access logs with the source IP and status are on for the stage.",
        )
