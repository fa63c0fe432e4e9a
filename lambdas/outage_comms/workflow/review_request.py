"""Reading the review page's request: an API Gateway proxy event that may carry anything.

Every way a request can be unreadable (a body that is not text, not base64, not UTF-8, too large,
with too many or repeated fields; path parameters or identity of the wrong type) is a
:class:`BadReviewRequestError` with the status and the words to answer, never an exception.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

#: The largest form the page accepts (every message of an update, edited, fits many times over).
MAX_BODY_BYTES = 256 * 1024
MAX_FORM_FIELDS = 500
MAX_PATH_CHARS = 2048


class BadReviewRequestError(Exception):
    """The request cannot be read (its body, encoding or shape); ``status`` says how to answer."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadReviewRequestError(400, f"{name} must be text.")
    if len(value) > MAX_PATH_CHARS:
        raise BadReviewRequestError(414, f"{name} is longer than {MAX_PATH_CHARS} characters.")
    return value


def _form(event: Mapping[str, Any]) -> dict[str, str]:
    body = event.get("body")
    if body is None or body == "":
        return {}
    if not isinstance(body, str):
        raise BadReviewRequestError(400, "The form must be sent as application/x-www-form-urlencoded text.")
    if len(body) > MAX_BODY_BYTES * 2:
        raise BadReviewRequestError(413, f"The form is larger than {MAX_BODY_BYTES // 1024} KB.")
    raw = body.encode("utf-8", "surrogatepass")
    if event.get("isBase64Encoded") is True:
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadReviewRequestError(400, "The form is not valid base64.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise BadReviewRequestError(413, f"The form is larger than {MAX_BODY_BYTES // 1024} KB.")
    try:
        text = raw.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS)
    except UnicodeError:
        raise BadReviewRequestError(400, "The form must be UTF-8 text.") from None
    except ValueError:
        raise BadReviewRequestError(413, f"The form has more than {MAX_FORM_FIELDS} fields.") from None
    twice = sorted(k for k, v in fields.items() if len(v) > 1)
    if twice:
        raise BadReviewRequestError(400, f"The form gives {twice[0][:80]!r} more than once; send it once.")
    return {k: v[0] for k, v in fields.items()}


@dataclass(frozen=True)
class ReviewRequest:
    method: str
    incident_id: str
    reference: str
    caller_arn: str | None
    form: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api_event(cls, event: Mapping[str, Any]) -> ReviewRequest:
        """From an API Gateway REST proxy event; the caller is the IAM identity API Gateway verified.

        Raises :class:`BadReviewRequestError` (a 4xx) for a body or path the page cannot read.
        """
        if not isinstance(event, Mapping):
            raise BadReviewRequestError(400, "Not an API Gateway request.")
        params = event.get("pathParameters") or {}
        context = event.get("requestContext") or {}
        identity = context.get("identity") if isinstance(context, Mapping) else None
        identity = identity if isinstance(identity, Mapping) else {}
        if not isinstance(params, Mapping):
            raise BadReviewRequestError(400, "The path names no incident and review reference.")
        caller = identity.get("userArn") or identity.get("caller")
        return cls(
            method=_text(event.get("httpMethod") or "GET", "The method").upper(),
            incident_id=_text(params.get("incident_id"), "The incident id"),
            reference=_text(params.get("reference"), "The review reference"),
            caller_arn=caller if isinstance(caller, str) else None,
            form=_form(event),
        )
