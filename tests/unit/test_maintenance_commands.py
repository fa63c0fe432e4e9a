"""`outage-comms maintenance schedule | complete | cancel`: signed calls to the maintenance routes."""
# ruff: noqa: F811 - the fixtures come from test_incident_commands (one signed-HTTP server for both CLIs)

from __future__ import annotations

import json

import pytest
import typer
from test_incident_commands import REGION, Recorded, app, credentials, server  # noqa: F401
from typer.testing import CliRunner

pytestmark = pytest.mark.unit

WINDOW = "inc-20261127-1405-c40a8d"


def test_schedule_sends_the_window_in_utc_and_shows_its_schedules(
    app: typer.Typer,
    server: tuple[str, Recorded],
    credentials: None,
) -> None:
    url, recorded = server
    recorded.reply = (
        201,
        {
            "incident_id": WINDOW,
            "kind": "open",
            "scheduled_for": "2026-12-01T05:00:00+00:00",
            "schedules": [{"name": f"{WINDOW}-start", "kind": "start", "at": "2026-12-01T05:00:00+00:00"}],
        },
    )
    result = CliRunner().invoke(
        app,
        [
            "maintenance", "schedule", "-c", "sync",
            "--starts-at", "2026-12-01T02:00-03:00", "--ends-at", "2026-12-01T06:00Z",
            "--note", "en=Sync pauses briefly", "--request-id", "m-1",
            "--api-url", url, "--region", REGION,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert WINDOW in result.output and "schedule start" in result.output
    (request,) = recorded.requests
    assert request["path"] == "/v1/maintenances"
    assert "Authorization" in request["headers"]
    assert json.loads(request["body"]) == {
        "request_id": "m-1",
        "components": ["sync"],
        "note": {"en": "Sync pauses briefly"},
        "starts_at": "2026-12-01T05:00:00+00:00",
        "ends_at": "2026-12-01T06:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--starts-at", "2026-12-01T02:00", "--ends-at", "2026-12-01T06:00Z"], "has no time zone"),
        (["--starts-at", "tomorrow", "--ends-at", "2026-12-01T06:00Z"], "is not a date and time"),
        (["--ends-at", "2026-12-01T06:00Z"], "give the window"),
    ],
)
def test_schedule_refuses_an_unclear_window_before_calling(
    app: typer.Typer,
    server: tuple[str, Recorded],
    credentials: None,
    arguments: list[str],
    says: str,
) -> None:
    url, recorded = server
    result = CliRunner().invoke(app, ["maintenance", "schedule", "-c", "sync", *arguments, "--api-url", url])
    assert result.exit_code == 2
    assert says in " ".join(result.output.split())
    assert recorded.requests == []


def test_complete_and_cancel_post_to_the_window(
    app: typer.Typer,
    server: tuple[str, Recorded],
    credentials: None,
) -> None:
    url, recorded = server
    recorded.reply = (200, {"incident_id": WINDOW, "kind": "resolve", "schedules_deleted": [f"{WINDOW}-end"]})
    for action in ("complete", "cancel"):
        result = CliRunner().invoke(
            app, ["maintenance", action, WINDOW, "--api-url", url, "--region", REGION]
        )
        assert result.exit_code == 0, result.output
    assert [r["path"] for r in recorded.requests] == [
        f"/v1/maintenances/{WINDOW}/complete",
        f"/v1/maintenances/{WINDOW}/cancel",
    ]
