"""`outage-comms redrive`: one line per item, exit codes a script can rely on, clear errors."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from outage_comms_cli import redrive as command
from outage_comms_cli.main import app

pytestmark = pytest.mark.unit

ITEM = {"channel": "webhook", "incident_id": "inc-1", "update_id": "001-investigating", "attempts": 4}


class Answers(list[dict[str, Any]]):
    """What the redrive function answers, in turn; ``sent`` keeps what the CLI asked."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    script = Answers()

    def call(function: str, request: dict[str, Any], region: str | None) -> dict[str, Any]:
        script.sent.append((function, request))
        return script.pop(0)

    monkeypatch.setattr(command, "call_redrive", call)
    return script


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["redrive", "--function", "fn", *args])


def test_prints_one_line_per_item_and_exits_0_when_nothing_is_left(answers: Answers) -> None:
    answers.append(
        {
            "results": [
                {**ITEM, "outcome": "delivered"},
                {**ITEM, "outcome": "already delivered", "detail": "not sent again"},
            ],
            "summary": {"delivered": 1, "already delivered": 1},
        }
    )
    result = run("--channel", "webhook", "--incident", "inc-1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["delivered", "webhook", "inc-1", "001-investigating"]
    assert "already delivered" in lines[1] and "not sent again" in lines[1]
    assert lines[-1] == "2 item(s): 1 already delivered, 1 delivered"
    assert answers.sent == [("fn", {"dry_run": False, "channel": "webhook", "incident_id": "inc-1"})]


def test_an_item_still_failing_exits_1(answers: Answers) -> None:
    answers.append({"results": [{**ITEM, "outcome": "failed", "detail": "HTTP 503; left in the queue"}]})
    result = run()
    assert result.exit_code == 1 and "left in the queue" in result.output


def test_a_request_the_function_refuses_is_named_and_exits_2(answers: Answers) -> None:
    answers.append(
        {"error": "no dead-letter queue for channel 'fax'; channels with one: email, sns", "results": []}
    )
    result = run("--channel", "fax")
    assert result.exit_code == 2 and "no dead-letter queue for channel 'fax'" in result.output


def test_without_a_function_the_stack_output_is_read_and_a_missing_stack_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto import mock_aws

    monkeypatch.delenv(command.FUNCTION_ENV, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        result = CliRunner().invoke(app, ["redrive", "--dry-run"])
    assert result.exit_code == 2
    assert "pass --function" in result.output and "OutageCommsWorkflow" in result.output
