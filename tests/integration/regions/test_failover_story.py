"""The default story across a primary region outage, on moto with two regional engines
(cli/outage_comms_embedded/regions.py): 0 sent twice, 0 lost, the standby on time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from outage_comms.plan import Plan, load_plan
from outage_comms_embedded import StoryResult, run_failover_story
from tests.status_site_fixtures import EXAMPLE_PLAN

PRIMARY, STANDBY = "eu-west-1", "eu-central-1"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(EXAMPLE_PLAN)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield


def _story(plan: Plan, **kwargs: object) -> StoryResult:
    return run_failover_story(plan, primary=PRIMARY, standby=STANDBY, **kwargs)  # type: ignore[arg-type]


def test_outage_at_10_and_recovery_at_40_lose_nothing_and_send_nothing_twice(aws: None, plan: Plan) -> None:
    result = _story(plan)
    assert result.sent_twice == 0 and result.lost == 0
    assert set(result.received) == set(result.expected) == set(result.status_writes)
    # the update waiting for approval when the primary went down left from the standby, re-approved
    identified = next(u for u in result.expected if u.endswith("identified"))
    assert result.reapproved == [identified] and result.delivered[identified] == STANDBY
    assert result.next_after_outage_on_time
    assert result.first_standby_minute is not None and result.first_standby_minute > result.outage_minute
    # after recovery ownership came back between updates; resolution and summary went out once
    for scenario in ("resolved", "post_incident_summary"):
        (update,) = [u for u in result.expected if u.endswith(scenario)]
        assert result.delivered[update] == PRIMARY and result.received[update] == 1
    moves = [line for line in result.timeline if "Ownership moved" in line]
    assert len(moves) == 2 and f"to {STANDBY}" in moves[0] and f"to {PRIMARY}" in moves[1]
    assert f"approval of {identified} to be requested again" in moves[0] and "between updates" in moves[1]
    assert result.refused_calls.get(PRIMARY, 0) > 0  # the outage really cut the primary off


def test_the_standby_sends_the_cadence_update_on_time_during_a_long_outage(aws: None, plan: Plan) -> None:
    result = _story(plan, human_update_minute=10_000)  # no human update: only the cadence speaks
    assert result.sent_twice == 0 and result.lost == 0
    cadence_update = next(u for u in result.expected if u.endswith("monitoring"))
    assert result.delivered[cadence_update] == STANDBY and result.late[cadence_update] <= 0
