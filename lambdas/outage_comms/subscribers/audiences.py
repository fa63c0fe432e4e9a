"""Only the affected hear it: subscribers of an incident's components, in the update's locales.

A subscriber is in the audience when they are confirmed and not opted out (only those have
index entries), chose one of the incident's components or "everything", and read one of the
locales the update was rendered in. Someone subscribed to two affected components gets one
message, not two.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from outage_comms.subscribers.store import ALL_COMPONENTS, Member, SubscriberStore


class AudienceResolver:
    def __init__(self, store: SubscriberStore) -> None:
        self._store = store

    def members(
        self, components: Sequence[str], locales: Sequence[str], channel: str, audiences: Sequence[str] = ()
    ) -> Iterator[Member]:
        seen: set[str] = set()
        wanted = set(audiences)
        for locale in locales:
            for component in (*components, ALL_COMPONENTS):
                for member in self._store.members(component, locale, channel):
                    if member.id in seen:
                        continue
                    if wanted and not wanted.intersection(member.audiences):
                        continue
                    seen.add(member.id)
                    yield member
