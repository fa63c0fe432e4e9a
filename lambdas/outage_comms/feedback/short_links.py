"""Short feedback links: ``https://status.example.com/f/AbC12xYz`` instead of the signed token.

A short **code** (8 characters, base64url of the first 48 bits of an HMAC-SHA256 of the token,
keyed with a key derived from the feedback secret) stands for one signed token. The render step
stores ``code -> token`` in the feedback table (``pk`` ``LINK#<code>``, ``sk`` ``LINK``) with the
token's own expiry as the item's ``expires_at`` (the table's TTL attribute, so DynamoDB removes
it after the link dies); the feedback API looks the code up and then verifies the token exactly as
before (signature, expiry, the update exists). So:

- a code nobody stored (made up, mistyped, cut short) is a 404 page, never a 5xx;
- a stored code past its expiry is a 410 page, even before DynamoDB's TTL sweep removes the item;
- a forged or altered token cannot be reached through a code (codes are only written by the
  render step, which holds the signing secret), and the token is verified after the lookup anyway.

The code is derived, not random: rendering the same update again (a retry) writes the same item.
48 bits leave no practical room for collisions among the links of a deployment's life, and nobody
can compute a code without the secret. Email keeps the long token in its links: each recipient's
copy is re-signed for them (``channels/personalise.py``), and its links sit behind the words
"Yes" / "No", where length costs nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from typing import Any, Protocol

from outage_comms.feedback.links import ExpiredLinkError, FeedbackLinkError, derive_key

CODE_CHARS = 8
_CODE = re.compile(r"^[A-Za-z0-9_-]{8}$")


class UnknownLinkError(FeedbackLinkError):
    """A short code that was never stored (made up, mistyped or cut short)."""

    reason = "unknown_link"


def is_short_code(text: str) -> bool:
    """Does this path segment have the shape of a short code (not a signed token)?"""
    return bool(_CODE.match(text or ""))


class ShortCodes:
    """Derives the code of a token (needs the feedback secret)."""

    def __init__(self, secret: bytes) -> None:
        self._key = derive_key(secret, "short-links")

    def code(self, token: str) -> str:
        digest = hmac.new(self._key, token.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:6]).decode("ascii")


class ShortLinkStore(Protocol):
    def put(self, code: str, token: str, expires_at: int) -> None: ...

    def get(self, code: str) -> tuple[str, int] | None: ...


class Shortener:
    """What the render step's :class:`~outage_comms.feedback.links.FeedbackLinker` uses: stores the code
    of each token it signs and returns the code."""

    def __init__(self, secret: bytes, store: ShortLinkStore) -> None:
        self.codes = ShortCodes(secret)
        self.store = store

    def short(self, token: str, expires_at: int) -> str:
        code = self.codes.code(token)
        self.store.put(code, token, expires_at)
        return code


def resolve(store: ShortLinkStore, code: str, now: datetime) -> str:
    """The token a short code stands for; :class:`UnknownLinkError` or :class:`ExpiredLinkError`."""
    if not is_short_code(code):
        raise UnknownLinkError("not a short feedback link")
    found = store.get(code)
    if found is None:
        raise UnknownLinkError("no such short feedback link")
    token, expires_at = found
    if now.timestamp() > expires_at:
        raise ExpiredLinkError("the link has expired")
    return token


class MemoryShortLinks:
    """In memory: lint's realistic sample links, tests."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, int]] = {}

    def put(self, code: str, token: str, expires_at: int) -> None:
        self.items[code] = (token, expires_at)

    def get(self, code: str) -> tuple[str, int] | None:
        return self.items.get(code)


class DynamoShortLinks:
    """The codes in the feedback table (see the module doc). One PutItem per new code, one GetItem per
    answer; a code written once in this execution environment is not written again."""

    def __init__(self, *, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client
        self._written: set[str] = set()

    @staticmethod
    def _key(code: str) -> dict[str, Any]:
        return {"pk": {"S": f"LINK#{code}"}, "sk": {"S": "LINK"}}

    def put(self, code: str, token: str, expires_at: int) -> None:
        if code in self._written:
            return
        self._client.put_item(
            TableName=self._table,
            Item={**self._key(code), "token": {"S": token}, "expires_at": {"N": str(int(expires_at))}},
        )
        self._written.add(code)

    def get(self, code: str) -> tuple[str, int] | None:
        answer = self._client.get_item(TableName=self._table, Key=self._key(code), ConsistentRead=True)
        item = answer.get("Item")
        if not item or "token" not in item:
            return None
        return item["token"]["S"], int(item.get("expires_at", {}).get("N", "0"))
