"""The drill's quiet output: a handler printing (Powertools' EMF lines, on an embedded execution's thread)
while the drill shows a progress line reaches neither the terminal nor the progress line's stream; moto's
noise after it stays in the log (QA's reproduction, issue 13.7)."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

import pytest

from outage_comms_cli.drills.quiet import quiet_output
from outage_comms_embedded.lambda_router import _this_threads_stdout_discarded

pytestmark = pytest.mark.unit


def test_a_handler_printing_during_a_progress_line_does_not_leak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stdout", terminal)
    inside_handler, printed, progress_running = threading.Event(), threading.Event(), threading.Event()

    def handler_thread() -> None:
        with _this_threads_stdout_discarded():  # as lambda_router._run_handler runs a handler
            inside_handler.set()
            progress_running.wait(5)
            print('{"_aws": {"CloudWatchMetrics": []}}')  # Powertools' EMF line
            printed.set()

    with quiet_output(tmp_path) as shown:
        thread = threading.Thread(target=handler_thread)
        thread.start()
        inside_handler.wait(5)

        def progress(line: str) -> None:
            print(line)
            progress_running.set()
            printed.wait(5)

        shown(progress)("  0.10s  drill  progress line")
        thread.join()
        print("moto noise after the handler")  # must go to the log, not the terminal
    shown_text = terminal.getvalue()
    assert "progress line" in shown_text
    assert "_aws" not in shown_text and "moto noise" not in shown_text, shown_text
