"""Sends the confirmations of new subscriptions: email (SES v2), a code by SMS, a code by silent push.

The push confirmation is a *silent* (data-only) push through End User Messaging Push: no words
on the screen, a ``Data`` payload ``{"type": "outage-comms.subscription", "code": …}`` that the
app reads and POSTs back to ``/subscriptions/confirm`` with its device token. Only the app holding
the token receives it, so only that app can complete the subscription.

It is the subscription service's ``ConfirmationSender`` (``outage_comms.subscribers.service``): a provider's
refusal reaches the service as ``UndeliverableError``, a provider that cannot take it now as
``ProviderUnavailableError`` (the service sits below the channels and knows no channel error).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from botocore.exceptions import ClientError

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError
from outage_comms.channels.email import ses_error
from outage_comms.channels.personalise import subscription_text
from outage_comms.channels.sms import sms_voice_error
from outage_comms.plan import Plan
from outage_comms.subscribers.service import ProviderUnavailableError, UndeliverableError

P = ParamSpec("P")
R = TypeVar("R")


def _as_subscription_errors(send: Callable[P, R]) -> Callable[P, R]:
    """The channel errors of a confirmation, as the subscription service's errors."""

    @functools.wraps(send)
    def sending(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return send(*args, **kwargs)
        except ChannelPermanentError:
            raise UndeliverableError(
                "we could not send a confirmation to this address: check it, or use another one"
            ) from None
        except ChannelRetryableError:
            raise ProviderUnavailableError("we cannot send confirmations now; try again later") from None

    return sending


class ConfirmationMessages:
    """``ConfirmationSender`` over SES v2 and End User Messaging SMS."""

    def __init__(
        self, *, plan: Plan, ses: Any = None, sms: Any = None, push: Any = None, push_application_id: str = ""
    ) -> None:
        self._plan = plan
        self._ses = ses
        self._sms = sms
        self._push = push
        self._push_application_id = push_application_id

    @_as_subscription_errors
    def confirm_email(self, *, to: str, locale: str, confirm_url: str) -> None:
        settings = self._plan.channels.email
        if settings is None or self._ses is None:
            raise RuntimeError("email is not enabled in the plan")
        subject = subscription_text(self._plan, locale, "confirm_email", "subject")
        body = subscription_text(self._plan, locale, "confirm_email", "body", confirm_url=confirm_url)
        try:
            self._ses.send_email(
                FromEmailAddress=settings.from_address,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                    }
                },
                ConfigurationSetName=settings.configuration_set,
            )
        except ClientError as error:
            raise ses_error(error, "SendEmail (confirmation)") from None

    @_as_subscription_errors
    def confirm_sms(self, *, to: str, locale: str, code: str, minutes: int) -> None:
        settings = self._plan.channels.sms
        if settings is None or self._sms is None:
            raise RuntimeError("sms is not enabled in the plan")
        body = subscription_text(self._plan, locale, "confirm_sms", "body", code=code, minutes=minutes)
        try:
            self._sms.send_text_message(
                DestinationPhoneNumber=to,
                OriginationIdentity=settings.origination_identity,
                MessageBody=body,
                MessageType="TRANSACTIONAL",
                ConfigurationSetName=settings.configuration_set,
            )
        except ClientError as error:
            raise sms_voice_error(error, "SendTextMessage (confirmation code)") from None

    @_as_subscription_errors
    def confirm_push(self, *, to: str, platform: str, code: str) -> None:
        if self._push is None or not self._push_application_id:
            raise ChannelPermanentError("rejected: push is not enabled in the plan")
        from outage_comms.channels.push import pinpoint_error

        data = {"type": "outage-comms.subscription", "code": code}
        request = {
            "Addresses": {to: {"ChannelType": platform}},
            "MessageConfiguration": {
                "APNSMessage": {"SilentPush": True, "Data": data, "APNSPushType": "background"},
                "GCMMessage": {"SilentPush": True, "Data": data},
            },
        }
        try:
            response = self._push.send_messages(
                ApplicationId=self._push_application_id, MessageRequest=request
            )
        except ClientError as error:
            raise pinpoint_error(error) from None
        result = response.get("MessageResponse", {}).get("Result", {}).get(to, {})
        status = str(result.get("DeliveryStatus", ""))
        if status in ("THROTTLED", "TEMPORARY_FAILURE", "UNKNOWN_FAILURE"):
            raise ChannelRetryableError(f"unavailable: push confirmation: {status}")
        if status != "SUCCESSFUL":
            raise ChannelPermanentError(f"rejected: push confirmation: {status or 'no result'}")
