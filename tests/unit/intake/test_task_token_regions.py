"""Task tokens are regional: each stored token keeps the region that issued it, and every sender answers it
there (issue 17). The two-region proof on the synthesized state machines is
tests/integration/regions/test_token_routing.py; these are the pieces, one by one."""

from __future__ import annotations

import json
import pickle
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from outage_comms.aws_clients import reset_clients
from outage_comms.incident import Incident, IncidentSource
from outage_comms.intake.handoff import HANDOFF_KEY, hand_off
from outage_comms.intake.store import DynamoIncidentRepository, incidents_table_schema
from outage_comms.ports import TaskRegionUnreachableError, TaskToken, token_region
from outage_comms.workflow.approval import TaskGoneError
from outage_comms.workflow.approval_store import DynamoApprovalStore
from outage_comms.workflow.review import in_token_region
from outage_comms.workflow_gateway import StepFunctionsWorkflowGateway

PRIMARY, STANDBY = "eu-west-1", "eu-central-1"
MACHINE = f"arn:aws:states:{PRIMARY}:123456789012:stateMachine:outage-comms-incident"


class FakeStepFunctions:
    """Records SendTaskSuccess calls; answers with ``error`` (a botocore exception) when given one."""

    def __init__(self, region: str, error: Exception | None = None) -> None:
        self.region = region
        self.error = error
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.started: list[str] = []

    def send_task_success(self, *, taskToken: str, output: str) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((taskToken, json.loads(output)))

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, str]:
        self.started.append(name)
        return {"executionArn": f"{stateMachineArn}:{name}"}


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "SendTaskSuccess")


@pytest.fixture
def regional(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeStepFunctions]:
    """The Step Functions clients of other regions, by region, as ``stepfunctions_in`` builds them."""
    clients: dict[str, FakeStepFunctions] = {}

    def stepfunctions_in(region: str) -> FakeStepFunctions:
        return clients.setdefault(region, FakeStepFunctions(region))

    monkeypatch.setattr("outage_comms.workflow_gateway.stepfunctions_in", stepfunctions_in)
    return clients


# -- the token ------------------------------------------------------------------------------------


def test_a_task_token_is_the_token_string_and_knows_its_region() -> None:
    token = TaskToken("tok-1", STANDBY)
    assert token == "tok-1" and json.dumps({"t": token}) == '{"t": "tok-1"}'
    assert token_region(token) == STANDBY and token_region("tok-1") is None
    assert token_region(TaskToken("tok-1")) is None  # old records: "this region"
    assert token_region(pickle.loads(pickle.dumps(token))) == STANDBY


# -- the store: the step's own region is recorded beside the token ----------------------------------


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, DynamoIncidentRepository]]:
    """One table (a global table in a two-region engine), reached from each region's client."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", PRIMARY)
    with mock_aws():
        reset_clients()
        boto3.client("dynamodb", region_name=PRIMARY).create_table(**incidents_table_schema("incidents"))
        # moto keeps a table per region: both stores reach the one table here (a global table's replicas),
        # the standby's through a client that names the standby (what the step's region is read from).
        primary = boto3.client("dynamodb", region_name=PRIMARY)
        standby = _AsRegion(primary, STANDBY)
        yield {
            PRIMARY: DynamoIncidentRepository("incidents", dynamodb=primary),
            STANDBY: DynamoIncidentRepository("incidents", dynamodb=standby),
        }
    reset_clients()


class _AsRegion:
    """A client of the one table that says it belongs to ``region`` (as the standby's client would)."""

    def __init__(self, client: Any, region: str) -> None:
        self._client = client
        self.meta = type("Meta", (), {"region_name": region})()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def stored_incident(repository: DynamoIncidentRepository) -> Incident:
    now = datetime.now(UTC)
    incident = Incident.model_validate(
        {
            "id": f"inc-20261202-2100-{uuid.uuid4().hex[:6]}",
            "internal_title": "sync down",
            "public_title": {"en": "Sync is slow", "pt-BR": "A sincronização está lenta"},
            "components": ("sync",),
            "severity": "sev4",
            "status": "investigating",
            "scenario": "partial_outage",
            "audiences": ("all-customers",),
            "started_at": now,
            "updated_at": now,
            "source": IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/Oncall"),
        }
    )
    repository.save(incident, None)
    return incident


def test_the_waiting_step_stores_its_own_region_and_the_other_regions_intake_takes_it(
    stores: dict[str, DynamoIncidentRepository],
) -> None:
    incident = stored_incident(stores[PRIMARY])
    stores[STANDBY].set_update_token(incident.id, "tok-standby")  # Wait for next update, in the standby
    taken = stores[PRIMARY].take_update_token_for_version(incident.id, 2)  # the primary's intake
    assert taken == "tok-standby" and token_region(taken) == STANDBY
    assert stores[PRIMARY].take_update_token(incident.id) is None  # taken once


def test_a_token_stored_before_regions_were_recorded_is_this_regions(
    stores: dict[str, DynamoIncidentRepository],
) -> None:
    incident = stored_incident(stores[PRIMARY])
    stores[PRIMARY].dynamodb.update_item(  # an item as the previous release wrote it
        TableName="incidents",
        Key={"pk": {"S": f"INCIDENT#{incident.id}"}, "sk": {"S": "INCIDENT"}},
        UpdateExpression="SET update_token = :t",
        ExpressionAttributeValues={":t": {"S": "tok-old"}},
    )
    taken = stores[STANDBY].take_update_token(incident.id)
    assert taken == "tok-old" and token_region(taken) is None


def test_a_new_token_replaces_the_region_of_the_old_one(stores: dict[str, DynamoIncidentRepository]) -> None:
    incident = stored_incident(stores[PRIMARY])
    stores[PRIMARY].set_update_token(incident.id, "tok-primary")
    stores[STANDBY].set_update_token(incident.id, "tok-standby")
    assert token_region(stores[PRIMARY].take_update_token(incident.id)) == STANDBY
    stores[STANDBY].set_update_token(incident.id, "tok-x")
    stores[STANDBY].set_update_token(incident.id, None)  # cleared: token and region
    item = stores[PRIMARY].dynamodb.get_item(
        TableName="incidents", Key={"pk": {"S": f"INCIDENT#{incident.id}"}, "sk": {"S": "INCIDENT"}}
    )["Item"]
    assert "update_token" not in item and "update_token_region" not in item


# -- the gateway: SendTaskSuccess in the token's region ---------------------------------------------


def test_a_token_of_another_region_is_answered_by_that_regions_client(
    regional: dict[str, FakeStepFunctions],
) -> None:
    local = FakeStepFunctions(PRIMARY)
    gateway = StepFunctionsWorkflowGateway(MACHINE, stepfunctions=local)
    gateway.deliver_update(TaskToken("tok-standby", STANDBY), {"incident_id": "inc-1"})
    gateway.deliver_update(TaskToken("tok-primary", PRIMARY), {"incident_id": "inc-1"})
    gateway.deliver_update("tok-old", {"incident_id": "inc-1"})  # no region: this region's
    assert [t for t, _ in regional[STANDBY].sent] == ["tok-standby"]
    assert [t for t, _ in local.sent] == ["tok-primary", "tok-old"]
    assert set(regional) == {STANDBY}


def test_a_stale_token_of_another_region_starts_no_execution_here(
    regional: dict[str, FakeStepFunctions],
) -> None:
    local = FakeStepFunctions(PRIMARY)
    regional[STANDBY] = FakeStepFunctions(STANDBY, client_error("TaskTimedOut"))
    gateway = StepFunctionsWorkflowGateway(MACHINE, stepfunctions=local)
    gateway.deliver_update(TaskToken("tok", STANDBY), {"incident_id": "inc-1"})
    assert local.started == []  # the standby's incident is the standby engine's
    local.error = client_error("TaskDoesNotExist")
    gateway.deliver_update(TaskToken("tok", PRIMARY), {"incident_id": "inc-1"})
    assert local.started == ["inc-1"]  # this region's: (re)started here, as before


def test_a_token_whose_region_is_down_raises_region_unreachable(
    regional: dict[str, FakeStepFunctions],
) -> None:
    regional[STANDBY] = FakeStepFunctions(STANDBY, EndpointConnectionError(endpoint_url="https://states"))
    gateway = StepFunctionsWorkflowGateway(MACHINE, stepfunctions=FakeStepFunctions(PRIMARY))
    with pytest.raises(TaskRegionUnreachableError) as raised:
        gateway.deliver_update(TaskToken("tok", STANDBY), {"incident_id": "inc-1"})
    assert raised.value.region == STANDBY


# -- intake's hand-off: a region that is down leaves the update stored ------------------------------


class _Incidents:
    def __init__(self, incident: Incident, token: str | None) -> None:
        self.incident, self.token = incident, token

    def get(self, incident_id: str) -> Incident:
        return self.incident

    def take_update_token_for_version(self, incident_id: str, version: int) -> str | None:
        token, self.token = self.token, None
        return token


class _Gateway:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.delivered: list[tuple[str, Mapping[str, Any]]] = []

    def start(self, incident: Incident) -> str:
        return incident.id

    def deliver_update(self, token: str, update: Mapping[str, Any]) -> None:
        if self.error is not None:
            raise self.error
        self.delivered.append((token, update))


def test_a_hand_off_reports_the_tokens_region_and_a_region_that_is_down() -> None:
    incident = Incident.model_validate(
        {
            "id": "inc-20261202-2100-abcdef",
            "internal_title": "sync down",
            "public_title": {"en": "Sync is slow"},
            "components": ("sync",),
            "severity": "sev4",
            "status": "identified",
            "scenario": "identified",
            "audiences": ("all-customers",),
            "started_at": datetime.now(UTC),
            "updated_at": datetime.now(UTC),
            "source": IncidentSource(type="human", reference="arn:aws:iam::111122223333:role/Oncall"),
            "version": 2,
        }
    )
    raw = {HANDOFF_KEY: "update", "incident_id": incident.id, "version": 2}
    gateway = _Gateway()
    handed = hand_off(raw, incidents=_Incidents(incident, TaskToken("tok", STANDBY)), workflow=gateway)  # type: ignore[arg-type]
    assert handed == {
        "kind": "handoff",
        "incident_id": incident.id,
        "token_region": STANDBY,
        "workflow": "update_delivered",
    }
    assert token_region(gateway.delivered[0][0]) == STANDBY
    down = _Gateway(TaskRegionUnreachableError(STANDBY))
    handed = hand_off(raw, incidents=_Incidents(incident, TaskToken("tok", STANDBY)), workflow=down)  # type: ignore[arg-type]
    assert handed["workflow"] == "update_stored_region_down" and handed["token_region"] == STANDBY


# -- the review page: an approval request's token is answered in its region ------------------------


def test_the_review_page_answers_a_token_in_the_region_the_request_names(
    regional: dict[str, FakeStepFunctions],
) -> None:
    here: list[tuple[str, dict[str, Any]]] = []
    send = in_token_region(lambda token, output: here.append((token, output)), lambda: PRIMARY)
    send(TaskToken("tok-here", PRIMARY), {"decision": "approved"})
    send(TaskToken("tok-old"), {"decision": "approved"})  # a request from before regions: here
    send(TaskToken("tok-there", STANDBY), {"decision": "approved"})
    assert [t for t, _ in here] == ["tok-here", "tok-old"]
    assert regional[STANDBY].sent == [("tok-there", {"decision": "approved"})]
    regional[STANDBY].error = client_error("TaskTimedOut")
    with pytest.raises(TaskGoneError):  # too late, as for this region's tokens
        send(TaskToken("tok-late", STANDBY), {"decision": "approved"})


def test_an_approval_request_records_the_region_of_the_step_that_stored_it() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=STANDBY)
        client.create_table(
            TableName="approvals",
            KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "request_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        approvals = DynamoApprovalStore(table_name="approvals", client=client)
        record = {"request_id": "r1", "incident_id": "inc-1", "update_id": "001-x", "task_token": "tok"}
        approvals.put({**record, "expires_at": 2_000_000_000, "content_hash": "h"})
        stored = approvals.get("r1")
        assert stored is not None and stored["task_region"] == STANDBY
        approvals.put({**record, "request_id": "r2", "expires_at": 2_000_000_000, "content_hash": "h",
                       "task_region": PRIMARY})  # fmt: skip
        assert (approvals.get("r2") or {})["task_region"] == PRIMARY  # a region given is kept
