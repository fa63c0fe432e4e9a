"""A region outage in the embedded drill: ``region_outage`` / ``region_recovery``, and CloudWatch's part.

The embedded AWS runs both engines of a two-region plan. ``region_outage`` makes every call to that
region fail (``outage_comms_embedded.outage``) from its plan minute; ``region_recovery`` ends it.

What a real account's CloudWatch would do, the drill plays: the primary's engine-health alarm
(``HEALTH_ALARMS`` of the standby's failover function) goes to ALARM once the primary has been down for
the alarm's evaluation time (its ``EvaluationPeriods`` x ``Period`` in the synthesized template), and back to
OK the same time after it recovers. Each state change is put on the standby's default bus, where the
synthesized rule hands it to the standby's real failover function. CloudWatch emits a state change once;
while the move it asks for has not happened (the failover function answered ``wait``: the primary's lease
may still be live), the drill puts it again every plan minute, as the alarm would be re-evaluated.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from outage_comms import clock
from outage_comms.plan import Plan
from outage_comms_cli.drills.scenario import RegionOutageStep, RegionRecoveryStep, region_name
from outage_comms_embedded import EmbeddedAws

FAILOVER_HANDLER = "region_failover"
DELIVER_HANDLER = "handlers.workflow_deliver_channel.handler"


def _not_customer(channel: str) -> bool:
    """The team's chat and the status surfaces (live registry sets)."""
    from outage_comms.workflow.channels_plan import STATUS_SURFACES, TEAM_CHANNELS

    return channel in TEAM_CHANNELS or channel in STATUS_SURFACES


def channel_deliveries(aws: EmbeddedAws, start: Any) -> list[dict[str, Any]]:
    """Every ``Deliver via <channel>`` the workflow ran, in any region: plan minute (from ``start``),
    region, incident, update, channel and the outcome it returned (delivered, fenced, already delivered)."""
    rows = []
    for invocation in aws.invocations:
        if invocation.handler != DELIVER_HANDLER or not isinstance(invocation.result, dict):
            continue
        at = invocation.plan_time
        event = invocation.event if isinstance(invocation.event, dict) else {}
        rows.append(
            {
                "minute": round((at - start).total_seconds() / 60, 2) if at is not None else None,
                "region": invocation.region,
                "incident_id": str(event.get("incident_id", "")),
                "update_id": str(event.get("update_id", "")),
                "channel": str(invocation.result.get("channel") or event.get("channel", "")),
                "status": str(invocation.result.get("status", "")),
            }
        )
    return rows


def sent_twice(deliveries: list[dict[str, Any]]) -> list[str]:
    """``update/channel`` delivered more than once (by either region): customers would read it twice."""
    seen: dict[str, int] = {}
    for row in deliveries:
        if row["status"] == "delivered":
            key = f"{row['update_id']}/{row['channel']}"
            seen[key] = seen.get(key, 0) + 1
    return sorted(key for key, count in seen.items() if count > 1)


def first_delivered(deliveries: list[dict[str, Any]]) -> dict[str, float]:
    """Update id -> the plan minute its first customer message went out (any region)."""
    found: dict[str, float] = {}
    for row in deliveries:
        if row["status"] == "delivered" and not _not_customer(row["channel"]) and row["minute"] is not None:
            found[row["update_id"]] = min(
                found.get(row["update_id"], float(row["minute"])), float(row["minute"])
            )
    return dict(sorted(found.items()))


def lost_updates(rendered: list[str], reached: dict[str, set[str]]) -> list[str]:
    """Updates (``NNN-scenario``) that reached a fan-out but no customer, and whose words no later update
    carried to customers either: an update fenced out of one region and rendered again by the region that
    drives the incident is not lost (its customers got the re-rendered one, once)."""

    def scenario(update: str) -> str:
        return update.split("-", 1)[-1]

    return sorted(
        u
        for u in rendered
        if u not in reached and not any(scenario(r) == scenario(u) and r > u for r in reached)
    )


def customer_updates(deliveries: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Update id -> the regions whose customer channels delivered it."""
    found: dict[str, set[str]] = {}
    for row in deliveries:
        if row["status"] == "delivered" and not _not_customer(row["channel"]):
            found.setdefault(row["update_id"], set()).add(row["region"])
    return found


@dataclass
class RegionPlay:
    """The drill's regions: outages, the engine-health alarm, and who drives the incident."""

    aws: EmbeddedAws
    plan: Plan
    minute: Callable[[], float]
    note: Callable[[str, str, str], None]  # (actor, kind, text)
    #: region -> plan minute it went down / came back
    down_at: dict[str, float] = field(default_factory=dict)
    up_at: dict[str, float] = field(default_factory=dict)
    #: (plan minute, alarm state) of every state change the drill played
    alarm_changes: list[tuple[float, str]] = field(default_factory=list)
    #: (plan minute, region that owns the incident) whenever it changed
    owners: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        regions = self.plan.regions
        self.primary = regions.primary if regions else self.aws.region
        self.standby = regions.standby if regions else None
        self.alarm, self.alarm_minutes = self._health_alarm()
        self.state = "OK"
        self.repeats = 0  # state changes put again while the move they ask for had not happened
        self._last_put = -1e9

    @property
    def two_regions(self) -> bool:
        return bool(self.standby) and self.standby in self.aws.regions

    def _health_alarm(self) -> tuple[str, float]:
        """The engine-health alarm the standby's failover function listens for, and its evaluation time."""
        name, minutes = "", 3.0
        for template in self.aws.templates.values():
            for resource in template["Resources"].values():
                props = resource.get("Properties", {})
                if resource["Type"] == "AWS::Lambda::Function" and FAILOVER_HANDLER in str(
                    props.get("Handler")
                ):
                    alarms = str(props.get("Environment", {}).get("Variables", {}).get("HEALTH_ALARMS", ""))
                    pairs = [p.split("=", 1) for p in alarms.split(",") if "=" in p]
                    name = next((n for n, region in pairs if region == self.primary), name)
        for template in self.aws.templates.values():
            for resource in template["Resources"].values():
                props = resource.get("Properties", {})
                if resource["Type"] == "AWS::CloudWatch::Alarm" and props.get("AlarmName") == name:
                    periods = float(props.get("DatapointsToAlarm") or props.get("EvaluationPeriods") or 1)
                    minutes = periods * float(props.get("Period", 60)) / 60
        return name, minutes

    # -- the scenario's actions ---------------------------------------------------------------------
    def perform(self, event: RegionOutageStep | RegionRecoveryStep) -> str:
        region = region_name(self.plan, event.region)
        now = self.minute()
        if isinstance(event, RegionOutageStep):
            self.aws.region_outage(region)
            self.down_at[region] = now
            return f"{region} is down: every call to its endpoints fails (connection errors)"
        self.aws.region_recovery(region)
        self.up_at[region] = now
        return f"{region} answers again"

    def answers(self, region: str) -> bool:
        return region not in self.aws.outages.down

    def live_region(self) -> str:
        """Where a person's request goes: the primary, or the standby when the primary does not answer
        (the CLI falls back to the standby's API)."""
        if self.standby and not self.answers(self.primary) and self.answers(self.standby):
            return self.standby
        return self.primary if self.standby else self.aws.region

    # -- ownership and CloudWatch, on every poll ------------------------------------------------------
    def owner(self, incident_id: str) -> str | None:
        from outage_comms.regions.lease import DynamoOwnershipStore, scope_for

        with contextlib.suppress(LookupError, KeyError):
            table = self.aws.physical_id("AWS::DynamoDB::Table", contains="Ownership")
            store = DynamoOwnershipStore(table_name=table, client=self.aws.client("dynamodb"))
            seen = store.current(scope_for(incident_id))
            return seen.region if seen else None
        return None

    def tick(self, incident_id: str, *, still_open: bool = True) -> None:
        """Note who drives; play the alarm's state changes; put the state again while the move it asks
        for has not happened and the incident is open (a closed incident moves nowhere)."""
        if not self.two_regions or not incident_id:
            return
        now = self.minute()
        owner = self.owner(incident_id)
        if owner and (not self.owners or self.owners[-1][1] != owner):
            self.owners.append((now, owner))
            if len(self.owners) > 1:
                self.note("regions", "owner", f"{owner} now drives {incident_id} (ownership moved)")
        down = self.primary in self.aws.outages.down
        since = self.down_at.get(self.primary, 0.0) if down else self.up_at.get(self.primary, 0.0)
        wanted = "ALARM" if down else "OK"
        if wanted != self.state and now - since >= self.alarm_minutes:
            self.state = wanted
            self.alarm_changes.append((now, wanted))
            self._put_alarm(now, f"CloudWatch: {self.alarm} is {wanted}")
        elif still_open and self.alarm_changes and now - self._last_put >= 1.0 and self._move_pending(owner):
            self.repeats += 1
            self._put_alarm(now, "")

    def _move_pending(self, owner: str | None) -> bool:
        """The alarm's state asks for a move that has not happened yet."""
        if self.state == "ALARM":
            return owner != self.standby
        return owner == self.standby

    def _put_alarm(self, now: float, text: str) -> None:
        self._last_put = now
        at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        previous = "OK" if self.state == "ALARM" else "ALARM"
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": self.aws.account,
            "time": at,
            "region": self.standby,
            "resources": [f"arn:aws:cloudwatch:{self.standby}:{self.aws.account}:alarm:{self.alarm}"],
            "detail": {
                "alarmName": self.alarm,
                "state": {
                    "value": self.state,
                    "reason": "drill: the primary engine's health",
                    "timestamp": at,
                },
                "previousState": {"value": previous, "reason": "drill", "timestamp": at},
                "configuration": {"description": "engine health (drill)", "metrics": []},
            },
        }
        self.aws.put_events([event], pump=False, region=self.standby)
        if text:
            self.note("CloudWatch", "alarm", f"{text} (-> the standby's default bus, failover function)")

    # -- what the drill measured ---------------------------------------------------------------------
    def measures(self, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
        """Outage -> the standby's first customer message (plan minutes), what went out twice, which
        update reached the fan-out (in either region) but never reached customers, who sent what."""
        rendered = sorted(
            {d["update_id"] for d in deliveries if not _not_customer(d["channel"]) and d["update_id"]}
        )
        outage = self.down_at.get(self.primary)
        by_standby = sorted(
            float(d["minute"])
            for d in deliveries
            if d["region"] == self.standby
            and d["status"] == "delivered"
            and not _not_customer(d["channel"])
            and d["minute"] is not None
            and outage is not None
            and float(d["minute"]) >= outage
        )
        reached = customer_updates(deliveries)
        twice = sent_twice(deliveries)
        lost = lost_updates(rendered, reached)
        return {
            "primary": self.primary,
            "standby": self.standby,
            "outage_minute": outage,
            "recovery_minute": self.up_at.get(self.primary),
            "alarm": self.alarm,
            "alarm_evaluation_minutes": self.alarm_minutes,
            "alarm_changes": [{"minute": round(m, 2), "state": s} for m, s in self.alarm_changes],
            "alarm_state_changes_put_again": self.repeats,
            "owners": [{"minute": round(m, 2), "region": r} for m, r in self.owners],
            "outage_to_standby_first_message_minutes": (
                round(by_standby[0] - outage, 2) if by_standby and outage is not None else None
            ),
            "customer_messages_sent_twice": len(twice),
            "sent_twice": twice,
            "updates_rendered": rendered,
            "updates_lost": lost_updates(rendered, reached),
            "fenced_then_sent_again": sorted(u for u in rendered if u not in reached and u not in lost),
            "sent_by_region": {u: sorted(r) for u, r in sorted(reached.items())},
            "first_delivered_minute": first_delivered(deliveries),
            "calls_refused": dict(self.aws.outages.refused),
            "calls_held_until_recovery": dict(self.aws.outages.held),
        }
