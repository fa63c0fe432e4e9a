"""The feedback API's request handling, without AWS: one request in, one small page out.

    GET  /f/{token}             the answer page (compact form in SMS / social posts): the question and
                                two big Yes / No buttons; counts nothing (safe for scanners)
    POST /f/{token}             the answer page's button (``vote`` = yes/no, ``csrf`` form fields):
                                counts like a click. One tap to open + one tap to answer.
    GET  /f/{token}/{vote}      count the answer (vote ``y``/``yes`` or ``n``/``no``), thank the customer
                                in the link's language, offer an optional comment form
    POST /f/{token}/{vote}      the same, from the "Send my answer" button (see link scanners below)
    POST /f/{token}/comment     the comment (``comment``, ``csrf`` form fields), once per client
    anything else               a 4xx page that says what is wrong and what to do

**Link scanners and prefetch.** The issue asks for one click, so a GET counts. Mail security
scanners (and chat unfurlers) also GET links; we limit what they can do:

- every answer counts once per *voter* and message: the recipient of a per-recipient link (email),
  else the client's network (salted hash of the IPv4 address or IPv6 /64; never the User-Agent,
  which the client chooses), and
  the first answer wins: a scanner that fetches both "Yes" and "No" counts once, and a later
  click from the same client flips nothing (409 "already counted");
- requests that say they are automated are shown a one-button page instead of being counted: an
  empty User-Agent, well-known preview / scanner agents (``bot``, ``preview``, ``Existence
  Discovery``, …) and browser prefetch (``Sec-Purpose: prefetch``, ``Purpose: prefetch``). A
  person behind such an agent presses the button (a POST) and is counted.

What is left, a scanner that looks like a browser, costs at most one answer per message it scans,
and shows up in ``FeedbackVotes`` as answers from the same minute as the send.

**Residual risk of shared links.** A link many people see (status page, social post, SMS, push)
counts once per IPv4 address or IPv6 /64. Someone with many IPv4 addresses or many /64s (a botnet,
a large cloud account) can still add one answer per network and message; people behind one NAT
share one answer. The counts are a signal about wording, never a decision input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from outage_comms.clock import now as clock_now
from outage_comms.feedback.links import VOTES, FeedbackLinkError, LinkClaims, LinkSigner, derive_key
from outage_comms.feedback.pages import HEADERS, Page, Site, page
from outage_comms.feedback.short_links import ShortLinkStore, is_short_code
from outage_comms.feedback.short_links import resolve as resolve_short_link
from outage_comms.feedback.store import (
    MAX_COMMENT_CHARS,
    AlreadyCountedError,
    NoAnswerYetError,
    voter_of,
)

AUTOMATED_AGENTS = (
    "bot",
    "crawler",
    "spider",
    "preview",
    "scanner",
    "facebookexternalhit",
    "existence discovery",
    "skypeuripreview",
    "whatsapp",
    "curl/",
    "wget/",
    "python-requests",
    "go-http-client",
    "headlesschrome",
)
_STATUS_FOR = {"malformed": 400, "forged": 403, "expired": 410, "invalid": 400, "unknown_link": 404}


class FeedbackStore(Protocol):
    def record_vote(self, claims: LinkClaims, vote: str, client: str, now: datetime) -> None: ...

    def add_comment(self, claims: LinkClaims, client: str, text: str, now: datetime) -> object: ...

    def has_answered(self, claims: LinkClaims, client: str) -> dict[str, str] | None: ...


@dataclass(frozen=True)
class FeedbackRequest:
    """What the handler passes in: method, path, who asks (never stored raw), form fields."""

    method: str
    path: str
    source_ip: str = ""
    user_agent: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    form: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackResponse:
    status: int
    html: str
    headers: dict[str, str]
    #: ``(vote, channel)`` when an answer was counted.
    counted: tuple[str, str] | None = None
    #: The reason code when the request was refused or not counted (metric ``FeedbackRefused``).
    refused: str | None = None
    #: ``channel`` when a comment was stored.
    commented: str | None = None


def is_automated(request: FeedbackRequest) -> bool:
    """Scanners, unfurlers and prefetchers that announce themselves."""
    agent = request.user_agent.strip().lower()
    purpose = (request.headers.get("sec-purpose") or request.headers.get("purpose") or "").lower()
    return not agent or "prefetch" in purpose or any(marker in agent for marker in AUTOMATED_AGENTS)


class FeedbackService:
    """Verifies the link, counts the answer once, keeps an optional comment, says thank you."""

    def __init__(
        self,
        *,
        secret: bytes,
        store: FeedbackStore,
        site: Site,
        update_exists: Callable[[str, str], bool] | None = None,
        now: Callable[[], datetime] = clock_now,
        short_links: ShortLinkStore | None = None,
    ) -> None:
        self._secret = secret
        self._signer = LinkSigner(secret)
        self._csrf_key = derive_key(secret, "csrf")
        self._store = store
        self._site = site
        self._update_exists = update_exists
        self._now = now
        self._short_links = short_links

    def csrf_token(self, token: str, client: str) -> str:
        """Ties the comment form to the link and to the client that opened it."""
        digest = hmac.new(self._csrf_key, f"{token}|{client}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    @staticmethod
    def _respond(
        shown: Page,
        *,
        counted: tuple[str, str] | None = None,
        refused: str | None = None,
        commented: str | None = None,
    ) -> FeedbackResponse:
        return FeedbackResponse(
            status=shown.status,
            html=shown.html,
            headers=dict(HEADERS),
            counted=counted,
            refused=refused,
            commented=commented,
        )

    def _refuse(
        self, status: int, reason: str, locale: str | None, key: str | None = None
    ) -> FeedbackResponse:
        return self._respond(page(status, self._site, key or reason, locale), refused=reason)

    def handle(self, request: FeedbackRequest) -> FeedbackResponse:
        parts = [p for p in request.path.split("/") if p]
        method = request.method.upper()
        if len(parts) >= 2 and parts[-2] == "f":
            return self._answer_page(request, parts[-1], method)
        if len(parts) < 3 or parts[-3] != "f":
            return self._refuse(404, "not_found", None)
        token, action = parts[-2], parts[-1].lower()
        if action != "comment" and action not in VOTES:
            return self._refuse(404, "not_found", None)
        if method not in ("GET", "POST") or (action == "comment" and method != "POST"):
            return self._refuse(405, "method", None)
        checked = self._check(request, token)
        if isinstance(checked, FeedbackResponse):
            return checked
        claims, client = checked
        if action == "comment":
            return self._comment(request, token, claims, client)
        return self._vote(request, VOTES[action], token, claims, client, confirmed=method == "POST")

    def _check(self, request: FeedbackRequest, token: str) -> tuple[LinkClaims, str] | FeedbackResponse:
        """The link's claims and the client's fingerprint, or the refusal page (forged, expired, unknown).

        A short link's code (``feedback/short_links.py``) is looked up first; its token is verified the same.
        """
        try:
            if self._short_links is not None and is_short_code(token):
                token = resolve_short_link(self._short_links, token, self._now())
            claims = self._signer.verify(token, now=self._now())
        except FeedbackLinkError as error:
            return self._refuse(_STATUS_FOR.get(error.reason, 400), error.reason, None, key=_page_key(error))
        if self._update_exists is not None and not self._update_exists(claims.incident_id, claims.update_id):
            return self._refuse(404, "unknown_update", claims.locale)
        return claims, voter_of(claims, self._secret, request.source_ip)

    def _answer_page(self, request: FeedbackRequest, token: str, method: str) -> FeedbackResponse:
        """``/f/{token}``: GET shows Yes / No buttons; POST (button, CSRF-checked) counts the answer."""
        if method not in ("GET", "POST"):
            return self._refuse(405, "method", None)
        checked = self._check(request, token)
        if isinstance(checked, FeedbackResponse):
            return checked
        claims, client = checked
        csrf = self.csrf_token(token, client)
        if method == "GET":
            return self._respond(page(200, self._site, "question", claims.locale, csrf=csrf, choices=True))
        if not hmac.compare_digest(str(request.form.get("csrf", "")), csrf):
            return self._refuse(403, "csrf", claims.locale)
        vote = VOTES.get(str(request.form.get("vote", "")).lower())
        if vote is None:
            shown = page(400, self._site, "question", claims.locale, csrf=csrf, choices=True)
            return self._respond(shown, refused="vote_invalid")
        # The thank-you page lives at /f/{token}: its comment form posts to {token}/comment.
        return self._vote(
            request, vote, token, claims, client, confirmed=True, comment_action=f"{token}/comment"
        )

    def _vote(
        self,
        request: FeedbackRequest,
        vote: str,
        token: str,
        claims: LinkClaims,
        client: str,
        *,
        confirmed: bool,
        comment_action: str = "comment",
    ) -> FeedbackResponse:
        if not confirmed and is_automated(request):
            shown = page(200, self._site, "confirm", claims.locale, vote=vote, confirm=True)
            return self._respond(shown, refused="automated")
        csrf = self.csrf_token(token, client)
        try:
            self._store.record_vote(claims, vote, client, self._now())
        except AlreadyCountedError:
            previous = self._store.has_answered(claims, client) or {}
            shown = page(
                409,
                self._site,
                "already",
                claims.locale,
                csrf=csrf,
                comment=bool(previous) and "commented_at" not in previous,
                comment_action=comment_action,
            )
            return self._respond(shown, refused="replay")
        shown = page(
            200,
            self._site,
            "thanks",
            claims.locale,
            vote=vote,
            csrf=csrf,
            comment=True,
            comment_action=comment_action,
        )
        return self._respond(shown, counted=(vote, claims.channel.value))

    def _comment(
        self, request: FeedbackRequest, token: str, claims: LinkClaims, client: str
    ) -> FeedbackResponse:
        if not hmac.compare_digest(str(request.form.get("csrf", "")), self.csrf_token(token, client)):
            return self._refuse(403, "csrf", claims.locale)
        text = str(request.form.get("comment", "")).strip()
        if not text or len(text) > MAX_COMMENT_CHARS:
            return self._refuse(400, "comment_invalid", claims.locale)
        try:
            self._store.add_comment(claims, client, text, self._now())
        except AlreadyCountedError:
            return self._refuse(409, "replay", claims.locale, key="already")
        except NoAnswerYetError:
            return self._refuse(409, "no_answer", claims.locale)
        return self._respond(
            page(200, self._site, "commented", claims.locale), commented=claims.channel.value
        )


def _page_key(error: FeedbackLinkError) -> str:
    return "expired" if error.reason == "expired" else "malformed"
