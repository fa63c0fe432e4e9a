"""The compose page's public face: ``/incidents/{incident_id}/compose/{reference}`` (GET and POST).

The communications manager writes the next update (or resolves) from the link in a reminder,
escalation or held notice. The function applies the request like the incident API does (same
tables, same idempotency, hand-offs on the intake queue, no ``states:`` permission at all) and
verifies the link with the review links' HMAC key (read only). API Gateway requires SigV4 (IAM) on
every method; the function admits only the plan's communications and incident managers.

The workflow stack is deployed first and signs the links, so it cannot reference this API's URL:
the URL is published in an SSM parameter with a fixed name (:data:`COMPOSE_URL_PARAMETER`, with the
deployment id in it) that the reminder function reads at run time (:func:`grant_read_compose_url`).
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.constructs.intake import grant_incident_path, incident_path_environment
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime
from outage_comms_cdk.constructs.rest_api import regional_rest_api
from outage_comms_cdk.constructs.signing_key import HmacSigningKey
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

COMPOSE_STAGE = "compose"
#: The SSM parameter holding the compose page's base URL (a deployment id goes into it).
COMPOSE_URL_PARAMETER = "/outage-comms/compose-page-url"


def compose_url_parameter_name(scope: Construct) -> str:
    return str(physical_name(scope, COMPOSE_URL_PARAMETER))


def grant_read_compose_url(scope: Construct, grantee: iam.IGrantable) -> dict[str, str]:
    """Let ``grantee`` read the compose page's URL; returns the environment naming the parameter."""
    name = compose_url_parameter_name(scope)
    arn = Stack.of(scope).format_arn(service="ssm", resource="parameter", resource_name=name.lstrip("/"))
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[arn])
    )
    return {"COMPOSE_URL_PARAMETER": name}


class ComposePageApi(Construct):
    """The compose page's REST API (IAM auth), its function, and the SSM parameter with its URL."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: LambdaRuntime,
        key: kms.IKey,
        incidents: dynamodb.ITable,
        idempotency: dynamodb.ITable,
        bus: events.IEventBus,
        state_machine: sfn.IStateMachine,
        intake_queue: sqs.IQueue,
        signing_key: HmacSigningKey,
        web_acl: PublicWebAcl | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = runtime.new_function(
            self,
            "Function",
            handler="handlers.compose_page.handler",
            description="Outage Comms compose page: the next customer update or the resolution, from a link",
            service_name="compose-page",
            reserved_concurrent_executions=runtime.plan.edge.reserved_concurrency.review_page,
            environment={
                **incident_path_environment(
                    incidents=incidents, idempotency=idempotency, bus=bus, state_machine=state_machine
                ),
                "WORKFLOW_HANDOFF_QUEUE_URL": intake_queue.queue_url,
                "REVIEW_SECRET_ARN": signing_key.secret.secret_arn,
            },
            synchronous_only_reason="invoked synchronously by API Gateway; the person sees the error page",
        )
        # The incident API's grants exactly: no states: action (hand-offs go through the intake queue).
        grant_incident_path(
            self.function, key=key, incidents=incidents, idempotency=idempotency, bus=bus, state_machine=None
        )
        intake_queue.grant_send_messages(self.function.role)
        signing_key.grant_read(self.function.role)
        self.api = self._api(key, web_acl)
        self.url_parameter = ssm.StringParameter(
            self,
            "UrlParameter",
            parameter_name=compose_url_parameter_name(self),
            string_value=self.api.url,
            description="Outage Comms: the compose page's base URL, for the links in reminders",
        )
        self._acknowledge_api(web_acl)

    def _api(self, key: kms.IKey, web_acl: PublicWebAcl | None) -> apigw.RestApi:
        """``GET``/``POST /incidents/{incident_id}/compose/{reference}``: throttled, IAM-authorized."""
        rest = regional_rest_api(
            self,
            validator_id="PathValidator",
            log_group_name=physical_name(self, f"{LOG_GROUP_PREFIX}api/compose-page"),
            key=key,
            rest_api_name=physical_name(self, "outage-comms-compose"),
            description="Outage Comms compose page: the next customer update, from a reminder's link",
            stage_name=COMPOSE_STAGE,
            throttling_rate_limit=10,
            throttling_burst_limit=20,
            iam_authorization=True,
            metrics_enabled=False,
            web_acl=web_acl,
        )
        api = rest.api
        compose = (
            api.root.add_resource("incidents")
            .add_resource("{incident_id}")
            .add_resource("compose")
            .add_resource("{reference}")
        )
        integration = apigw.LambdaIntegration(self.function.function, timeout=Duration.seconds(29))
        for method in ("GET", "POST"):
            compose.add_method(
                method,
                integration,
                request_validator=rest.validator,
                request_parameters={
                    "method.request.path.incident_id": True,
                    "method.request.path.reference": True,
                },
            )
        return api

    def _acknowledge_api(self, web_acl: PublicWebAcl | None) -> None:
        reasons = {
            "AwsSolutions-APIG3": "Every method requires SigV4 (IAM) and the function admits only the plan's "
            "communications and incident managers; the stage is throttled. The plan's edge.waf attaches a "
            "web ACL.",
            "AwsSolutions-COG4": "Authorization is IAM (SigV4): the people are IAM roles listed in the plan, "
            "not a Cognito user pool.",
            "AwsSolutions-APIG6": "Access logs (every request, caller and status) go to an encrypted log "
            "group; execution logging needs an account-wide API Gateway CloudWatch role, which this app "
            "deliberately does not create (@aws-cdk/aws-apigateway:disableCloudWatchRole).",
            "Serverless-APIGWDefaultThrottling": "The compose stage sets its own rate and burst limits.",
        }
        if web_acl is not None:
            del reasons["AwsSolutions-APIG3"]
        for rule, reason in reasons.items():
            acknowledge(self.api, rule, reason)

    @property
    def url(self) -> str:
        return str(self.api.url)
