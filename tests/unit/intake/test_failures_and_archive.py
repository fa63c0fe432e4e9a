"""Which intake failures are retried, and how an archived event keeps its body when it is large."""

from __future__ import annotations

import base64
import hashlib
import random
import zlib

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from botocore.exceptions import ClientError, EndpointConnectionError

from outage_comms.intake.failures import failure_rejection, is_transient
from outage_comms.intake.outlets import MAX_SQS_MESSAGE_BYTES, fitting_body
from outage_comms.intake.service import IntakeConflictError

pytestmark = pytest.mark.unit


def aws(code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "arn:aws:dynamodb:us-east-1:123456789012:table/x"}}, "Op"
    )


@pytest.mark.parametrize(
    "error",
    [
        aws("ThrottlingException"),
        aws("ProvisionedThroughputExceededException"),
        aws("InternalServerError"),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
        IntakeConflictError("changed under us"),
        IdempotencyAlreadyInProgressError("in progress"),
    ],
)
def test_aws_trouble_and_races_are_retried(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        aws("ValidationException"),
        ValueError("bad"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates"),
        RecursionError(),
        KeyError("x"),
        TypeError("t"),
    ],
)
def test_what_would_fail_the_same_way_again_is_archived_at_once(error: Exception) -> None:
    assert not is_transient(error)
    rejection = failure_rejection(error, last_receive=False)
    assert rejection.code == "intake_error" and len(rejection.reason) > 40


def test_an_archived_reason_never_carries_the_aws_message() -> None:
    rejection = failure_rejection(aws("ThrottlingException"), last_receive=True)
    assert rejection.code == "intake_kept_failing"
    assert "ThrottlingException" in rejection.reason and "123456789012" not in rejection.reason


def attributes() -> dict[str, dict[str, str]]:
    return {"rejection_reason": {"DataType": "String", "StringValue": "r" * 2000}}


def test_a_body_that_fits_is_kept_as_is() -> None:
    given = attributes()
    assert fitting_body("{}", given) == "{}" and set(given) == {"rejection_reason"}


def test_a_body_that_no_longer_fits_is_compressed_losslessly() -> None:
    body = '{"filler": "' + "abc" * 87_000 + '"}'
    given = attributes()
    packed = fitting_body(body, given)
    assert given["body_encoding"]["StringValue"] == "zlib+base64"
    assert zlib.decompress(base64.b64decode(packed)).decode() == body


def test_an_incompressible_body_is_truncated_with_its_size_and_hash() -> None:
    body = base64.b64encode(random.Random(1).randbytes(MAX_SQS_MESSAGE_BYTES)).decode()[
        :MAX_SQS_MESSAGE_BYTES
    ]
    given = attributes()
    kept = fitting_body(body, given)
    assert "body_encoding" not in given
    assert len(kept.encode()) < MAX_SQS_MESSAGE_BYTES - 2000
    assert body.startswith(kept)
    assert hashlib.sha256(body.encode()).hexdigest() in given["body_truncated"]["StringValue"]
