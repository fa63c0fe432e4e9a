"""Send to many recipients one by one: rate-limited, each failure retried then recorded, none dropped.

Retryable failures (throttling, 5xx, timeouts) are retried per recipient with exponential backoff
and full jitter; what still fails is returned in ``failed`` with its reason, beside ``sent``. If
nothing at all was sent and every failure was retryable, the whole batch raises
``ChannelRetryableError`` so the state machine retries it without sending anything twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from outage_comms.channels.base import ChannelPermanentError, ChannelRetryableError
from outage_comms.channels.rate import TokenBucket

R = TypeVar("R")


class RecipientSkipped(Exception):
    """Not an error: the recipient must not get this message (opted out, no longer valid)."""


@dataclass
class BatchOutcome:
    sent: list[str] = field(default_factory=list)
    provider_ids: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    attempts: int = 0

    def as_dict(self, *, with_ids: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sent": len(self.sent),
            "failed": self.failed,
            "skipped": self.skipped,
            "attempts": self.attempts,
        }
        if with_ids:
            out["provider_ids"] = self.provider_ids
        return out


def send_each(
    recipients: Iterable[R],
    send: Callable[[R], str],
    *,
    recipient_id: Callable[[R], str],
    bucket: TokenBucket | None = None,
    cost: Callable[[R], float] = lambda _: 1.0,
    attempts: int = 3,
    base_delay: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> BatchOutcome:
    rng = rng or random.Random()  # noqa: S311 (jitter, not security)
    outcome = BatchOutcome()
    all_retryable = True
    for recipient in recipients:
        rid = recipient_id(recipient)
        for attempt in range(1, attempts + 1):
            if bucket is not None:
                bucket.acquire(cost(recipient))
            outcome.attempts += 1
            try:
                outcome.provider_ids.append(send(recipient))
                outcome.sent.append(rid)
                break
            except RecipientSkipped as skip:
                outcome.skipped.append({"id": rid, "reason": str(skip)})
                break
            except ChannelRetryableError as error:
                if attempt == attempts:
                    outcome.failed.append({"id": rid, "reason": str(error), "retryable": "true"})
                else:
                    sleep(rng.uniform(0, base_delay * 2 ** (attempt - 1)))
            except ChannelPermanentError as error:
                all_retryable = False
                outcome.failed.append({"id": rid, "reason": str(error), "retryable": "false"})
                break
    if outcome.failed and not outcome.sent and not outcome.skipped and all_retryable:
        raise ChannelRetryableError(
            f"{outcome.failed[0]['reason']} (all {len(outcome.failed)} recipients failed; "
            "safe to retry the batch)"
        )
    return outcome
