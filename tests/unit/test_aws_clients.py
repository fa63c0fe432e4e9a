"""One boto3 session per process, whose botocore loader reads the same models without the cold-start waste."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.loaders import Loader
from moto import mock_aws

from outage_comms import aws_clients

pytestmark = pytest.mark.unit

SERVICES = ("dynamodb", "sesv2", "stepfunctions", "sns", "secretsmanager", "pinpoint-sms-voice-v2")


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    aws_clients.reset_clients()
    yield
    aws_clients.reset_clients()


def _shape(model: Any, name: str, depth: int = 0) -> Any:
    shape = model.shape_for(name)
    if depth > 3:
        return shape.type_name
    members = getattr(shape, "members", None)
    if isinstance(members, dict):
        return (shape.type_name, [(k, _shape(model, v.name, depth + 1)) for k, v in members.items()])
    return shape.type_name


@pytest.mark.parametrize("service", SERVICES)
def test_clients_see_the_same_service_model_as_a_default_session(service: str) -> None:
    ours = aws_clients.client(service).meta.service_model
    default = boto3.session.Session(region_name="eu-west-1").client(service).meta.service_model
    assert ours.operation_names == default.operation_names
    assert ours.metadata == default.metadata
    for operation in ours.operation_names[:15]:
        mine, theirs = ours.operation_model(operation), default.operation_model(operation)
        assert mine.http == theirs.http
        if mine.input_shape is not None:  # members in the same order (serialisers follow it)
            assert _shape(ours, mine.input_shape.name) == _shape(default, theirs.input_shape.name)


def test_models_are_plain_dicts_and_no_service_folder_scan_happens() -> None:
    session = aws_clients.session()
    loader = session._session.get_component("data_loader")
    with mock.patch.object(Loader, "list_available_services", side_effect=AssertionError("scanned")):
        model = loader.load_service_model("sns", "service-2")
    assert type(model) is dict and not isinstance(model["operations"], OrderedDict)
    # botocore's default still scans and builds OrderedDicts (what the loader saves)
    assert isinstance(Loader().load_service_model("sns", "service-2"), OrderedDict)


def test_an_unknown_service_still_fails() -> None:
    with pytest.raises((UnknownServiceError, DataNotFoundError)):
        aws_clients.client("no-such-service")


def test_one_session_serves_clients_and_resources_and_they_work_against_aws() -> None:
    with mock_aws():
        aws_clients.reset_clients()
        dynamodb = aws_clients.client("dynamodb")
        dynamodb.create_table(
            TableName="things",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        table = aws_clients.resource("dynamodb").Table("things")
        table.put_item(Item={"pk": "a", "n": 1})
        assert dynamodb.get_item(TableName="things", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
        assert aws_clients.resource("dynamodb") is aws_clients.resource("dynamodb")
        assert aws_clients.client("dynamodb") is dynamodb
        # the resource came from the same session: its client was built by the session's one loader
        loader = aws_clients.session()._session.get_component("data_loader")
        assert aws_clients.resource("dynamodb").meta.client._loader is loader
        assert dynamodb._loader is loader
