"""A two-region plan (tests/fixtures/two_region_plan.yaml) builds both engines, global tables, the
cross-region routing, the global endpoint, the standby's synthetic check and Incident Manager, with the
nag gate on (build_app registers it: synthesis fails on an unacknowledged finding) and cfn-lint clean."""

from __future__ import annotations

import http.server
import itertools
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match
from synthesized_apps import REPO_ROOT, Synthesized, new_app, synthesize
from template_reading import as_list

from outage_comms.plan import Plan, incident_manager_impact, load_plan

pytestmark = pytest.mark.infrastructure

TWO_REGION_PLAN = REPO_ROOT / "tests" / "fixtures" / "two_region_plan.yaml"
PRIMARY, STANDBY = "eu-west-1", "eu-central-1"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(TWO_REGION_PLAN)


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    from app import build_app

    return synthesize(
        build_app(new_app(tmp_path_factory.mktemp("regions-cdk.out"), plan=str(TWO_REGION_PLAN)))
    )


def resources(synth: Synthesized, stack: str, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synth.raw[stack]["Resources"].items() if v["Type"] == kind}


def flat(value: Any) -> str:
    """A property as text (Fn::Join parts concatenated, references as their names) for substring checks."""
    if isinstance(value, dict):
        if "Fn::Join" in value:
            return "".join(flat(part) for part in value["Fn::Join"][1])
        if "Ref" in value:
            return f"<{value['Ref']}>"
        return str({k: flat(v) for k, v in value.items()})
    if isinstance(value, list):
        return str([flat(v) for v in value])
    return str(value)


def test_each_engine_stack_exists_once_per_region_and_the_status_site_once(two_regions: Synthesized) -> None:
    names = set(two_regions.raw)
    for part in ("Core", "Channels", "Workflow", "Intake", "StatusPublisher", "IncidentManager"):
        assert {f"OutageComms{part}Primary", f"OutageComms{part}Standby"} <= names, names
    assert "OutageCommsStatus" in names
    assert "OutageCommsStatusStandby" not in names and "OutageCommsCore" not in names


def test_stores_are_global_tables_created_once_in_the_primary(two_regions: Synthesized) -> None:
    core = resources(two_regions, "OutageCommsCorePrimary", "AWS::DynamoDB::GlobalTable")
    workflow = resources(two_regions, "OutageCommsWorkflowPrimary", "AWS::DynamoDB::GlobalTable")
    tables = {t["Properties"]["TableName"]: t["Properties"] for t in [*core.values(), *workflow.values()]}
    assert set(tables) == {
        "outage-comms-incidents",
        "outage-comms-subscribers",
        "outage-comms-idempotency",
        "outage-comms-ownership",
        "outage-comms-workflow",
    }
    for name, table in tables.items():
        regions = {replica["Region"]: replica for replica in table["Replicas"]}
        assert set(regions) == {PRIMARY, STANDBY}, name
        assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}, name
        for region, replica in regions.items():
            assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, (
                name,
                region,
            )
            assert replica["DeletionProtectionEnabled"] is True, (name, region)
            assert "KMSMasterKeyId" in replica["SSESpecification"], (name, region)
        # the standby replica's key is the standby's own (by alias): a key cannot leave its region
        assert f":kms:{STANDBY}:" in flat(regions[STANDBY]["SSESpecification"]["KMSMasterKeyId"])
        assert "alias/outage-comms" in flat(regions[STANDBY]["SSESpecification"]["KMSMasterKeyId"])
        assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES", name
    ownership = tables["outage-comms-ownership"]
    assert ownership["KeySchema"] == [{"AttributeName": "scope", "KeyType": "HASH"}]
    incidents_indexes = {i["IndexName"] for i in tables["outage-comms-incidents"]["GlobalSecondaryIndexes"]}
    assert len(incidents_indexes) == 2  # the open and recent indexes survive the switch to a global table
    # the standby creates no table of these: it uses the replicas
    for stack in ("OutageCommsCoreStandby", "OutageCommsWorkflowStandby"):
        names = {
            t["Properties"].get("TableName")
            for t in resources(two_regions, stack, "AWS::DynamoDB::Table").values()
        }
        assert not names & set(tables), stack
        assert not resources(two_regions, stack, "AWS::DynamoDB::GlobalTable")


def test_standby_functions_use_the_replicas_by_name(two_regions: Synthesized) -> None:
    functions = resources(two_regions, "OutageCommsIntakeStandby", "AWS::Lambda::Function")
    environments = [f["Properties"].get("Environment", {}).get("Variables", {}) for f in functions.values()]
    assert {"outage-comms-incidents"} == {
        flat(env["INCIDENTS_TABLE_NAME"]) for env in environments if "INCIDENTS_TABLE_NAME" in env
    }
    # and its IAM statements point at the standby region's replica
    policies = resources(two_regions, "OutageCommsIntakeStandby", "AWS::IAM::Policy")
    assert f"dynamodb:{STANDBY}" in flat([p["Properties"] for p in policies.values()]).replace(":<AWS::", ":")


def test_the_primary_deploys_after_the_standby_key_and_the_standby_after_the_tables(
    two_regions: Synthesized,
) -> None:
    manifest = (two_regions.outdir / "manifest.json").read_text()
    artifacts = json.loads(manifest)["artifacts"]
    assert "OutageCommsCoreStandby" in artifacts["OutageCommsCorePrimary"]["dependencies"]
    for part in ("Channels", "Workflow", "Intake"):
        assert "OutageCommsCorePrimary" in artifacts[f"OutageComms{part}Standby"]["dependencies"]


def test_workload_default_bus_forwards_alarm_and_health_events_to_the_standby_bus(
    two_regions: Synthesized, plan: Plan
) -> None:
    rules = resources(two_regions, "OutageCommsIntakePrimary", "AWS::Events::Rule")
    forwarding = [
        r["Properties"]
        for r in rules.values()
        if "to the engines in" in r["Properties"].get("Description", "")
    ]
    sources = sorted(r["EventPattern"]["source"][0] for r in forwarding)
    # mapped alarms, mapped Health events, and the engine-health alarm (for the standby's failover)
    assert sources == ["aws.cloudwatch", "aws.cloudwatch", "aws.health"]
    for rule in forwarding:
        assert "EventBusName" not in rule  # the default bus
        (target,) = rule["Targets"]
        assert flat(target["Arn"]).endswith(f":events:{STANDBY}:<AWS::AccountId>:event-bus/outage-comms")
        assert "RoleArn" in target and "DeadLetterConfig" in target
    roles = resources(two_regions, "OutageCommsIntakePrimary", "AWS::IAM::Policy")
    assert any(
        "events:PutEvents" in flat(p["Properties"]) and f":events:{STANDBY}:" in flat(p["Properties"])
        for p in roles.values()
    )
    # each engine takes forwarded events from its own bus into its intake queue
    for stack in ("OutageCommsIntakePrimary", "OutageCommsIntakeStandby"):
        forwarded = [
            r["Properties"]
            for r in resources(two_regions, stack, "AWS::Events::Rule").values()
            if "forwarded from another region" in r["Properties"].get("Description", "")
        ]
        assert len(forwarded) == 2, stack
        for rule in forwarded:
            assert "EventBusName" in rule
            assert "IntakeQueue" in flat(rule["Targets"][0]["Arn"])


def test_global_endpoint_fails_over_to_the_standby_on_a_route53_health_check(
    two_regions: Synthesized,
) -> None:
    template = two_regions.templates["OutageCommsIntakePrimary"]
    template.has_resource_properties(
        "AWS::Events::Endpoint",
        {
            "ReplicationConfig": {"State": "ENABLED"},
            "RoutingConfig": {
                "FailoverConfig": {
                    "Secondary": {"Route": STANDBY},
                    "Primary": {"HealthCheck": Match.any_value()},
                }
            },
            "RoleArn": Match.any_value(),
        },
    )
    (endpoint,) = resources(two_regions, "OutageCommsIntakePrimary", "AWS::Events::Endpoint").values()
    buses = [flat(b["EventBusArn"]) for b in endpoint["Properties"]["EventBuses"]]
    assert [b.split(":events:")[1].split(":")[0] for b in buses] == [PRIMARY, STANDBY]
    assert all(b.endswith("event-bus/outage-comms") for b in buses)  # the same name in both regions
    template.has_resource_properties(
        "AWS::Route53::HealthCheck",
        {
            "HealthCheckConfig": {
                "Type": "CLOUDWATCH_METRIC",
                "AlarmIdentifier": {"Region": PRIMARY, "Name": Match.any_value()},
            }
        },
    )
    outputs = two_regions.raw["OutageCommsIntakePrimary"]["Outputs"]
    assert {"GlobalEndpointId", "GlobalEndpointUrl", "IncidentApiUrl"} <= set(outputs)
    assert "IncidentApiUrl" in two_regions.raw["OutageCommsIntakeStandby"]["Outputs"]
    assert not resources(two_regions, "OutageCommsIntakeStandby", "AWS::Events::Endpoint")


def test_standby_runs_a_synthetic_check_whose_alarm_the_plan_maps(
    two_regions: Synthesized, plan: Plan
) -> None:
    assert plan.regions is not None and plan.regions.synthetic_check is not None
    check = plan.regions.synthetic_check
    (canary,) = resources(two_regions, "OutageCommsIntakeStandby", "AWS::Synthetics::Canary").values()
    props = canary["Properties"]
    assert props["Schedule"]["Expression"] == f"rate({check.every_minutes} minutes)"
    assert props["RuntimeVersion"].startswith("syn-python-selenium")
    for url in check.urls:
        assert url in props["Code"]["Script"]
    alarms = resources(two_regions, "OutageCommsIntakeStandby", "AWS::CloudWatch::Alarm")
    (alarm,) = [
        a["Properties"] for a in alarms.values() if a["Properties"].get("AlarmName") == check.alarm_name
    ]
    assert alarm["Namespace"] == "CloudWatchSynthetics" and alarm["MetricName"] == "SuccessPercent"
    assert alarm["EvaluationPeriods"] == check.failed_runs
    # the canary alarm's state change reaches the standby's intake through the ordinary alarm door
    door = [
        r["Properties"]
        for r in resources(two_regions, "OutageCommsIntakeStandby", "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.cloudwatch"]
        and "EventBusName" not in r["Properties"]
    ]
    assert door
    names = door[0]["EventPattern"]["detail"]["$or"][0]["alarmName"]
    assert (
        any(isinstance(n, dict) and "prefix" in n and check.alarm_name.startswith(n["prefix"]) for n in names)
        or check.alarm_name in names
    )
    assert not resources(two_regions, "OutageCommsIntakePrimary", "AWS::Synthetics::Canary")


class _Status(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()
        self.wfile.write(b"x")

    def log_message(self, *args: Any) -> None:
        pass


def test_the_canary_script_fails_the_run_when_a_url_does_not_answer() -> None:
    from outage_comms.plan import SyntheticCheck
    from outage_comms_cdk.constructs.synthetic_check import canary_script

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        healthy: dict[str, Any] = {}
        exec(canary_script(SyntheticCheck(urls=[f"{base}/ok"])), healthy)
        assert healthy["handler"]({}, None) == "all answered"
        failing: dict[str, Any] = {}
        exec(canary_script(SyntheticCheck(urls=[f"{base}/ok", f"{base}/down"])), failing)
        with pytest.raises(RuntimeError, match="/down"):
            failing["handler"]({}, None)
    finally:
        server.shutdown()


def test_incident_manager_response_plan_per_severity_with_contacts_chat_and_runbook(
    two_regions: Synthesized, plan: Plan
) -> None:
    assert plan.incident_manager is not None
    for role in ("Primary", "Standby"):
        name = f"OutageCommsIncidentManager{role}"
        plans = [
            r["Properties"] for r in resources(two_regions, name, "AWS::SSMIncidents::ResponsePlan").values()
        ]
        assert len(plans) == len(plan.severities)
        by_impact = sorted(p["IncidentTemplate"]["Impact"] for p in plans)
        assert by_impact == sorted(incident_manager_impact(plan, s) for s in plan.severities)
        topics = resources(two_regions, name, "AWS::SNS::Topic")
        (topic_id,) = topics
        assert "KmsMasterKeyId" in topics[topic_id]["Properties"]
        for response_plan in plans:
            assert response_plan["ChatChannel"] == {"ChatbotSns": [{"Ref": topic_id}]}
            assert len(response_plan["Engagements"]) == len(plan.incident_manager.engage_roles)
            assert all(
                ":ssm-contacts:" in flat(e) or "Contacts" in flat(e) for e in response_plan["Engagements"]
            )
            (action,) = response_plan["Actions"]
            automation = action["SsmAutomation"]
            assert automation["DynamicParameters"] == [
                {"Key": "IncidentRecordArn", "Value": {"Variable": "INCIDENT_RECORD_ARN"}}
            ]
            assert {p["Key"] for p in automation["Parameters"]} == {"AutomationAssumeRole", "Impact"}
            assert f"OutageCommsWorkflow{role}" in flat(automation["DocumentName"])  # that region's runbook
        slack = resources(two_regions, name, "AWS::Chatbot::SlackChannelConfiguration")
        assert [s["Properties"]["SlackChannelId"] for s in slack.values()] == [
            plan.incident_manager.slack_channel_id
        ]
    primary = "OutageCommsIncidentManagerPrimary"
    contacts = resources(two_regions, primary, "AWS::SSMContacts::Contact")
    assert len(contacts) == len(plan.incident_manager.engage_roles)
    channels = resources(two_regions, primary, "AWS::SSMContacts::ContactChannel")
    assert sorted(c["Properties"]["ChannelType"] for c in channels.values()) == sorted(
        kind.upper()
        for kind in plan.incident_manager.contact_channels
        for _ in plan.incident_manager.engage_roles
    )
    assert len(resources(two_regions, primary, "AWS::SSMContacts::Plan")) == len(contacts)
    (replication_set,) = resources(two_regions, primary, "AWS::SSMIncidents::ReplicationSet").values()
    assert {r["RegionName"] for r in replication_set["Properties"]["Regions"]} == {PRIMARY, STANDBY}
    standby = "OutageCommsIncidentManagerStandby"
    assert not resources(two_regions, standby, "AWS::SSMContacts::Contact")  # engages the primary's contacts
    assert not resources(two_regions, standby, "AWS::SSMIncidents::ReplicationSet")


def test_single_region_plan_builds_no_region_machinery(core: Synthesized) -> None:
    kinds = {r["Type"] for raw in core.raw.values() for r in raw["Resources"].values()}
    assert not kinds & {
        "AWS::DynamoDB::GlobalTable",
        "AWS::Events::Endpoint",
        "AWS::Synthetics::Canary",
        "AWS::SSMIncidents::ResponsePlan",
    }


def test_cfn_lint_passes_on_the_two_region_templates(two_regions: Synthesized) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *map(str, two_regions.template_files())],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _functions(synth: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"].get("Environment", {}).get("Variables", {})
        for k, v in resources(synth, stack, "AWS::Lambda::Function").items()
    }


def test_workflow_and_publisher_functions_know_the_ownership_table(two_regions: Synthesized) -> None:
    for role in ("Primary", "Standby"):
        for part in ("Workflow", "StatusPublisher"):
            environments = _functions(two_regions, f"OutageComms{part}{role}")
            assert environments and all("OWNERSHIP_TABLE" in env for env in environments.values()), (
                part,
                role,
            )
        standby_env = _functions(two_regions, f"OutageCommsWorkflow{role}")
        names = {flat(env["OWNERSHIP_TABLE"]) for env in standby_env.values()}
        assert len(names) == 1, names
    # the standby uses the replica by its name
    standby_names = {
        flat(env["OWNERSHIP_TABLE"]) for env in _functions(two_regions, "OutageCommsWorkflowStandby").values()
    }
    assert standby_names == {"outage-comms-ownership"}


def test_both_engines_run_the_failover_function_on_the_primary_engine_health_alarm(
    two_regions: Synthesized,
) -> None:
    (endpoint_alarm,) = [
        a["Properties"]
        for a in resources(two_regions, "OutageCommsIntakePrimary", "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmName", "").startswith("outage-comms-engine-health")
    ]
    name = endpoint_alarm["AlarmName"]
    for role in ("Primary", "Standby"):
        stack = f"OutageCommsIntake{role}"
        failover = [env for env in _functions(two_regions, stack).values() if "HEALTH_ALARMS" in env]
        assert len(failover) == 1, stack
        assert failover[0]["HEALTH_ALARMS"] == f"{name}={PRIMARY}"
        assert "OWNERSHIP_TABLE" in failover[0] and "WORKFLOW_TABLE" in failover[0]
        rules = [
            r["Properties"]
            for r in resources(two_regions, stack, "AWS::Events::Rule").values()
            if r["Properties"]["EventPattern"].get("detail", {}).get("alarmName") == [name]
            and "failover" in r["Properties"].get("Description", "")
        ]
        assert len(rules) == 2  # its own bus (forwarded) and the default bus
    # the primary forwards the alarm's state changes to the standby's bus
    forwarded = [
        r["Properties"]
        for r in resources(two_regions, "OutageCommsIntakePrimary", "AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("detail", {}).get("alarmName") == [name]
        and "to the engines in" in r["Properties"].get("Description", "")
    ]
    assert len(forwarded) == 1 and f":events:{STANDBY}:" in flat(forwarded[0]["Targets"][0]["Arn"])


def _role_statements(synth: Synthesized, stack: str, role_logical_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(synth, stack, "AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_failover_function_starts_only_the_incident_state_machines_and_stops_only_their_executions(
    two_regions: Synthesized,
) -> None:
    for role in ("Primary", "Standby"):
        stack = f"OutageCommsIntake{role}"
        function = next(
            f
            for f in resources(two_regions, stack, "AWS::Lambda::Function").values()
            if f["Properties"]["Handler"] == "handlers.region_failover.handler"
        )
        environment = function["Properties"]["Environment"]["Variables"]
        # its own region's incident state machine (the workflow stack's, by reference)
        assert "StateMachine" in flat(environment["STATE_MACHINE_ARN"]), environment
        statements = _role_statements(two_regions, stack, function["Properties"]["Role"]["Fn::GetAtt"][0])
        by_action: dict[str, list[str]] = {}
        for statement in statements:
            for action in as_list(statement["Action"]):
                if str(action).startswith("states:"):
                    by_action.setdefault(action, []).extend(flat(r) for r in as_list(statement["Resource"]))
        assert set(by_action) == {"states:StartExecution", "states:DescribeExecution", "states:StopExecution"}
        # the standby: a taken incident continues there, a handed-back one in the primary (both regions);
        # the primary's function never moves an incident, so it reaches its own region only
        regions = (PRIMARY, STANDBY) if role == "Standby" else (PRIMARY,)
        assert sorted(by_action["states:StartExecution"]) == sorted(
            f"arn:<AWS::Partition>:states:{region}:<AWS::AccountId>:stateMachine:outage-comms-incident"
            for region in regions
        )
        for action in ("states:DescribeExecution", "states:StopExecution"):
            assert sorted(by_action[action]) == sorted(
                f"arn:<AWS::Partition>:states:{region}:<AWS::AccountId>:execution:outage-comms-incident:*"
                for region in regions
            )


def test_the_status_site_trusts_the_publisher_role_of_each_engine_region(two_regions: Synthesized) -> None:
    (role,) = [
        r["Properties"]
        for r in resources(two_regions, "OutageCommsStatus", "AWS::IAM::Role").values()
        if "StatusPublisherAccess" in str(r["Properties"].get("RoleName", ""))
    ]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    trusted = sorted(flat(arn) for arn in statement["Condition"]["ArnEquals"]["aws:PrincipalArn"])
    assert trusted == sorted(
        f"arn:<AWS::Partition>:iam::<AWS::AccountId>:role/outage-comms-status-publisher-{region}"
        for region in (PRIMARY, STANDBY)
    ), trusted
    assert flat(statement["Principal"]["AWS"]) == "arn:aws:iam::<AWS::AccountId>:root"
    # and each engine's publisher function runs as exactly that role
    for region_role, region in (("Primary", PRIMARY), ("Standby", STANDBY)):
        names = [
            r["Properties"].get("RoleName")
            for r in resources(
                two_regions, f"OutageCommsStatusPublisher{region_role}", "AWS::IAM::Role"
            ).values()
        ]
        assert f"outage-comms-status-publisher-{region}" in names, names


def _task_responses(synth: Synthesized, stack: str, handler: str) -> dict[str, list[Any]]:
    """``states:SendTask*`` action -> the resources the function's role may answer tokens of."""
    function = next(
        f
        for f in resources(synth, stack, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler
    )
    by_action: dict[str, list[Any]] = {}
    for statement in _role_statements(synth, stack, function["Properties"]["Role"]["Fn::GetAtt"][0]):
        for action in as_list(statement["Action"]):
            if str(action).startswith("states:SendTask"):
                by_action.setdefault(action, []).extend(as_list(statement["Resource"]))
    return by_action


def test_intake_answers_task_tokens_of_both_engines_incident_state_machines_only(
    two_regions: Synthesized,
) -> None:
    """A token is answered in the region that issued it (an update reaching the primary's intake wakes the
    standby's waiting execution): SendTaskSuccess on the incident state machine of each engine region,
    named, never ``*``, and no other SendTask action."""
    handlers = (
        "handlers.intake.handler",
        "handlers.maintenance_tick.handler",
    )  # a phase change is an update too
    for (role, other), handler in itertools.product((("Primary", STANDBY), ("Standby", PRIMARY)), handlers):
        granted = _task_responses(two_regions, f"OutageCommsIntake{role}", handler)
        assert set(granted) == {"states:SendTaskSuccess"}, granted
        own, *others = granted["states:SendTaskSuccess"]
        assert "StateMachine" in flat(own) and "*" not in flat(own), own  # its own, by reference
        assert [flat(r) for r in others] == [
            f"arn:<AWS::Partition>:states:{other}:<AWS::AccountId>:stateMachine:outage-comms-incident"
        ]


def test_a_single_region_intake_answers_its_own_state_machines_tokens_only(core: Synthesized) -> None:
    (intake_stack,) = [name for name in core.raw if name.startswith("OutageCommsIntake")]
    granted = _task_responses(core, intake_stack, "handlers.intake.handler")
    assert set(granted) == {"states:SendTaskSuccess"}, granted
    (own,) = granted["states:SendTaskSuccess"]
    assert "StateMachine" in flat(own) and "*" not in flat(own), own
