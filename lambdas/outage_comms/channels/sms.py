"""SMS through AWS End User Messaging SMS (``pinpoint-sms-voice-v2`` ``SendTextMessage``).

TRANSACTIONAL, through the plan's configuration set and origination identity, one recipient per
call. Numbers are checked as E.164 with ``phonenumbers`` before any call. The token bucket spends
one token per message *part* (GSM-7 160/153, UCS-2 70/67 — ``guard.sms_size``), because the
origination number's throughput is counted in parts per second (MPS). A recipient who replied
STOP comes back as ``ConflictException`` / ``DESTINATION_PHONE_NUMBER_OPTED_OUT``: we mark them
opted out and never text them again.

With the plan's ``feedback.sms_replies``, every SMS whose body asks "Reply YES or NO" has its
``MessageId`` remembered in the feedback table (``feedback/replies.py``: a reply names the message
it answers by that id), 25 per ``BatchWriteItem``. Only those messages; and a failed write never
fails the delivery (the text is already out: its replies are then refused as unknown).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError
from outage_comms.channels.batch import RecipientSkipped
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.subscriber_channel import SubscriberChannel
from outage_comms.guard import sms_size
from outage_comms.plan import Plan, SmsSettings
from outage_comms.subscribers.phone import InvalidPhoneNumberError, e164
from outage_comms.subscribers.store import Member
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext


log = logging.getLogger(__name__)
OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
_THROTTLED = frozenset({"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"})


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


class SentSmsRecorder(Protocol):
    """Where the reply records go (``feedback.replies.SentSmsLog``); returns how many were not written."""

    def remember(self, sent: Iterable[Any]) -> int: ...


@dataclass
class ReplyRecording:
    """Which update's SMS ask for a reply, and where to remember their ``MessageId``."""

    recorder: SentSmsRecorder
    incident_id: str
    update_id: str
    expires_at: int
    #: locales whose body ends with the reply question
    locales: frozenset[str]
    pending: list[Any] = field(default_factory=list)

    def add(self, message_id: str, locale: str) -> None:
        from outage_comms.feedback.replies import SentSms, scenario_of  # checked in update_sender

        self.pending.append(
            SentSms(
                message_id=message_id,
                incident_id=self.incident_id,
                update_id=self.update_id,
                locale=locale,
                scenario=scenario_of(self.update_id),
                expires_at=self.expires_at,
            )
        )
        if len(self.pending) >= 25:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            left = self.recorder.remember(batch)
        except Exception as error:  # the texts are out: never fail (or resend) them for this
            log.warning(
                "SMS reply records not written (%s): replies to %d texts will be refused",
                type(error).__name__,
                len(batch),
            )
            return
        if left:
            log.warning("SMS reply records: %d of %d not written after retries", left, len(batch))


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
        replies: ReplyRecording | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._bodies = {loc: fit_segments(body, settings.max_segments) for loc, body in bodies.items()}
        self._default = default_locale
        self._on_opted_out = on_opted_out
        self._replies = replies

    def locale(self, member: Member) -> str:
        return member.locale if self._bodies.get(member.locale) else self._default

    def body(self, member: Member) -> str:
        return self._bodies[self.locale(member)]

    def body_of(self, locale: str) -> str:
        """The text as it goes out in ``locale`` (after ``fit_segments``)."""
        return self._bodies.get(locale) or self._bodies[self._default]

    def finish(self) -> None:
        """Write the reply records still buffered (``subscriber_channel.finish``)."""
        if self._replies is not None:
            self._replies.flush()

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
        message_id = str(response["MessageId"])
        locale = self.locale(member)
        if self._replies is not None and locale in self._replies.locales:
            self._replies.add(message_id, locale)
        return message_id


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
        sent_log: SentSmsRecorder | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        **kwargs: Any,
    ) -> None:
        """``sent_log``: where to remember the texts that ask for a reply (None: this deployment has none)."""
        super().__init__(**kwargs)
        if plan.channels.sms is None:
            raise ValueError("the plan has no sms channel")
        self.plan = plan
        self.settings = plan.channels.sms
        self.client = client
        self.on_opted_out = on_opted_out
        self.sent_log = sent_log
        self.now = now

    def update_sender(
        self,
        messages: Mapping[str, Mapping[str, str]],
        html: Mapping[str, str],
        incident_id: str,
        update_id: str,
    ) -> SmsSender:
        sender = self.sender_for(messages, html, incident_id)
        if self.sent_log is None or not update_id or not self.plan.feedback.sms_replies:
            return sender
        from outage_comms.feedback.messages import carries_reply_line
        from outage_comms.feedback.replies import scenario_of

        try:
            scenario_of(update_id)
        except ValueError:  # not an update id the workflow made: nothing a reply could be counted for
            log.warning("SMS reply records left out: update id %r is not NNN-<scenario>", update_id)
            return sender
        asking = frozenset(loc for loc in messages if carries_reply_line(sender.body_of(loc), loc))
        if not asking:
            return sender
        lifetime = timedelta(days=self.plan.feedback.link_lifetime_days)
        return self.sender_for(
            messages,
            html,
            incident_id,
            replies=ReplyRecording(
                recorder=self.sent_log,
                incident_id=incident_id,
                update_id=update_id,
                expires_at=int((self.now() + lifetime).timestamp()),
                locales=asking,
            ),
        )

    def sender_for(
        self,
        messages: Mapping[str, Mapping[str, str]],
        html: Mapping[str, str],
        incident_id: str,
        *,
        replies: ReplyRecording | None = None,
    ) -> SmsSender:
        return SmsSender(
            client=self.client,
            settings=self.settings,
            bodies={loc: fields["body"] for loc, fields in messages.items()},
            default_locale=self.plan.default_locale,
            on_opted_out=self.on_opted_out,
            replies=replies,
        )


def build(ctx: ChannelContext) -> SmsChannel:
    """The SMS adapter from the plan and the channels' deployment (``registry`` spec ``sms``)."""
    settings_of(ctx.plan, "sms")
    return SmsChannel(
        plan=ctx.plan,
        client=ctx.clients("pinpoint-sms-voice-v2"),
        on_opted_out=ctx.mark("opted_out"),
        sent_log=_sent_sms_log(ctx),
        audience=ctx.audience,
        bulk=ctx.bulk,
        inline_limit=ctx.settings.inline_limit,
        rate_per_second=ctx.settings.sms_parts_per_second,
    )


def _sent_sms_log(ctx: ChannelContext) -> Any:
    """Where SMS that ask "Reply YES or NO" are remembered; None without the plan's sms_replies or table."""
    if not (ctx.plan.feedback.enabled and ctx.plan.feedback.sms_replies and ctx.settings.feedback_table):
        return None
    from outage_comms.feedback.replies import SentSmsLog

    return SentSmsLog(table_name=ctx.settings.feedback_table, client=ctx.clients("dynamodb"))
