"""Email through Amazon SES v2 ``SendEmail``: HTML + text, per-recipient locale, one-click unsubscribe.

Every message carries (RFC 8058)::

    List-Unsubscribe: <https://…/unsubscribe?token=…>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

and goes through the plan's configuration set, whose bounce and complaint events reach the
suppression handler. The words are rendered once per locale; each recipient's copy differs only
in its unsubscribe and feedback links (see ``personalise``).

Why one ``SendEmail`` per recipient and not ``SendBulkEmail`` (50 per call): the unsubscribe
header must be per recipient, and ``SendBulkEmail`` would pass the team's typed words through
SES's Handlebars templating, where a ``{{`` in an impact text breaks or injects. SES's rate quota
counts recipients either way, so throughput is the same at the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError
from outage_comms.channels.catalog import settings_of
from outage_comms.channels.personalise import (
    UNSUBSCRIBE,
    RecipientLinks,
    SlotTemplate,
    compile_slots,
    generic_links,
    html_values,
    subscription_text,
)
from outage_comms.channels.subscriber_channel import SubscriberChannel
from outage_comms.plan import EmailSettings, Plan
from outage_comms.subscribers.store import Member
from outage_comms.subscribers.tokens import TokenSigner
from outage_comms.vocabulary import Channel

if TYPE_CHECKING:
    from outage_comms.channels.catalog import ChannelContext

ONE_CLICK = "List-Unsubscribe=One-Click"
_THROTTLED = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"}
)


def ses_error(error: ClientError, what: str) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _THROTTLED:
        return ChannelRetryableError(f"throttled: SES {what}: {code}: {message}")
    if status >= 500 or code in ("InternalFailure", "ServiceUnavailable"):
        return ChannelRetryableError(f"unavailable: SES {what}: {code}: {message}")
    if code in ("AccessDeniedException", "AccessDenied"):
        return ChannelPermanentError(f"credentials: SES {what}: {code}: {message}")
    return ChannelPermanentError(f"rejected: SES {what}: {code}: {message}")


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: SlotTemplate
    html: SlotTemplate | None


def email_contents(
    plan: Plan, messages: Mapping[str, Mapping[str, str]], html: Mapping[str, str]
) -> dict[str, EmailContent]:
    """Per locale: the subject, and text/HTML split at the links each recipient gets their own of."""
    links = generic_links(plan)
    contents = {}
    for locale, fields in messages.items():
        footer = subscription_text(plan, locale, "email_footer", "body", unsubscribe_url=links[UNSUBSCRIBE])
        text = f"{fields['body']}\n\n-- \n{footer}"
        page = html.get(locale)
        contents[locale] = EmailContent(
            subject=fields["subject"],
            text=compile_slots(text, links),
            html=compile_slots(page, links) if page else None,
        )
    return contents


class EmailSender:
    """Sends one personalised email per call (``RecipientSender``)."""

    def __init__(
        self,
        *,
        client: Any,
        settings: EmailSettings,
        contents: Mapping[str, EmailContent],
        links: RecipientLinks,
        default_locale: str,
        incident_id: str,
    ) -> None:
        self._client = client
        self._settings = settings
        self._contents = contents
        self._links = links
        self._default = default_locale
        self._incident_id = incident_id

    def cost(self, member: Member) -> float:
        return 1.0

    def request(self, member: Member) -> dict[str, Any]:
        content = self._contents.get(member.locale) or self._contents[self._default]
        values = self._links.for_recipient(member.id)
        body: dict[str, Any] = {"Text": {"Data": content.text.fill(values), "Charset": "UTF-8"}}
        if content.html is not None:
            body["Html"] = {"Data": content.html.fill(html_values(values)), "Charset": "UTF-8"}
        request: dict[str, Any] = {
            "FromEmailAddress": self._settings.from_address,
            "Destination": {"ToAddresses": [member.address]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": content.subject, "Charset": "UTF-8"},
                    "Body": body,
                    "Headers": [
                        {"Name": "List-Unsubscribe", "Value": f"<{values[UNSUBSCRIBE]}>"},
                        {"Name": "List-Unsubscribe-Post", "Value": ONE_CLICK},
                    ],
                }
            },
            "ConfigurationSetName": self._settings.configuration_set,
            "EmailTags": [
                {"Name": "incident", "Value": _tag(self._incident_id)},
                {"Name": "locale", "Value": _tag(member.locale)},
            ],
        }
        if self._settings.reply_to:
            request["ReplyToAddresses"] = [self._settings.reply_to]
        return request

    def send(self, member: Member) -> str:
        try:
            response = self._client.send_email(**self.request(member))
        except ClientError as error:
            raise ses_error(error, "SendEmail") from None
        return str(response["MessageId"])


def _tag(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in value)[:256] or "none"


class EmailChannel(SubscriberChannel):
    """Email subscribers of the affected components, each in their own language."""

    channel = Channel.EMAIL
    store_channel = "email"

    def __init__(
        self,
        *,
        plan: Plan,
        client: Any,
        signer: TokenSigner,
        unsubscribe_base: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if plan.channels.email is None:
            raise ValueError("the plan has no email channel")
        self.plan = plan
        self.settings = plan.channels.email
        self.client = client
        self.signer = signer
        self.unsubscribe_base = unsubscribe_base

    def sender_for(
        self, messages: Mapping[str, Mapping[str, str]], html: Mapping[str, str], incident_id: str
    ) -> EmailSender:
        return EmailSender(
            client=self.client,
            settings=self.settings,
            contents=email_contents(self.plan, messages, html),
            links=RecipientLinks(
                signer=self.signer,
                unsubscribe_base=self.unsubscribe_base,
                incident_id=incident_id,
            ),
            default_locale=self.plan.default_locale,
            incident_id=incident_id,
        )


def build(ctx: ChannelContext) -> EmailChannel:
    """The email adapter from the plan and the channels' deployment (``registry`` spec ``email``)."""
    settings_of(ctx.plan, "email")
    return EmailChannel(
        plan=ctx.plan,
        client=ctx.clients("sesv2"),
        signer=ctx.signer,
        unsubscribe_base=ctx.settings.unsubscribe_url,
        audience=ctx.audience,
        bulk=ctx.bulk,
        inline_limit=ctx.settings.inline_limit,
        rate_per_second=ctx.settings.email_rate_per_second,
    )
