"""Benchmark: a primary region outage during an incident, on moto with two regional engines.

    .venv/bin/python bench/region.py            # prints the figures, writes bench/results/region.json

Plays the story of cli/outage_comms_embedded/regions.py (declare, a person's update waiting for
approval when the primary goes down at plan minute 10, cadence updates, recovery at 40, resolve,
post-incident summary) and a second run without the person's update (so the standby's own cadence
update is due during the outage). Counts across failover and failback: customer messages sent twice
(both regions' subscriber queues and the status site's object versions), updates lost, the plan
minutes from the outage to the standby's first message, and whether the next update after the outage
left by the time customers were told. Figures are plan minutes and counts, not machine-dependent.
What this does not run: each region's synthesized state machine and functions, and global-table
replication (moto does not replicate; see the module's docstring).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT / "lambdas", REPO_ROOT / "cli", Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from _results import BenchRun  # noqa: E402


def _story(**kwargs: Any) -> dict[str, Any]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from moto import mock_aws

    from outage_comms.plan import load_plan
    from outage_comms_embedded.regions import run_failover_story

    with mock_aws():
        started = time.perf_counter()
        result = run_failover_story(load_plan(REPO_ROOT / "plans" / "example.yaml"), **kwargs)
        seconds = time.perf_counter() - started
    return {**result.as_dict(), "wall_seconds": round(seconds, 2)}


def run() -> dict[str, Any]:
    bench = BenchRun("region", title="Region outage: failover and failback (moto, two regions)")
    story = _story()
    cadence_only = _story(human_update_minute=10_000)
    twice = story["customer_messages_sent_twice"] + cadence_only["customer_messages_sent_twice"]
    lost = story["updates_lost"] + cadence_only["updates_lost"]
    bench.figure(
        "customer messages sent twice (failover + failback)", twice, "messages", target="0", met=twice == 0
    )
    bench.figure("updates lost", lost, "updates", target="0", met=lost == 0)
    to_standby = story["outage_to_standby_first_message_plan_minutes"]
    bench.figure(
        "region outage -> standby's first message",
        to_standby,
        "plan minutes",
        note="health probe 2 failures + lease (2 min) and margin (30 s) + the re-requested approval (2 min)",
    )
    on_time = story["next_update_after_outage_on_time"] and cadence_only["next_update_after_outage_on_time"]
    bench.figure("next update after the outage on time", int(on_time), "bool", target="1", met=on_time)
    bench.detail("story_with_a_person_update_waiting_for_approval", story)
    bench.detail("story_with_only_cadence_updates", cadence_only)
    return bench.write()


if __name__ == "__main__":
    import json

    result = run()
    print(json.dumps(result["figures"], indent=2))
