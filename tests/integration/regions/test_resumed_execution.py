"""A taken incident continues in a new execution of the SYNTHESIZED state machine, on moto, with the real
handlers: the failover handler (regions/engine.py) starts it with the resume point, the definition's
resume states route it, and the next update goes out once.

One region is deployed (the embedded harness's); it plays the standby. The primary's execution is the one
intake started (named after the incident); its region "dies" by stopping it, and its lease has lapsed.
The plan is the example plan with ``regions`` (primary eu-west-1, standby the harness's region).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan, Regions, load_plan
from outage_comms.regions.engine import RegionEngine
from outage_comms.regions.executions import StepFunctionsExecutions
from outage_comms.regions.lease import DynamoOwnershipStore, scope_for
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.store import DynamoWorkflowStore
from outage_comms.workflow.timing import Clock
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway
from outage_comms_embedded import REGION, EmbeddedAws, review_links, synthesize_app
from tests.embedded_helpers import approve_latest, declare_incident

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_PLAN = ROOT / "plans" / "example.yaml"
PRIMARY = "eu-west-1"
COMMS = "comms@nimbusnotes.example"
COMMS_MANAGER_ROLE = "arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager"
OWNERSHIP_TABLE = "outage-comms-ownership"
ALARM = "outage-comms-engine-health-primary"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAws]:
    reuse = os.environ.get("OUTAGE_COMMS_EMBEDDED_CDK_OUT")  # a cdk.out synthesized by synthesize_app
    cdk_out = (
        Path(reuse) if reuse else synthesize_app(tmp_path_factory.mktemp("resume-cdk.out"), EXAMPLE_PLAN)
    )
    with EmbeddedAws(cdk_out) as embedded:
        embedded.client("dynamodb").create_table(
            TableName=OWNERSHIP_TABLE,
            KeySchema=[{"AttributeName": "scope", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "scope", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield embedded


@pytest.fixture(scope="module")
def plan() -> Plan:
    """The example plan with a standby: the harness's region takes over from the primary."""
    return load_plan(EXAMPLE_PLAN).model_copy(update={"regions": Regions(primary=PRIMARY, standby=REGION)})


@pytest.fixture(scope="module")
def repository(aws: EmbeddedAws) -> DynamoIncidentRepository:
    return DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents"))


@pytest.fixture(scope="module")
def store(aws: EmbeddedAws) -> DynamoWorkflowStore:
    table = aws.physical_id("AWS::DynamoDB::Table", stack=aws.workflow_stack, contains="StateTable")
    return DynamoWorkflowStore(table_name=table, client=aws.client("dynamodb"))


@pytest.fixture(scope="module")
def ownership(aws: EmbeddedAws) -> DynamoOwnershipStore:
    return DynamoOwnershipStore(table_name=OWNERSHIP_TABLE, client=aws.client("dynamodb"))


def open_incident(
    repository: DynamoIncidentRepository, plan: Plan, component: str, severity: str
) -> Incident:
    return declare_incident(repository, plan, component, severity, title=f"resume test on {component}")


def primary_dies(aws: EmbeddedAws, ownership: DynamoOwnershipStore, incident: Incident, arn: str) -> None:
    """The primary's execution stops speaking (its region is gone) and its lease lapsed long ago. The
    execution keeps its claim on the incident (it never released it): the failover moves the claim."""
    aws.client("stepfunctions").stop_execution(executionArn=arn, cause="primary region down")
    aws.client("dynamodb").put_item(
        TableName=OWNERSHIP_TABLE,
        Item={
            "scope": {"S": scope_for(incident.id)},
            "region": {"S": PRIMARY},
            "epoch": {"N": "1"},
            "lease_until": {"N": str(time.time() - 600)},
            "reason": {"S": "declared"},
        },
    )


def fail_over(
    aws: EmbeddedAws,
    plan: Plan,
    repository: DynamoIncidentRepository,
    store: DynamoWorkflowStore,
    ownership: DynamoOwnershipStore,
    incident: Incident,
) -> dict[str, Any]:
    """The standby's failover handler on the primary's engine-health ALARM, with the real engine."""
    import handlers.region_failover as region_failover

    engine = RegionEngine(
        plan=plan,
        region=REGION,
        ownership=ownership,
        repository=repository,
        store=store,
        executions=StepFunctionsExecutions(aws.state_machine_arn),
    )
    event = {
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "region": REGION,
        "time": datetime.now(UTC).isoformat(),
        "detail": {"alarmName": ALARM, "state": {"value": "ALARM", "reason": "intake not consumed"}},
    }
    previous = os.environ.get("HEALTH_ALARMS")
    os.environ["HEALTH_ALARMS"] = f"{ALARM}={PRIMARY}"
    try:
        results = region_failover.handler(event, _Context(), engine=engine)["results"]
    finally:
        if previous is None:
            os.environ.pop("HEALTH_ALARMS", None)
        else:
            os.environ["HEALTH_ALARMS"] = previous
    (mine,) = [r for r in results if r["incident_id"] == incident.id]
    return dict(mine)


class _Context:
    function_name = "region-failover"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:region-failover"
    memory_limit_in_mb = 256
    aws_request_id = "resume-test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def subscriber_updates(aws: EmbeddedAws, incident_id: str) -> Counter[tuple[str, str]]:
    """(scenario, locale) -> how many times subscribers received it on the SNS topic."""
    topic = aws.output("SubscribersTopicArn")
    sent = [m for m in aws.published(topic) if incident_id in json.dumps(m["attributes"])]
    return Counter((m["attributes"]["scenario"]["Value"], m["attributes"]["locale"]["Value"]) for m in sent)


def take_token(aws: EmbeddedAws, repository: DynamoIncidentRepository, incident_id: str) -> str:
    tokens: list[str] = []

    def taken() -> bool:
        token = repository.take_update_token(incident_id)
        if token:
            tokens.append(token)
        return bool(tokens)

    aws.wait_until(taken, what="update token")
    return tokens[0]


def test_a_taken_incident_waits_the_remaining_time_then_its_next_update_goes_out_once(
    aws: EmbeddedAws,
    plan: Plan,
    repository: DynamoIncidentRepository,
    store: DynamoWorkflowStore,
    ownership: DynamoOwnershipStore,
) -> None:
    # Given a notice-level incident (no approval, cadence 240 plan minutes = 24 s here) whose first
    # update reached customers from the primary, which then went down
    spm = 0.1
    aws.set_plan_clock(datetime.now(UTC), spm)  # people's time runs 10 plan minutes per wall second
    incident = open_incident(repository, plan, "search", "sev4")
    first = aws.start_execution(
        {"incident_id": incident.id, "clock": {"seconds_per_minute": spm}}, name=incident.id
    )
    aws.wait_for_state(first, "Wait for next update")
    before = subscriber_updates(aws, incident.id)
    assert before and set(before.values()) == {1}, before
    (first_scenario,) = {scenario for scenario, _ in before}
    sent = store.last_customer_update(incident.id)
    assert sent is not None and sent.update_id == f"001-{first_scenario}"
    time.sleep(30 * spm)  # 30 plan minutes of the 240 pass before the primary goes down
    primary_dies(aws, ownership, incident, first)

    # When the standby's failover handler hears the primary's engine-health alarm
    result = fail_over(aws, plan, repository, store, ownership, incident)

    # Then it took the incident and started the standby's own execution, waiting for the next update
    assert (result["action"], result["route"], result["epoch"]) == ("take_over", "wait", 2)
    resumed = result["execution_arn"]
    assert resumed.endswith(f":{incident.id}-resume-2")
    aws.wait_for_state(resumed, "Wait for next update")
    assert aws.states_entered(resumed)[:5] == [
        "Resumed from another region?",
        "Register resumed incident",
        "Another execution owns the resumed incident?",
        "Where does the resumed incident continue?",
        "Wait for next update",
    ]
    # with the time left until the update customers were promised (not a whole cadence again)
    execution_input = json.loads(
        aws.client("stepfunctions").describe_execution(executionArn=resumed)["input"]
    )
    full = Clock(seconds_per_minute=spm).seconds(plan.severity("sev4").cadence_minutes)
    remaining = execution_input["render"]["timing"]["cadence_seconds"]
    assert full - 30 * spm - 3 <= remaining <= full - 30 * spm, (remaining, full)
    due = datetime.fromisoformat(execution_input["resume"]["next_update_due"])
    assert (due - sent.at).total_seconds() == plan.severity("sev4").cadence_minutes * 60
    assert execution_input["clock"] == {"seconds_per_minute": spm}  # the drill's clock carried over
    assert store.claim(incident.id, resumed, lambda _arn: True) == resumed  # the new execution owns it

    # When the next update is posted (intake hands it to the waiting task token)
    current = repository.get(incident.id)
    repository.save(
        current.evolve(status="identified", scenario=Scenario.IDENTIFIED, updated_at=datetime.now(UTC)),
        current.version,
    )
    StepFunctionsWorkflowGateway(aws.state_machine_arn).deliver_update(
        take_token(aws, repository, incident.id), {"incident_id": incident.id}
    )

    # Then the standby renders and sends it once, and nothing the primary sent is sent again
    aws.wait_for_state(resumed, "Wait for next update", count=2)
    after = subscriber_updates(aws, incident.id)
    assert {scenario for scenario, _ in after} == {first_scenario, "identified"}, after
    assert set(after.values()) == {1}, after  # every (update, locale) exactly once
    latest = store.last_customer_update(incident.id)
    assert latest is not None and latest.update_id == "002-identified"
    assert {locale for _, locale in after} == {locale for _, locale in before}
    assert aws.states_entered(first)[-1] == "Wait for next update"  # the stopped primary did nothing more
    aws.client("stepfunctions").stop_execution(executionArn=resumed)


def test_a_pending_approval_is_requested_again_with_a_fresh_link_and_the_update_goes_out_once(
    aws: EmbeddedAws,
    plan: Plan,
    repository: DynamoIncidentRepository,
    store: DynamoWorkflowStore,
    ownership: DynamoOwnershipStore,
) -> None:
    # Given a major incident whose first update waits for approval in the primary when it goes down
    incident = open_incident(repository, plan, "sync", "sev2")
    first = aws.start_execution(
        {"incident_id": incident.id, "clock": {"seconds_per_minute": 0.5}}, name=incident.id
    )
    aws.wait_for_state(first, "Wait for approval")
    aws.wait_until(lambda: len(review_links(aws, incident.id, COMMS)) == 1, what="first review email")
    ((_, old_reference),) = review_links(aws, incident.id, COMMS)
    primary_dies(aws, ownership, incident, first)

    # When the standby takes it over
    result = fail_over(aws, plan, repository, store, ownership, incident)

    # Then its execution asks for approval again, with a new link
    assert (result["action"], result["route"]) == ("take_over", "approve")
    assert result["resume"]["reapprove_update"] is not None
    resumed = result["execution_arn"]
    aws.wait_for_state(resumed, "Wait for approval")
    aws.wait_until(lambda: len(review_links(aws, incident.id, COMMS)) == 2, what="fresh review email")
    fresh = review_links(aws, incident.id, COMMS)[-1][1]
    assert fresh != old_reference
    # When the communications manager approves on the fresh link
    outcome = approve_latest(aws, incident.id, approver_role_arn=COMMS_MANAGER_ROLE, to=COMMS)
    assert (outcome.get_status, outcome.post_status) == (200, 200), outcome
    # Then the update goes out once, from the standby's execution
    aws.wait_for_state(resumed, "Wait for next update")
    sent = subscriber_updates(aws, incident.id)
    assert {f"001-{scenario}" for scenario, _ in sent} == {result["resume"]["reapprove_update"]}
    assert set(sent.values()) == {1} and len(sent) == len(plan.locale_codes), sent
    assert "Fan out to channels" not in aws.states_entered(first)
    aws.client("stepfunctions").stop_execution(executionArn=resumed)
