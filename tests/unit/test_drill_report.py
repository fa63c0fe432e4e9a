"""The drill report from a synthetic drill record: score math, improvements order, valid SVG, escaped HTML."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from outage_comms.plan import Plan, load_plan
from outage_comms_cli.drills.record import (
    ApprovalRecord,
    ChannelRecord,
    DrillRecord,
    Step,
    Targets,
    build_record,
)
from outage_comms_cli.drills.report import (
    WEIGHTS,
    improvements,
    measures,
    render_html,
    render_markdown,
    render_svg,
    score,
    write_report,
)
from outage_comms_cli.drills.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(ROOT / "plans" / "example.yaml")


def record(**changes: object) -> DrillRecord:
    base = DrillRecord(
        scenario="synthetic",
        description="A made-up drill",
        target="embedded",
        plan="Nimbus",
        incident_id="inc-20261127-1200-abcdef",
        severity="sev1",
        status="SUCCEEDED",
        seconds_per_minute=0.5,
        targets=Targets(internal_notice=5, approval=10, first_message=10, cadence=30),
        steps=[Step(0, 0, "drill script", "opened", "alarm"), Step(2, 1, "team chat", "team_notified", "ok")],
        internal_notice_minute=2,  # met: 15 points
        first_message_minute=15,  # 1.5 x target: 30 x 0.5 = 15 points
        update_minutes=[15, 60, 70],  # worst gap 45 vs 30: 1.5 x: 20 x 0.5 = 10 points
        approvals=[ApprovalRecord("major_outage", 1, 10, "approved", ["a"])],  # 9 of 10: 20 points
        channels=[
            ChannelRecord("slack", "failed", injected=True, team=True),  # injected: not judged
            ChannelRecord("email", "delivered", injected=False, team=False),
            ChannelRecord("sms", "failed", injected=False, team=False, detail="quota"),
            ChannelRecord("sns", "delivered", injected=False, team=False),
            ChannelRecord("push", "delivered", injected=False, team=False),
        ],  # 3 of 4 judged ok: 75 % -> ratio 1.333 -> 15 x 0.667 = 10 points
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_score_weighs_each_measure_by_how_far_it_missed_its_target() -> None:
    # Given the synthetic record's measures (see the comments above)
    found = {m.key: m for m in measures(record())}
    # Then each earns weight x clamp(2 - actual/target, 0, 1)
    assert found["internal_notice"].points == pytest.approx(15)
    assert found["approval"].points == pytest.approx(20)
    assert found["first_message"].points == pytest.approx(15)
    assert found["cadence"].points == pytest.approx(10)
    assert found["channels"].points == pytest.approx(15 * (2 - 100 / 75))
    assert score(list(found.values())) == 15 + 20 + 15 + 10 + 10
    assert sum(WEIGHTS.values()) == 100


def test_measures_that_do_not_apply_are_left_out_and_the_score_rescaled() -> None:
    # Given a drill with no approval and a single update (no gap to judge), everything else met
    found = measures(
        record(
            approvals=[],
            update_minutes=[3],
            first_message_minute=3,
            channels=[
                ChannelRecord("email", "delivered", False, False),
                ChannelRecord("slack", "delivered", False, True),
            ],
        )
    )
    assert {m.key for m in found if not m.applies} == {"approval", "cadence"}
    assert score(found) == 100


def test_a_step_that_never_happened_scores_nothing() -> None:
    found = {m.key: m for m in measures(record(first_message_minute=None, update_minutes=[]))}
    assert math.isinf(found["first_message"].ratio) and found["first_message"].points == 0


def test_improvements_are_ranked_by_how_far_each_measure_missed() -> None:
    ranked = improvements(measures(record()))
    # first message 1.5x, cadence 1.5x, channels 1.33x, then approval 0.9x (not internal notice 0.4x)
    assert [m.key for m in ranked] == ["cadence", "first_message", "channels"]
    assert "45 minutes against a 30-minute cadence" in ranked[0].advice
    near = improvements(measures(record(update_minutes=[15], first_message_minute=5, channels=[])))
    assert near[0].key == "approval"
    assert near[0].advice.startswith("Approval took 9 of 10 minutes: add a second approver to the rota")


def test_the_svg_timeline_parses_with_a_lane_per_actor_and_target_markers() -> None:
    svg = render_svg(record())
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "drill script" in texts and "team chat" in texts
    assert "first message target" in texts and "internal notice target" in texts


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: dict[str, list[dict[str, str | None]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.setdefault(tag, []).append(dict(attrs))


def test_the_html_is_self_contained_accessible_and_escapes_notes() -> None:
    # Given a step whose text carries markup (a note someone typed)
    hostile = record(steps=[Step(1, 0.5, "drill script", "update", "<script>alert('x')</script> & more")])
    page = render_html(hostile)
    parser = _Collect()
    parser.feed(page)
    # Then the markup is text, nothing runs and nothing is fetched
    assert "script" not in parser.tags
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert not any(a.get("src") or a.get("href") for attrs in parser.attrs.values() for a in attrs)
    # And it is accessible: language, headings, header cells, a titled chart
    assert parser.attrs["html"][0]["lang"] == "en"
    assert {"h1", "h2", "th", "caption", "svg", "title", "figcaption"} <= set(parser.tags)
    assert any(a.get("scope") == "col" for a in parser.attrs["th"])
    assert parser.attrs["svg"][0]["role"] == "img"


def test_markdown_shows_plan_minutes_and_wall_seconds_and_the_formula(tmp_path: Path) -> None:
    text = render_markdown(record())
    assert (
        "| Time to first customer message | 15 min | 15 min | 10 min | - | partly met | 15.0 / 30 |" in text
    )
    assert "Score: 70 / 100" in text and "weight x clamp(2 - actual/target, 0, 1)" in text
    written = write_report(record(), tmp_path)
    assert {p.name for p in written.values()} == {"report.md", "report.html", "timeline.svg", "record.json"}
    assert DrillRecord.from_dict(json.loads(written["record"].read_text())) == record()


def test_the_record_is_built_from_the_incident_activity(plan: Plan) -> None:
    # Given the activity the API serves for a drill where slack failed (injected) and a reminder went out
    t0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def at(minutes: float) -> str:  # the activity's stamps are on the plan clock
        return (t0 + timedelta(minutes=minutes)).isoformat()

    activity = {
        "events": [
            {"at": at(0.4), "kind": "team_notified", "text": "chatbot: delivered, slack: failed"},
            {
                "at": at(0.6),
                "kind": "approval_requested",
                "text": "001-major_outage sent to communications_manager (A)",
            },
            {
                "at": at(1.6),
                "kind": "approval",
                "text": "first approval by arn:aws:iam::1:role/A; waiting for a second",
            },
            {
                "at": at(2.6),
                "kind": "approval",
                "text": "approved by arn:aws:iam::1:role/A, arn:aws:iam::1:role/B",
            },
            {"at": at(32.0), "kind": "reminder", "text": "Customer update due"},
        ],
        "deliveries": [
            {
                "update_id": "001-major_outage",
                "channel": "email",
                "status": "delivered",
                "at": at(3.2),
                "detail": "",
            },
            {
                "update_id": "001-major_outage",
                "channel": "sns",
                "status": "delivered",
                "at": at(3.0),
                "detail": "",
            },
            {
                "update_id": "002-identified",
                "channel": "sns",
                "status": "delivered",
                "at": at(39.0),
                "detail": "",
            },
            {
                "update_id": "001-major_outage",
                "channel": "sms",
                "status": "failed",
                "at": at(3.4),
                "detail": "quota",
            },
        ],
    }
    scenario = parse_scenario(
        {
            "name": "x",
            "description": "x",
            "events": [{"at": "0m", "action": "alarm"}],
            "inject": [{"channel": "slack", "how": "provider"}],
            "expect": {"reminders": 1, "escalations": 1},
        }
    )
    built = build_record(
        scenario=scenario,
        plan=plan,
        target="embedded",
        incident={"id": "inc-20261127-1200-abcdef", "severity": "sev1"},
        activity=activity,
        trigger=t0,
        seconds_per_minute=0.5,
        script=[],
        status="SUCCEEDED",
        injected=["slack"],
    )
    # Then times are plan minutes (plan-clock stamps minus the trigger) against sev1's targets
    assert built.internal_notice_minute == pytest.approx(0.4)
    assert built.first_message_minute == pytest.approx(3.0)
    assert built.update_minutes == pytest.approx([3.0, 39.0])
    assert [(a.update, a.minutes, a.decision, a.by) for a in built.approvals] == [
        ("major_outage", pytest.approx(2.0), "approved", ["A", "B"])
    ]
    channels = {c.channel: c for c in built.channels}
    assert channels["slack"].outcome == "failed" and channels["slack"].injected and channels["slack"].team
    assert channels["sms"].outcome == "failed" and not channels["sms"].injected
    assert (built.targets.internal_notice, built.targets.approval) == (5, 10)
    assert (built.targets.first_message, built.targets.cadence) == (10, 30)
    # And each target says where it comes from
    assert built.targets.sources["first_message"] == "plan"
    assert built.targets.sources["internal_notice"] == "scenario default"
    assert built.reminders == 1 and built.notes == ["expected 1 escalation(s), saw 0"]


def test_the_score_reads_times_in_the_scenarios_slots_and_verdicts_follow_the_points() -> None:
    # Given the same story measured with small differences (a busier machine), in 5-minute slots
    fast = record(
        resolution=5.0, internal_notice_minute=0.4, first_message_minute=3.1, update_minutes=[3.1, 36.2]
    )
    slow = record(
        resolution=5.0, internal_notice_minute=2.9, first_message_minute=4.8, update_minutes=[4.8, 39.7]
    )
    # Then both score the same, each from its slotted times
    assert score(measures(fast)) == score(measures(slow))
    by_key = {m.key: m for m in measures(slow)}
    assert by_key["first_message"].scored == 5 and by_key["cadence"].scored == 35
    # And no measure is called missed next to full points (actual == target is met)
    at_target = record(resolution=5.0, first_message_minute=10.0)
    rows = render_markdown(at_target)
    assert "| Time to first customer message | 10 min | 10 min | 10 min | - | met | 30.0 / 30 |" in rows
    for m in measures(slow):
        assert (m.points >= m.weight) == m.met or not m.applies
