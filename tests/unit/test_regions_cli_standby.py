"""The CLI tries the standby region's incident API when the primary's does not answer."""

from __future__ import annotations

import json
import socket

import pytest
import typer
from typer.testing import CliRunner

from outage_comms_cli.standby_api import STANDBY_API_URL_ENV
from tests.unit.test_incident_commands import REGION, Recorded, app, credentials, server

pytestmark = pytest.mark.unit
__all__ = ["app", "credentials", "server"]  # fixtures shared with the incident command tests


def _closed_port_url() -> str:
    with socket.socket() as probe:  # bound then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _declare(app: typer.Typer, url: str) -> list[str]:
    return [
        "declare", "--component", "sign-in", "--severity", "sev2",
        "--note", "en=Some customers cannot sign in.", "--request-id", "req-7",
        "--api-url", url, "--region", REGION,
    ]  # fmt: skip


def test_a_primary_that_does_not_answer_sends_the_same_request_to_the_standby(
    app: typer.Typer, server: tuple[str, Recorded], credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    standby, recorded = server
    monkeypatch.setenv(STANDBY_API_URL_ENV, standby)
    result = CliRunner().invoke(app, _declare(app, _closed_port_url()))
    assert result.exit_code == 0, result.output
    (request,) = recorded.requests
    assert request["path"] == "/v1/incidents"
    assert json.loads(request["body"])["request_id"] == "req-7"  # the same idempotency token


def test_without_a_standby_the_unreachable_primary_is_an_error(
    app: typer.Typer, credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STANDBY_API_URL_ENV, raising=False)
    result = CliRunner().invoke(app, _declare(app, _closed_port_url()))
    assert result.exit_code != 0 and "cannot reach" in result.output


def test_a_primary_that_answers_with_an_error_is_not_retried_elsewhere(
    app: typer.Typer, server: tuple[str, Recorded], credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, recorded = server
    recorded.reply = (409, {"error": "conflict", "message": "already resolved"})
    monkeypatch.setenv(STANDBY_API_URL_ENV, _closed_port_url())
    result = CliRunner().invoke(app, _declare(app, primary))
    assert result.exit_code != 0 and "already resolved" in result.output
    assert len(recorded.requests) == 1
