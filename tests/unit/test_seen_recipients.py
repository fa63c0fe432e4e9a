"""The fan-out's de-duplication set: exact for what it was given, 8 bytes a slot, growing as it fills."""

from __future__ import annotations

import pytest

from outage_comms.subscribers.audiences import AudienceResolver, SeenRecipients
from outage_comms.subscribers.store import ALL_COMPONENTS, Member

pytestmark = pytest.mark.unit


def test_add_reports_new_ids_once_and_membership_follows() -> None:
    seen = SeenRecipients(expected=4)
    ids = [f"email-{i:024x}" for i in range(5_000)]  # grows several times past its first 1,024 slots
    assert all(seen.add(i) for i in ids)
    assert not any(seen.add(i) for i in ids)
    assert len(seen) == 5_000
    assert all(i in seen for i in ids)
    assert "email-not-there" not in seen and 42 not in seen


def test_memory_is_eight_bytes_a_slot_at_most_three_slots_per_member() -> None:
    seen = SeenRecipients()
    for i in range(20_000):
        seen.add(f"sms-{i}")
    assert seen.nbytes <= 8 * 3 * 20_000
    assert seen.nbytes >= 8 * 20_000 * 3 // 2


class TwoComponentStore:
    """Every subscriber follows both affected components and 'everything': three index entries each."""

    def __init__(self, count: int) -> None:
        self.count = count

    def members(self, component: str, locale: str, channel: str):
        assert component in ("api", "web", ALL_COMPONENTS)
        for i in range(self.count):
            yield Member(
                id=f"{channel}-{i:024x}", channel=channel, address=f"c{i}@example.com", locale=locale
            )


def test_a_subscriber_of_several_affected_components_gets_one_message() -> None:
    members = list(AudienceResolver(TwoComponentStore(300)).members(["api", "web"], ["en"], "email"))
    assert len(members) == 300
    assert len({m.id for m in members}) == 300
