"""Bulk delivery: the ``outage-comms-bulk-delivery`` state machine for audiences too large for one call.

Input (from ``channels/bulk.py``)::

    {"channel": "email" | "sms", "incident_id", "update_id",
     "recipients": {"bucket", "key", "count"}, "messages": {"bucket", "key"}}

A Choice picks the provider's batching for the channel (a Pass state holding numbers from this
construct's arguments, so the definition shows them), then a **Distributed Map** reads the JSONL
export (``S3JsonLItemReader``), groups recipients with an **ItemBatcher** sized to the provider
(SES: 50 recipients per batch; SMS: 20 seconds of the origination number's MPS), runs at most
``max_concurrency`` child executions (SES: the account quota split across senders; SMS: 1, since
MPS is per origination number), and writes every child's result (sent, failed recipients with
reasons) to S3 with a **ResultWriter**. Each batch Lambda holds a token bucket at ``rate / concurrency``.
Batches that fail as a whole (throttled before anything was sent, Lambda errors) are retried with
backoff and jitter; ``ToleratedFailurePercentage`` 100 lets the map finish and record them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct, IConstruct

from outage_comms_cdk.constructs.encryption import LOG_GROUP_PREFIX
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

STATE_MACHINE_NAME = "outage-comms-bulk-delivery"
#: SES accepts at most 50 recipients per message: one batch is what one SES "message" could carry.
SES_RECIPIENTS_PER_BATCH = 50
#: An SMS batch holds this many seconds of the number's throughput, well inside the Lambda timeout.
SMS_SECONDS_PER_BATCH = 20
#: Step Functions passes at most 256 KiB to a child; stay under it with room for the batch input.
MAX_INPUT_BYTES_PER_BATCH = 200 * 1024


@dataclass(frozen=True, kw_only=True)
class SendQuotas:
    """The account's sending quotas. Defaults are a new production SES account and a US toll-free number.

    ``ses_send_rate``: SES maximum send rate (recipients per second, Service Quotas);
    ``ses_max_concurrency``: parallel senders sharing it; ``sms_parts_per_second``: the origination
    identity's MPS (message parts per second).
    """

    ses_send_rate: float = 14.0
    ses_max_concurrency: int = 7
    sms_parts_per_second: float = 3.0

    @property
    def email_rate_per_sender(self) -> float:
        return self.ses_send_rate / self.ses_max_concurrency

    @property
    def sms_batch_size(self) -> int:
        return max(1, int(self.sms_parts_per_second * SMS_SECONDS_PER_BATCH))


class BulkDelivery(Construct):
    """The bulk bucket's consumer: send-batch function + Distributed Map state machine."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: LambdaRuntime,
        key: kms.IKey,
        bucket: s3.IBucket,
        quotas: SendQuotas = SendQuotas(),
        environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.quotas = quotas
        self._send_batch_function(runtime, key, bucket, environment)
        send_all = self._send_to_recipients(bucket, self._send_task())
        choose = self._choose_batching(quotas, send_all)
        self._state_machine(runtime, key, choose)
        self._acknowledge_scoped_wildcards(bucket)

    def _send_batch_function(
        self, runtime: LambdaRuntime, key: kms.IKey, bucket: s3.IBucket, environment: dict[str, str] | None
    ) -> None:
        self.send_batch: OutageCommsFunction = runtime.new_function(
            self,
            "SendBatch",
            handler="handlers.send_batch.handler",
            description="Outage Comms bulk delivery: send one batch of recipients, rate-limited",
            service_name="bulk-send-batch",
            memory_size=512,
            timeout=Duration.seconds(120),
            environment=environment,
            synchronous_only_reason=(
                "invoked by the bulk delivery Distributed Map, whose Retry/Catch handles failures"
            ),
        )
        self.send_batch.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects("bulk/*")])
        )
        self.send_batch.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[key.key_arn])
        )

    def _send_task(self) -> tasks.LambdaInvoke:
        send = tasks.LambdaInvoke(
            self,
            "SendBatchTask",
            state_name="SendBatch",
            lambda_function=self.send_batch.function,
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        send.add_retry(
            errors=[
                "ChannelRetryableError",
                "Lambda.ServiceException",
                "Lambda.AWSLambdaException",
                "Lambda.SdkClientException",
                "Lambda.TooManyRequestsException",
                "States.Timeout",
            ],
            interval=Duration.seconds(2),
            max_attempts=4,
            backoff_rate=2.0,
            max_delay=Duration.seconds(60),
            jitter_strategy=sfn.JitterType.FULL,
        )
        return send

    def _send_to_recipients(self, bucket: s3.IBucket, send: tasks.LambdaInvoke) -> sfn.DistributedMap:
        self.results_prefix = "bulk-results"
        send_all = sfn.DistributedMap(
            self,
            "SendToRecipients",
            state_name="SendToRecipients",
            item_reader=sfn.S3JsonLItemReader(bucket=bucket, key=sfn.JsonPath.string_at("$.recipients.key")),
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch_path="$.batching.max_items",
                max_input_bytes_per_batch=MAX_INPUT_BYTES_PER_BATCH,
                batch_input={
                    "channel.$": "$.channel",
                    "incident_id.$": "$.incident_id",
                    "update_id.$": "$.update_id",
                    "messages.$": "$.messages",
                    "rate_per_second.$": "$.batching.rate_per_second",
                },
            ),
            max_concurrency_path="$.batching.max_concurrency",
            tolerated_failure_percentage=100,
            result_writer_v2=sfn.ResultWriterV2(bucket=bucket, prefix=self.results_prefix),
            result_path="$.results",
            # Each batch is seconds long: Express children cost per request, not per state transition.
            map_execution_type=sfn.StateMachineType.EXPRESS,
        )
        send_all.item_processor(send)
        return send_all

    def _choose_batching(self, quotas: SendQuotas, send_all: sfn.DistributedMap) -> sfn.Choice:
        """Email and SMS batch by their providers' quotas; anything else has no bulk path."""
        email_batching = sfn.Pass(
            self,
            "EmailBatching",
            comment="SES: 50 recipients per batch, account send rate split across the senders",
            result=sfn.Result.from_object(
                {
                    "max_items": SES_RECIPIENTS_PER_BATCH,
                    "max_concurrency": quotas.ses_max_concurrency,
                    "rate_per_second": quotas.email_rate_per_sender,
                }
            ),
            result_path="$.batching",
        )
        sms_batching = sfn.Pass(
            self,
            "SmsBatching",
            comment="SMS: MPS is per origination number, so one sender at the number's full rate",
            result=sfn.Result.from_object(
                {
                    "max_items": quotas.sms_batch_size,
                    "max_concurrency": 1,
                    "rate_per_second": quotas.sms_parts_per_second,
                }
            ),
            result_path="$.batching",
        )
        choose = (
            sfn.Choice(self, "ChooseBatching", state_name="ChooseBatching")
            .when(sfn.Condition.string_equals("$.channel", "email"), email_batching)
            .when(sfn.Condition.string_equals("$.channel", "sms"), sms_batching)
            .otherwise(
                sfn.Fail(
                    self, "UnknownChannel", error="UnknownChannel", cause="only email and sms go in bulk"
                )
            )
        )
        email_batching.next(send_all)
        sms_batching.next(send_all)
        return choose

    def _state_machine(self, runtime: LambdaRuntime, key: kms.IKey, choose: sfn.Choice) -> None:
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"{LOG_GROUP_PREFIX}states/{physical_name(self, STATE_MACHINE_NAME)}",
            retention=runtime.log_retention,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=physical_name(self, STATE_MACHINE_NAME),
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(choose),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            comment="Outage Comms: send one update to a large audience (Distributed Map over a JSONL export)",
        )
        # The Distributed Map adds its own S3 read/write and child-execution permissions; the objects
        # are encrypted with the Outage Comms key, which it needs to read exports and write results.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )

    def _acknowledge_scoped_wildcards(self, bucket: s3.IBucket) -> None:
        """Name each wildcard the state machine's and the batch function's policies hold, and why."""
        bucket_id = logical_id(bucket)
        function_id = logical_id(self.send_batch.function)
        machine_id = logical_id(self.state_machine)
        machine_reasons = {
            "Resource::*": "X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and "
            "CloudWatch Logs vended log delivery (logs:*LogDelivery*, DescribeLogGroups, "
            "*ResourcePolicy*), which "
            "Step Functions logging needs, have no resource-level permissions.",
            f"Resource::<{function_id}.Arn>:*": "LambdaInvoke may call any version of the one send-batch "
            "function.",
            f"Resource::arn:<AWS::Partition>:s3:::<{bucket_id}>/*": "The Distributed Map's ItemReader and "
            "ResultWriter read the export and write results in the one bulk bucket.",
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine_id}"}}]}}]}}/*:*': "The Distributed Map "
            "describes and stops its own map runs' child executions.",
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine_id}"}}]}}]}}:*': "The Distributed Map "
            "starts and describes executions of this state machine only.",
        }
        for finding, reason in machine_reasons.items():
            acknowledge(self.state_machine, f"AwsSolutions-IAM5[{finding}]", reason)
        acknowledge(
            self.send_batch.role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/bulk/*]",
            "Reads the exports and words of updates under bulk/ in the one bulk bucket, nothing else.",
        )


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of ``construct``'s resource, as cdk-nag prints it in findings."""
    stack = Stack.of(construct)
    child = construct.node.default_child
    assert child is not None
    return str(stack.resolve(stack.get_logical_id(child)))  # type: ignore[arg-type]
