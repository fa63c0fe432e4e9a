"""Sends the confirmation email (SES v2) and confirmation code (SMS) for new subscriptions."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from outage_comms.channels.email import ses_error
from outage_comms.channels.personalise import subscription_text
from outage_comms.channels.sms import sms_voice_error
from outage_comms.plan import Plan


class ConfirmationMessages:
    """``ConfirmationSender`` over SES v2 and End User Messaging SMS."""

    def __init__(self, *, plan: Plan, ses: Any = None, sms: Any = None) -> None:
        self._plan = plan
        self._ses = ses
        self._sms = sms

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
