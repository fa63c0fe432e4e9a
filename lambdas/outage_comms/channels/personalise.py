"""Render once per update x locale, personalise per recipient with string joins.

The workflow renders each message once per locale with the plan's generic links. For a
subscriber channel the only per-recipient parts are the unsubscribe link (a signed token) and the
feedback link (who answered). :func:`compile_slots` splits the rendered text at those generic
URLs once; :meth:`SlotTemplate.fill` then builds a recipient's copy with one ``str.join`` — no
template engine per recipient.

The "Was this update helpful?" links (``/f/<token>/y``) carry the update's shared token; each
recipient's copy carries a token bound to them (``feedback.links.LinkSigner.for_recipient``), so
their answer counts once per recipient whoever forwards or replays it. That needs the feedback
signing secret (``FEEDBACK_SECRET_ARN``); without it the shared token goes out unchanged.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outage_comms.plan import Plan
from outage_comms.subscribers.tokens import TokenSigner

if TYPE_CHECKING:
    from outage_comms.feedback.links import LinkSigner

log = logging.getLogger(__name__)

#: The slot of the recipient's own unsubscribe link in a compiled text.
UNSUBSCRIBE = 0
#: A feedback token in a rendered link: ``…/f/<token>`` followed by ``/y``, ``/n`` or the link's end.
FEEDBACK_TOKEN = re.compile(r"(?<=/f/)[A-Za-z0-9_-]{24,96}(?![A-Za-z0-9_-])")


@dataclass(frozen=True)
class TokenSlot:
    """Where the update's shared feedback token stands; each recipient gets their own."""

    token: str


class RecipientValues(tuple[str, ...]):
    """One recipient's slot values, and how to bind a feedback token to them (identity if unknown)."""

    feedback_token: Callable[[str], str] = staticmethod(lambda token: token)

    @classmethod
    def of(cls, values: tuple[str, ...], feedback_token: Callable[[str], str] | None) -> RecipientValues:
        made = cls(values)
        if feedback_token is not None:
            made.feedback_token = feedback_token
        return made


@dataclass(frozen=True)
class SlotTemplate:
    """Literal text with numbered slots (``int`` parts) and feedback token slots."""

    parts: tuple[str | int | TokenSlot, ...]

    def fill(self, values: tuple[str, ...]) -> str:
        bind = values.feedback_token if isinstance(values, RecipientValues) else None
        return "".join(
            values[p]
            if isinstance(p, int)
            else (bind(p.token) if bind else p.token)
            if isinstance(p, TokenSlot)
            else p
            for p in self.parts
        )


def _token_parts(text: str) -> list[str | int | TokenSlot]:
    """``text`` split at its feedback tokens (a literal without ``/f/`` stays one part)."""
    if "/f/" not in text:
        return [text]
    parts: list[str | int | TokenSlot] = []
    position = 0
    for match in FEEDBACK_TOKEN.finditer(text):
        parts += [text[position : match.start()], TokenSlot(match.group())]
        position = match.end()
    parts.append(text[position:])
    return [part for part in parts if part != ""]


def compile_slots(text: str, markers: Mapping[int, str]) -> SlotTemplate:
    """Split ``text`` at every occurrence of each marker (longest first) into literals and slots."""
    live = {slot: marker for slot, marker in markers.items() if marker}
    if not live:
        return SlotTemplate(tuple(_token_parts(text)))
    by_marker = {marker: slot for slot, marker in live.items()}
    pattern = re.compile("|".join(re.escape(m) for m in sorted(by_marker, key=len, reverse=True)))
    parts: list[str | int | TokenSlot] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            parts += _token_parts(text[position : match.start()])
        parts.append(by_marker[match.group()])
        position = match.end()
    if position < len(text):
        parts += _token_parts(text[position:])
    return SlotTemplate(tuple(parts))


def generic_links(plan: Plan) -> dict[int, str]:
    """The links ``rendering.build_context`` gives every template, which we personalise."""
    base = plan.organization.status_page_url.rstrip("/")
    return {UNSUBSCRIBE: f"{base}/unsubscribe"}


@functools.cache
def _feedback_signer(secret_arn: str) -> LinkSigner | None:
    from outage_comms.feedback.links import LinkSigner
    from outage_comms.feedback.runtime import signing_secret

    try:
        return LinkSigner(signing_secret(secret_arn))
    except Exception as error:  # never fail a send for this: the shared token still counts
        log.warning("feedback links stay shared: the signing secret is unreadable (%s)", type(error).__name__)
        return None


def deployed_feedback_signer() -> LinkSigner | None:
    """The feedback signer of this deployment (``FEEDBACK_SECRET_ARN``), or None without one."""
    from outage_comms.channels.settings import channel_settings

    secret_arn = channel_settings().feedback_secret_arn
    return _feedback_signer(secret_arn) if secret_arn else None


def recipient_token(signer: LinkSigner, token: str, subscriber_id: str) -> str:
    """``token`` bound to ``subscriber_id``; unchanged when it is not one of our shared tokens."""
    from outage_comms.feedback.links import FeedbackLinkError

    try:
        return signer.for_recipient(token, subscriber_id)
    except FeedbackLinkError:
        return token


@dataclass(frozen=True)
class RecipientLinks:
    """Builds one recipient's links: unsubscribe (signed token) and their own "Was this update helpful?"
    token (``feedback_signer``: the deployment's, by default)."""

    signer: TokenSigner
    unsubscribe_base: str
    incident_id: str
    feedback_signer: LinkSigner | None = field(default_factory=deployed_feedback_signer)

    def for_recipient(self, subscriber_id: str) -> RecipientValues:
        token = self.signer.sign("unsubscribe", subscriber_id)
        signer = self.feedback_signer
        return RecipientValues.of(
            (f"{self.unsubscribe_base}?token={token}",),
            (lambda shared: recipient_token(signer, shared, subscriber_id)) if signer else None,
        )


def html_values(values: tuple[str, ...]) -> tuple[str, ...]:
    escaped = tuple(html.escape(v, quote=True) for v in values)
    if isinstance(values, RecipientValues):
        return RecipientValues.of(escaped, values.feedback_token)
    return escaped


# ---------------------------------------------------------------------------------------------
# Words about the subscription itself (templates/subscriptions/<locale>.yaml)
# ---------------------------------------------------------------------------------------------


def _subscription_words(templates_dir: Path, locale: str, default_locale: str) -> dict[str, Any]:
    """The locale's file, any missing key (or file) taken from the default locale's, with a warning."""
    from outage_comms.locale_files import subscription_words

    return subscription_words(templates_dir, locale, default_locale)


def subscription_text(plan: Plan, locale: str, message: str, field_name: str, **values: Any) -> str:
    """Render one field of ``templates/subscriptions/<locale>.yaml`` in the sandboxed environment."""
    from outage_comms.rendering import DEFAULT_TEMPLATES_DIR, _text_environment, _tidy

    words = _subscription_words(
        DEFAULT_TEMPLATES_DIR,
        locale if locale in plan.locale_codes else plan.default_locale,
        plan.default_locale,
    )
    source = words[message][field_name]
    rendered = (
        _text_environment(DEFAULT_TEMPLATES_DIR)
        .from_string(source)
        .render(org={"name": plan.organization.name}, **values)
    )
    return _tidy(rendered)
