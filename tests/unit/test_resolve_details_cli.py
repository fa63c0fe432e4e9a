"""`outage-comms resolve --cause --fix --impact`: the body the API expects, checked before any call."""

from __future__ import annotations

import json

import pytest
import typer
from test_incident_commands import REGION, Recorded, app, credentials, server  # noqa: F401 (fixtures)
from typer.testing import CliRunner

from outage_comms_cli.incident_commands import ApiCallError, resolution_body

pytestmark = pytest.mark.unit

INCIDENT = "inc-20261127-1405-c40a8d"


def test_one_text_or_one_per_locale() -> None:
    body = resolution_body(
        cause=["en=A settings change broke sign-in", "pt-BR=Uma mudança quebrou o login"],
        fix=["We undid the change = and sign-in works"],  # no locale prefix: the plan's default locale
        impact=None,
    )
    assert body == {
        "cause": {"en": "A settings change broke sign-in", "pt-BR": "Uma mudança quebrou o login"},
        "fix": "We undid the change = and sign-in works",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cause": ["plain", "en=with a locale"]}, "not both"),
        ({"fix": ["Back \u202eetadpu"]}, "'fix'"),
        ({"impact": ["pt-BR=x\x1b[31m"]}, "'impact.pt-BR'"),
        ({"cause": ["en=   "]}, "empty"),
    ],
)
def test_refused_before_any_call(kwargs: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ApiCallError, match="") as caught:
        resolution_body(**{"cause": None, "fix": None, "impact": None, **kwargs})
    assert message in str(caught.value)


def test_resolve_sends_them_in_the_body(
    app: typer.Typer,  # noqa: F811
    server: tuple[str, Recorded],  # noqa: F811
    credentials: None,  # noqa: F811
) -> None:
    url, recorded = server
    recorded.reply = (200, {"incident_id": INCIDENT, "kind": "resolve"})
    result = CliRunner().invoke(
        app,
        [
            "resolve", INCIDENT,
            "--cause", "en=A settings change broke sign-in",
            "--fix", "en=We undid the change",
            "--impact", "en=You could not sign in",
            "--api-url", url, "--region", REGION,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (request,) = recorded.requests
    assert request["path"] == f"/v1/incidents/{INCIDENT}/resolve"
    body = json.loads(request["body"])
    assert body["cause"] == {"en": "A settings change broke sign-in"}
    assert body["fix"] == {"en": "We undid the change"} and body["impact"] == {"en": "You could not sign in"}
