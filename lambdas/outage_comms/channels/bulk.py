"""Hand a large audience to the ``outage-comms-bulk-delivery`` state machine.

Writes the update's words (``messages.json``) and the recipients (``recipients.jsonl``) to the
bulk bucket and starts one execution per incident x update x channel. The execution name is
derived from those ids, so a retried delivery finds the execution already running instead of
sending twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.channels.base import ChannelRetryableError, Delivery, DeliveryResult
from outage_comms.subscribers.export import export_key, export_members
from outage_comms.subscribers.store import Member


def messages_key(incident_id: str, update_id: str, channel: str) -> str:
    return f"bulk/{incident_id}/{update_id}/{channel}/messages.json"


def execution_name(incident_id: str, update_id: str, channel: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{incident_id}-{update_id}-{channel}")[:80]


class BulkHandoff:
    def __init__(
        self, *, s3: Any, sfn: Any, bucket: str, state_machine_arn: str, feedback_table: str = ""
    ) -> None:
        """``feedback_table``: where the batches remember SMS that ask "Reply YES or NO" (written into
        ``messages.json`` beside the words: the batch function lives in the channels stack, which
        cannot name the workflow stack's table)."""
        self._s3 = s3
        self._sfn = sfn
        self._bucket = bucket
        self._arn = state_machine_arn
        self._feedback_table = feedback_table

    def start(self, delivery: Delivery, channel: str, members: Iterable[Member]) -> DeliveryResult:
        words_key = messages_key(delivery.incident_id, delivery.update_id, channel)
        self._s3.put_object(
            Bucket=self._bucket,
            Key=words_key,
            Body=json.dumps(
                {
                    "incident_id": delivery.incident_id,
                    "messages": delivery.messages,
                    "html": delivery.html,
                    **({"feedback_table": self._feedback_table} if self._feedback_table else {}),
                },
                ensure_ascii=False,
            ).encode("utf-8"),
            ContentType="application/json",
        )
        summary = export_members(
            members,
            s3=self._s3,
            bucket=self._bucket,
            key=export_key(delivery.incident_id, delivery.update_id, channel),
        )
        name = execution_name(delivery.incident_id, delivery.update_id, channel)
        try:
            response = self._sfn.start_execution(
                stateMachineArn=self._arn,
                name=name,
                input=json.dumps(
                    {
                        "channel": channel,
                        "incident_id": delivery.incident_id,
                        "update_id": delivery.update_id,
                        "recipients": {"bucket": summary.bucket, "key": summary.key, "count": summary.count},
                        "messages": {"bucket": self._bucket, "key": words_key},
                    }
                ),
            )
            arn = str(response["executionArn"])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code != "ExecutionAlreadyExists":
                raise ChannelRetryableError(f"unavailable: bulk delivery StartExecution: {code}") from None
            arn = f"{self._arn.replace(':stateMachine:', ':execution:')}:{name}"
        return DeliveryResult(
            channel=delivery.channel.value,
            status="delivered",
            provider_ids=[arn],
            detail=f"handed {summary.count} recipients to bulk delivery ({summary.by_locale})",
            locales=sorted(summary.by_locale),
        )
