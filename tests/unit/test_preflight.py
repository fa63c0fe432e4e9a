"""`outage-comms preflight`: every check's pass and fail path, on botocore Stubber clients.

Each client is a real boto3 client whose requests botocore validates against the service model; the
Stubber answers with responses that are validated against the model too. An unexpected call (for
example ``GetSecretValue``) fails the test, and every call made must be a read (Get/Describe/List).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber
from typer.testing import CliRunner

from outage_comms.plan import Plan, parse_plan
from outage_comms_cli import preflight
from outage_comms_cli.preflight_checks import (
    BOOTSTRAP_PARAMETER,
    Target,
    check_approvers,
    check_bootstrap,
    check_secrets,
    check_ses,
    secret_names,
)
from outage_comms_cli.preflight_services import (
    CHATBOT_REGION,
    check_chat_app,
    check_cloudtrail,
    check_origination_identities,
    check_paging_sms,
    logs_incident_manager_writes,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"
REGION = "eu-west-1"
READ_PREFIXES = ("Get", "Describe", "List")


class StubbedAws:
    """A client factory: one stubbed boto3 client per (service, region), every call recorded."""

    def __init__(self, account: str = ACCOUNT) -> None:
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubs: dict[tuple[str, str], Stubber] = {}
        self.calls: list[str] = []
        self.account = account

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self.clients:
            client = boto3.client(
                service,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            client.meta.events.register_first("before-parameter-build", self._record)
            stub = Stubber(client)
            stub.activate()
            self.clients[key], self.stubs[key] = client, stub
            if service == "sts":
                stub.add_response(
                    "get_caller_identity",
                    {
                        "Account": self.account,
                        "Arn": f"arn:aws:iam::{self.account}:user/ops",
                        "UserId": "AID",
                    },
                )
        return self.clients[key]

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def stub(self, service: str, region: str = REGION) -> Stubber:
        self(service, region)
        return self.stubs[(service, region)]

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
        assert self.calls and all(c.startswith(READ_PREFIXES) for c in self.calls), self.calls
        assert "GetSecretValue" not in self.calls


@pytest.fixture
def aws() -> StubbedAws:
    return StubbedAws()


@pytest.fixture
def target(aws: StubbedAws) -> Target:
    return Target(region=REGION, clients=aws)


@pytest.fixture
def plan_with(example_data: dict[str, Any]) -> Callable[..., Plan]:
    def _build(change: Callable[[dict[str, Any]], None] | None = None) -> Plan:
        data = copy.deepcopy(example_data)
        if change is not None:
            change(data)
        return parse_plan(data, "plan.yaml")

    return _build


def only(*channels: str) -> Callable[[dict[str, Any]], None]:
    """Switch every channel off but these (and keep the plan valid)."""

    def change(data: dict[str, Any]) -> None:
        for name, settings in data["channels"].items():
            settings["enabled"] = name in channels
        data["scenarios"]["post_incident_summary"].pop("channels", None)

    return change


def by_ok(checks: list[Any]) -> dict[bool | None, list[Any]]:
    grouped: dict[bool | None, list[Any]] = {True: [], False: [], None: []}
    for check in checks:
        grouped[check.ok].append(check)
    return grouped


# --- CDK bootstrap -------------------------------------------------------------------------------


def _bootstrap(aws: StubbedAws, region: str, version: str | None) -> None:
    ssm = aws.stub("ssm", region)
    if version is None:
        ssm.add_client_error(
            "get_parameter", "ParameterNotFound", expected_params={"Name": BOOTSTRAP_PARAMETER}
        )
    else:
        ssm.add_response(
            "get_parameter",
            {"Parameter": {"Name": BOOTSTRAP_PARAMETER, "Type": "String", "Value": version}},
            {"Name": BOOTSTRAP_PARAMETER},
        )


def _toolkit_trusts(aws: StubbedAws, trusted: str, region: str = REGION) -> None:
    stack = {
        "StackName": "CDKToolkit",
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [{"ParameterKey": "TrustedAccounts", "ParameterValue": trusted}],
    }
    aws.stub("cloudformation", region).add_response(
        "describe_stacks", {"Stacks": [stack]}, {"StackName": "CDKToolkit"}
    )


def test_a_status_account_that_trusts_the_workload_passes(plan_with) -> None:
    workload, status = StubbedAws(), StubbedAws(account="444455556666")
    _bootstrap(workload, REGION, "27")
    _bootstrap(status, "sa-east-1", "27")
    _toolkit_trusts(status, f"123456789012,{ACCOUNT}", "sa-east-1")
    target = Target(region=REGION, clients=workload, status_region="sa-east-1", status_clients=status)
    assert [c.ok for c in check_bootstrap(plan_with(), target)] == [True, True, True]
    workload.done()
    status.done()


def test_bootstrap_present_passes_and_missing_says_how(aws: StubbedAws, plan_with) -> None:
    # the status stack in another region of the same account
    _bootstrap(aws, REGION, "27")
    _bootstrap(aws, "us-east-1", None)
    checks = check_bootstrap(plan_with(), Target(region=REGION, clients=aws, status_region="us-east-1"))
    assert [c.ok for c in checks] == [True, False]
    assert checks[0].detail == "bootstrap version 27"
    assert checks[1].fix == f"npx cdk bootstrap aws://{ACCOUNT}/us-east-1"
    aws.done()


def test_an_old_bootstrap_fails_and_a_status_account_is_checked_with_its_own_profile(plan_with) -> None:
    workload, status = StubbedAws(), StubbedAws(account="444455556666")
    _bootstrap(workload, REGION, "5")
    _bootstrap(status, REGION, "27")
    _toolkit_trusts(status, "999999999999")
    target = Target(region=REGION, clients=workload, status_region=REGION, status_clients=status)
    old, fine, trust = check_bootstrap(plan_with(), target)
    # cdk deploy --all runs with the workload's credentials: the status account must trust it
    assert trust.ok is False and trust.detail == "TrustedAccounts: 999999999999"
    assert trust.fix.startswith(f"npx cdk bootstrap aws://444455556666/{REGION} --trust {ACCOUNT} ")
    assert old.ok is False and "again" in old.fix
    assert fine.ok is True and fine.what == f"CDK bootstrap for the status account, {REGION}"
    workload.done()
    status.done()


def test_waf_on_with_the_status_site_elsewhere_needs_us_east_1_bootstrapped_too(
    aws: StubbedAws, plan_with
) -> None:
    def waf(data: dict[str, Any]) -> None:
        data.setdefault("edge", {})["waf"] = {"enabled": True}

    _bootstrap(aws, REGION, "27")
    _bootstrap(aws, "us-east-1", None)
    checks = check_bootstrap(plan_with(waf), Target(region=REGION, clients=aws))
    assert [(c.what, c.ok) for c in checks] == [
        (f"CDK bootstrap for the workload account, {REGION}", True),
        ("CDK bootstrap for the status stack (WAF edge stack), us-east-1", False),
    ]
    aws.done()


# --- SES -----------------------------------------------------------------------------------------


def _ses_account(aws: StubbedAws, production: bool) -> None:
    aws.stub("sesv2").add_response(
        "get_account", {"ProductionAccessEnabled": production, "SendingEnabled": True}, {}
    )


def test_ses_verified_domain_out_of_the_sandbox_passes(aws: StubbedAws, target: Target, plan_with) -> None:
    _ses_account(aws, production=True)
    aws.stub("sesv2").add_response(
        "get_email_identity",
        {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": True, "VerificationStatus": "SUCCESS"},
        {"EmailIdentity": "nimbusnotes.example"},
    )
    checks = check_ses(plan_with(), target)
    assert [c.ok for c in checks] == [True, True]
    aws.done()


def test_ses_sandbox_and_a_missing_identity_fail_with_the_fix(
    aws: StubbedAws, target: Target, plan_with
) -> None:
    _ses_account(aws, production=False)
    ses = aws.stub("sesv2")
    ses.add_client_error(
        "get_email_identity",
        "NotFoundException",
        404,
        expected_params={"EmailIdentity": "nimbusnotes.example"},
    )
    ses.add_client_error(
        "get_email_identity",
        "NotFoundException",
        404,
        expected_params={"EmailIdentity": "status@nimbusnotes.example"},
    )
    sandbox, identity = check_ses(plan_with(), target)
    assert sandbox.ok is False and "Request production access" in sandbox.fix
    assert identity.ok is False
    assert (
        f"aws sesv2 create-email-identity --email-identity nimbusnotes.example --region {REGION}"
        in identity.fix
    )
    aws.done()


def test_ses_address_identity_counts_and_a_pending_domain_fails(
    aws: StubbedAws, target: Target, plan_with
) -> None:
    _ses_account(aws, production=True)
    ses = aws.stub("sesv2")
    ses.add_client_error("get_email_identity", "NotFoundException", 404)
    ses.add_response(
        "get_email_identity", {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": True}
    )
    assert [c.ok for c in check_ses(plan_with(), target)] == [True, True]
    _ses_account(aws, production=True)
    ses.add_response(
        "get_email_identity",
        {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": False, "VerificationStatus": "PENDING"},
    )
    pending = check_ses(plan_with(), target)[1]
    assert pending.ok is False and "PENDING" in pending.detail and "DKIM" in pending.fix
    aws.done()


def test_no_email_channel_no_ses_call(aws: StubbedAws, target: Target, plan_with) -> None:
    assert check_ses(plan_with(only("slack", "status_page")), target) == []
    assert aws.calls == []


# --- Secrets Manager -----------------------------------------------------------------------------


def test_every_secret_of_the_enabled_channels_is_described_never_read(
    aws: StubbedAws, target: Target, plan_with
) -> None:
    # Given a plan with Slack, the outbound webhook and the status page on (Teams etc. off)
    plan = plan_with(only("slack", "webhook", "status_page"))
    names = secret_names(plan)
    assert names == [
        ("channels.slack.webhook_url_secret", "outage-comms/slack-webhook"),
        ("channels.webhook.signing_secret", "outage-comms/webhook-signing-key"),
        ("drill.webhook_secrets.slack", "outage-comms/drill/slack-webhook"),
        ("drill.webhook_secrets.webhook", "outage-comms/drill/webhook-signing-key"),
    ]
    secrets = aws.stub("secretsmanager")
    secrets.add_response("describe_secret", {"Name": names[0][1]}, {"SecretId": "outage-comms/slack-webhook"})
    secrets.add_client_error(
        "describe_secret", "ResourceNotFoundException", 400, expected_params={"SecretId": names[1][1]}
    )
    secrets.add_response(
        "describe_secret", {"Name": names[2][1], "DeletedDate": datetime(2026, 12, 1, tzinfo=UTC)}
    )
    secrets.add_client_error("describe_secret", "AccessDeniedException", 400)
    # When the secrets are checked
    found, missing, deleted, denied = check_secrets(plan, target)
    # Then each gets its line and its fix
    assert found.ok is True and "not read" in found.detail
    assert missing.ok is False
    assert missing.fix == (
        "aws secretsmanager create-secret --name outage-comms/webhook-signing-key "
        f"--secret-string '<the value>' --region {REGION}"
    )
    assert deleted.ok is False and "restore-secret" in deleted.fix
    assert denied.ok is False and "AccessDeniedException" in denied.detail
    assert "secretsmanager:DescribeSecret" in denied.fix
    aws.done()


# --- IAM approvers -------------------------------------------------------------------------------


def _role(name: str, path: str = "/") -> dict[str, Any]:
    return {
        "Path": path,
        "RoleName": name,
        "RoleId": "AROAEXAMPLE1234567",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
        "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
    }


def _roles_exist(aws: StubbedAws, count: int) -> None:
    for _ in range(count):
        aws.stub("iam").add_response("get_role", {"Role": _role("Approver")})


def test_approver_roles_and_users_are_looked_up_in_this_account(
    aws: StubbedAws, target: Target, plan_with
) -> None:
    def approvers(data: dict[str, Any]) -> None:
        roles = data["roles"]
        roles["communications_manager"]["approver_principals"] = [
            f"arn:aws:iam::{ACCOUNT}:role/team/CommsApprover",
            f"arn:aws:iam::{ACCOUNT}:user/marina",
        ]
        roles["incident_manager"]["approver_principals"] = [
            f"arn:aws:sts::{ACCOUNT}:assumed-role/OnCall/pedro",
            "arn:aws:iam::999988887777:role/Elsewhere",
        ]
        roles["support_manager"]["approver_principals"] = [f"arn:aws:iam::{ACCOUNT}:role/Gone"]

    iam = aws.stub("iam")
    iam.add_response("get_role", {"Role": _role("OnCall")}, {"RoleName": "OnCall"})
    iam.add_response("get_role", {"Role": _role("CommsApprover", "/team/")}, {"RoleName": "CommsApprover"})
    user = {
        "Path": "/",
        "UserName": "marina",
        "UserId": "AIDAEXAMPLE12345678",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/marina",
        "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
    }
    iam.add_response("get_user", {"User": user}, {"UserName": "marina"})
    iam.add_client_error("get_role", "NoSuchEntity", 404, expected_params={"RoleName": "Gone"})
    checks = check_approvers(plan_with(approvers), target)
    # roles in plan order: incident manager (assumed role, another account), communications, support
    assert [c.ok for c in checks] == [True, None, True, True, False]
    assert "999988887777" in checks[1].detail
    assert (
        "no IAM role 'Gone'" in checks[4].detail and "aws iam create-role --role-name Gone" in checks[4].fix
    )
    aws.done()


# --- Amazon Q Developer in chat applications -----------------------------------------------------

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:outage-comms-internal-chat"


def _topic_exists(aws: StubbedAws) -> None:
    aws.stub("sns").add_response("get_topic_attributes", {"Attributes": {}}, {"TopicArn": TOPIC})


def _slack(name: str, topics: list[str], state: str = "ENABLED") -> dict[str, Any]:
    return {
        "SlackTeamName": "acme",
        "SlackTeamId": "T0",
        "SlackChannelId": "C0",
        "SlackChannelName": name,
        "ChatConfigurationArn": f"arn:aws:chatbot::{ACCOUNT}:chat-configuration/slack-channel/{name}",
        "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/chatbot",
        "SnsTopicArns": topics,
        "State": state,
    }


def test_the_chat_app_is_found_across_pages_and_teams(aws: StubbedAws, target: Target, plan_with) -> None:
    _topic_exists(aws)
    chatbot = aws.stub("chatbot", CHATBOT_REGION)
    chatbot.add_response(
        "describe_slack_channel_configurations",
        {"SlackChannelConfigurations": [_slack("random", [])], "NextToken": "p2"},
    )
    chatbot.add_response(
        "describe_slack_channel_configurations",
        {"SlackChannelConfigurations": [_slack("incidents", [TOPIC])]},
        {"NextToken": "p2"},
    )
    teams = {
        "ChannelId": "19:abc",
        "TeamId": "00000000-0000-0000-0000-000000000000",
        "TenantId": "00000000-0000-0000-0000-000000000001",
        "ChatConfigurationArn": f"arn:aws:chatbot::{ACCOUNT}:chat-configuration/teams-channel/ops",
        "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/chatbot",
        "SnsTopicArns": [TOPIC],
        "ChannelName": "ops",
    }
    chatbot.add_response(
        "list_microsoft_teams_channel_configurations", {"TeamChannelConfigurations": [teams]}
    )
    (check,) = check_chat_app(plan_with(), target)
    assert check.ok is True and check.detail == "incidents, ops"
    aws.done()


def test_no_chat_configuration_on_the_topic_fails(aws: StubbedAws, target: Target, plan_with) -> None:
    _topic_exists(aws)
    chatbot = aws.stub("chatbot", CHATBOT_REGION)
    chatbot.add_response(
        "describe_slack_channel_configurations",
        {"SlackChannelConfigurations": [_slack("incidents", [TOPIC], state="DISABLED")]},
    )
    chatbot.add_response("list_microsoft_teams_channel_configurations", {"TeamChannelConfigurations": []})
    (check,) = check_chat_app(plan_with(), target)
    assert (
        check.ok is False and "configure a channel" in check.fix and "outage-comms-internal-chat" in check.fix
    )
    aws.done()


def test_before_the_first_deploy_the_chat_check_waits_for_the_topic(
    aws: StubbedAws, target: Target, plan_with
) -> None:
    aws.stub("sns").add_client_error(
        "get_topic_attributes", "NotFound", 404, expected_params={"TopicArn": TOPIC}
    )
    (check,) = check_chat_app(plan_with(), target)
    # Not a failure: the first deploy creates the topic; the chat app is set up right after it
    assert check.ok is None and "first deploy creates it" in check.detail
    aws.done()


def test_chat_app_off_means_no_chat_check(aws: StubbedAws, target: Target, plan_with) -> None:
    assert check_chat_app(plan_with(only("email", "status_page")), target) == []


# --- CloudTrail ----------------------------------------------------------------------------------

TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management"


def _trail(aws: StubbedAws, logging: bool, selectors: dict[str, Any], multi_region: bool = True) -> None:
    trail = aws.stub("cloudtrail")
    trail.add_response(
        "describe_trails",
        {
            "trailList": [
                {
                    "Name": "management",
                    "TrailARN": TRAIL_ARN,
                    "IsMultiRegionTrail": multi_region,
                    "HomeRegion": "us-east-1",
                }
            ]
        },
        {"includeShadowTrails": True},
    )
    if not multi_region:
        return
    trail.add_response("get_trail_status", {"IsLogging": logging}, {"Name": TRAIL_ARN})
    if logging:
        trail.add_response(
            "get_event_selectors", {"TrailARN": TRAIL_ARN, **selectors}, {"TrailName": TRAIL_ARN}
        )


def test_a_logging_trail_with_management_writes_passes(aws: StubbedAws, target: Target, plan_with) -> None:
    _trail(aws, True, {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]})
    (check,) = check_cloudtrail(plan_with(), target)
    assert check.ok is True and check.detail == "trail management"
    aws.done()


@pytest.mark.parametrize(
    ("logging", "selectors", "multi_region"),
    [
        (False, {}, True),
        (True, {"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]}, True),
        (True, {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}, True),
        (True, {}, False),
    ],
    ids=["not-logging", "read-only", "data-events-only", "another-region"],
)
def test_no_trail_for_incident_manager_fails_with_the_fix(
    aws: StubbedAws, target: Target, plan_with, logging: bool, selectors: dict[str, Any], multi_region: bool
) -> None:
    _trail(aws, logging, selectors, multi_region)
    (check,) = check_cloudtrail(plan_with(), target)
    assert check.ok is False and "aws cloudtrail create-trail" in check.fix
    aws.done()


def test_without_incident_manager_no_trail_is_needed(aws: StubbedAws, target: Target, plan_with) -> None:
    def no_im(data: dict[str, Any]) -> None:
        for severity in data["severities"]:
            severity.pop("incident_manager_impact", None)

    assert check_cloudtrail(plan_with(no_im), target) == []


@pytest.mark.parametrize(
    ("fields", "logs"),
    [
        ([{"Field": "eventCategory", "Equals": ["Management"]}], True),
        (
            [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "readOnly", "Equals": ["false"]},
            ],
            True,
        ),
        (
            [{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}],
            False,
        ),
        (
            [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "eventSource", "NotEquals": ["ssm-incidents.amazonaws.com"]},
            ],
            False,
        ),
        (
            [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            ],
            False,
        ),
    ],
)
def test_advanced_event_selectors(fields: list[dict[str, Any]], logs: bool) -> None:
    assert (
        logs_incident_manager_writes({"AdvancedEventSelectors": [{"Name": "x", "FieldSelectors": fields}]})
        is logs
    )


# --- End User Messaging --------------------------------------------------------------------------


def _number(number: str, capabilities: list[str], status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "PhoneNumberArn": f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/phone-1",
        "PhoneNumberId": "phone-1",
        "PhoneNumber": number,
        "Status": status,
        "IsoCountryCode": "US",
        "MessageType": "TRANSACTIONAL",
        "NumberCapabilities": capabilities,
        "NumberType": "TOLL_FREE",
        "MonthlyLeasingPrice": "2.00",
        "TwoWayEnabled": False,
        "SelfManagedOptOutsEnabled": False,
        "OptOutListName": "Default",
        "DeletionProtectionEnabled": False,
        "CreatedTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
    }


def test_an_e164_number_is_found_across_pages_with_both_capabilities(
    aws: StubbedAws, target: Target, plan_with
) -> None:
    sms = aws.stub("pinpoint-sms-voice-v2")
    for _ in ("sms", "voice"):
        sms.add_response(
            "describe_phone_numbers",
            {"PhoneNumbers": [_number("+15550000000", ["SMS"])], "NextToken": "n"},
            {},
        )
        sms.add_response(
            "describe_phone_numbers",
            {"PhoneNumbers": [_number("+18885550199", ["SMS", "VOICE"])]},
            {"NextToken": "n"},
        )
    assert [c.ok for c in check_origination_identities(plan_with(), target)] == [True, True]
    aws.done()


def test_missing_number_no_voice_capability_and_pending_number_fail(
    aws: StubbedAws, target: Target, plan_with
) -> None:
    sms = aws.stub("pinpoint-sms-voice-v2")
    sms.add_response("describe_phone_numbers", {"PhoneNumbers": []}, {})
    sms.add_response("describe_phone_numbers", {"PhoneNumbers": [_number("+18885550199", ["SMS"])]}, {})
    missing, no_voice = check_origination_identities(plan_with(), target)
    assert (
        missing.ok is False
        and "request-phone-number" in missing.fix
        and "no such phone number" in missing.detail
    )
    assert no_voice.ok is False and "no VOICE capability" in no_voice.detail
    sms.add_response(
        "describe_phone_numbers", {"PhoneNumbers": [_number("+18885550199", ["SMS"], "PENDING")]}, {}
    )
    (pending,) = check_origination_identities(plan_with(only("sms", "status_page")), target)
    assert pending.ok is False and "PENDING" in pending.detail
    aws.done()


def test_pools_and_sender_ids_are_looked_up_by_id(aws: StubbedAws, target: Target, plan_with) -> None:
    def identities(data: dict[str, Any]) -> None:
        only("sms", "voice", "status_page")(data)
        data["channels"]["sms"]["origination_identity"] = "pool-0123456789abcdef"
        data["channels"]["voice"]["origination_identity"] = "NIMBUS"

    sms = aws.stub("pinpoint-sms-voice-v2")
    sms.add_client_error(
        "describe_pools",
        "ResourceNotFoundException",
        404,
        expected_params={"PoolIds": ["pool-0123456789abcdef"]},
    )
    sender = {
        "SenderIdArn": f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:sender-id/NIMBUS/BR",
        "SenderId": "NIMBUS",
        "IsoCountryCode": "BR",
        "MessageTypes": ["TRANSACTIONAL"],
        "MonthlyLeasingPrice": "0.00",
        "DeletionProtectionEnabled": False,
        "Registered": True,
    }
    sms.add_response(
        "describe_sender_ids",
        {"SenderIds": [sender]},
        {"Filters": [{"Name": "sender-id", "Values": ["NIMBUS"]}]},
    )
    pool, voice = check_origination_identities(plan_with(identities), target)
    assert pool.ok is False and "no such pool" in pool.detail
    assert voice.ok is False and "cannot place voice calls" in voice.detail
    aws.done()


# --- Paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_sandbox", "numbers", "ok"),
    [
        (False, None, True),
        (True, [{"PhoneNumber": "+14155550100", "Status": "Verified"}], True),
        (True, [{"PhoneNumber": "+14155550100", "Status": "Pending"}], False),
    ],
)
def test_paging_sms_needs_the_sandbox_left_or_the_number_verified(
    aws: StubbedAws, target: Target, plan_with, in_sandbox: bool, numbers: list | None, ok: bool
) -> None:
    def phone(data: dict[str, Any]) -> None:
        data["roles"]["incident_manager"]["phone"] = "+14155550100"

    sns = aws.stub("sns")
    sns.add_response("get_sms_sandbox_account_status", {"IsInSandbox": in_sandbox}, {})
    if numbers is not None:
        sns.add_response("list_sms_sandbox_phone_numbers", {"PhoneNumbers": numbers}, {})
    (check,) = check_paging_sms(plan_with(phone), target)
    assert check.ok is ok
    if not ok:
        assert "aws sns create-sms-sandbox-phone-number --phone-number +14155550100" in check.fix
    aws.done()


# --- The command ---------------------------------------------------------------------------------


def _all_pass(aws: StubbedAws) -> None:
    _bootstrap(aws, REGION, "27")
    _ses_account(aws, production=True)
    aws.stub("sesv2").add_response("get_email_identity", {"VerifiedForSendingStatus": True})
    secrets = aws.stub("secretsmanager")
    for _ in range(12):
        secrets.add_response("describe_secret", {"Name": "x"})
    _roles_exist(aws, 3)
    _topic_exists(aws)
    chatbot = aws.stub("chatbot", CHATBOT_REGION)
    chatbot.add_response(
        "describe_slack_channel_configurations",
        {"SlackChannelConfigurations": [_slack("incidents", [TOPIC])]},
    )
    chatbot.add_response("list_microsoft_teams_channel_configurations", {"TeamChannelConfigurations": []})
    _trail(aws, True, {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]})
    sms = aws.stub("pinpoint-sms-voice-v2")
    for _ in range(2):
        sms.add_response(
            "describe_phone_numbers", {"PhoneNumbers": [_number("+18885550199", ["SMS", "VOICE"])]}
        )
    aws.stub("sns").add_response("get_sms_sandbox_account_status", {"IsInSandbox": False})


def _invoke(monkeypatch, aws: StubbedAws, plan: Path, *args: str):
    from outage_comms_cli.main import app

    monkeypatch.setattr(preflight, "boto3_clients", lambda profile: aws)
    return CliRunner().invoke(app, ["preflight", "--plan", str(plan), "--region", REGION, *args])


def test_the_example_plan_in_a_ready_account_exits_0(monkeypatch, aws: StubbedAws) -> None:
    _all_pass(aws)
    result = _invoke(monkeypatch, aws, ROOT / "plans" / "example.yaml", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ready"] is True and report["account"] == ACCOUNT and report["failed"] == 0
    areas = {c["area"] for c in report["checks"]}
    assert areas == {
        "CDK",
        "SES",
        "Secrets Manager",
        "IAM",
        "Chat app",
        "CloudTrail",
        "End User Messaging",
        "SNS",
    }
    assert all(c["fix"] == "" for c in report["checks"])
    assert len([c for c in report["checks"] if c["area"] == "Secrets Manager"]) == 12
    aws.done()


def test_one_failing_check_exits_1_with_one_line_and_its_fix(
    monkeypatch, aws: StubbedAws, tmp_path: Path
) -> None:
    data = yaml.safe_load((ROOT / "plans" / "example.yaml").read_text())
    only("email", "status_page")(data)
    data["slo"]["paging"]["sms"] = False
    for severity in data["severities"]:
        severity.pop("incident_manager_impact", None)
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    _bootstrap(aws, REGION, "27")
    _ses_account(aws, production=False)
    aws.stub("sesv2").add_response("get_email_identity", {"VerifiedForSendingStatus": True})
    _roles_exist(aws, 3)
    result = _invoke(monkeypatch, aws, plan)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[1].startswith("✓ CDK: CDK bootstrap for the workload account")
    assert lines[2].startswith(f"✗ SES: production access in {REGION}")
    assert lines[3].startswith("    Fix: SES console → Account dashboard → Request production access")
    assert lines[4].startswith("✓ SES: sending identity for status@nimbusnotes.example")
    assert lines[-1] == "✘ 6 checks, 1 failed."
    aws.done()


def test_an_unusable_plan_or_no_credentials_exits_2(monkeypatch, aws: StubbedAws, write_plan) -> None:
    broken = write_plan(lambda d: d["severities"][0].update(cadence_minutes=1))
    assert _invoke(monkeypatch, aws, broken).exit_code == 2

    def no_credentials(service: str, region: str) -> Any:
        class Sts:
            def get_caller_identity(self) -> dict[str, str]:
                raise NoCredentialsError()

        return Sts()

    monkeypatch.setattr(preflight, "boto3_clients", lambda profile: no_credentials)
    from outage_comms_cli.main import app

    result = CliRunner().invoke(
        app, ["preflight", "--plan", str(ROOT / "plans" / "example.yaml"), "--region", REGION]
    )
    assert result.exit_code == 2
    assert "cannot use these AWS credentials (NoCredentialsError)" in result.output
