"""The workflow stack: the incident-comms state machine, its functions, the review page and the runbook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from outage_comms.plan import Plan
from outage_comms_cdk.channels_stack import OutageCommsChannelsStack
from outage_comms_cdk.constructs.approval_gate import ReviewPageApi, review_signing_key
from outage_comms_cdk.constructs.channel_fanout import REDRIVE_FUNCTION_OUTPUT, ChannelTopics, DeliveryRedrive
from outage_comms_cdk.constructs.comms_slo import CommsSlo
from outage_comms_cdk.constructs.compose_page import grant_read_compose_url
from outage_comms_cdk.constructs.data_store import replication_for
from outage_comms_cdk.constructs.feedback_api import CERTIFICATE_CONTEXT_KEY, FeedbackApi, FeedbackDomain
from outage_comms_cdk.constructs.incident_workflow import (
    STATE_MACHINE_NAME,
    IncidentWorkflow,
)
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.constructs.runbook import IncidentRunbook
from outage_comms_cdk.constructs.sms_replies import SmsReplies
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
from outage_comms_cdk.constructs.workflow_functions import (
    EMAIL_SENDERS,
    INCIDENT_ACCESS,
    REVIEW_PAGE,
    STEP_FUNCTIONS,
    STEPS_RUN_BY,
    TEAM_CHAT_PUBLISHERS,
    StateMachineArns,
    StepFunction,
    workflow_functions,
)
from outage_comms_cdk.constructs.workflow_state import ApprovalRequestsTable, WorkflowStateTable
from outage_comms_cdk.quality_gates import acknowledge
from outage_comms_cdk.settings import DeploymentSettings, physical_name

PROJECT_TAG = ("project", "outage-comms")
SYNCHRONOUS = "invoked synchronously by the incident-comms state machine, whose Retry/Catch handle failures"


class OutageCommsWorkflowStack(Stack):
    """One incident, from first notice to post-incident summary (see ``constructs/incident_workflow.py``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        key: kms.IKey,
        incidents_table: dynamodb.ITable,
        lambda_runtime: LambdaRuntime,
        status_publisher: lambda_.IFunction | None = None,
        channels: OutageCommsChannelsStack | None = None,
        feedback_base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        organization = settings.plan.organization.name
        kwargs.setdefault(
            "description", f"Outage Comms workflow for {organization}: state machine, review page, runbook"
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add(*PROJECT_TAG)
        plan = settings.plan
        self.key = key
        self.lambda_runtime = lambda_runtime
        self.state = WorkflowStateTable(self, "State", key=key, replication=replication_for(self, plan))
        # Task tokens and approver allow-lists: only the two approval functions reach this table.
        self.approvals = ApprovalRequestsTable(self, "Approvals", key=key)
        self.topics = ChannelTopics(self, "Channels", plan=plan, key=key)
        self.signing_key = review_signing_key(self, "ReviewSigningKey", key=key)
        # The plan's edge.waf: the region's public web ACL (the channels stack's), or this stack's own.
        self.web_acl = channels.web_acl if channels is not None else None
        if self.web_acl is None and plan.edge.waf.enabled:
            self.web_acl = PublicWebAcl(self, "PublicApisWebAcl", waf=plan.edge.waf, waf_scope="REGIONAL")
        self.feedback = self._feedback_api(plan)
        arns = StateMachineArns.of(self)
        environment = self._environment(plan, incidents_table, arns)
        self.review = self._review_page(plan, environment)
        self.functions = self._step_functions(plan, environment, channels, feedback_base_url)
        self._grant_steps(plan, incidents_table, channels)
        self.sms_replies = self._sms_replies(plan, channels)
        self._grant_email(plan)
        self._grant_state_machine(arns)
        self._incident_workflow(plan, status_publisher)
        self.slo = self._slo(plan, incidents_table)
        self._outputs()

    def _incident_workflow(self, plan: Plan, status_publisher: lambda_.IFunction | None) -> None:
        """The state machine over the step functions, its redrive and the runbook that starts it."""
        self.workflow = IncidentWorkflow(
            self,
            "Workflow",
            plan=plan,
            functions=workflow_functions(self.functions),
            key=self.key,
            status_publisher=status_publisher,
        )
        self.state_machine = self.workflow.state_machine
        # `outage-comms redrive`: dead-lettered deliveries back through the same delivery functions.
        self.redrive = DeliveryRedrive(
            self,
            "DeliveryRedrive",
            runtime=self.lambda_runtime,
            key=self.key,
            dead_letters=self.workflow.dead_letters,
            deliver=self.functions["deliver_channel"].function,
            notify=self.functions["notify_team"].function,
        )
        self._acknowledge_state_machine_role(status_publisher)
        self.runbook = IncidentRunbook(
            self,
            "Runbook",
            state_machine=self.state_machine,
            state_machine_name=physical_name(self, STATE_MACHINE_NAME),
        )

    def _feedback_api(self, plan: Plan) -> FeedbackApi | None:
        """ "Was this update helpful?": the public API the render step's links point at (None: turned off).

        A short custom domain (plan's feedback.base_url + context feedback_certificate_arn) fits links into
        more SMS and social posts; without a certificate, base_url is used as given (a proxy).
        """
        if not plan.feedback.enabled:
            return None
        certificate_arn = self.node.try_get_context(CERTIFICATE_CONTEXT_KEY)
        domain = (
            FeedbackDomain.for_base_url(plan.feedback.base_url, str(certificate_arn))
            if certificate_arn and plan.feedback.base_url
            else None
        )
        return FeedbackApi(
            self,
            "Feedback",
            key=self.key,
            lambda_runtime=self.lambda_runtime,
            workflow_table=self.state.table,
            domain=domain,
            reserved_concurrency=plan.edge.reserved_concurrency.feedback_api,
            web_acl=self.web_acl,
        )

    def _environment(
        self, plan: Plan, incidents_table: dynamodb.ITable, arns: StateMachineArns
    ) -> dict[str, str]:
        """What every workflow function reads (``outage_comms.workflow.settings.WorkflowSettings``)."""
        email = plan.channels.email
        topics = self.topics
        return {
            "WORKFLOW_TABLE": self.state.table.table_name,
            "INCIDENTS_TABLE_NAME": incidents_table.table_name,
            "INTERNAL_CHAT_TOPIC_ARN": topics.internal_chat.topic_arn if topics.internal_chat else "",
            "SUBSCRIBERS_TOPIC_ARN": topics.subscribers.topic_arn if topics.subscribers else "",
            "DRILL_TOPIC_ARN": topics.drill.topic_arn if topics.drill else "",
            "REVIEW_SECRET_ARN": self.signing_key.secret.secret_arn,
            "STATE_MACHINE_ARN": arns.state_machine,
            "EMAIL_CONFIGURATION_SET": email.configuration_set if email and email.enabled else "",
        }

    def _function(
        self, name: str, spec: StepFunction, environment: Mapping[str, str], **extra_env: str
    ) -> OutageCommsFunction:
        built = self.lambda_runtime.new_function(
            self,
            spec.construct_id,
            handler=spec.handler(name),
            description=spec.description,
            service_name=f"workflow-{name.replace('_', '-')}",
            environment={**environment, **extra_env},
            synchronous_only_reason=SYNCHRONOUS,
        )
        self.state.table.grant_read_write_data(built.function)
        built.acknowledge_key_grants()
        return built

    def _review_page(self, plan: Plan, environment: Mapping[str, str]) -> OutageCommsFunction:
        review = self._function(
            "review_page", REVIEW_PAGE, environment, APPROVAL_TABLE=self.approvals.table.table_name
        )
        # Public (behind SigV4): a flood can hold no more than the plan's edge.reserved_concurrency.
        review_resource = review.function.node.default_child
        assert isinstance(review_resource, lambda_.CfnFunction)
        review_resource.reserved_concurrent_executions = plan.edge.reserved_concurrency.review_page
        self.review_api = ReviewPageApi(
            self, "ReviewPage", handler=review.function, key=self.key, web_acl=self.web_acl
        )
        return review

    def _step_functions(
        self,
        plan: Plan,
        environment: Mapping[str, str],
        channels: OutageCommsChannelsStack | None,
        feedback_base_url: str | None,
    ) -> dict[str, OutageCommsFunction]:
        """Every step's function with the environment beyond the shared one that it alone reads."""
        feedback = self.feedback
        # What the channel catalog reads (tables, token key, bulk hand-off, push app): only the functions
        # that deliver through it get it, with the channels stack's scoped grants.
        channel_env = channels.channel_environment() if channels is not None else {}
        extra: dict[str, dict[str, str]] = {
            "notify_team": channel_env,
            "request_approval": {
                "REVIEW_BASE_URL": self.review_api.url,
                "APPROVAL_TABLE": self.approvals.table.table_name,
            },
            "deliver_channel": dict(channel_env),
        }
        if feedback is not None:
            # Links go to the plan's feedback domain, else the status site's /f/* route to this API
            # (``feedback_base_url``: app.py passes it when the status site routes /f/* here), never the raw
            # execute-api URL unless neither exists. Short codes (feedback/short_links.py) need the table.
            extra["render"] = {
                "FEEDBACK_BASE_URL": plan.feedback.base_url or feedback_base_url or feedback.url,
                "FEEDBACK_SECRET_ARN": feedback.signing_key.secret.secret_arn,
                "FEEDBACK_TABLE": feedback.table.table_name,
            }
            extra["draft_summary"] = {"FEEDBACK_TABLE": feedback.table.table_name}
            if plan.feedback.sms_replies:  # "Helpful? Reply YES or NO": the SMS channel remembers those texts
                extra["deliver_channel"]["FEEDBACK_TABLE"] = feedback.table.table_name
        return {
            name: self._function(name, spec, environment, **extra.get(name, {}))
            for name, spec in STEP_FUNCTIONS.items()
        }

    def _grant_steps(
        self, plan: Plan, incidents_table: dynamodb.ITable, channels: OutageCommsChannelsStack | None
    ) -> None:
        """Each step's access beyond its own table: incidents, topics, channels, keys, links, approvals."""
        fns = self.functions
        for name, actions in INCIDENT_ACCESS.items():
            fns[name].function.add_to_role_policy(
                iam.PolicyStatement(actions=actions, resources=[incidents_table.table_arn])
            )
            self.key.grant_encrypt_decrypt(fns[name].function)
        for name in TEAM_CHAT_PUBLISHERS:
            self.topics.internal_chat.grant_publish(fns[name].function)
        deliver = fns["deliver_channel"]
        for topic in (self.topics.subscribers, self.topics.drill):
            if topic is not None:
                topic.grant_publish(deliver.function)
        if channels is not None:
            channels.grant_delivery(deliver)
            channels.grant_team_chat(fns["notify_team"])
        for built in (fns["request_approval"], self.review, fns["notice"]):
            self.signing_key.grant_read(built.function)
        # Reminders, escalations and held notices link to the compose page (intake stack; URL in SSM).
        for name, value in grant_read_compose_url(self, fns["notice"].function).items():
            fns["notice"].function.add_environment(name, value)
        self.approvals.grant_request(fns["request_approval"].function)
        self.approvals.grant_decide(self.review.function)
        if self.feedback is not None:
            self.feedback.signing_key.grant_read(fns["render"].function)
            self.feedback.grant_short_links(fns["render"].function)
            self.feedback.grant_tally(fns["draft_summary"].function)  # the summary reports the answers
            # Each email recipient's own "Was this update helpful?" token (channels/personalise.py).
            self.feedback.signing_key.grant_read(deliver.function)
            deliver.function.add_environment(
                "FEEDBACK_SECRET_ARN", self.feedback.signing_key.secret.secret_arn
            )

    def _sms_replies(self, plan: Plan, channels: OutageCommsChannelsStack | None) -> SmsReplies | None:
        """Texted answers to "Helpful? Reply YES or NO" (plan's feedback.sms_replies), or None."""
        feedback = self.feedback
        if feedback is None or not plan.feedback.sms_replies:
            return None
        feedback.grant_reply_records(self.functions["deliver_channel"].function)
        if channels is not None:  # the bulk batches text large audiences (table named in the words file)
            feedback.grant_reply_records_to_role(self, "BulkSmsReplyRecords", channels.bulk.send_batch.role)
        return SmsReplies(
            self, "SmsReplies", key=self.key, lambda_runtime=self.lambda_runtime, feedback=feedback
        )

    def _grant_email(self, plan: Plan) -> None:
        email = plan.channels.email
        if email is None or not email.enabled:
            return
        domain = email.from_address.split("@", 1)[1]
        send_email = iam.PolicyStatement(
            actions=["ses:SendEmail"],
            resources=[
                self.format_arn(service="ses", resource="identity", resource_name=domain),
                self.format_arn(service="ses", resource="identity", resource_name=email.from_address),
                self.format_arn(
                    service="ses", resource="configuration-set", resource_name=email.configuration_set
                ),
            ],
        )
        for name in EMAIL_SENDERS:
            self.functions[name].function.add_to_role_policy(send_email)

    def _grant_state_machine(self, arns: StateMachineArns) -> None:
        """Answering task tokens (review page, next update) and asking whether an execution still runs."""
        for built in (self.review, self.functions["await_update"]):
            built.function.add_to_role_policy(
                iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=[arns.state_machine])
            )
        register = self.functions[STEPS_RUN_BY["register_incident"]]
        register.function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[arns.executions])
        )
        acknowledge(
            register.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"{physical_name(self, STATE_MACHINE_NAME)}:*]",
            "Register incident asks whether the execution that owns the incident still runs; executions are "
            "named per incident at run time, so the ARN ends in '*' — scoped to this one state machine.",
        )

    def _slo(self, plan: Plan, incidents_table: dynamodb.ITable) -> CommsSlo:
        """Communication SLOs: alarms on this workflow and a watchdog, paging the incident manager by SNS
        SMS + email. The deliver step's errors are its retry signal: its outcomes are alarmed per channel
        (delivery success rate) instead."""
        functions = {
            "ReviewPage": self.review.function,
            **{
                built.node.id: built.function
                for name, built in self.functions.items()
                if name != "deliver_channel"
            },
        }
        if self.feedback is not None:  # customers' answers: a broken feedback path is silent otherwise
            functions["FeedbackApi"] = self.feedback.handler.function
        if self.sms_replies is not None:
            functions["SmsReplies"] = self.sms_replies.function.function
        return CommsSlo(
            self,
            "CommunicationSlo",
            plan=plan,
            runtime=self.lambda_runtime,
            key=self.key,
            incidents_table=incidents_table,
            workflow_table=self.state.table,
            state_machine=self.state_machine,
            functions=functions,
        )

    def _outputs(self) -> None:
        outputs = {
            "StateMachineArn": self.state_machine.state_machine_arn,
            "ReviewPageUrl": self.review_api.url,
            "WorkflowTableName": self.state.table.table_name,
            "InternalChatTopicArn": self.topics.internal_chat.topic_arn,
            "RunbookDocumentName": self.runbook.document.ref,
            "AutomationRoleArn": self.runbook.automation_role.role_arn,
            "ResponsePlanRoleArn": self.runbook.response_plan_role.role_arn,
        }
        outputs[REDRIVE_FUNCTION_OUTPUT] = self.redrive.function.function_name
        if self.topics.subscribers is not None:
            outputs["SubscribersTopicArn"] = self.topics.subscribers.topic_arn
        if self.feedback is not None:
            outputs["FeedbackApiUrl"] = self.feedback.url
            if self.feedback.domain is not None:  # point the custom domain's CNAME / alias here
                outputs["FeedbackDomainTarget"] = self.feedback.domain.domain_name_alias_domain_name
        if self.sms_replies is not None:  # the SMS number's TwoWayChannelArn and TwoWayChannelRole
            outputs["SmsRepliesTopicArn"] = self.sms_replies.topic.topic_arn
            outputs["SmsRepliesPublisherRoleArn"] = self.sms_replies.publisher_role.role_arn
        if self.topics.drill is not None:
            outputs["DrillTopicArn"] = self.topics.drill.topic_arn
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)

    def _acknowledge_state_machine_role(self, status_publisher: lambda_.IFunction | None) -> None:
        role = self.state_machine.role
        reason = (
            "CDK grants lambda:InvokeFunction on the function and its versions/aliases (…:*); every "
            "statement names one of this workflow's own functions (or the status publisher)."
        )
        for built in self.functions.values():
            logical_id = self.get_logical_id(built.function.node.default_child)  # type: ignore[arg-type]
            acknowledge(role, f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]", reason)
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs "
            "vended delivery (logs:CreateLogDelivery, …) have no resource-level permissions.",
        )
