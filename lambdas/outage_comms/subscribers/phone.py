"""Phone numbers in E.164, the one form subscribers' numbers are stored and texted in."""

from __future__ import annotations


class InvalidPhoneNumberError(ValueError):
    """Not a valid E.164 phone number."""


def e164(number: str, *, default_region: str | None = None) -> str:
    """``number`` as E.164 (``+14155550100``), or InvalidPhoneNumberError."""
    import phonenumbers  # vendored; lazy so channels that never text don't pay for its metadata

    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumberError(f"'{number}' is not a phone number: {error}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumberError(f"'{number}' is not a valid phone number")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
