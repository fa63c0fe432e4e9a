"""Signed, compact tokens for confirmation, unsubscribe and preference links.

``<payload>.<mac>``: the payload is base64url JSON ``{"p": purpose, "s": subscriber id, "e": expiry}``
and the MAC is HMAC-SHA256 over the payload with a key from Secrets Manager, truncated to 128 bits.
A token for one purpose never works for another, a forged or altered token fails the MAC, and an
expired one (``e`` > 0 and in the past) is refused. Unsubscribe tokens do not expire: a link in an
old email must keep working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Literal

Purpose = Literal["confirm", "unsubscribe", "manage"]
MAC_BYTES = 16
#: base64url payload "." base64url MAC: anything else (non-ASCII, spaces, padding) is not ours.
_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class InvalidTokenError(Exception):
    """The token is malformed, forged, for another purpose or expired. The message says which."""


@dataclass(frozen=True)
class TokenClaims:
    purpose: Purpose
    subscriber_id: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Signs and verifies tokens with one key (bytes)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the token key must be at least 16 bytes")
        self._key = key

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()
        return _b64(digest[:MAC_BYTES])

    def sign(
        self, purpose: Purpose, subscriber_id: str, *, ttl_seconds: int = 0, now: float | None = None
    ) -> str:
        expires = 0 if ttl_seconds <= 0 else int((now if now is not None else time.time()) + ttl_seconds)
        payload = _b64(
            json.dumps({"p": purpose, "s": subscriber_id, "e": expires}, separators=(",", ":")).encode()
        )
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, purpose: Purpose, *, now: float | None = None) -> TokenClaims:
        payload, _, mac = token.partition(".")
        if not payload or not mac or len(token) > 512 or not _TOKEN_CHARACTERS.fullmatch(token):
            raise InvalidTokenError("malformed token: copy the whole link from the message")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidTokenError("token signature does not match")
        try:
            data = json.loads(_unb64(payload))
            claims = TokenClaims(purpose=data["p"], subscriber_id=str(data["s"]), expires_at=int(data["e"]))
        except (ValueError, KeyError, TypeError):
            raise InvalidTokenError("malformed token payload") from None
        if claims.purpose != purpose:
            raise InvalidTokenError(f"token is for '{claims.purpose}', not '{purpose}'")
        current = now if now is not None else time.time()
        if claims.expires_at and current > claims.expires_at:
            raise InvalidTokenError("token has expired")
        return claims


def code_digest(key: bytes, subscriber_id: str, code: str) -> str:
    """What the store keeps for an SMS confirmation code (never the code itself)."""
    return hmac.new(key, f"sms-code:{subscriber_id}:{code}".encode(), hashlib.sha256).hexdigest()
