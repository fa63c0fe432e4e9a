"""Voice calls for the critical audiences (``pinpoint-sms-voice-v2`` ``SendVoiceMessage``).

Only recipients in the plan's voice audiences (``channels.voice.audiences``, else every audience
marked ``critical``) are called, each in their locale with the plan's Amazon Polly voice for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from outage_comms.channels.base import ChannelPermanentError, Delivery
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.sms import sms_voice_error
from outage_comms.channels.subscriber_channel import SubscriberChannel
from outage_comms.plan import Plan, VoiceSettings
from outage_comms.subscribers.phone import InvalidPhoneNumberError, e164
from outage_comms.subscribers.store import Member
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext


DEFAULT_VOICES = {"en": "JOANNA", "pt-BR": "CAMILA"}


def voice_audiences(plan: Plan) -> list[str]:
    voice = plan.channels.voice
    if voice is not None and voice.audiences:
        return list(voice.audiences)
    return [a.id for a in plan.audiences if a.critical]


def voice_id(settings: VoiceSettings, locale: str) -> str:
    """The Polly voice for ``locale`` as the API spells it (``JOANNA``)."""
    return (settings.voice_ids.get(locale) or DEFAULT_VOICES.get(locale) or "JOANNA").upper()


class VoiceSender:
    def __init__(
        self, *, client: Any, settings: VoiceSettings, bodies: Mapping[str, str], default_locale: str
    ) -> None:
        self._client = client
        self._settings = settings
        self._bodies = bodies
        self._default = default_locale

    def cost(self, member: Member) -> float:
        return 1.0

    def send(self, member: Member) -> str:
        locale = member.locale if member.locale in self._bodies else self._default
        try:
            destination = e164(member.address)
        except InvalidPhoneNumberError as error:
            raise ChannelPermanentError(f"rejected: {error}") from None
        try:
            response = self._client.send_voice_message(
                DestinationPhoneNumber=destination,
                OriginationIdentity=self._settings.origination_identity,
                MessageBody=self._bodies[locale],
                MessageBodyTextType="TEXT",
                VoiceId=voice_id(self._settings, locale),
            )
        except ClientError as error:
            raise sms_voice_error(error, "SendVoiceMessage") from None
        return str(response["MessageId"])


class VoiceChannel(SubscriberChannel):
    channel = Channel.VOICE
    store_channel = "voice"

    def __init__(self, *, plan: Plan, client: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if plan.channels.voice is None:
            raise ValueError("the plan has no voice channel")
        self.plan = plan
        self.settings = plan.channels.voice
        self.client = client

    def audiences_for(self, delivery: Delivery) -> Sequence[str]:
        wanted = set(voice_audiences(self.plan))
        return [a for a in delivery.audiences if a in wanted] or ["-none-"]

    def sender_for(
        self, messages: Mapping[str, Mapping[str, str]], html: Mapping[str, str], incident_id: str
    ) -> VoiceSender:
        return VoiceSender(
            client=self.client,
            settings=self.settings,
            bodies={loc: fields["body"] for loc, fields in messages.items()},
            default_locale=self.plan.default_locale,
        )


def build(ctx: ChannelContext) -> VoiceChannel:
    """The voice adapter (``registry`` spec ``voice``): the critical audience is small, never bulk."""
    settings_of(ctx.plan, "voice")
    return VoiceChannel(
        plan=ctx.plan,
        client=ctx.clients("pinpoint-sms-voice-v2"),
        audience=ctx.audience,
        inline_limit=10_000,
        rate_per_second=1.0,
    )
