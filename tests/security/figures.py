"""Figures of the security proof suite: what was tried, and how much of it went wrong.

Every test in ``tests/security`` records, per area, how many attacks or bad inputs it *tried* and
how many were *accepted wrongly* (reached a customer, was counted, was approved), *crashed* (a 5xx
or an unhandled exception) or were *lost* (a delivery or an event that vanished without a record).
The test then asserts the three failure counts are zero; the figures are the evidence.

``make security`` runs the suite at full scale and folds the records into
``bench/results/security.json`` (``bench/security_report.py``); ``make test`` runs it at CI scale
and throws the records away.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: "full" under `make security`; anything else is the smaller CI scale of `make test`.
SCALE = os.environ.get("OUTAGE_COMMS_SECURITY_SCALE", "ci")
RESULTS_DIR = os.environ.get("OUTAGE_COMMS_SECURITY_RESULTS", "")
_lock = threading.Lock()


def scaled(ci: int, full: int) -> int:
    """How many cases to try: ``full`` under `make security`, ``ci`` under `make test`."""
    return full if SCALE == "full" else ci


@dataclass
class Figures:
    """One test's counts for one area (an area is a line of the README's security table)."""

    area: str
    test: str
    tried: int = 0
    accepted_wrongly: int = 0
    crashed: int = 0
    lost: int = 0
    examples: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def wrong(self, example: str) -> None:
        self.accepted_wrongly += 1
        self._example(f"accepted: {example}")

    def crash(self, example: str) -> None:
        self.crashed += 1
        self._example(f"crashed: {example}")

    def loss(self, example: str) -> None:
        self.lost += 1
        self._example(f"lost: {example}")

    def _example(self, text: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(text[:300])

    @property
    def clean(self) -> bool:
        return self.accepted_wrongly == 0 and self.crashed == 0 and self.lost == 0

    def failure_message(self) -> str:
        return (
            f"{self.area}: of {self.tried} tried, {self.accepted_wrongly} accepted wrongly, "
            f"{self.crashed} crashed, {self.lost} lost; e.g. {self.examples}"
        )

    def write(self) -> None:
        """Append this record to the worker's JSON-lines file (when `make security` asked for one)."""
        if not RESULTS_DIR:
            return
        directory = Path(RESULTS_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with _lock, (directory / f"{worker}.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps({**asdict(self), "scale": SCALE}) + "\n")
