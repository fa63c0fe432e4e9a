"""Review links and approval decisions.

A review link carries an opaque *reference*: ``base64url(payload) "." base64url(HMAC-SHA256)``
where the payload names the approval request, the incident and the expiry. The HMAC key lives in
Secrets Manager. The task token never leaves the server: it is stored with the request, looked
up by the request id, and used once (a conditional write marks the request used).

The review page shows the messages on GET and only ever decides on POST, with a CSRF token bound
to the request and the caller's IAM principal. Only the plan's approver principals may see or
decide; the approver and the final text are recorded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from outage_comms.plan import Plan


class ReferenceError_(Exception):
    """The review reference is forged, malformed, expired or for another incident."""


class TaskGoneError(Exception):
    """``SendTaskSuccess`` found no task waiting (TaskTimedOut, TaskDoesNotExist, InvalidToken)."""


class ReferenceExpiredError(ReferenceError_):
    """A genuine review reference whose time is up: the task it was for no longer waits."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


MAX_REFERENCE_CHARS = 1024


@dataclass(frozen=True)
class Reference:
    request_id: str
    incident_id: str
    expires_at: int  # epoch seconds


class ReviewSigner:
    """Signs and verifies review references and CSRF tokens with one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the review signing key must be at least 32 bytes")
        self._key = key

    def _mac(self, purpose: str, message: bytes) -> bytes:
        return hmac.new(self._key, purpose.encode() + b"\0" + message, hashlib.sha256).digest()

    def sign(self, reference: Reference) -> str:
        payload = json.dumps(
            {"r": reference.request_id, "i": reference.incident_id, "e": reference.expires_at},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac('review-link', payload))}"

    def verify(self, token: str, *, incident_id: str, now: datetime) -> Reference:
        if len(token) > MAX_REFERENCE_CHARS:
            raise ReferenceError_("malformed review reference")
        try:
            payload_part, mac_part = token.split(".")
            payload, mac = _unb64(payload_part), _unb64(mac_part)
        except (ValueError, binascii.Error):
            raise ReferenceError_("malformed review reference") from None
        if _b64(payload) != payload_part or _b64(mac) != mac_part:  # one spelling per link: no padding-bit
            raise ReferenceError_("malformed review reference") from None  # or stray-character variants
        if not hmac.compare_digest(mac, self._mac("review-link", payload)):
            raise ReferenceError_("review reference signature does not match")
        data = json.loads(payload)
        reference = Reference(
            request_id=str(data["r"]), incident_id=str(data["i"]), expires_at=int(data["e"])
        )
        if reference.incident_id != incident_id:
            raise ReferenceError_("review reference belongs to another incident")
        if now.timestamp() >= reference.expires_at:
            raise ReferenceExpiredError("review link has expired")
        return reference

    def csrf_token(self, request_id: str, principal: str, content_hash: str) -> str:
        """``<content hash>.<MAC>``: the form's token names the exact text the page showed."""
        mac = self._mac("csrf", f"{request_id}|{principal}|{content_hash}".encode())
        return f"{content_hash}.{_b64(mac)}"

    def csrf_content_hash(self, token: str | None, request_id: str, principal: str) -> str | None:
        """The content hash a genuine CSRF token names, or None for a missing, forged or foreign one."""
        if not token or not _CSRF_SHAPE.fullmatch(token):
            return None
        content_hash = token.split(".", 1)[0]
        expected = self.csrf_token(request_id, principal, content_hash)
        return content_hash if hmac.compare_digest(token.encode(), expected.encode()) else None


_CSRF_SHAPE = re.compile(r"[0-9a-f]{64}\.[A-Za-z0-9_-]{43}")


def content_hash(messages: dict[str, Any]) -> str:
    """SHA-256 of the words under review: ``{channel: {locale: {field: text}}}``, canonical JSON."""
    canonical = json.dumps(messages, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def new_request_id() -> str:
    return secrets.token_urlsafe(18)


_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/[^/]+$")


def principal_arn(caller_arn: str) -> str:
    """The IAM role ARN behind an assumed-role session ARN (users are returned as they are)."""
    match = _ASSUMED_ROLE.match(caller_arn)
    if match:
        partition, account, role = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    return caller_arn


def approvers_for(plan: Plan, role: str) -> list[str]:
    """Who may decide a request sent to ``role``: that role's principals, then the incident manager's."""
    roles = plan.roles
    first = getattr(roles, role).approver_principals
    return list(dict.fromkeys([*first, *roles.incident_manager.approver_principals]))


def decision_output(
    record: dict[str, Any], decision: str, approvers: list[str], edited: bool, text_hash: str
) -> dict[str, Any]:
    """What SendTaskSuccess hands back to ``Wait for approval``: who decided which text."""
    return {
        "decision": decision,
        "approvers": approvers,
        "edited": edited,
        "update_id": record["update_id"],
        "role": record["role"],
        "content_hash": text_hash,
    }
