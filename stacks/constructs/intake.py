"""The intake queue and function every EventBridge door feeds, and the doors themselves.

Rules -> encrypted SQS intake queue -> intake Lambda (batches, partial failures). There is one rule
per intake source that declares one (``outage_comms.intake.sources``: alarms, AWS Health, Incident
Manager, OpsCenter; a source added to the registry gets its rule here, nothing to edit). The queue absorbs
an alarm storm and lets the function's concurrency stay small, which keeps optimistic-locking
conflicts rare. Records that keep failing (AWS errors, not bad events) move to the core stack's
dead-letter queue after ``MAX_RECEIVE_COUNT`` receives; events intake cannot use go there at once,
with their reason in message attributes.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from outage_comms.intake.sources import registry
from outage_comms.plan import Plan
from outage_comms_cdk.constructs.incident_workflow import STATE_MACHINE_NAME as INCIDENT_STATE_MACHINE_NAME
from outage_comms_cdk.constructs.lambda_runtime import DEFAULT_TIMEOUT, LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import physical_name

MAX_RECEIVE_COUNT = 5
BATCH_SIZE = 10
#: Few concurrent intakes: a storm is a queue, not a thundering herd of conditional writes.
MAX_CONCURRENCY = 5
#: EventBridge keeps retrying a failed delivery to the queue for up to this long, then dead-letters it.
DELIVERY_MAX_EVENT_AGE = Duration.hours(24)

INCIDENT_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
IDEMPOTENCY_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)


def intake_target(queue: sqs.IQueue, dead_letter_queue: sqs.IQueue) -> events.IRuleTarget:
    """How every trigger rule delivers to the intake queue (with retries, then the dead-letter queue).

    Pass the dead-letter queue as :meth:`Intake.rule_dead_letter_queue`: EventBridge's right to write
    to it is one account-scoped statement (``allow_eventbridge_dead_letters``), not one per rule.
    """
    return targets.SqsQueue(
        queue, dead_letter_queue=dead_letter_queue, max_event_age=DELIVERY_MAX_EVENT_AGE, retry_attempts=185
    )


def event_pattern(pattern: registry.RulePattern) -> events.EventPattern:
    """A source's rule pattern (EventBridge JSON) as CDK's ``EventPattern``."""
    known = {
        "source": "source",
        "detail-type": "detail_type",
        "detail": "detail",
        "account": "account",
        "region": "region",
        "resources": "resources",
    }
    unknown = sorted(set(pattern) - set(known))
    if unknown:
        raise ValueError(f"rule pattern keys {unknown} are not supported; use {sorted(known)}")
    return events.EventPattern(**{known[key]: value for key, value in pattern.items()})


def source_event_patterns(plan: Plan, *, forwarded_only: bool = False) -> dict[str, events.EventPattern]:
    """Each source's rule pattern for this plan, by the rule's construct id (``Alarms``, ``Health``, ...).

    ``forwarded_only``: only the sources whose events land in the region they concern (what a
    two-region engine forwards across regions). A source whose plan maps nothing has no pattern.
    """
    patterns: dict[str, events.EventPattern] = {}
    for spec in registry.specs():
        rule = spec.rule
        if rule is None or (forwarded_only and not rule.forwarded):
            continue
        pattern = rule.pattern(plan)
        if pattern is not None:
            patterns[rule.construct_id] = event_pattern(pattern)
    return patterns


class SourceRule(Construct):
    """One source's rule on the account's default bus, sending its events to the intake queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        pattern: events.EventPattern,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description=description,
            event_pattern=pattern,
            targets=[intake_target(queue, dead_letter_queue)],
        )


def source_rules(
    scope: Construct, plan: Plan, *, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue
) -> dict[str, SourceRule]:
    """A :class:`SourceRule` in ``scope`` for every registered source with a pattern for this plan, by
    source name. Each is named by its spec's ``construct_id``, so its CloudFormation id stays put."""
    rules: dict[str, SourceRule] = {}
    for spec in registry.specs():
        pattern = spec.rule.pattern(plan) if spec.rule is not None else None
        if spec.rule is None or pattern is None:
            continue
        rules[spec.name] = SourceRule(
            scope,
            spec.rule.construct_id,
            description=spec.rule.description,
            pattern=event_pattern(pattern),
            queue=queue,
            dead_letter_queue=dead_letter_queue,
        )
    return rules


def grant_incident_path(
    function: OutageCommsFunction,
    *,
    key: kms.IKey,
    incidents: dynamodb.ITable,
    idempotency: dynamodb.ITable,
    bus: events.IEventBus,
    state_machine: sfn.IStateMachine | None,
    engine_regions: Sequence[str] = (),
) -> None:
    """What applying a signal needs: the tables, the bus, and starting / feeding the workflow.

    ``state_machine=None`` grants no ``states:`` action at all: the incident API's role, which hands
    workflow work to the intake function through the intake queue (see
    ``outage_comms.intake.handoff``) — whoever may resume a task may resume an approval task too.
    ``engine_regions`` (a two-region plan's): ``SendTaskSuccess`` also on the incident state machine of
    each of those regions, for a waiting execution's token is answered in the region that issued it.
    """
    # On the tables only: intake never reads an index (``Table.grant`` would add ``index/*`` too).
    for table, actions in ((incidents, INCIDENT_TABLE_ACTIONS), (idempotency, IDEMPOTENCY_TABLE_ACTIONS)):
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(actions), resources=[table.table_arn])
        )
    key.grant_encrypt_decrypt(function.role)
    bus.grant_put_events_to(function.role)
    if state_machine is not None:
        state_machine.grant_start_execution(function.role)
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess"],
                resources=task_response_arns(function, state_machine, engine_regions),
            )
        )
    function.acknowledge_key_grants()


def task_response_arns(
    scope: Construct, state_machine: sfn.IStateMachine, engine_regions: Sequence[str]
) -> list[str]:
    """This engine's incident state machine, and the same-named one of every other engine region.

    Task tokens are regional: ``SendTaskSuccess`` must be called in the region of the execution whose task
    issued the token (``outage_comms.workflow_gateway``). Both engines name the state machine alike in the
    same account (``outage-comms[-<id>]-incident``), so the other region's ARN is built from that name: no
    wildcard. A single-region plan (no ``engine_regions``) grants this state machine only, as before.
    """
    stack = Stack.of(scope)
    others = sorted({r for r in engine_regions if r != stack.region})
    name = physical_name(scope, INCIDENT_STATE_MACHINE_NAME)
    return [state_machine.state_machine_arn] + [
        stack.format_arn(
            service="states",
            region=region,
            account=Aws.ACCOUNT_ID,
            resource="stateMachine",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
            partition=Aws.PARTITION,
        )
        for region in others
    ]


def incident_path_environment(
    *,
    incidents: dynamodb.ITable,
    idempotency: dynamodb.ITable,
    bus: events.IEventBus,
    state_machine: sfn.IStateMachine,
) -> dict[str, str]:
    return {
        "INCIDENTS_TABLE_NAME": incidents.table_name,
        "IDEMPOTENCY_TABLE_NAME": idempotency.table_name,
        "EVENT_BUS_NAME": bus.event_bus_name,
        "STATE_MACHINE_ARN": state_machine.state_machine_arn,
    }


def allow_eventbridge_dead_letters(dead_letter_queue: sqs.IQueue) -> None:
    """Let EventBridge rules of this account put undeliverable events on the dead-letter queue.

    Added once, on the queue's own policy, scoped by ``aws:SourceAccount`` (the key policy already
    lets EventBridge encrypt for this account): a per-rule statement would make the core stack
    depend on every stack that owns a rule.
    """
    dead_letter_queue.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgeRulesDeadLetterUndeliverableEvents",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[dead_letter_queue.queue_arn],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
    )


class Intake(Construct):
    """The encrypted intake queue and the intake function reading it."""

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
        dead_letter_queue: sqs.IQueue,
        state_machine: sfn.IStateMachine,
        engine_regions: Sequence[str] = (),
    ) -> None:
        """``engine_regions``: a two-region plan's engines (intake answers task tokens of each)."""
        super().__init__(scope, construct_id)
        self.queue = self._queue(key, dead_letter_queue)
        self.function = self._function(
            runtime,
            incident_path_environment(
                incidents=incidents, idempotency=idempotency, bus=bus, state_machine=state_machine
            ),
            dead_letter_queue,
        )
        self.event_source = self._read_queue()
        grant_incident_path(
            self.function,
            key=key,
            incidents=incidents,
            idempotency=idempotency,
            bus=bus,
            state_machine=state_machine,
            engine_regions=engine_regions,
        )
        dead_letter_queue.grant_send_messages(self.function.role)
        allow_eventbridge_dead_letters(dead_letter_queue)
        #: The dead-letter queue as rules should name it: a reference, so CDK adds no per-rule statement.
        self.rule_dead_letter_queue = sqs.Queue.from_queue_attributes(
            self,
            "RuleDeadLetterQueue",
            queue_arn=dead_letter_queue.queue_arn,
            queue_url=dead_letter_queue.queue_url,
            key_arn=key.key_arn,
        )

    def _queue(self, key: kms.IKey, dead_letter_queue: sqs.IQueue) -> sqs.Queue:
        return sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            # AWS's guidance for Lambda event sources: at least six times the function timeout.
            visibility_timeout=Duration.seconds(DEFAULT_TIMEOUT.to_seconds() * 6),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT
            ),
        )

    def _function(
        self, runtime: LambdaRuntime, environment: dict[str, str], dead_letter_queue: sqs.IQueue
    ) -> OutageCommsFunction:
        return runtime.new_function(
            self,
            "Function",
            handler="handlers.intake.handler",
            description="Outage Comms intake: EventBridge events -> incidents (once), workflow started",
            service_name="intake",
            timeout=DEFAULT_TIMEOUT,
            environment={
                **environment,
                "REJECTED_QUEUE_URL": dead_letter_queue.queue_url,
                # On the last receive a failing event is archived with its reason, not dead-lettered bare.
                "MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
            },
            synchronous_only_reason=(
                "invoked only by its SQS event source mapping; a failed record returns to the intake "
                f"queue and, after {MAX_RECEIVE_COUNT} receives, the queue's redrive policy moves it to the "
                "dead-letter queue"
            ),
        )

    def _read_queue(self) -> lambda_.EventSourceMapping:
        """The function's event source mapping on the queue (batches, partial failures, few at once)."""
        mapping = self.function.function.add_event_source_mapping(
            "IntakeQueue",
            event_source_arn=self.queue.queue_arn,
            batch_size=BATCH_SIZE,
            max_batching_window=Duration.seconds(1),
            report_batch_item_failures=True,
            max_concurrency=MAX_CONCURRENCY,
        )
        self.queue.grant_consume_messages(self.function.role)
        acknowledge(
            mapping,
            "Serverless-LambdaEventSourceMappingDestination",
            "SQS event source mappings take no on-failure destination; a record that keeps failing is moved "
            f"to the dead-letter queue by the intake queue's redrive policy (maxReceiveCount "
            f"{MAX_RECEIVE_COUNT}).",
        )
        return mapping
