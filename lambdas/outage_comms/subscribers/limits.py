"""Abuse limits for the public subscribe API: DynamoDB counters per window, expired by TTL.

``allow(scope, key, limit, window_seconds)`` atomically adds one to the counter of the current
window and refuses once it reaches ``limit``. Keys are hashed, so the limits table holds no email
addresses, phone numbers or IP addresses in clear.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

#: Per mailbox (``addresses.mailbox_key``): confirmations one mailbox can be sent in a day (no mail-bombing).
PER_ADDRESS = (3, 24 * 3600)
#: Per client network (IPv4 address, IPv6 /64: ``network.client_network``): subscribe requests in an hour.
PER_SOURCE_IP = (10, 3600)
#: Per wider network (IPv4 /24, IPv6 /48: ``network.wider_network``): subscribe requests in an hour.
PER_WIDE_NETWORK = (50, 3600)


class RateLimiter:
    def __init__(self, table: Any, *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    @classmethod
    def named(cls, table_name: str) -> RateLimiter:
        from outage_comms.aws_clients import resource  # the shared session: no second model parse

        return cls(resource("dynamodb").Table(table_name))

    def allow(self, scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
        now = int(self._clock())
        window = now // window_seconds
        digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
        try:
            self._table.update_item(
                Key={"pk": f"{scope}#{digest}#{window}"},
                UpdateExpression="ADD hits :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={
                    ":one": 1,
                    ":limit": limit,
                    ":expires": (window + 1) * window_seconds + 60,
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
