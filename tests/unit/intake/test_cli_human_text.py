"""The CLI refuses unsafe or oversized text with the API's own words, before it calls anything."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from outage_comms.intake.normalise import to_signal
from outage_comms.plan import Plan
from outage_comms_cli.incident_commands import register

pytestmark = pytest.mark.unit

#: Nothing listens here: a CLI that called the API would fail with "cannot reach", not our message.
NOWHERE = "http://127.0.0.1:9/v1"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


CASES = {
    "ansi escape in a note": (["--note", "en=Back \x1b[31mup"], "'note.en' contains a terminal escape"),
    "nul in a note": (["--note", "pt-BR=Volta\x00mos"], "'note.pt-BR' contains U+0000"),
    "noncharacter in a note": (["--note", "en=ok\ufffe"], "'note.en' contains U+FFFE"),
    "bidi override in a title": (["--title", "a\u202eb"], "'title' contains U+202E"),
    "oversized note": (
        ["--note", "en=" + "x" * 2001],
        "'note.en' is 2,001 characters long, over the limit of 2,000",
    ),
    "oversized title": (["--title", "t" * 301], "over the limit of 300"),
}


@pytest.mark.parametrize(("options", "expected"), CASES.values(), ids=CASES.keys())
def test_declare_refuses_before_calling(app: typer.Typer, options: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, ["declare", "-c", "sync", "--api-url", NOWHERE, *options])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert "cannot reach" not in result.output


def test_the_cli_says_what_the_api_says(app: typer.Typer, plan: Plan) -> None:
    note = "Back \x1b[31mup"
    api = to_signal(
        {
            "action": "declare",
            "request_id": "r",
            "principal": "p",
            "components": ["sync"],
            "note": {"en": note},
        },
        plan,
    )
    cli = CliRunner().invoke(
        app, ["resolve", "inc-20261127-1405-abcdef", "--api-url", NOWHERE, "--note", f"en={note}"]
    )
    assert " ".join(api.reason.split()) in " ".join(cli.output.split())  # type: ignore[union-attr]
