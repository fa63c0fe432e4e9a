"""Where a reminder's compose link points: this deployment's compose page URL, from the environment or the
SSM parameter the workflow stack names (read through Powertools Parameters: cached, with a TTL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from outage_comms import aws_clients
from outage_comms.compose import links

pytestmark = pytest.mark.unit

PARAMETER = "/outage-comms/compose-page-url"


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("COMPOSE_BASE_URL", raising=False)
    with mock_aws():
        aws_clients.reset_clients()
        links._parameters.cache_clear()
        yield aws_clients.client("ssm")
    links._parameters.cache_clear()
    aws_clients.reset_clients()


def test_the_url_is_read_from_the_parameter_once_and_kept(ssm, monkeypatch):
    # Given the compose page's URL in its SSM parameter, named by the function's environment
    ssm.put_parameter(Name=PARAMETER, Value="https://compose.example/v1/", Type="String")  # type: ignore[attr-defined]
    monkeypatch.setenv("COMPOSE_URL_PARAMETER", PARAMETER)
    # When a reminder asks twice, the parameter changing in between
    first = links.compose_base_url()
    ssm.put_parameter(Name=PARAMETER, Value="https://other.example/", Type="String", Overwrite=True)  # type: ignore[attr-defined]
    # Then both read the URL as first fetched (Powertools' cache, URL_MAX_AGE_SECONDS)
    assert first == links.compose_base_url() == "https://compose.example/v1/"


def test_the_environments_url_wins_and_no_page_means_no_link(ssm, monkeypatch):
    monkeypatch.setenv("COMPOSE_URL_PARAMETER", PARAMETER)  # not even created: never read
    monkeypatch.setenv("COMPOSE_BASE_URL", "https://local.example/compose/")
    assert links.compose_base_url() == "https://local.example/compose/"
    monkeypatch.delenv("COMPOSE_BASE_URL")
    monkeypatch.delenv("COMPOSE_URL_PARAMETER")
    assert links.compose_base_url() == ""


def test_an_unreadable_parameter_sends_the_reminder_without_a_link(ssm, monkeypatch, caplog):
    monkeypatch.setenv("COMPOSE_URL_PARAMETER", "/outage-comms/missing")
    assert links.compose_base_url() == ""
    assert "reminders go without a link" in caplog.text
