"""Render once per update x locale, personalise per recipient with string joins.

The workflow renders each message once per locale with the plan's generic links. For a
subscriber channel the only per-recipient parts are the unsubscribe link (a signed token) and the
feedback link (who answered). :func:`compile_slots` splits the rendered text at those generic
URLs once; :meth:`SlotTemplate.fill` then builds a recipient's copy with one ``str.join`` — no
template engine per recipient.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from outage_comms.plan import Plan
from outage_comms.subscribers.tokens import TokenSigner

UNSUBSCRIBE, FEEDBACK = 0, 1
#: Written into rendered text where the recipient's unsubscribe link goes.
UNSUBSCRIBE_SLOT = "\x00unsubscribe\x00"


@dataclass(frozen=True)
class SlotTemplate:
    """Literal text with numbered slots (``int`` parts)."""

    parts: tuple[str | int, ...]

    def fill(self, values: tuple[str, ...]) -> str:
        return "".join(values[p] if isinstance(p, int) else p for p in self.parts)


def compile_slots(text: str, markers: Mapping[int, str]) -> SlotTemplate:
    """Split ``text`` at every occurrence of each marker (longest first) into literals and slots."""
    live = {slot: marker for slot, marker in markers.items() if marker}
    if not live:
        return SlotTemplate((text,))
    by_marker = {marker: slot for slot, marker in live.items()}
    pattern = re.compile("|".join(re.escape(m) for m in sorted(by_marker, key=len, reverse=True)))
    parts: list[str | int] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(by_marker[match.group()])
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return SlotTemplate(tuple(parts))


def generic_links(plan: Plan) -> dict[int, str]:
    """The links ``rendering.build_context`` gives every template, which we personalise."""
    base = plan.organization.status_page_url.rstrip("/")
    return {UNSUBSCRIBE: f"{base}/unsubscribe", FEEDBACK: f"{base}/feedback"}


@dataclass(frozen=True)
class RecipientLinks:
    """Builds one recipient's links: unsubscribe (signed token) and feedback (incident + recipient)."""

    signer: TokenSigner
    unsubscribe_base: str
    feedback_base: str
    incident_id: str

    def for_recipient(self, subscriber_id: str) -> tuple[str, str]:
        token = self.signer.sign("unsubscribe", subscriber_id)
        return (
            f"{self.unsubscribe_base}?token={token}",
            f"{self.feedback_base}?incident={quote(self.incident_id)}&ref={quote(subscriber_id)}",
        )


def html_values(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(html.escape(v, quote=True) for v in values)


# ---------------------------------------------------------------------------------------------
# Words about the subscription itself (templates/subscriptions/<locale>.yaml)
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _subscription_words(templates_dir: Path, locale: str) -> dict[str, Any]:
    import yaml

    path = templates_dir / "subscriptions" / f"{locale}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def subscription_text(plan: Plan, locale: str, message: str, field_name: str, **values: Any) -> str:
    """Render one field of ``templates/subscriptions/<locale>.yaml`` in the sandboxed environment."""
    from outage_comms.rendering import DEFAULT_TEMPLATES_DIR, _text_environment, _tidy

    words = _subscription_words(
        DEFAULT_TEMPLATES_DIR, locale if locale in plan.locale_codes else plan.default_locale
    )
    source = words[message][field_name]
    rendered = (
        _text_environment(DEFAULT_TEMPLATES_DIR)
        .from_string(source)
        .render(org={"name": plan.organization.name}, **values)
    )
    return _tidy(rendered)
