"""Write an update's recipients as JSONL to S3, the input of the bulk delivery Distributed Map.

One line per recipient: ``{"id": ..., "to": ..., "locale": ...}`` (plus ``platform`` for push).
The file is spooled to ``/tmp`` past 8 MB and uploaded with multipart transfer, so a million
recipients (about 80 MB) stream through without holding them in memory. The bucket encrypts it
with the Outage Comms key and expires exports after a few days: they hold addresses.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from outage_comms.subscribers.store import Member


@dataclass(frozen=True)
class ExportSummary:
    bucket: str
    key: str
    count: int
    by_locale: dict[str, int] = field(default_factory=dict)


def export_key(incident_id: str, update_id: str, channel: str) -> str:
    return f"bulk/{incident_id}/{update_id}/{channel}/recipients.jsonl"


def write_jsonl(members: Iterable[Member], out: Any) -> Counter[str]:
    locales: Counter[str] = Counter()
    for member in members:
        out.write(
            json.dumps(member.as_export(), ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        )
        locales[member.locale] += 1
    return locales


def export_members(members: Iterable[Member], *, s3: Any, bucket: str, key: str) -> ExportSummary:
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        locales = write_jsonl(members, spool)
        spool.seek(0)
        s3.upload_fileobj(spool, bucket, key, ExtraArgs={"ContentType": "application/x-ndjson"})
    return ExportSummary(bucket=bucket, key=key, count=sum(locales.values()), by_locale=dict(locales))
