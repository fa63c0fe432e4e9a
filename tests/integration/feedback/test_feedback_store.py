"""Counting on DynamoDB (moto): atomic under concurrent clicks, one answer per client, comments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from feedback_tables import put_update

from outage_comms.feedback.links import LinkClaims
from outage_comms.feedback.store import (
    AlreadyCountedError,
    DynamoFeedbackStore,
    NoAnswerYetError,
    WorkflowUpdates,
    client_id,
)
from outage_comms.vocabulary import Channel, Scenario

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
SECRET = b"integration feedback secret of a decent length"
INCIDENT = "inc-20261127-1405-3fa2c1"


def claims(
    channel: Channel = Channel.EMAIL,
    locale: str = "en",
    update_id: str = "002-identified",
    scenario: Scenario = Scenario.IDENTIFIED,
) -> LinkClaims:
    return LinkClaims(
        incident_id=INCIDENT,
        update_id=update_id,
        channel=channel,
        locale=locale,
        scenario=scenario,
        expires_at=int((NOW + timedelta(days=30)).timestamp()),
    )


@pytest.fixture
def store(feedback_table: str) -> DynamoFeedbackStore:
    return DynamoFeedbackStore(
        table_name=feedback_table, client=boto3.client("dynamodb", region_name="us-east-1")
    )


@pytest.mark.usefixtures("item_atomic_moto")
def test_fifty_concurrent_clicks_from_fifty_clients_count_fifty(store: DynamoFeedbackStore) -> None:
    def click(n: int) -> None:
        store.record_vote(claims(), "yes", client_id(SECRET, f"198.51.100.{n}", "Mozilla/5.0"), NOW)

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(click, range(50)))
    counts = store.counts(INCIDENT)
    assert (counts["yes"], counts["no"]) == (50, 0)


@pytest.mark.usefixtures("item_atomic_moto")
def test_twenty_concurrent_clicks_from_one_client_count_once(store: DynamoFeedbackStore) -> None:
    client = client_id(SECRET, "198.51.100.7", "Mozilla/5.0")

    def click(n: int) -> str:
        try:
            store.record_vote(claims(), "yes" if n % 2 else "no", client, NOW)
        except AlreadyCountedError:
            return "refused"
        return "counted"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(click, range(20)))
    assert outcomes.count("counted") == 1 and outcomes.count("refused") == 19
    counts = store.counts(INCIDENT)
    assert counts["yes"] + counts["no"] == 1


def test_a_replayed_click_is_refused_and_the_click_record_expires_after_the_link(
    store: DynamoFeedbackStore, feedback_table: str
) -> None:
    client = client_id(SECRET, "198.51.100.7", "Mozilla/5.0")
    store.record_vote(claims(), "no", client, NOW)
    with pytest.raises(AlreadyCountedError):
        store.record_vote(claims(), "yes", client, NOW)
    # The same client may still answer another channel's or another update's message.
    store.record_vote(claims(channel=Channel.SMS), "yes", client, NOW)
    store.record_vote(claims(update_id="003-resolved", scenario=Scenario.RESOLVED), "yes", client, NOW)
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=feedback_table)["Items"]
    clicks = [i for i in items if i["sk"]["S"] == "CLICK"]
    assert len(clicks) == 3
    assert all(int(i["expires_at"]["N"]) > claims().expires_at for i in clicks)
    assert not any("198.51.100.7" in str(i) or "Mozilla" in str(i) for i in items)  # never stored raw


def test_a_comment_is_kept_once_after_the_answer(store: DynamoFeedbackStore) -> None:
    client = client_id(SECRET, "198.51.100.7", "Mozilla/5.0")
    with pytest.raises(NoAnswerYetError):
        store.add_comment(claims(), client, "Too vague", NOW)
    store.record_vote(claims(), "no", client, NOW)
    comment = store.add_comment(claims(), client, "  Too vague: which features?  ", NOW)
    assert (comment.text, comment.vote, comment.channel) == ("Too vague: which features?", "no", "email")
    with pytest.raises(AlreadyCountedError):
        store.add_comment(claims(), client, "again", NOW)
    with pytest.raises(ValueError):
        store.add_comment(claims(), client_id(SECRET, "203.0.113.1", "x"), "y" * 1001, NOW)
    assert [c.text for c in store.comments(INCIDENT)] == ["Too vague: which features?"]
    assert store.counts(INCIDENT)["comments"] == 1


def test_counts_break_down_by_channel_locale_scenario_and_update(store: DynamoFeedbackStore) -> None:
    answers = [
        (claims(Channel.EMAIL, "en"), "yes"),
        (claims(Channel.EMAIL, "en"), "yes"),
        (claims(Channel.EMAIL, "pt-BR"), "no"),
        (claims(Channel.SMS, "pt-BR"), "yes"),
        (claims(Channel.EMAIL, "en", "003-resolved", Scenario.RESOLVED), "no"),
    ]
    for n, (about, vote) in enumerate(answers):
        store.record_vote(about, vote, client_id(SECRET, f"203.0.113.{n}", "Mozilla/5.0"), NOW)
    counts = store.counts(INCIDENT)
    assert (counts["yes"], counts["no"], counts["comments"]) == (3, 2, 0)
    assert counts["by_channel"] == {
        "email": {"yes": 2, "no": 2, "comments": 0},
        "sms": {"yes": 1, "no": 0, "comments": 0},
    }
    assert counts["by_locale"] == {
        "en": {"yes": 2, "no": 1, "comments": 0},
        "pt-BR": {"yes": 1, "no": 1, "comments": 0},
    }
    assert counts["by_scenario"] == {
        "identified": {"yes": 3, "no": 1, "comments": 0},
        "resolved": {"yes": 0, "no": 1, "comments": 0},
    }
    assert counts["by_update"]["003-resolved"] == {"yes": 0, "no": 1, "comments": 0}
    assert store.counts("inc-20261128-0000-000000") == {
        "yes": 0,
        "no": 0,
        "comments": 0,
        "by_channel": {},
        "by_locale": {},
        "by_scenario": {},
        "by_update": {},
    }


def test_the_update_check_reads_the_workflow_table(workflow_table: str) -> None:
    updates = WorkflowUpdates(
        table_name=workflow_table, client=boto3.client("dynamodb", region_name="us-east-1")
    )
    assert not updates.exists(INCIDENT, "002-identified")
    put_update(workflow_table, INCIDENT, "002-identified")
    assert updates.exists(INCIDENT, "002-identified")
    assert not updates.exists(INCIDENT, "003-identified")


@pytest.mark.usefixtures("item_atomic_moto")
def test_concurrent_answers_through_the_answer_page_and_the_one_click_links_count_exactly(
    store: DynamoFeedbackStore,
) -> None:
    """30 clients press "No" on the compact form's answer page while 20 click "Yes" one-click
    links, and each of the 30 also retries its press: 30 + 20 counted, every retry refused."""
    import re

    from outage_comms.feedback.links import FeedbackLinker, LinkSigner
    from outage_comms.feedback.pages import Site
    from outage_comms.feedback.service import FeedbackRequest, FeedbackService

    service = FeedbackService(
        secret=SECRET, store=store, site=Site(org="Nimbus Notes", status_url=""), now=lambda: NOW
    )
    urls = FeedbackLinker(signer=LinkSigner(SECRET), base_url="https://fb.example/v1").urls(
        incident_id=INCIDENT,
        update_id="002-identified",
        channel=Channel.SMS,
        locale="en",
        scenario=Scenario.IDENTIFIED,
        now=NOW,
    )
    page, yes = urls.page.split("/v1", 1)[1], urls.yes.split("/v1", 1)[1]

    def request(method: str, path: str, ip: str, form: dict[str, str] | None = None) -> int:
        return service.handle(
            FeedbackRequest(method=method, path=path, source_ip=ip, user_agent="Mozilla/5.0", form=form or {})
        ).status

    def csrf(ip: str) -> str:
        shown = service.handle(
            FeedbackRequest(method="GET", path=page, source_ip=ip, user_agent="Mozilla/5.0")
        )
        found = re.search(r'name="csrf" value="([^"]+)"', shown.html)
        assert found
        return found.group(1)

    forms = {n: {"vote": "no", "csrf": csrf(f"198.51.100.{n}")} for n in range(30)}
    jobs = [("POST", page, f"198.51.100.{n}", forms[n]) for n in range(30) for _ in range(2)]
    jobs += [("GET", yes, f"203.0.113.{n}", None) for n in range(20)]
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(lambda job: request(*job), jobs))
    assert statuses.count(200) == 50 and statuses.count(409) == 30
    counts = store.counts(INCIDENT)
    assert (counts["yes"], counts["no"]) == (20, 30)
    assert counts["by_channel"]["sms"]["no"] == 30
