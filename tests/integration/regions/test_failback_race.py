"""Issue 17's failback race, ordered on purpose: the hand-back to the recovered primary against a person's
resolve, on BOTH regions' SYNTHESIZED state machines on moto, with the real handlers.

The two engines of tests/fixtures/two_region_plan.yaml are deployed into the embedded AWS (a moto backend
per region; the global tables are one table both regions reach). A notice-level incident (no approval)
starts in the primary, which "dies" (its execution stops, its lease lapses); the standby's real failover
handler takes it over and resumes it in the standby's own execution. Then the primary recovers and the
same handler hands the incident back, while the resolve arrives:

1. **during**: the resolve wakes the old owner (the standby), and the hand-back runs while its
   ``Render update`` is invoked (the handler's fault hook, inside the harness's handler lock, so the
   order is exact). This is the drill's 1-in-3 failure: both regions rendered "resolved".
2. **mid-hand-back**: the hand-back has moved the incident, and the resolve lands before the new
   owner's execution stored its task token: intake hands it to the old owner's (stopped) token.
3. **just before**: the old owner rendered and sent the resolution; the hand-back runs at its
   ``Record published words`` (after the fan-out, between updates).
4. **just after**: the hand-back completed, then the resolve.

Whatever the order: the resolution is rendered once, sent once per channel, listed once in the words
the status site shows (``incident.published``), the post-incident summary is asked for once, and no
execution but the owner's is left running (the old owner's never waits for ever).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from outage_comms.incident import Incident, IncidentSource, TimelineEntry
from outage_comms.intake.store import DynamoIncidentRepository
from outage_comms.plan import Plan, load_plan
from outage_comms.regions.engine import RegionEngine
from outage_comms.regions.executions import StepFunctionsExecutions
from outage_comms.regions.lease import DynamoOwnershipStore, scope_for
from outage_comms.workflow.store import DynamoWorkflowStore
from outage_comms_cli.drills.region_play import channel_deliveries, customer_updates, sent_twice
from outage_comms_embedded import EmbeddedAws, synthesize_app
from tests.embedded_helpers import declare_incident

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
TWO_REGIONS = ROOT / "tests" / "fixtures" / "two_region_plan.yaml"
#: A cdk.out that ``synthesize_app`` wrote for the two-region plan (skips synthesis), as the region drill's.
REUSE_ENV = "OUTAGE_COMMS_EMBEDDED_TWO_REGION_CDK_OUT"
PRIMARY, STANDBY = "eu-west-1", "eu-central-1"
ALARM = "outage-comms-engine-health-primary"
SPM = 0.2  # wall seconds per plan minute: the sev4 cadence (240 plan minutes) is 48 s, never reached
#: The render function also answers ``Register (resumed) incident``, with ``{"step": "register_incident"}``.
RENDER_FUNCTION = "handlers.workflow_render.handler"
AWAIT_UPDATE = "handlers.workflow_await_update.handler"
RECORD_PUBLISHED = "handlers.workflow_record_postmortem.handler"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAws]:
    reuse = os.environ.get(REUSE_ENV)
    cdk_out = Path(reuse) if reuse else synthesize_app(tmp_path_factory.mktemp("race-cdk.out"), TWO_REGIONS)
    with EmbeddedAws(cdk_out) as embedded:
        assert embedded.regions[:2] == [PRIMARY, STANDBY]
        embedded.set_plan_clock(datetime.now(UTC), SPM)
        yield embedded


@dataclass
class World:
    """Both regions' stores, as each region's functions reach them."""

    aws: EmbeddedAws
    plan: Plan
    repository: DynamoIncidentRepository
    ownership_table: str
    workflow_table: str
    #: Names of the executions someone asked to stop (moto ends an execution waiting for a task token
    #: only when its wait ends; Step Functions at once).
    stopped: set[str] = field(default_factory=set)

    def store(self, region: str) -> DynamoWorkflowStore:
        return DynamoWorkflowStore(
            table_name=self.workflow_table, client=self.aws.client("dynamodb", region=region)
        )

    def ownership(self) -> DynamoOwnershipStore:
        return DynamoOwnershipStore(table_name=self.ownership_table, client=self.aws.client("dynamodb"))

    def engine(self, before: dict[str, Callable[[], None]] | None = None) -> RegionEngine:
        """The standby's failover engine, as its function builds it (its region's clients). ``before``:
        store or executions method name -> what happens (once) just before the engine calls it."""
        hooks = before if before is not None else {}
        return RegionEngine(
            plan=self.plan,
            region=STANDBY,
            ownership=DynamoOwnershipStore(
                table_name=self.ownership_table, client=self.aws.client("dynamodb", region=STANDBY)
            ),
            repository=self.repository,
            store=_Hooked(self.store(STANDBY), hooks),  # type: ignore[arg-type]
            executions=_Hooked(StepFunctionsExecutions(self.aws.state_machine_arn_in(STANDBY)), hooks),  # type: ignore[arg-type]
        )

    def health(
        self, incident_id: str, healthy: bool, before: dict[str, Callable[[], None]] | None = None
    ) -> dict[str, Any]:
        """The standby's real failover handler on the primary's engine-health alarm: what it did about
        ``incident_id`` (other tests' incidents may be open too)."""
        import handlers.region_failover as region_failover

        event = {
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "region": STANDBY,
            "time": datetime.now(UTC).isoformat(),
            "detail": {
                "alarmName": ALARM,
                "state": {"value": "OK" if healthy else "ALARM", "reason": "test"},
            },
        }
        saved = os.environ.get("HEALTH_ALARMS")
        os.environ["HEALTH_ALARMS"] = f"{ALARM}={PRIMARY}"
        try:
            results = region_failover.handler(event, _Context(), engine=self.engine(before))["results"]
        finally:
            if saved is None:
                os.environ.pop("HEALTH_ALARMS", None)
            else:
                os.environ["HEALTH_ALARMS"] = saved
        mine = [r for r in results if r["incident_id"] == incident_id]
        for result in results:
            self.stopped.update(result.get("stopped") or [])
        return dict(mine[0]) if mine else {"action": "none", "reason": "not an open incident"}

    def execution(self, region: str, name: str) -> str:
        machine = self.aws.state_machine_arn_in(region)
        return machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def status(self, arn: str) -> str:
        sfn = self.aws.client("stepfunctions", region=arn.split(":")[3])
        return str(sfn.describe_execution(executionArn=arn)["status"])

    def running(self, incident_id: str) -> list[str]:
        """Executions of the incident still running, in either region, but those asked to stop."""
        found = []
        for region in (PRIMARY, STANDBY):
            sfn = self.aws.client("stepfunctions", region=region)
            page = sfn.list_executions(
                stateMachineArn=self.aws.state_machine_arn_in(region), statusFilter="RUNNING"
            )
            found += [
                e["executionArn"]
                for e in page["executions"]
                if e["name"].startswith(incident_id) and e["name"] not in self.stopped
            ]
        return found

    def rendered(self, incident_id: str) -> list[str]:
        items = self.aws.client("dynamodb").query(
            TableName=self.workflow_table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :u)",
            ExpressionAttributeValues={":pk": {"S": f"INCIDENT#{incident_id}"}, ":u": {"S": "UPDATE#"}},
        )["Items"]
        return sorted(i["sk"]["S"].removeprefix("UPDATE#") for i in items)


class _Hooked:
    """``inner`` whose named methods first run their hook (once): the adversary's moment."""

    def __init__(self, inner: Any, before: dict[str, Callable[[], None]]) -> None:
        self._inner, self._before = inner, before

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in self._before:
            return attribute

        def hooked(*args: Any, **kwargs: Any) -> Any:
            hook = self._before.pop(name, None)
            if hook is not None:
                hook()
            return attribute(*args, **kwargs)

        return hooked


class _Context:
    function_name = "region-failover"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{STANDBY}:123456789012:function:region-failover"
    memory_limit_in_mb = 256
    aws_request_id = "race-test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture(scope="module")
def world(aws: EmbeddedAws) -> World:
    return World(
        aws=aws,
        plan=load_plan(TWO_REGIONS),
        repository=DynamoIncidentRepository(aws.physical_id("AWS::DynamoDB::Table", contains="Incidents")),
        ownership_table=aws.physical_id("AWS::DynamoDB::Table", contains="Ownership"),
        workflow_table=aws.physical_id("AWS::DynamoDB::Table", contains="WorkflowState"),
    )


def awaits(world: World, incident_id: str, region: str) -> int:
    """How many ``Wait for next update`` functions of ``region`` finished for the incident (each stored its
    execution's task token: the state is entered before its function ran)."""
    return sum(
        1
        for i in list(world.aws.invocations)
        if i.handler == AWAIT_UPDATE
        and i.region == region
        and isinstance(i.event, dict)
        and i.event.get("incident_id") == incident_id
        and i.result is not None
    )


def stored_token(world: World, incident_id: str, region: str, *, before: int = 0) -> None:
    """Wait until an execution of ``region`` stored its task token (more than ``before`` such waits)."""
    world.aws.wait_until(
        lambda: awaits(world, incident_id, region) > before, timeout=30, what=f"{region}'s task token"
    )


def taken_over(world: World, component: str) -> tuple[Incident, str]:
    """A sev4 incident whose first update went out from the primary, then taken by the standby: the
    standby's resumed execution waits for the next update. Returns (incident, that execution's ARN)."""
    aws, plan = world.aws, world.plan
    incident = declare_incident(
        world.repository,
        plan,
        component,
        "sev4",
        title="failback race",
        note={code: "Some customers see slow pages" for code in plan.locale_codes},
    )
    first = aws.start_execution(
        {"incident_id": incident.id, "clock": {"seconds_per_minute": SPM}}, name=incident.id
    )
    aws.wait_for_state(first, "Wait for next update", timeout=60)
    stored_token(world, incident.id, PRIMARY)
    # the primary dies: its execution stops speaking, its lease lapsed long ago
    aws.client("stepfunctions").stop_execution(executionArn=first, cause="primary region down")
    world.stopped.add(incident.id)
    ownership = world.ownership()
    held = ownership.current(scope_for(incident.id))
    assert held is not None and held.region == PRIMARY
    aws.client("dynamodb").update_item(
        TableName=world.ownership_table,
        Key={"scope": {"S": scope_for(incident.id)}},
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": {"N": str(time.time() - 3600)}},
    )
    taken = world.health(incident.id, healthy=False)
    assert (taken["action"], taken["route"]) == ("take_over", "wait"), taken
    standby = str(taken["execution_arn"])
    aws.wait_for_state(standby, "Wait for next update", timeout=60)
    stored_token(world, incident.id, STANDBY)
    return incident, standby


def resolve(world: World, incident_id: str) -> Incident:
    """The person's resolve, as intake stores it (the incident record, with its timeline entry)."""
    current = world.repository.get(incident_id)
    now = datetime.now(UTC)
    entry = TimelineEntry(
        at=now,
        kind="resolved",
        text="resolved by the incident manager",
        source=IncidentSource(type="human", reference="priya"),
        event_id=f"resolve-{uuid.uuid4().hex[:8]}",
        state="resolved",
    )
    resolved = current.with_entry(entry, status="resolved", resolved_at=now, updated_at=now)
    world.repository.save(resolved, current.version)
    return resolved


def hand_to_waiting_execution(world: World, incident: Incident, region: str) -> str:
    """What intake does next: take the stored task token and hand the update over in ``region`` (where the
    execution that stored it runs); a token whose execution no longer waits leaves the update stored."""
    from botocore.exceptions import ClientError

    token = world.repository.take_update_token(incident.id)
    if token is None:
        return "no token: stored, read on the next step"
    update = {
        "incident_id": incident.id,
        "version": incident.version,
        "change": "resolve",
        "status": "resolved",
    }
    try:
        world.aws.client("stepfunctions", region=region).send_task_success(
            taskToken=token, output=json.dumps(update)
        )
    except ClientError as error:  # the execution is gone: the update stays stored on the incident
        return f"not handed over ({error.response['Error']['Code']}): stored"
    return "handed over"


def once_only(
    aws: EmbeddedAws,
    fault: str,
    action: Callable[[dict[str, Any]], None],
    when: Callable[[dict[str, Any]], bool] = lambda _event: True,
) -> list[dict[str, Any]]:
    """Run ``action`` inside the first invocation of ``fault`` whose event passes ``when`` (before the
    handler's code runs, inside the harness's handler lock: nothing else runs meanwhile)."""
    seen: list[dict[str, Any]] = []

    def hook(event: dict[str, Any]) -> None:
        if not seen and when(event):
            seen.append(event)
            action(event)
        return None

    aws.faults[fault] = hook
    return seen


def rendering(event: dict[str, Any]) -> bool:
    return event.get("step") != "register_incident"


def registering(event: dict[str, Any]) -> bool:
    return event.get("step") == "register_incident"


def settled(
    world: World, incident: Incident, standby: str, *, owner_region: str = PRIMARY
) -> tuple[str, dict[str, Any]]:
    """Wait for the owner's execution to ask for the post-incident summary's approval; any other must
    have ended. Returns (the owner's execution, what was measured)."""
    aws = world.aws
    aws.faults.clear()
    owner = world.ownership().current(scope_for(incident.id))
    assert owner is not None and owner.region == owner_region, owner
    primary = world.store(owner_region).claimed_by(incident.id) or ""
    assert primary.startswith(world.execution(owner_region, f"{incident.id}-resume-")), primary
    if primary != standby:  # the old owner ended, or was stopped by the hand-back
        aws.wait_until(
            lambda: world.status(standby) != "RUNNING" or standby.rsplit(":", 1)[-1] in world.stopped,
            timeout=60,
            what="the old owner's end",
        )
    aws.wait_until(
        lambda: (
            any(u.endswith("post_incident_summary") for u in world.rendered(incident.id))
            and any(e["kind"] == "approval_requested" for e in world.store(owner_region).events(incident.id))
        ),
        timeout=90,
        what="the owner's request for the post-incident summary's approval",
    )
    time.sleep(1)  # anything still running elsewhere would show up now
    deliveries = [d for d in channel_deliveries(aws, datetime.now(UTC)) if d["incident_id"] == incident.id]
    published = [p.update_id for p in world.repository.get(incident.id).published]
    summaries = [e for e in world.store(PRIMARY).events(incident.id) if e["kind"] == "approval_requested"]
    return primary, {
        "rendered": world.rendered(incident.id),
        "reached": customer_updates(deliveries),
        "twice": sent_twice(deliveries),
        "published": published,
        "summary_requests": len(summaries),
        "running": world.running(incident.id),
        "events": world.store(PRIMARY).events(incident.id),
        "errors": [
            (i.region, i.handler, i.error_message[:300])
            for i in aws.invocations
            if i.error
            and isinstance(i.event, dict)
            and i.event.get("incident_id") == incident.id
            and i.handler != "handlers.publish_status.handler"  # no status site deployed here: caught
        ],
    }


def assert_once(incident: Incident, primary: str, measured: dict[str, Any]) -> None:
    assert measured["errors"] == [], measured["errors"]  # no step failed on the way
    resolved = [u for u in measured["rendered"] if u.endswith("-resolved")]
    assert len(resolved) == 1, measured["rendered"]  # rendered once, by one region
    (update,) = resolved
    assert update in measured["reached"], measured["reached"]  # not lost
    assert measured["twice"] == [], measured["twice"]  # no customer message twice
    assert Counter(measured["published"])[update] == 1, measured["published"]  # listed once
    assert all(n == 1 for n in Counter(measured["published"]).values()), measured["published"]
    assert measured["summary_requests"] == 1, measured["summary_requests"]
    assert measured["running"] == [primary], measured["running"]  # only the owner's execution runs
    kinds = Counter(e["kind"] for e in measured["events"])
    assert kinds["region"] >= 2, kinds  # the moves are on the incident's timeline


def test_the_hand_back_moves_first_and_the_resolve_wakes_the_old_owner_before_it_is_stopped(
    world: World,
) -> None:
    # the drill's failure: the old owner's execution outlived the hand-back and rendered "resolved" too
    incident, standby = taken_over(world, "web-app")
    world.ownership().acquire(scope_for(incident.id), STANDBY)  # a standby step just renewed its lease
    woke: list[str] = []

    def person_resolves_into_the_old_owner() -> None:  # the claim and lease moved; the old owner still waits
        woke.append(hand_to_waiting_execution(world, resolve(world, incident.id), STANDBY))
        world.aws.wait_until(
            lambda: any("Render update" in e["text"] for e in fenced_events(world, incident.id)),
            timeout=30,
            what="the old owner's render",
        )

    back = world.health(incident.id, healthy=True, before={"add_event": person_resolves_into_the_old_owner})
    assert back["action"] == "hand_back" and woke == ["handed over"], (back, woke)
    primary, measured = settled(world, incident, standby)
    assert_once(incident, primary, measured)
    (update,) = [u for u in measured["rendered"] if u.endswith("-resolved")]
    assert measured["reached"][update] == {PRIMARY}, measured["reached"]
    # the old owner's render was fenced: nothing rendered, said so on the timeline, nothing fanned out after
    assert any(STANDBY in e["text"] for e in fenced_events(world, incident.id)), fenced_events(
        world, incident.id
    )


def test_the_resolve_wakes_the_old_owner_and_renders_while_the_hand_back_decides(world: World) -> None:
    incident, standby = taken_over(world, "mobile-apps")
    world.ownership().acquire(scope_for(incident.id), STANDBY)

    def person_resolves_into_the_old_owner() -> None:  # after "between updates" was read, before the move
        assert hand_to_waiting_execution(world, resolve(world, incident.id), STANDBY) == "handed over"
        world.aws.wait_until(
            lambda: any(u.endswith("-resolved") for u in world.rendered(incident.id)),
            timeout=30,
            what="the old owner's render of the resolution",
        )

    back = world.health(incident.id, healthy=True, before={"move_claim": person_resolves_into_the_old_owner})
    # an update was numbered since the hand-back looked: it does not happen; the standby sends it
    assert back["action"] == "wait", back
    owner, measured = settled(world, incident, standby, owner_region=STANDBY)
    assert owner == standby
    assert_once(incident, owner, measured)
    # and once the incident is resolved nothing moves it (the standby finishes it, summary included)
    assert world.health(incident.id, healthy=True)["action"] == "none"


def test_resolve_lands_in_the_old_owner_while_the_new_one_starts(world: World) -> None:
    incident, standby = taken_over(world, "sync")
    outcome: list[str] = []

    def person_resolves(_event: dict[str, Any]) -> None:  # the new owner registers; no token of its own yet
        outcome.append(hand_to_waiting_execution(world, resolve(world, incident.id), STANDBY))

    once_only(world.aws, RENDER_FUNCTION, person_resolves, registering)
    back = world.health(incident.id, healthy=True)
    assert back["action"] == "hand_back", back
    world.aws.wait_until(lambda: bool(outcome), timeout=30, what="the new owner's registration")
    primary, measured = settled(world, incident, standby)
    assert_once(incident, primary, measured)  # the new owner read it from the stored incident


def test_the_resolve_arrives_just_after_the_hand_back(world: World) -> None:
    incident, standby = taken_over(world, "search")
    before = awaits(world, incident.id, PRIMARY)  # the primary's first execution waited once
    back = world.health(incident.id, healthy=True)
    assert back["action"] == "hand_back", back
    primary = str(back["execution_arn"])
    world.aws.wait_for_state(primary, "Wait for next update", timeout=60)
    stored_token(world, incident.id, PRIMARY, before=before)
    resolved = resolve(world, incident.id)
    assert hand_to_waiting_execution(world, resolved, PRIMARY) == "handed over"
    primary, measured = settled(world, incident, standby)
    assert_once(incident, primary, measured)
    (update,) = [u for u in measured["rendered"] if u.endswith("-resolved")]
    assert measured["reached"][update] == {PRIMARY}, measured["reached"]


def fenced_events(world: World, incident_id: str) -> list[dict[str, Any]]:
    return [e for e in world.store(PRIMARY).events(incident_id) if e["kind"] == "fenced"]
