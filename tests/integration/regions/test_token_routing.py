"""Task tokens are answered in the region that issued them (issue 17), on BOTH engines of the synthesized
two-region app deployed into moto (a backend per region), with the real handlers.

Step Functions task tokens are regional: ``SendTaskSuccess`` must be called in the region of the execution
whose task issued the token (elsewhere: ``InvalidToken``). The incidents table is a global table, so an
execution waiting in one region leaves its token where the other region's intake takes it.

1. An incident driven by the STANDBY waits there for its next update; the person's update reaches the
   recovered PRIMARY's intake (a hand-off on the primary's intake queue, as the incident API sends it):
   the standby's execution wakes at once and the update goes out once. Before the fix the primary answered
   the token in its own region (InvalidToken), so the standby waited for its timeout (the embedded drill's
   resolve went out ~28 plan minutes late).
2. The token's region is down (connection errors): the update is not lost. Intake reports it stored
   (``update_stored_region_down``), and the standby's failover resumes the incident from stored state: its
   execution renders the update as it starts waiting.
3. ``Wait for approval`` records its region with the request, and the decision is taken on the page its
   link names (the issuing region's: approval tables, links and signing keys are regional; the other
   region's page decides nothing).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident
from outage_comms.intake.handoff import HANDOFF_KEY
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan, load_plan
from outage_comms.vocabulary import Scenario
from outage_comms.workflow.store import DynamoWorkflowStore
from outage_comms_embedded import EmbeddedAws, review, review_links, session_arn, synthesize_app
from tests.embedded_helpers import declare_incident

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
TWO_REGIONS = ROOT / "tests" / "fixtures" / "two_region_plan.yaml"
#: Point at a cdk.out that ``synthesize_app`` wrote for the two-region plan to skip synthesis.
REUSE_ENV = "OUTAGE_COMMS_EMBEDDED_TWO_REGION_CDK_OUT"
PRIMARY, STANDBY = "eu-west-1", "eu-central-1"
#: 1 plan minute = 0.5 s: the notice-level cadence (240 plan minutes) is a 120-s wait, far longer than a
#: hand-off takes, so an execution that wakes within seconds was woken by the update, not by its timeout.
SPM = 0.5
WAKE_SECONDS = 15.0
COMMS = "comms@nimbusnotes.example"
COMMS_MANAGER_ROLE = "arn:aws:iam::111122223333:role/OutageCommsCommunicationsManager"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAws]:
    reuse = os.environ.get(REUSE_ENV)
    cdk_out = Path(reuse) if reuse else synthesize_app(tmp_path_factory.mktemp("tokens-cdk.out"), TWO_REGIONS)
    with EmbeddedAws(cdk_out, with_intake=True) as embedded:
        assert embedded.regions == [PRIMARY, STANDBY], embedded.regions
        yield embedded


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(TWO_REGIONS)


@pytest.fixture(scope="module")
def repository(aws: EmbeddedAws) -> DynamoIncidentRepository:
    """The global incidents table, read as the harness (its reads are never refused by an outage)."""
    table = aws.physical_id("AWS::DynamoDB::Table", contains="Incidents")
    return DynamoIncidentRepository(table, dynamodb=aws.client("dynamodb", region=STANDBY))


@pytest.fixture(scope="module")
def store(aws: EmbeddedAws) -> DynamoWorkflowStore:
    table = aws.physical_id("AWS::DynamoDB::Table", contains="StateWorkflowState")
    return DynamoWorkflowStore(table_name=table, client=aws.client("dynamodb", region=STANDBY))


def open_incident(
    repository: DynamoIncidentRepository, plan: Plan, component: str, severity: str
) -> Incident:
    return declare_incident(repository, plan, component, severity, title=f"token routing on {component}")


def start_in(aws: EmbeddedAws, region: str, incident: Incident) -> str:
    """The incident's execution in ``region``'s synthesized state machine (as its intake starts it)."""
    return str(
        aws.client("stepfunctions", region=region).start_execution(
            stateMachineArn=aws.state_machine_arn_in(region),
            name=incident.id,
            input=json.dumps({"incident_id": incident.id, "clock": {"seconds_per_minute": SPM}}),
        )["executionArn"]
    )


def stored_token(aws: EmbeddedAws, repository: DynamoIncidentRepository, incident_id: str) -> dict[str, Any]:
    item = aws.client("dynamodb", region=STANDBY).get_item(
        TableName=repository.table_name,
        Key={"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": "INCIDENT"}},
        ConsistentRead=True,
    )["Item"]
    return {k: v["S"] for k, v in item.items() if k in ("update_token", "update_token_region")}


def post_update(repository: DynamoIncidentRepository, incident_id: str) -> Incident:
    """The person's update as the incident API stores it (the hand-off then asks intake to deliver it)."""
    current = repository.get(incident_id)
    updated = current.evolve(status="identified", scenario=Scenario.IDENTIFIED, updated_at=datetime.now(UTC))
    repository.save(updated, current.version)
    return repository.get(incident_id)


def hand_off_through(aws: EmbeddedAws, region: str, incident: Incident) -> None:
    """The incident API's hand-off on ``region``'s intake queue, pumped into that region's intake function."""
    body = {
        HANDOFF_KEY: "update",
        "incident_id": incident.id,
        "version": incident.version,
        "change": "update",
    }
    queue = aws.output("IntakeQueueUrl", region=region)
    aws.client("sqs", region=region).send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    before = len(aws.invocations)
    aws.pump()
    handled = [i for i in aws.invocations[before:] if i.handler == "handlers.intake.handler"]
    assert handled and all(i.region == region for i in handled), [(i.handler, i.region) for i in handled]
    assert all(i.error is None for i in handled), [(i.error, i.error_message) for i in handled]
    # the hand-off was not left on the queue to be retried: intake finished with it
    assert all(not (i.result or {}).get("batchItemFailures") for i in handled), [i.result for i in handled]


def executions_named(aws: EmbeddedAws, region: str, name: str) -> list[str]:
    sfn = aws.client("stepfunctions", region=region)
    found = sfn.list_executions(stateMachineArn=aws.state_machine_arn_in(region))["executions"]
    return [e["executionArn"] for e in found if e["name"] == name]


def test_an_update_through_the_primarys_intake_wakes_the_execution_waiting_in_the_standby(
    aws: EmbeddedAws, plan: Plan, repository: DynamoIncidentRepository, store: DynamoWorkflowStore
) -> None:
    # Given a notice-level incident driven by the standby, its execution waiting there for the next update
    incident = open_incident(repository, plan, "search", "sev4")
    standby = start_in(aws, STANDBY, incident)
    aws.wait_for_state(standby, "Wait for next update")
    first = store.last_customer_update(incident.id)
    assert first is not None
    aws.wait_until(lambda: bool(stored_token(aws, repository, incident.id)), what="the standby's token")
    waiting = stored_token(aws, repository, incident.id)

    # When the person's update reaches the (recovered) primary's intake
    started = time.monotonic()
    hand_off_through(aws, PRIMARY, post_update(repository, incident.id))

    # Then the standby's execution wakes at once (not at its 120-s timeout) and sends the update once
    aws.wait_for_state(standby, "Wait for next update", count=2, timeout=WAKE_SECONDS)
    assert time.monotonic() - started < WAKE_SECONDS
    latest = store.last_customer_update(incident.id)
    assert latest is not None and latest.update_id == "002-identified", latest
    entered = aws.states_entered(standby)
    assert entered.count("Wait for next update") == 2 and "Send reminder" not in entered, entered
    # and the primary started no execution of its own for the standby's incident
    assert executions_named(aws, PRIMARY, incident.id) == []
    # because the token was stored with the region of the execution that issued it
    assert waiting.get("update_token_region") == STANDBY, waiting
    aws.client("stepfunctions", region=STANDBY).stop_execution(executionArn=standby)


def test_when_the_tokens_region_is_down_the_update_is_stored_and_the_failover_resumes_it(
    aws: EmbeddedAws, plan: Plan, repository: DynamoIncidentRepository, store: DynamoWorkflowStore
) -> None:
    import handlers.region_failover as region_failover

    from outage_comms.regions.engine import RegionEngine
    from outage_comms.regions.executions import StepFunctionsExecutions
    from outage_comms.regions.lease import DynamoOwnershipStore, scope_for

    # Given an incident driven by the primary, its execution waiting there for the next update
    incident = open_incident(repository, plan, "sync", "sev4")
    primary = start_in(aws, PRIMARY, incident)
    aws.wait_for_state(primary, "Wait for next update")
    aws.wait_until(lambda: bool(stored_token(aws, repository, incident.id)), what="the primary's token")
    assert stored_token(aws, repository, incident.id).get("update_token_region") == PRIMARY
    # When the primary goes down and the person's update reaches the standby's intake
    aws.region_outage(PRIMARY)
    try:
        hand_off_through(aws, STANDBY, post_update(repository, incident.id))
        # Then intake reports the update stored (nothing delivered, nothing lost, no execution started here)
        assert executions_named(aws, STANDBY, incident.id) == []
        assert repository.get(incident.id).scenario == Scenario.IDENTIFIED
        assert store.last_customer_update(incident.id).update_id != "002-identified"  # type: ignore[union-attr]

        # When the standby's failover takes the incident (the primary's lease lapsed) and resumes it
        ownership_table = aws.physical_id("AWS::DynamoDB::Table", contains="Ownership")
        leases = DynamoOwnershipStore(
            table_name=ownership_table, client=aws.client("dynamodb", region=STANDBY)
        )
        owner = aws.client("dynamodb", region=STANDBY).get_item(
            TableName=ownership_table, Key={"scope": {"S": scope_for(incident.id)}}, ConsistentRead=True
        )["Item"]
        assert owner["region"]["S"] == PRIMARY
        owner["lease_until"] = {"N": str(time.time() - 600)}
        aws.client("dynamodb", region=STANDBY).put_item(TableName=ownership_table, Item=owner)
        with aws.in_region(STANDBY):
            engine = RegionEngine(
                plan=plan,
                region=STANDBY,
                ownership=leases,
                repository=repository,
                store=store,
                executions=StepFunctionsExecutions(aws.state_machine_arn_in(STANDBY)),
            )
            alarm = "outage-comms-engine-health-primary"
            saved = os.environ.get("HEALTH_ALARMS")
            os.environ["HEALTH_ALARMS"] = f"{alarm}={PRIMARY}"
            try:
                results = region_failover.handler(_alarm(alarm), _Context(), engine=engine)["results"]
            finally:
                if saved is None:
                    os.environ.pop("HEALTH_ALARMS", None)
                else:
                    os.environ["HEALTH_ALARMS"] = saved
        (mine,) = [r for r in results if r["incident_id"] == incident.id]
        assert (mine["action"], mine["route"]) == ("take_over", "wait"), mine
        resumed = mine["execution_arn"]

        # Then the standby's execution reads the stored update as it starts waiting, and sends it once
        aws.wait_for_state(resumed, "Render update", timeout=WAKE_SECONDS)
        aws.wait_for_state(resumed, "Wait for next update", count=2, timeout=WAKE_SECONDS)
        latest = store.last_customer_update(incident.id)
        assert latest is not None and latest.update_id == "002-identified", latest
        aws.client("stepfunctions", region=STANDBY).stop_execution(executionArn=resumed)
    finally:
        aws.region_recovery(PRIMARY)
        aws.client("stepfunctions", region=PRIMARY).stop_execution(executionArn=primary)


def test_an_approval_request_records_its_region_and_is_decided_on_that_regions_page(
    aws: EmbeddedAws, plan: Plan, repository: DynamoIncidentRepository, store: DynamoWorkflowStore
) -> None:
    # Given a major incident whose first update waits for approval in the standby
    incident = open_incident(repository, plan, "attachments", "sev2")
    standby = start_in(aws, STANDBY, incident)
    aws.wait_for_state(standby, "Wait for approval")
    table = aws.physical_id("AWS::DynamoDB::Table", contains="ApprovalsTable", region=STANDBY)

    def requests() -> list[dict[str, Any]]:
        items = aws.client("dynamodb", region=STANDBY).scan(TableName=table, ConsistentRead=True)["Items"]
        return [json.loads(i["document"]["S"]) for i in items if incident.id in i["document"]["S"]]

    aws.wait_until(lambda: bool(requests()), what="the standby's approval request")
    (request,) = requests()
    # Then the request keeps the standby as the token's region (the review page answers it there)
    assert request["task_region"] == STANDBY
    aws.wait_until(lambda: bool(review_links(aws, incident.id, COMMS)), what="the review email")
    ((_, reference),) = review_links(aws, incident.id, COMMS)
    approver = session_arn(COMMS_MANAGER_ROLE)
    # The link is the standby's: the primary's page (its own approval table and signing key) decides nothing
    elsewhere = review(aws, incident.id, reference, caller_arn=approver, decision="approve", region=PRIMARY)
    assert elsewhere.get_status in (403, 404) and elsewhere.post_status in (403, 404), elsewhere
    assert "Wait for next update" not in aws.states_entered(standby)
    # On the page the link names, the decision wakes the standby's execution and the update goes out once
    decided = review(aws, incident.id, reference, caller_arn=approver, decision="approve", region=STANDBY)
    assert (decided.get_status, decided.post_status) == (200, 200), decided
    aws.wait_for_state(standby, "Wait for next update", timeout=WAKE_SECONDS)
    latest = store.last_customer_update(incident.id)
    assert latest is not None and latest.update_id.startswith("001-"), latest
    aws.client("stepfunctions", region=STANDBY).stop_execution(executionArn=standby)


def _alarm(name: str) -> dict[str, Any]:
    return {
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "region": STANDBY,
        "time": datetime.now(UTC).isoformat(),
        "detail": {"alarmName": name, "state": {"value": "ALARM", "reason": "intake not consumed"}},
    }


class _Context:
    function_name = "region-failover"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{STANDBY}:123456789012:function:region-failover"
    memory_limit_in_mb = 256
    aws_request_id = "token-routing-test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
