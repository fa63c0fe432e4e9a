"""Approval requests: task tokens, who may decide, approvals of which text, and the one decision.

They live in their own table (``APPROVAL_TABLE``, key ``request_id``) that only the two approval
functions (``Wait for approval`` and the review page) can reach: a task token is enough to complete
the workflow's task, so no other function may read one.

A request moves ``open`` -> ``sending`` (one caller *claimed* the decision with a conditional write)
-> ``decided`` once ``SendTaskSuccess`` succeeded, or ``too_late`` when the task was gone. A claim
whose call failed for another reason goes back to ``open`` (marked ``uncertain``: the call may have
reached Step Functions). A claim left by a crashed caller is released by the next visitor after
:data:`STALE_CLAIM_SECONDS` (``release`` is conditional on that claim, so only one visitor does).
So a decision is sent at most once per successful claim, and recorded only after it was sent.

Every request keeps ``task_region``, the region of the execution whose ``Wait for approval`` issued its
task token (the step stores its own region: tokens are regional, docs/regions-runtime.md); the review page
answers the token in that region. A request without one (stored before regions were recorded) is this
region's.

Every approval is of one text: ``content_hash`` names the messages the approvers saw. Changing the
text (an edit) replaces the hash and the approvals with the editor's approval of the new text.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol

from botocore.exceptions import ClientError

#: A claim older than this (seconds) belongs to a caller that died between claim and finalise.
STALE_CLAIM_SECONDS = 120
#: Requests stay readable (the decision, approvers, hash) this long after their link expired.
RETENTION_SECONDS = 30 * 24 * 3600

OPEN, SENDING, DECIDED, TOO_LATE = "open", "sending", "decided", "too_late"


class ApprovalClosedError(Exception):
    """The request was decided, is too late, or is being decided by someone else right now."""

    def __init__(self, request_id: str, state: str) -> None:
        super().__init__(f"approval request {request_id} is {state}")
        self.state = state


class TextChangedError(Exception):
    """The text under review changed since the caller's page was rendered."""


class ApprovalStore(Protocol):
    def put(self, record: dict[str, Any]) -> None:
        """A new request: ``request_id``, ``task_token``, ``expires_at``, ``content_hash``, ..."""

    def get(self, request_id: str) -> dict[str, Any] | None:
        """The request with its ``state``, ``content_hash``, ``approvers``, edited ``messages``."""

    def approve(self, request_id: str, principal: str, content_hash: str) -> list[str]:
        """Add ``principal``'s approval of ``content_hash``; every distinct approver of it so far."""

    def replace_text(
        self, request_id: str, principal: str, old_hash: str, new_hash: str, messages: dict[str, Any]
    ) -> None:
        """``old_hash`` -> ``new_hash`` (edited ``messages``); approvals become the editor's alone."""

    def claim(self, request_id: str, claim_id: str, content_hash: str | None, now: float) -> None:
        """Take the decision (of ``content_hash``, when given); ApprovalClosedError / TextChangedError."""

    def finish(self, request_id: str, claim_id: str, state: str, outcome: dict[str, Any]) -> None:
        """The claimed decision ended: ``decided`` (sent) or ``too_late`` (the task was gone)."""

    def release(self, request_id: str, claim_id: str) -> None:
        """The call failed without an answer: open again, marked uncertain."""


def _loads(item: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(item["document"]["S"])
    record["state"] = item["state"]["S"]
    record["content_hash"] = item["content_hash"]["S"]
    record["approvers"] = list(dict.fromkeys(a["S"] for a in item.get("approvers", {}).get("L", [])))
    record["messages"] = json.loads(item["messages"]["S"]) if "messages" in item else None
    record["outcome"] = json.loads(item["outcome"]["S"]) if "outcome" in item else None
    record["uncertain"] = item.get("uncertain", {}).get("BOOL", False)
    record["claim_id"] = item["claim_id"]["S"] if "claim_id" in item else None
    record["claimed_at"] = float(item["claimed_at"]["N"]) if "claimed_at" in item else None
    return record


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


class DynamoApprovalStore:
    """:class:`ApprovalStore` on the approval table; every state change is one conditional write."""

    def __init__(self, *, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    def _key(self, request_id: str) -> dict[str, Any]:
        return {"request_id": {"S": request_id}}

    @property
    def region(self) -> str | None:
        """The region of this store's client: where ``Wait for approval`` (and its execution) runs."""
        return getattr(getattr(self._client, "meta", None), "region_name", None) or None

    def put(self, record: dict[str, Any]) -> None:
        static = {k: v for k, v in record.items() if k != "content_hash"}
        if not static.get("task_region") and self.region:
            static["task_region"] = self.region  # the token's region: the step's own
        self._client.put_item(
            TableName=self._table,
            Item={
                **self._key(record["request_id"]),
                "document": {"S": json.dumps(static, ensure_ascii=False)},
                "state": {"S": OPEN},
                "content_hash": {"S": record["content_hash"]},
                "approvers": {"L": []},
                "expires_at": {"N": str(int(record["expires_at"]) + RETENTION_SECONDS)},
            },
            ConditionExpression="attribute_not_exists(request_id)",
        )

    def get(self, request_id: str) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(request_id), ConsistentRead=True
        ).get("Item")
        return _loads(item) if item else None

    def _update(self, request_id: str, **kwargs: Any) -> dict[str, Any]:
        """One conditional update; on a failed condition, why (closed or text changed)."""
        try:
            response = self._client.update_item(
                TableName=self._table, Key=self._key(request_id), ReturnValues="ALL_NEW", **kwargs
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            current = self.get(request_id)
            if current is None:
                raise ApprovalClosedError(request_id, "missing") from None
            if current["state"] != OPEN:
                raise ApprovalClosedError(request_id, current["state"]) from None
            raise TextChangedError(request_id) from None
        return dict(response["Attributes"])

    def approve(self, request_id: str, principal: str, content_hash: str) -> list[str]:
        item = self._update(
            request_id,
            UpdateExpression="SET approvers = list_append(approvers, :p)",
            ConditionExpression="#s = :open AND content_hash = :h",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":p": {"L": [{"S": principal}]},
                ":open": {"S": OPEN},
                ":h": {"S": content_hash},
            },
        )
        return list(dict.fromkeys(a["S"] for a in item["approvers"]["L"]))

    def replace_text(
        self, request_id: str, principal: str, old_hash: str, new_hash: str, messages: dict[str, Any]
    ) -> None:
        self._update(
            request_id,
            UpdateExpression="SET content_hash = :new, messages = :m, approvers = :p",
            ConditionExpression="#s = :open AND content_hash = :old",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":new": {"S": new_hash},
                ":old": {"S": old_hash},
                ":m": {"S": json.dumps(messages, ensure_ascii=False)},
                ":p": {"L": [{"S": principal}]},
                ":open": {"S": OPEN},
            },
        )

    def claim(self, request_id: str, claim_id: str, content_hash: str | None, now: float) -> None:
        values: dict[str, Any] = {
            ":open": {"S": OPEN},
            ":sending": {"S": SENDING},
            ":me": {"S": claim_id},
            ":now": {"N": str(now)},
            ":one": {"N": "1"},
        }
        condition = "#s = :open"
        if content_hash is not None:
            condition += " AND content_hash = :h"
            values[":h"] = {"S": content_hash}
        self._update(
            request_id,
            UpdateExpression="SET #s = :sending, claim_id = :me, claimed_at = :now ADD attempts :one",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues=values,
        )

    def _end_claim(self, request_id: str, claim_id: str, update: str, values: dict[str, Any]) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(request_id),
                UpdateExpression=update,
                ConditionExpression="#s = :sending AND claim_id = :me",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={**values, ":sending": {"S": SENDING}, ":me": {"S": claim_id}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            raise ApprovalClosedError(request_id, "claimed by another caller") from None

    def finish(self, request_id: str, claim_id: str, state: str, outcome: dict[str, Any]) -> None:
        self._end_claim(
            request_id,
            claim_id,
            "SET #s = :state, outcome = :outcome",
            {":state": {"S": state}, ":outcome": {"S": json.dumps(outcome, ensure_ascii=False)}},
        )

    def release(self, request_id: str, claim_id: str) -> None:
        self._end_claim(
            request_id,
            claim_id,
            "SET #s = :open, uncertain = :yes",
            {":open": {"S": OPEN}, ":yes": {"BOOL": True}},
        )


class InMemoryApprovalStore:
    """:class:`ApprovalStore` in memory (unit tests), with the same conditions as the table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, dict[str, Any]] = {}

    def put(self, record: dict[str, Any]) -> None:
        with self._lock:
            if record["request_id"] in self.items:
                raise ValueError(f"approval request {record['request_id']} exists")
            self.items[record["request_id"]] = json.loads(
                json.dumps(
                    {
                        **record,
                        "state": OPEN,
                        "approvers": [],
                        "messages": None,
                        "outcome": None,
                        "claim_id": None,
                        "claimed_at": None,
                    }
                )
            )
            self.items[record["request_id"]].setdefault("uncertain", False)

    def get(self, request_id: str) -> dict[str, Any] | None:
        with self._lock:
            item = self.items.get(request_id)
            return json.loads(json.dumps(item)) if item else None

    def _open(self, request_id: str, content_hash: str | None) -> dict[str, Any]:
        item = self.items.get(request_id)
        if item is None:
            raise ApprovalClosedError(request_id, "missing")
        if item["state"] != OPEN:
            raise ApprovalClosedError(request_id, item["state"])
        if content_hash is not None and item["content_hash"] != content_hash:
            raise TextChangedError(request_id)
        return item

    def approve(self, request_id: str, principal: str, content_hash: str) -> list[str]:
        with self._lock:
            item = self._open(request_id, content_hash)
            item["approvers"].append(principal)
            return list(dict.fromkeys(item["approvers"]))

    def replace_text(
        self, request_id: str, principal: str, old_hash: str, new_hash: str, messages: dict[str, Any]
    ) -> None:
        with self._lock:
            item = self._open(request_id, old_hash)
            item.update(
                content_hash=new_hash, messages=json.loads(json.dumps(messages)), approvers=[principal]
            )

    def claim(self, request_id: str, claim_id: str, content_hash: str | None, now: float) -> None:
        with self._lock:
            item = self._open(request_id, content_hash)
            item.update(
                state=SENDING, claim_id=claim_id, claimed_at=now, attempts=item.get("attempts", 0) + 1
            )

    def _claimed(self, request_id: str, claim_id: str) -> dict[str, Any]:
        item = self.items.get(request_id)
        if item is None or item["state"] != SENDING or item.get("claim_id") != claim_id:
            raise ApprovalClosedError(request_id, "claimed by another caller")
        return item

    def finish(self, request_id: str, claim_id: str, state: str, outcome: dict[str, Any]) -> None:
        with self._lock:
            self._claimed(request_id, claim_id).update(state=state, outcome=json.loads(json.dumps(outcome)))

    def release(self, request_id: str, claim_id: str) -> None:
        with self._lock:
            self._claimed(request_id, claim_id).update(state=OPEN, uncertain=True)
