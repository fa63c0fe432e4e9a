"""Subscribing, confirming, changing preferences and unsubscribing.

- **Email** is double opt-in: the first request stores a *pending* subscriber and sends a link
  with a signed ``confirm`` token that expires after 48 hours; only the confirmed address is ever
  sent outage updates.
- **SMS** confirms with a 6-digit code (stored as an HMAC, valid 15 minutes, 5 tries).
- **Abuse limits**: at most 3 confirmation messages per address per day and 10 requests per
  source IP per hour. Over the address limit the API still answers "check your inbox" (so it
  reveals nothing about who subscribed) but sends nothing: the endpoint cannot mail-bomb anyone.
- **Unsubscribe** takes a signed token (one-click, RFC 8058) and works forever.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from outage_comms.plan import Plan
from outage_comms.subscribers.limits import PER_ADDRESS, PER_SOURCE_IP, RateLimiter
from outage_comms.subscribers.store import (
    ALL_COMPONENTS,
    Subscriber,
    SubscriberStore,
    normalise_address,
    subscriber_id,
)
from outage_comms.subscribers.tokens import InvalidTokenError, TokenSigner, code_digest

CONFIRM_TTL_SECONDS = 48 * 3600
CODE_TTL_SECONDS = 15 * 60
MAX_CODE_ATTEMPTS = 5
_EMAIL_MAX = 254


class SubscriptionError(ValueError):
    """The request cannot be accepted; the message says why in words a subscriber understands."""


class RateLimitedError(Exception):
    """Too many requests from this source."""


class ConfirmationSender(Protocol):
    def confirm_email(self, *, to: str, locale: str, confirm_url: str) -> None: ...

    def confirm_sms(self, *, to: str, locale: str, code: str, minutes: int) -> None: ...


@dataclass(frozen=True)
class SubscribeRequest:
    channel: Literal["email", "sms", "push"]
    address: str
    locale: str
    components: tuple[str, ...] = ()
    platform: str = ""


@dataclass(frozen=True)
class Outcome:
    status: Literal["confirmation_sent", "already_subscribed", "subscribed", "unchanged"]
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
    ) -> None:
        self.plan = plan
        self.store = store
        self.limiter = limiter
        self.signer = signer
        self.code_key = code_key
        self.sender = sender
        self.confirm_url_base = confirm_url_base
        self.clock = clock

    # -- validation ----------------------------------------------------------------------------

    def validate(self, request: SubscribeRequest) -> SubscribeRequest:
        if request.locale not in self.plan.locale_codes:
            raise SubscriptionError(f"locale must be one of {self.plan.locale_codes}")
        known = {c.id for c in self.plan.components}
        unknown = [c for c in request.components if c not in known]
        if unknown:
            raise SubscriptionError(f"unknown components {unknown}; choose from {sorted(known)}")
        address = normalise_address(request.channel, request.address)
        if request.channel == "email":
            local, _, domain = address.partition("@")
            if (
                not local
                or "." not in domain
                or len(address) > _EMAIL_MAX
                or any(ch.isspace() for ch in address)
            ):
                raise SubscriptionError("that is not an email address")
        elif request.channel == "sms":
            from outage_comms.channels.sms import InvalidPhoneNumberError, e164

            try:
                address = e164(address)
            except InvalidPhoneNumberError:
                raise SubscriptionError(
                    "write the phone number in international form, e.g. +14155550100"
                ) from None
        elif request.channel == "push":
            if request.platform not in ("APNS", "GCM") or not 16 <= len(address) <= 4096:
                raise SubscriptionError("push needs platform APNS or GCM and the device token")
        else:
            raise SubscriptionError("channel must be email, sms or push")
        return replace(request, address=address, components=tuple(dict.fromkeys(request.components)))

    # -- subscribe -----------------------------------------------------------------------------

    def subscribe(self, request: SubscribeRequest, *, source_ip: str) -> Outcome:
        if not self.limiter.allow("ip", source_ip, limit=PER_SOURCE_IP[0], window_seconds=PER_SOURCE_IP[1]):
            raise RateLimitedError("too many requests from this address; try again later")
        request = self.validate(request)
        sid = subscriber_id(request.channel, request.address)
        now = int(self.clock())
        existing = self.store.get(sid)
        subscriber = Subscriber(
            id=sid,
            channel=request.channel,
            address=request.address,
            locale=request.locale,
            components=request.components or (ALL_COMPONENTS,),
            platform=request.platform,
            created_at=existing.created_at if existing else now,
            source_ip=source_ip,
        )
        if request.channel == "push":
            # A device token proves possession by itself (only the app gets it): no confirmation.
            self.store.activate(subscriber, now=now)
            return Outcome("subscribed", sid)
        if existing is not None and existing.status == "active":
            # Changing an active subscription needs the manage link from one of our messages.
            return Outcome("already_subscribed", sid)
        if not self.limiter.allow("address", sid, limit=PER_ADDRESS[0], window_seconds=PER_ADDRESS[1]):
            return Outcome("confirmation_sent", sid)  # same answer, nothing sent
        if request.channel == "email":
            self.store.put(replace(subscriber, status="pending", expires_at=now + CONFIRM_TTL_SECONDS))
            token = self.signer.sign("confirm", sid, ttl_seconds=CONFIRM_TTL_SECONDS, now=now)
            self.sender.confirm_email(
                to=request.address,
                locale=request.locale,
                confirm_url=f"{self.confirm_url_base}?token={token}",
            )
        else:
            code = f"{secrets.randbelow(1_000_000):06d}"
            self.store.put(
                replace(
                    subscriber,
                    status="pending",
                    code_digest=code_digest(self.code_key, sid, code),
                    code_expires_at=now + CODE_TTL_SECONDS,
                    expires_at=now + CONFIRM_TTL_SECONDS,
                )
            )
            self.sender.confirm_sms(
                to=request.address, locale=request.locale, code=code, minutes=CODE_TTL_SECONDS // 60
            )
        return Outcome("confirmation_sent", sid)

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
        from outage_comms.channels.sms import InvalidPhoneNumberError, e164

        try:
            sid = subscriber_id("sms", e164(address))
        except InvalidPhoneNumberError:
            raise InvalidTokenError("wrong number or code") from None
        subscriber = self.store.get(sid)
        now = int(self.clock())
        if subscriber is None or subscriber.status != "pending" or not subscriber.code_digest:
            raise InvalidTokenError("wrong number or code")
        if subscriber.code_attempts >= MAX_CODE_ATTEMPTS or now > subscriber.code_expires_at:
            raise InvalidTokenError("this code has expired; ask for a new one")
        if not secrets.compare_digest(code_digest(self.code_key, sid, code.strip()), subscriber.code_digest):
            self.store.put(replace(subscriber, code_attempts=subscriber.code_attempts + 1))
            raise InvalidTokenError("wrong number or code")
        return self.store.activate(subscriber, now=now)

    # -- preferences and unsubscribe ---------------------------------------------------------

    def update_preferences(self, token: str, *, components: Sequence[str], locale: str) -> Subscriber:
        claims = self.signer.verify(token, "manage", now=self.clock())
        subscriber = self.store.get(claims.subscriber_id)
        if subscriber is None or subscriber.status != "active":
            raise InvalidTokenError("this subscription is not active")
        request = self.validate(
            SubscribeRequest(
                channel=subscriber.channel if subscriber.channel != "voice" else "sms",
                address=subscriber.address,
                locale=locale,
                components=tuple(components),
                platform=subscriber.platform,
            )
        )
        return self.store.activate(
            replace(subscriber, locale=request.locale, components=request.components or (ALL_COMPONENTS,)),
            now=int(self.clock()),
        )

    def unsubscribe(self, token: str) -> str:
        claims = self.signer.verify(token, "unsubscribe", now=self.clock())
        self.store.deactivate(claims.subscriber_id, "unsubscribed")
        return claims.subscriber_id
