"""Subscribing, confirming, changing preferences and unsubscribing.

- **Every channel is double opt-in.** Email gets a link with a signed ``confirm`` token (48 hours);
  SMS a 6-digit code (stored as an HMAC, valid 15 minutes, 5 tries); push a *confirmation push*: a
  silent push to the device token carrying a random code the app POSTs back
  (``/subscriptions/confirm`` with ``channel: push``), so only the app holding the token can
  subscribe it. Only confirmed subscribers are ever sent outage updates.
- **Validate, send, then store**: an address is checked first (``subscribers/addresses.py``); the
  pending record is written only after the provider accepted the confirmation, so an address SES
  refuses leaves nothing behind and gets a 400 saying so.
- **Abuse limits**: 3 confirmations per *mailbox* a day (``mailbox_key``: plus tags and Gmail dots
  do not make a new mailbox); 10 requests an hour per client network (IPv4 address or IPv6 /64)
  and 50 per wider network (IPv4 /24, IPv6 /48), so rotating addresses inside one allocation buys
  nothing. Over the mailbox limit the API still answers "check your inbox" but sends nothing.
- **No enumeration**: once the request is valid, the answer is the same status and body whether
  the address is new, pending or already subscribed, and takes at least ``min_answer_seconds``
  (padded), so its time does not tell either. A wrong SMS or push code gets one message whether the
  number is unknown, pending, locked or expired.
- **Unsubscribe** takes a signed token (one-click, RFC 8058) and works forever.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from outage_comms.plan import Plan
from outage_comms.subscribers.addresses import (
    SubscriptionError,
    mailbox_key,
    valid_email,
    valid_phone,
    valid_push_token,
)
from outage_comms.subscribers.limits import PER_ADDRESS, PER_SOURCE_IP, PER_WIDE_NETWORK, RateLimiter
from outage_comms.subscribers.network import client_network, wider_network
from outage_comms.subscribers.store import (
    ALL_COMPONENTS,
    Subscriber,
    SubscriberStore,
    subscriber_id,
)
from outage_comms.subscribers.tokens import InvalidTokenError, TokenSigner, code_digest

__all__ = ["RateLimitedError", "SubscribeRequest", "SubscriptionError", "SubscriptionService"]

CONFIRM_TTL_SECONDS = 48 * 3600
CODE_TTL_SECONDS = 15 * 60
MAX_CODE_ATTEMPTS = 5
#: The floor of every answer that depends on what we know about an address (see the module doc):
#: above a confirmation send's usual latency (SES SendEmail / SMS / push, tens to a few hundred ms).
MIN_ANSWER_SECONDS = 0.6
WRONG_CODE = "wrong address or code, or the code expired: ask for a new code"


class RateLimitedError(Exception):
    """Too many requests from this source."""


class UndeliverableError(SubscriptionError):
    """The provider refused to send the confirmation to this address (nothing was stored)."""


class ProviderUnavailableError(Exception):
    """The provider could not take the confirmation right now (throttled, down): try again later."""


class ConfirmationSender(Protocol):
    def confirm_email(self, *, to: str, locale: str, confirm_url: str) -> None: ...

    def confirm_sms(self, *, to: str, locale: str, code: str, minutes: int) -> None: ...

    def confirm_push(self, *, to: str, platform: str, code: str) -> None: ...


@dataclass(frozen=True)
class SubscribeRequest:
    channel: Literal["email", "sms", "push"]
    address: str
    locale: str
    components: tuple[str, ...] = ()
    platform: str = ""


@dataclass(frozen=True)
class Outcome:
    status: Literal["confirmation_sent", "already_subscribed"]
    subscriber_id: str


class SubscriptionService:
    def __init__(
        self,
        *,
        plan: Plan,
        store: SubscriberStore,
        limiter: RateLimiter,
        signer: TokenSigner,
        code_key: bytes,
        sender: ConfirmationSender,
        confirm_url_base: str,
        clock: Callable[[], float] = time.time,
        min_answer_seconds: float = MIN_ANSWER_SECONDS,
        timer: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.plan = plan
        self.store = store
        self.limiter = limiter
        self.signer = signer
        self.code_key = code_key
        self.sender = sender
        self.confirm_url_base = confirm_url_base
        self.clock = clock
        self.min_answer_seconds = min_answer_seconds
        self._timer = timer
        self._sleep = sleep

    # -- validation ----------------------------------------------------------------------------

    def _check_choices(self, locale: str, components: Sequence[str]) -> tuple[str, ...]:
        """The components without repeats, or SubscriptionError naming a wrong locale or component."""
        if locale not in self.plan.locale_codes:
            raise SubscriptionError(f"locale must be one of {self.plan.locale_codes}")
        known = {c.id for c in self.plan.components}
        unknown = [c for c in components if c not in known]
        if unknown:
            raise SubscriptionError(f"unknown components {unknown[:5]}; choose from {sorted(known)}")
        return tuple(dict.fromkeys(components))

    def validate(self, request: SubscribeRequest) -> SubscribeRequest:
        components = self._check_choices(request.locale, request.components)
        if request.channel not in ("email", "sms", "push"):
            raise SubscriptionError("channel must be email, sms or push")
        settings = getattr(self.plan.channels, request.channel, None)
        if settings is None or not settings.enabled:
            raise SubscriptionError(f"this status page does not offer {request.channel} updates")
        if request.channel == "email":
            address = valid_email(request.address)
        elif request.channel == "sms":
            address = valid_phone(request.address)
        else:
            address = valid_push_token(request.address, request.platform)
        return replace(request, address=address, components=components)

    @contextmanager
    def _constant_time(self) -> Iterator[None]:
        """Whatever happens inside, the answer leaves no sooner than ``min_answer_seconds``."""
        started = self._timer()
        try:
            yield
        finally:
            left = self.min_answer_seconds - (self._timer() - started)
            if left > 0:
                self._sleep(left)

    def _limit_source(self, source_ip: str) -> None:
        for scope, key, (limit, window) in (
            ("ip", client_network(source_ip), PER_SOURCE_IP),
            ("net", wider_network(source_ip), PER_WIDE_NETWORK),
        ):
            if not self.limiter.allow(scope, key, limit=limit, window_seconds=window):
                raise RateLimitedError("too many requests from your network; try again in an hour")

    # -- subscribe -----------------------------------------------------------------------------

    def subscribe(self, request: SubscribeRequest, *, source_ip: str) -> Outcome:
        """Send a confirmation (or nothing, see the module doc); the same :class:`Outcome` shape either way.

        Raises SubscriptionError (400: names the fault), UndeliverableError (400: the provider refused
        the address), RateLimitedError (429) or ProviderUnavailableError (503, try later).
        """
        self._limit_source(source_ip)
        request = self.validate(request)
        with self._constant_time():
            return self._subscribe(request, source_ip)

    def _subscribe(self, request: SubscribeRequest, source_ip: str) -> Outcome:
        sid = subscriber_id(request.channel, request.address)
        now = int(self.clock())
        existing = self.store.get(sid)
        mailbox = mailbox_key(request.address) if request.channel == "email" else request.address
        # Counted on every path, so a known address costs the same writes as a new one.
        allowed = self.limiter.allow(
            "address", f"{request.channel}:{mailbox}", limit=PER_ADDRESS[0], window_seconds=PER_ADDRESS[1]
        )
        if existing is not None and existing.status == "active":
            # Changing an active subscription needs the manage link from one of our messages.
            return Outcome("already_subscribed", sid)
        if not allowed:
            return Outcome("confirmation_sent", sid)  # same answer, nothing sent
        pending = Subscriber(
            id=sid,
            channel=request.channel,
            address=request.address,
            locale=request.locale,
            components=request.components or (ALL_COMPONENTS,),
            platform=request.platform,
            created_at=existing.created_at if existing else now,
            source_ip=client_network(source_ip),
            status="pending",
            expires_at=now + CONFIRM_TTL_SECONDS,
        )
        self.store.put(self._send_confirmation(pending, now))  # only once the provider took it
        return Outcome("confirmation_sent", sid)

    def _send_confirmation(self, pending: Subscriber, now: int) -> Subscriber:
        """Send the confirmation of ``pending``; return the record to store (with its code digest).

        The sender raises ``UndeliverableError`` when the provider refuses the address and
        ``ProviderUnavailableError`` when it cannot take the message now (nothing is stored then).
        """
        if pending.channel == "email":
            token = self.signer.sign("confirm", pending.id, ttl_seconds=CONFIRM_TTL_SECONDS, now=now)
            url = f"{self.confirm_url_base}?token={token}"
            self.sender.confirm_email(to=pending.address, locale=pending.locale, confirm_url=url)
            return pending
        if pending.channel == "sms":
            code = f"{secrets.randbelow(1_000_000):06d}"
            minutes = CODE_TTL_SECONDS // 60
            self.sender.confirm_sms(to=pending.address, locale=pending.locale, code=code, minutes=minutes)
        else:  # push: the app reads the code from the silent push; nobody types it
            code = secrets.token_urlsafe(18)
            self.sender.confirm_push(to=pending.address, platform=pending.platform, code=code)
        return replace(
            pending,
            code_digest=code_digest(self.code_key, pending.id, code),
            code_expires_at=now + CODE_TTL_SECONDS,
        )

    # -- confirm -------------------------------------------------------------------------------

    def confirm_email(self, token: str) -> Subscriber:
        claims = self.signer.verify(token, "confirm", now=self.clock())
        subscriber = self.store.get(claims.subscriber_id)
        if subscriber is None:
            raise InvalidTokenError("this confirmation link is no longer valid; subscribe again")
        if subscriber.status == "active":
            return subscriber
        if subscriber.status != "pending":
            raise InvalidTokenError("this address unsubscribed; subscribe again to start over")
        return self.store.activate(subscriber, now=int(self.clock()))

    def confirm_sms(self, address: str, code: str) -> Subscriber:
        return self.confirm_code("sms", address, code)

    def confirm_code(self, channel: str, address: str, code: str) -> Subscriber:
        """Confirm an SMS or push subscription by its code; InvalidTokenError(:data:`WRONG_CODE`) else.

        One message and (padded) one duration whether the address is unknown, active, pending with
        another code, locked after 5 tries or expired: the answer tells nobody who is pending.
        """
        with self._constant_time():
            try:
                valid = valid_phone(address) if channel == "sms" else valid_push_token(address)
            except SubscriptionError:
                raise InvalidTokenError(WRONG_CODE) from None
            if channel not in ("sms", "push"):
                raise InvalidTokenError(WRONG_CODE)
            return self._confirm_code(subscriber_id(channel, valid), code.strip()[:64])

    def _confirm_code(self, sid: str, code: str) -> Subscriber:
        subscriber = self.store.get(sid)
        now = int(self.clock())
        if subscriber is None or subscriber.status != "pending" or not subscriber.code_digest:
            raise InvalidTokenError(WRONG_CODE)
        if subscriber.code_attempts >= MAX_CODE_ATTEMPTS or now > subscriber.code_expires_at:
            raise InvalidTokenError(WRONG_CODE)
        if not secrets.compare_digest(code_digest(self.code_key, sid, code), subscriber.code_digest):
            self.store.put(replace(subscriber, code_attempts=subscriber.code_attempts + 1))
            raise InvalidTokenError(WRONG_CODE)
        return self.store.activate(subscriber, now=now)

    # -- preferences and unsubscribe ---------------------------------------------------------

    def update_preferences(self, token: str, *, components: Sequence[str], locale: str) -> Subscriber:
        claims = self.signer.verify(token, "manage", now=self.clock())
        subscriber = self.store.get(claims.subscriber_id)
        if subscriber is None or subscriber.status != "active":
            raise InvalidTokenError("this subscription is not active")
        chosen = self._check_choices(locale, components)
        return self.store.activate(
            replace(subscriber, locale=locale, components=chosen or (ALL_COMPONENTS,)),
            now=int(self.clock()),
        )

    def unsubscribe(self, token: str) -> str:
        claims = self.signer.verify(token, "unsubscribe", now=self.clock())
        self.store.deactivate(claims.subscriber_id, "unsubscribed")
        return claims.subscriber_id
