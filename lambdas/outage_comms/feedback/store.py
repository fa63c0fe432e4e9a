"""Where answers go: one DynamoDB table (``pk``/``sk``, TTL on ``expires_at``), owned by the workflow stack.

=======================================================  ================================  ==================
pk                                                       sk                                holds
=======================================================  ================================  ==================
``INCIDENT#<id>``                                        ``COUNT#<update>#<channel>#``     ``yes``, ``no``,
                                                         ``<locale>#<scenario>``           ``comments`` (ADD)
``INCIDENT#<id>``                                        ``COMMENT#<at>#<client prefix>``  one comment
``CLICK#<id>#<update>#<channel>#<locale>#<client>``      ``CLICK``                         the answer given;
                                                                                           TTL after expiry
=======================================================  ================================  ==================

Counting is two writes, in this order: a *conditional* put of the click record (fails if this
client already answered this message: a replay) and an ``UpdateItem ADD`` on the counter (atomic
on the server, so concurrent clicks never lose a count). Not a transaction on purpose: every voter
of one message adds to the same counter item, and transactions on a hot item fail with
``TransactionConflict``. If the ADD fails, the click record is deleted again so a retry can count.

``client`` is who answered: ``r-<tag>`` for a per-recipient link (one answer per recipient), else an
HMAC-SHA256 (keyed with a secret derived from the signing secret: a salted hash) of the client's
network, the IPv4 address or the IPv6 /64 (``subscribers/network.py``): the raw values are never
stored. The User-Agent is not part of it: one address with 100 User-Agents is one client.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from outage_comms.feedback.links import LinkClaims, derive_key

MAX_COMMENT_CHARS = 1000
#: Click records outlive the link by a day (a click at the last second is still deduplicated).
CLICK_GRACE_SECONDS = 24 * 3600


class AlreadyCountedError(Exception):
    """This client already answered this message (or already left a comment on it)."""


class NoAnswerYetError(Exception):
    """A comment arrived from a client whose answer we have not counted."""


def client_id(secret: bytes, source_ip: str, user_agent: str = "") -> str:
    """A salted fingerprint of who clicked: the source's network (IPv4 address or IPv6 /64).

    ``user_agent`` is accepted and ignored: it is the client's to choose, so it never made a second
    voter (a replay with another User-Agent counted again).
    """
    from outage_comms.subscribers.network import client_network

    key = derive_key(secret, "client")
    return hmac.new(key, client_network(source_ip).encode(), hashlib.sha256).hexdigest()[:32]


def viewer_address(headers: dict[str, str]) -> str:
    """The viewer's IP from ``CloudFront-Viewer-Address`` (``198.51.100.10:46532``, ``2001:db8::1:443``):
    through the status site's ``/f/*`` route the connecting address is CloudFront's. '' when absent or
    not an address. (A direct caller of the API can set it, like using many addresses: the counts are a
    signal about wording, throttled and WAF-limited, never a decision input.)"""
    import ipaddress

    value = headers.get("cloudfront-viewer-address", "").strip()
    host = value.rsplit(":", 1)[0].strip("[]") if ":" in value else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return ""


def voter_of(claims: LinkClaims, secret: bytes, source_ip: str) -> str:
    """Who votes: the recipient of a per-recipient link, else the client's network."""
    return f"r-{claims.recipient}" if claims.recipient else client_id(secret, source_ip)


def _empty() -> dict[str, int]:
    return {"yes": 0, "no": 0, "comments": 0}


def _add(into: dict[str, int], counts: dict[str, int]) -> None:
    for name, value in counts.items():
        into[name] = into.get(name, 0) + value


@dataclass(frozen=True)
class Comment:
    incident_id: str
    update_id: str
    channel: str
    locale: str
    scenario: str
    vote: str
    text: str
    at: str


class DynamoFeedbackStore:
    """Counts, click records and comments; also the :class:`outage_comms.ports.FeedbackTally`."""

    def __init__(self, *, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = client

    @classmethod
    def named(cls, table_name: str) -> DynamoFeedbackStore:
        from outage_comms.aws_clients import client

        return cls(table_name=table_name, client=client("dynamodb"))

    # -- answers ---------------------------------------------------------------------------------
    @staticmethod
    def _click_key(claims: LinkClaims, client: str) -> dict[str, Any]:
        pk = f"CLICK#{claims.incident_id}#{claims.update_id}#{claims.channel.value}#{claims.locale}#{client}"
        return {"pk": {"S": pk}, "sk": {"S": "CLICK"}}

    @staticmethod
    def _count_key(claims: LinkClaims) -> dict[str, Any]:
        sk = f"COUNT#{claims.update_id}#{claims.channel.value}#{claims.locale}#{claims.scenario.value}"
        return {"pk": {"S": f"INCIDENT#{claims.incident_id}"}, "sk": {"S": sk}}

    def record_vote(self, claims: LinkClaims, vote: str, client: str, now: datetime) -> None:
        """Count one answer (``yes``/``no``) once per client and message; AlreadyCountedError on a replay."""
        if vote not in ("yes", "no"):
            raise ValueError(f"vote must be 'yes' or 'no', not {vote!r}")
        click_key = self._click_key(claims, client)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **click_key,
                    "vote": {"S": vote},
                    "at": {"S": now.isoformat()},
                    "expires_at": {"N": str(claims.expires_at + CLICK_GRACE_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise AlreadyCountedError("this answer was already counted") from None
            raise
        try:
            self._add_to_counter(claims, vote)
        except Exception:
            self._client.delete_item(TableName=self._table, Key=click_key)
            raise

    def _add_to_counter(self, claims: LinkClaims, name: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._count_key(claims),
            UpdateExpression="ADD #n :one SET incident_id = :i, update_id = :u, channel = :c, "
            "locale = :l, scenario = :s",
            ExpressionAttributeNames={"#n": name},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":i": {"S": claims.incident_id},
                ":u": {"S": claims.update_id},
                ":c": {"S": claims.channel.value},
                ":l": {"S": claims.locale},
                ":s": {"S": claims.scenario.value},
            },
        )

    def add_comment(self, claims: LinkClaims, client: str, text: str, now: datetime) -> Comment:
        """Keep one comment per client and message, after its answer; AlreadyCountedError for a second."""
        text = text.strip()
        if not text or len(text) > MAX_COMMENT_CHARS:
            raise ValueError(f"a comment holds 1 to {MAX_COMMENT_CHARS} characters")
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._click_key(claims, client),
                UpdateExpression="SET commented_at = :at",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(commented_at)",
                ExpressionAttributeValues={":at": {"S": now.isoformat()}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            if error.response.get("Item"):
                raise AlreadyCountedError("a comment was already left for this message") from None
            raise NoAnswerYetError("no answer from this client for this message") from None
        vote = response["Attributes"]["vote"]["S"]
        comment = Comment(
            incident_id=claims.incident_id,
            update_id=claims.update_id,
            channel=claims.channel.value,
            locale=claims.locale,
            scenario=claims.scenario.value,
            vote=vote,
            text=text,
            at=now.isoformat(),
        )
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"INCIDENT#{claims.incident_id}"},
                "sk": {"S": f"COMMENT#{comment.at}#{client[:12]}"},
                **{name: {"S": str(getattr(comment, name))} for name in Comment.__dataclass_fields__},
            },
        )
        self._add_to_counter(claims, "comments")
        return comment

    def has_answered(self, claims: LinkClaims, client: str) -> dict[str, str] | None:
        """The click record of this client for this message (``vote``, ``commented_at``?), if any."""
        item = self._client.get_item(
            TableName=self._table, Key=self._click_key(claims, client), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return {name: value["S"] for name, value in item.items() if "S" in value and name not in ("pk", "sk")}

    # -- reading ---------------------------------------------------------------------------------
    def _query(self, incident_id: str, prefix: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": f"INCIDENT#{incident_id}"}, ":prefix": {"S": prefix}},
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**kwargs)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def counts(self, incident_id: str) -> dict[str, Any]:
        """:meth:`outage_comms.ports.FeedbackTally.counts`: totals and per channel/locale/scenario/update."""
        result: dict[str, Any] = {
            **_empty(),
            "by_channel": {},
            "by_locale": {},
            "by_scenario": {},
            "by_update": {},
        }
        for item in self._query(incident_id, "COUNT#"):
            counts = {name: int(item[name]["N"]) if name in item else 0 for name in ("yes", "no", "comments")}
            _add(result, counts)
            for breakdown, attribute in (
                ("by_channel", "channel"),
                ("by_locale", "locale"),
                ("by_scenario", "scenario"),
                ("by_update", "update_id"),
            ):
                _add(result[breakdown].setdefault(item[attribute]["S"], _empty()), counts)
        return result

    def comments(self, incident_id: str) -> list[Comment]:
        """Every comment on the incident, oldest first."""
        return [
            Comment(**{name: item[name]["S"] for name in Comment.__dataclass_fields__})
            for item in self._query(incident_id, "COMMENT#")
        ]


class WorkflowUpdates:
    """Does an update exist? One ``GetItem`` on the workflow table (key only), remembered when it does."""

    def __init__(self, *, table_name: str, client: Any, remember: int = 4096) -> None:
        self._table = table_name
        self._client = client
        self._known: dict[tuple[str, str], None] = {}
        self._remember = remember
        self._lock = threading.Lock()

    def exists(self, incident_id: str, update_id: str) -> bool:
        key = (incident_id, update_id)
        if key in self._known:
            return True
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": f"UPDATE#{update_id}"}},
            ProjectionExpression="pk",
        ).get("Item")
        if item:
            with self._lock:
                if len(self._known) >= self._remember:
                    self._known.pop(next(iter(self._known)))
                self._known[key] = None
        return bool(item)
