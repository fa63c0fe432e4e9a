"""What a subscriber may give us as an address, and which mailbox it reaches (for abuse limits).

- **Email**: checked by ``email-validator`` (syntax only, ``check_deliverability=False``: no DNS
  lookup in the request path; SES tells us when it cannot deliver). Quoted local parts, IP-literal
  domains and non-ASCII local parts (SES cannot send to them) are refused. Before the library sees
  it, an address with a header-injection character (``,`` ``;`` ``<`` ``>``, any control character
  such as NUL, CR or LF, or their URL-encoded forms ``%00`` ``%0d`` ``%0a``) is refused with its
  own message: such a value is one address pretending to be several, or a header pretending to be
  an address.
- **SMS**: ``phonenumbers`` (E.164, ``is_valid_number``).
- **Push**: an APNs or FCM device token (letters, digits and ``:_-.``).

:func:`mailbox_key` is what the per-address limit counts: the address with its plus tag removed
(RFC 5233 subaddressing: ``ana+1@…``, ``ana+2@…`` … reach ``ana@…`` at Gmail, Outlook.com,
iCloud, Fastmail, Proton and most self-hosted servers), and for Gmail (``gmail.com``,
``googlemail.com``) without dots in the local part, which Google documents Gmail ignores
("Dots don't matter in Gmail addresses", support.google.com/mail/answer/7436150). Stripping a tag
at a provider that does not deliver subaddresses only makes the limit stricter for two distinct
people, never looser; the subscription itself stays keyed by the exact address.
"""

from __future__ import annotations

import re
import unicodedata

MAX_EMAIL_CHARS = 254
_INJECTION_CHARACTERS = frozenset(",;<>")
_ENCODED_CONTROL = re.compile(r"%(0[0-9a-f]|1[0-9a-f]|7f)", re.IGNORECASE)
_PUSH_TOKEN = re.compile(r"[A-Za-z0-9:_.-]{16,4096}")
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


class SubscriptionError(ValueError):
    """The request cannot be accepted; the message says why in words a subscriber understands."""


def has_control_characters(text: str) -> bool:
    """Any Unicode control, format, surrogate or unassigned code point (NUL, CR, LF, ESC, U+FFFE …)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Cn") for ch in text)


def refuse_injection(address: str) -> None:
    """SubscriptionError when ``address`` carries a header-injection character (see the module doc)."""
    if (
        any(ch in _INJECTION_CHARACTERS for ch in address)
        or has_control_characters(address)
        or _ENCODED_CONTROL.search(address)
    ):
        raise SubscriptionError(
            "an email address cannot contain , ; < > line breaks or control characters: send one address"
        )


def valid_email(address: str) -> str:
    """The address as we store and send to it (lower case, ASCII), or SubscriptionError naming the fault."""
    refuse_injection(address)  # before any trimming: a trailing CR LF is an injection too
    address = address.strip(" ")
    if not address or len(address) > MAX_EMAIL_CHARS:
        raise SubscriptionError(f"that is not an email address: write 3 to {MAX_EMAIL_CHARS} characters")
    from email_validator import EmailNotValidError, validate_email  # vendored; lazy for cold starts

    try:
        checked = validate_email(
            address,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as error:
        raise SubscriptionError(f"that is not an email address: {error}") from None
    normalised = str(checked.ascii_email or checked.normalized).lower()
    refuse_injection(normalised)  # the library decodes nothing, but the answer must never carry these
    return normalised


def valid_phone(number: str) -> str:
    """``number`` in E.164, or SubscriptionError with the form we expect."""
    from outage_comms.subscribers.phone import InvalidPhoneNumberError, e164  # phonenumbers: lazy

    if has_control_characters(number) or len(number) > 64:
        raise SubscriptionError("write the phone number in international form, e.g. +14155550100")
    try:
        return e164(number.strip())
    except InvalidPhoneNumberError:
        raise SubscriptionError("write the phone number in international form, e.g. +14155550100") from None


def valid_push_token(token: str, platform: str | None = None) -> str:
    """The device token, or SubscriptionError (platform APNS or GCM when given, 16-4096 token characters)."""
    token = token.strip(" ")
    if (platform is not None and platform not in ("APNS", "GCM")) or not _PUSH_TOKEN.fullmatch(token):
        raise SubscriptionError("push needs platform APNS or GCM and the device token the app was given")
    return token


def mailbox_key(address: str) -> str:
    """The mailbox an email address reaches, for rate limits: no plus tag; Gmail without dots."""
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"
