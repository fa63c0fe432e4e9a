"""Door 5: people. A REST API (IAM auth on every method) to declare, update, resolve and read incidents.

The function applies a request like every other door (incidents and idempotency tables, the bus)
but holds no ``states:`` permission: it puts a workflow hand-off on the intake queue and the
intake function starts or resumes the execution (``outage_comms.intake.handoff``). Whoever can call
``SendTaskSuccess`` can resume an approval task, so only the intake and approval functions can.

``GET /incidents/{id}/activity`` reads the workflow's events (workflow table, passed across stacks
as ``workflow_table``) and the delivery results: ``dynamodb:Query`` on those two tables only, and
on the workflow table only on ``INCIDENT#`` partitions (``dynamodb:LeadingKeys``). It has no
access to the approval requests' table.

The caller signs with SigV4 (``outage-comms declare | update | resolve``); the handler takes the
caller's identity from the request context, never from the body.
"""

from __future__ import annotations

from aws_cdk import Names
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from outage_comms_cdk.constructs.data_store import INCIDENTS_RECENT_INDEX, incident_index_arns
from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.constructs.intake import grant_incident_path, incident_path_environment
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.constructs.rest_api import RegionalRestApi, regional_rest_api
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

STAGE_NAME = "v1"
#: The workflow table's partitions the activity route may read (never another kind of partition).
ACTIVITY_PARTITIONS = "INCIDENT#*"
THROTTLE_RATE = 10
THROTTLE_BURST = 20

_STRINGS = apigw.JsonSchema(
    type=apigw.JsonSchemaType.ARRAY, items=apigw.JsonSchema(type=apigw.JsonSchemaType.STRING)
)
#: Types only: the handler names unknown fields and wrong values with the fix, more clearly than
#: API Gateway's validator could.
HUMAN_REQUEST_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="HumanIncidentRequest",
    type=apigw.JsonSchemaType.OBJECT,
    properties={
        "request_id": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=128),
        "incident_id": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "components": _STRINGS,
        "severity": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "scenario": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "status": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        # Lengths are checked by the handler (outage_comms.human_text): after NFC, naming the field.
        "title": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "note": apigw.JsonSchema(
            type=apigw.JsonSchemaType.OBJECT,
            additional_properties=apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        ),
        "at": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "starts_at": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "ends_at": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
    },
)


class IncidentApi(Construct):
    """REST API + its function. Access logs (JSON) in an encrypted group, X-Ray, stage throttling."""

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
        workflow_table: dynamodb.ITable | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = self._function(
            runtime,
            incident_path_environment(
                incidents=incidents, idempotency=idempotency, bus=bus, state_machine=state_machine
            ),
            intake_queue,
            workflow_table,
        )
        grant_incident_path(
            self.function, key=key, incidents=incidents, idempotency=idempotency, bus=bus, state_machine=None
        )
        intake_queue.grant_send_messages(self.function.role)
        # GET /incidents/{id}/activity: Query on the incident's partition (DELIVERY# items, workflow events),
        # and on no other partition: whatever else those tables hold is not the activity route's to read.
        self.function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[t.table_arn for t in (incidents, workflow_table) if t is not None],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [ACTIVITY_PARTITIONS]}},
            )
        )
        rest = self._rest_api(key)
        self._routes(rest.validator, incidents)
        self._acknowledge()

    def _function(
        self,
        runtime: LambdaRuntime,
        environment: dict[str, str],
        intake_queue: sqs.IQueue,
        workflow_table: dynamodb.ITable | None,
    ) -> OutageCommsFunction:
        return runtime.new_function(
            self,
            "Function",
            handler="handlers.incident_api.handler",
            description="Outage Comms incident API: people declare, update, resolve and read incidents",
            service_name="incident-api",
            # Always this much for the people declaring and updating incidents (plan's edge section).
            reserved_concurrent_executions=runtime.plan.edge.reserved_concurrency.incident_api,
            environment={
                **environment,
                "WORKFLOW_HANDOFF_QUEUE_URL": intake_queue.queue_url,
                **({"WORKFLOW_TABLE": workflow_table.table_name} if workflow_table else {}),
            },
            synchronous_only_reason=(
                "invoked synchronously by API Gateway; the caller (the outage-comms CLI) sees the error "
                "and retries"
            ),
        )

    def _rest_api(self, key: kms.IKey) -> RegionalRestApi:
        rest = regional_rest_api(
            self,
            validator_id="BodyValidator",
            log_group_name=LOG_GROUP_PREFIX + Names.unique_resource_name(self, separator="-", max_length=200),
            key=key,
            rest_api_name=physical_name(self, "outage-comms-incidents"),
            description="Outage Comms: declare, update, resolve and read incidents (SigV4 / IAM)",
            stage_name=STAGE_NAME,
            throttling_rate_limit=THROTTLE_RATE,
            throttling_burst_limit=THROTTLE_BURST,
            iam_authorization=True,
        )
        self.access_logs = rest.access_logs
        self.api = rest.api
        self.api.add_gateway_response(
            "InvalidBody",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            templates={
                "application/json": (
                    '{"error": "invalid_body", "message": "$context.error.validationErrorString"}'
                )
            },
        )
        return rest

    def _routes(self, body_validator: apigw.RequestValidator, incidents: dynamodb.ITable) -> None:
        """/incidents (POST, GET), /incidents/{id} (GET, activity, updates, resolve), /maintenances."""
        params_validator = self.api.add_request_validator(
            "ParametersValidator", validate_request_body=False, validate_request_parameters=True
        )
        request_model = self.api.add_model(
            "HumanRequestModel", content_type="application/json", schema=HUMAN_REQUEST_SCHEMA
        )
        integration = apigw.LambdaIntegration(self.function.function, proxy=True)
        incidents_resource = self.api.root.add_resource("incidents")
        models = {"application/json": request_model}
        incidents_resource.add_method(
            "POST", integration, request_validator=body_validator, request_models=models
        )
        # GET /incidents: open and recent incidents (outage-comms list) through the keys-only recent index.
        incidents_resource.add_method("GET", integration, request_validator=params_validator)
        self.function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=incident_index_arns(incidents, INCIDENTS_RECENT_INDEX)
            )
        )
        one = incidents_resource.add_resource("{incident_id}")
        path_parameter = {"method.request.path.incident_id": True}
        one.add_method(
            "GET", integration, request_validator=params_validator, request_parameters=path_parameter
        )
        one.add_resource("activity").add_method(
            "GET", integration, request_validator=params_validator, request_parameters=path_parameter
        )
        for action in ("updates", "resolve"):
            one.add_resource(action).add_method(
                "POST",
                integration,
                request_validator=body_validator,
                request_models=models,
                request_parameters=path_parameter,
            )
        # Scheduled maintenance: POST /maintenances, /maintenances/{incident_id}/complete | cancel.
        maintenances = self.api.root.add_resource("maintenances")
        maintenances.add_method("POST", integration, request_validator=body_validator, request_models=models)
        window = maintenances.add_resource("{incident_id}")
        for action in ("complete", "cancel"):
            window.add_resource(action).add_method(
                "POST",
                integration,
                request_validator=body_validator,
                request_models=models,
                request_parameters=path_parameter,
            )

    def _acknowledge(self) -> None:
        acknowledge(
            self.api,
            "AwsSolutions-APIG3",
            "No WAF web ACL: every method requires SigV4 (IAM) authentication and the stage is throttled; "
            "anonymous traffic is refused before it reaches the function. Attach a web ACL per account "
            "policy.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-COG4",
            "Callers are IAM principals (incident and communications managers' roles) signing with SigV4; "
            "a Cognito user pool would add a second identity system for the same people.",
        )
        acknowledge(
            self.api,
            "AwsSolutions-APIG6",
            "Execution logging needs the account-wide API Gateway CloudWatch role, which this stack "
            "does not own "
            "(cloudWatchRole is off). JSON access logs with caller identity and status are on for the stage.",
        )
