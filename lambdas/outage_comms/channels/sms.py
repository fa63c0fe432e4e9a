"""SMS through AWS End User Messaging SMS (``pinpoint-sms-voice-v2`` ``SendTextMessage``).

TRANSACTIONAL, through the plan's configuration set and origination identity, one recipient per
call. Numbers are checked as E.164 with ``phonenumbers`` before any call. The token bucket spends
one token per message *part* (GSM-7 160/153, UCS-2 70/67 — ``guard.sms_size``), because the
origination number's throughput is counted in parts per second (MPS). A recipient who replied
STOP comes back as ``ConflictException`` / ``DESTINATION_PHONE_NUMBER_OPTED_OUT``: we mark them
opted out and never text them again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError
from outage_comms.channels.batch import RecipientSkipped
from outage_comms.channels.subscriber_channel import SubscriberChannel
from outage_comms.guard import sms_size
from outage_comms.plan import Plan, SmsSettings
from outage_comms.subscribers.store import Member
from outage_comms.vocabulary import Channel

OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
_THROTTLED = frozenset({"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"})


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


def sms_voice_error(error: ClientError, what: str) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _THROTTLED:
        return ChannelRetryableError(f"throttled: {what}: {code}: {message}")
    if code == "InternalServerException" or status >= 500:
        return ChannelRetryableError(f"unavailable: {what}: {code}: {message}")
    if code == "AccessDeniedException":
        return ChannelPermanentError(f"credentials: {what}: {code}: {message}")
    return ChannelPermanentError(f"rejected: {what}: {code}: {message}")


def fit_segments(text: str, max_segments: int) -> str:
    """``text`` cut (keeping a trailing link) so it costs at most ``max_segments`` parts."""
    if sms_size(text).segments <= max_segments:
        return text
    words = text.split(" ")
    tail = words[-1] if words[-1].startswith("https://") else ""
    head = " ".join(words[:-1]) if tail else text
    while head and sms_size(f"{head}… {tail}".rstrip()).segments > max_segments:
        head = head[: max(0, len(head) - 8)].rstrip()
    return f"{head}… {tail}".rstrip()


class SmsSender:
    """Sends one text per call (``RecipientSender``)."""

    def __init__(
        self,
        *,
        client: Any,
        settings: SmsSettings,
        bodies: Mapping[str, str],
        default_locale: str,
        on_opted_out: Callable[[str], None] = lambda _sid: None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._bodies = {loc: fit_segments(body, settings.max_segments) for loc, body in bodies.items()}
        self._default = default_locale
        self._on_opted_out = on_opted_out

    def body(self, member: Member) -> str:
        return self._bodies.get(member.locale) or self._bodies[self._default]

    def cost(self, member: Member) -> float:
        return float(max(1, sms_size(self.body(member)).segments))

    def send(self, member: Member) -> str:
        try:
            destination = e164(member.address)
        except InvalidPhoneNumberError as error:
            raise ChannelPermanentError(f"rejected: {error}") from None
        try:
            response = self._client.send_text_message(
                DestinationPhoneNumber=destination,
                OriginationIdentity=self._settings.origination_identity,
                MessageBody=self.body(member),
                MessageType="TRANSACTIONAL",
                ConfigurationSetName=self._settings.configuration_set,
            )
        except ClientError as error:
            if error.response.get("Reason") == OPTED_OUT or OPTED_OUT in str(error.response.get("Error", {})):
                self._on_opted_out(member.id)
                raise RecipientSkipped("opted_out") from None
            raise sms_voice_error(error, "SendTextMessage") from None
        return str(response["MessageId"])


class SmsChannel(SubscriberChannel):
    """SMS subscribers of the affected components."""

    channel = Channel.SMS
    store_channel = "sms"

    def __init__(
        self,
        *,
        plan: Plan,
        client: Any,
        on_opted_out: Callable[[str], None] = lambda _sid: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if plan.channels.sms is None:
            raise ValueError("the plan has no sms channel")
        self.plan = plan
        self.settings = plan.channels.sms
        self.client = client
        self.on_opted_out = on_opted_out

    def sender_for(
        self, messages: Mapping[str, Mapping[str, str]], html: Mapping[str, str], incident_id: str
    ) -> SmsSender:
        return SmsSender(
            client=self.client,
            settings=self.settings,
            bodies={loc: fields["body"] for loc, fields in messages.items()},
            default_locale=self.plan.default_locale,
            on_opted_out=self.on_opted_out,
        )
