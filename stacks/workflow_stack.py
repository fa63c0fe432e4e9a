"""The workflow stack: the incident-comms state machine, its functions, the review page and the runbook."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

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
    WorkflowFunctions,
)
from outage_comms_cdk.constructs.lambda_runtime import LambdaRuntime, OutageCommsFunction
from outage_comms_cdk.constructs.runbook import IncidentRunbook
from outage_comms_cdk.constructs.sms_replies import SmsReplies
from outage_comms_cdk.constructs.web_acl import PublicWebAcl
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
        self.state = WorkflowStateTable(
            self, "State", key=key, replication=replication_for(self, settings.plan)
        )
        # Task tokens and approver allow-lists: only the two approval functions reach this table.
        self.approvals = ApprovalRequestsTable(self, "Approvals", key=key)
        self.topics = ChannelTopics(self, "Channels", plan=plan, key=key)
        self.signing_key = review_signing_key(self, "ReviewSigningKey", key=key)
        # "Was this update helpful?": the public API the render step's links point at (None: turned off).
        # A short custom domain (plan's feedback.base_url + context feedback_certificate_arn) fits links
        # into more SMS and social posts; without a certificate, base_url is used as given (a proxy).
        certificate_arn = self.node.try_get_context(CERTIFICATE_CONTEXT_KEY)
        feedback_domain = (
            FeedbackDomain.for_base_url(plan.feedback.base_url, str(certificate_arn))
            if certificate_arn and plan.feedback.base_url
            else None
        )
        # The plan's edge.waf: the region's public web ACL (the channels stack's), or this stack's own.
        self.web_acl = channels.web_acl if channels is not None else None
        if self.web_acl is None and plan.edge.waf.enabled:
            self.web_acl = PublicWebAcl(self, "PublicApisWebAcl", waf=plan.edge.waf, waf_scope="REGIONAL")
        self.feedback = (
            FeedbackApi(
                self,
                "Feedback",
                key=key,
                lambda_runtime=lambda_runtime,
                workflow_table=self.state.table,
                domain=feedback_domain,
                reserved_concurrency=plan.edge.reserved_concurrency.feedback_api,
                web_acl=self.web_acl,
            )
            if plan.feedback.enabled
            else None
        )
        # Links go to the plan's feedback domain, else the status site's /f/* route to this API
        # (``feedback_base_url``: app.py passes it when the status site routes /f/* here), never the raw
        # execute-api URL unless neither exists. Short codes (feedback/short_links.py) need the table.
        feedback_env = (
            {
                "FEEDBACK_BASE_URL": plan.feedback.base_url or feedback_base_url or self.feedback.url,
                "FEEDBACK_SECRET_ARN": self.feedback.signing_key.secret.secret_arn,
                "FEEDBACK_TABLE": self.feedback.table.table_name,
            }
            if self.feedback is not None
            else {}
        )
        # "Helpful? Reply YES or NO" (plan's feedback.sms_replies): the SMS channel remembers those texts.
        sms_replies = self.feedback is not None and plan.feedback.sms_replies
        reply_env = (
            {"FEEDBACK_TABLE": self.feedback.table.table_name} if self.feedback and sms_replies else {}
        )
        state_machine_arn = self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=physical_name(self, STATE_MACHINE_NAME),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        executions_arn = self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{physical_name(self, STATE_MACHINE_NAME)}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        email = plan.channels.email
        environment = {
            "WORKFLOW_TABLE": self.state.table.table_name,
            "INCIDENTS_TABLE_NAME": incidents_table.table_name,
            "INTERNAL_CHAT_TOPIC_ARN": self.topics.internal_chat.topic_arn
            if self.topics.internal_chat
            else "",
            "SUBSCRIBERS_TOPIC_ARN": self.topics.subscribers.topic_arn if self.topics.subscribers else "",
            "DRILL_TOPIC_ARN": self.topics.drill.topic_arn if self.topics.drill else "",
            "REVIEW_SECRET_ARN": self.signing_key.secret.secret_arn,
            "STATE_MACHINE_ARN": state_machine_arn,
            "EMAIL_CONFIGURATION_SET": email.configuration_set if email and email.enabled else "",
        }

        # What the channel catalog reads (tables, token key, bulk hand-off, push app): only the functions
        # that deliver through it get it, with the channels stack's scoped grants below.
        channel_env = channels.channel_environment() if channels is not None else {}

        def function(
            construct_id: str, module: str, description: str, **extra_env: str
        ) -> OutageCommsFunction:
            built = lambda_runtime.new_function(
                self,
                construct_id,
                handler=f"handlers.{module}.handler",
                description=description,
                service_name=module.replace("workflow_", "workflow-").replace("_", "-"),
                environment={**environment, **extra_env},
                synchronous_only_reason=SYNCHRONOUS,
            )
            self.state.table.grant_read_write_data(built.function)
            built.acknowledge_key_grants()
            return built

        review = function(
            "ReviewPageFunction",
            "workflow_review_page",
            "Review page: shows an update, decides on POST",
            APPROVAL_TABLE=self.approvals.table.table_name,
        )
        # Public (behind SigV4): a flood can hold no more than the plan's edge.reserved_concurrency.
        review_resource = review.function.node.default_child
        assert isinstance(review_resource, lambda_.CfnFunction)
        review_resource.reserved_concurrent_executions = plan.edge.reserved_concurrency.review_page
        self.review_api = ReviewPageApi(
            self, "ReviewPage", handler=review.function, key=key, web_acl=self.web_acl
        )
        self.functions = {
            "register": function("RegisterIncident", "workflow_register_incident", "Register incident"),
            "render": function("RenderUpdate", "workflow_render_update", "Render update", **feedback_env),
            "notify_team": function(
                "NotifyInternal", "workflow_notify_internal", "Notify team first", **channel_env
            ),
            "request_approval": function(
                "RequestApproval",
                "workflow_request_approval",
                "Wait for approval: send the signed review link",
                REVIEW_BASE_URL=self.review_api.url,
                APPROVAL_TABLE=self.approvals.table.table_name,
            ),
            "deliver": function(
                "DeliverChannel",
                "workflow_deliver_channel",
                "Deliver via one channel",
                **channel_env,
                **reply_env,
            ),
            "record_failure": function(
                "RecordDeliveryFailure", "workflow_record_delivery_failure", "Record a channel failure"
            ),
            "await_update": function("AwaitUpdate", "workflow_await_update", "Wait for next update"),
            "notice": function("Remind", "workflow_remind", "Remind, escalate, hold"),
            "resolve": function("Resolve", "workflow_resolve", "Release incident: the summary's outcome"),
            "draft_summary": function(
                "DraftSummary",
                "workflow_draft_summary",
                "Draft post-incident summary",
                **({"FEEDBACK_TABLE": self.feedback.table.table_name} if self.feedback is not None else {}),
            ),
            "record_postmortem": function(
                "RecordPostmortem", "workflow_record_postmortem", "Record postmortem on the incident"
            ),
        }
        fns = self.functions
        # The incident repository's calls (outage_comms/intake/store.py), on the table only: it reads
        # no index. TransactWriteItems is authorized per contained action.
        read_write = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        for name, actions in {
            "register": [*read_write, "dynamodb:ConditionCheckItem"],
            "render": ["dynamodb:GetItem"],
            "await_update": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "notice": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "resolve": ["dynamodb:GetItem"],
            "draft_summary": ["dynamodb:GetItem"],
            "record_postmortem": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
            "deliver": ["dynamodb:PutItem"],
            "record_failure": ["dynamodb:PutItem"],
        }.items():
            fns[name].function.add_to_role_policy(
                iam.PolicyStatement(actions=actions, resources=[incidents_table.table_arn])
            )
            key.grant_encrypt_decrypt(fns[name].function)
        chat = self.topics.internal_chat
        for name in ("notify_team", "request_approval", "deliver", "notice", "resolve"):
            chat.grant_publish(fns[name].function)
        if self.topics.subscribers is not None:
            self.topics.subscribers.grant_publish(fns["deliver"].function)
        if self.topics.drill is not None:
            self.topics.drill.grant_publish(fns["deliver"].function)
        if channels is not None:
            channels.grant_delivery(fns["deliver"])
            channels.grant_team_chat(fns["notify_team"])
        for built in (fns["request_approval"], review, fns["notice"]):
            self.signing_key.grant_read(built.function)
        # Reminders, escalations and held notices link to the compose page (intake stack; URL in SSM).
        for name, value in grant_read_compose_url(self, fns["notice"].function).items():
            fns["notice"].function.add_environment(name, value)
        self.approvals.grant_request(fns["request_approval"].function)
        self.approvals.grant_decide(review.function)
        if self.feedback is not None:
            self.feedback.signing_key.grant_read(fns["render"].function)
            self.feedback.grant_short_links(fns["render"].function)
            self.feedback.grant_tally(fns["draft_summary"].function)  # the summary reports the answers
            # Each email recipient's own "Was this update helpful?" token (channels/personalise.py).
            self.feedback.signing_key.grant_read(fns["deliver"].function)
            fns["deliver"].function.add_environment(
                "FEEDBACK_SECRET_ARN", self.feedback.signing_key.secret.secret_arn
            )
        self.sms_replies: SmsReplies | None = None
        if self.feedback is not None and sms_replies:
            self.feedback.grant_reply_records(fns["deliver"].function)
            if channels is not None:  # the bulk batches text large audiences (table named in the words file)
                self.feedback.grant_reply_records_to_role(
                    self, "BulkSmsReplyRecords", channels.bulk.send_batch.role
                )
            self.sms_replies = SmsReplies(
                self, "SmsReplies", key=key, lambda_runtime=lambda_runtime, feedback=self.feedback
            )
        if email is not None and email.enabled:
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
            for name in ("request_approval", "notice", "resolve"):
                fns[name].function.add_to_role_policy(send_email)
        for built in (review, fns["await_update"]):
            built.function.add_to_role_policy(
                iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=[state_machine_arn])
            )
        fns["register"].function.add_to_role_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions_arn])
        )
        acknowledge(
            fns["register"].role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"{physical_name(self, STATE_MACHINE_NAME)}:*]",
            "Register incident asks whether the execution that owns the incident still runs; executions are "
            "named per incident at run time, so the ARN ends in '*' — scoped to this one state machine.",
        )

        self.workflow = IncidentWorkflow(
            self,
            "Workflow",
            plan=plan,
            functions=WorkflowFunctions(**{name: built.function for name, built in fns.items()}),
            key=key,
            status_publisher=status_publisher,
        )
        self.state_machine = self.workflow.state_machine
        # `outage-comms redrive`: dead-lettered deliveries back through the same delivery functions.
        self.redrive = DeliveryRedrive(
            self,
            "DeliveryRedrive",
            runtime=lambda_runtime,
            key=key,
            dead_letters=self.workflow.dead_letters,
            deliver=fns["deliver"].function,
            notify=fns["notify_team"].function,
        )
        self._acknowledge_state_machine_role(status_publisher)
        self.runbook = IncidentRunbook(
            self,
            "Runbook",
            state_machine=self.state_machine,
            state_machine_name=physical_name(self, STATE_MACHINE_NAME),
        )
        # Communication SLOs: alarms on this workflow and a watchdog, paging the incident manager by
        # SNS SMS + email. The deliver step's errors are its retry signal: its outcomes are alarmed
        # per channel (delivery success rate) instead.
        self.slo = CommsSlo(
            self,
            "CommunicationSlo",
            plan=plan,
            runtime=lambda_runtime,
            key=key,
            incidents_table=incidents_table,
            workflow_table=self.state.table,
            state_machine=self.state_machine,
            functions={
                "ReviewPage": review.function,
                **{built.node.id: built.function for name, built in fns.items() if name != "deliver"},
                # Customers' answers: a broken feedback path is silent otherwise.
                **({"FeedbackApi": self.feedback.handler.function} if self.feedback is not None else {}),
                **(
                    {"SmsReplies": self.sms_replies.function.function} if self.sms_replies is not None else {}
                ),
            },
        )

        outputs = {
            "StateMachineArn": self.state_machine.state_machine_arn,
            "ReviewPageUrl": self.review_api.url,
            "WorkflowTableName": self.state.table.table_name,
            "InternalChatTopicArn": chat.topic_arn,
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
