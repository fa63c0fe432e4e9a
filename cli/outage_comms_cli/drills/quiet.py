"""Quiet, readable drill output: moto's and the handlers' own lines go to a log file, not the terminal.

An embedded drill deploys the app into moto and runs every handler in-process. Left alone, the
terminal fills with moto's "No Moto CloudFormation support for ..." lines, Python warnings and the
handlers' JSON log lines. :func:`quiet_output` sends all of that to ``embedded-aws.log`` in the
drill's output folder; the drill's own progress lines (written with :func:`shown`) still reach the
terminal.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

LOG_NAME = "embedded-aws.log"
#: Loggers whose records belong in the log file, not on the terminal.
_QUIET_LOGGERS = ("moto", "py.warnings", "botocore", "aws_lambda_powertools", "jsii")


class _PerThreadStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` during a drill: the log file, except for a thread writing progress.

    Swapping ``sys.stdout`` to show a progress line swapped it for every thread: a handler printing
    meanwhile (Powertools' EMF metric lines, in an embedded execution's thread) reached the terminal.
    """

    def __init__(self, default: IO[str]) -> None:
        super().__init__()
        self.default = default
        self._local = threading.local()

    @property
    def target(self) -> IO[str]:
        return getattr(self._local, "target", None) or self.default

    @contextlib.contextmanager
    def to(self, stream: IO[str]) -> Iterator[None]:
        """Within, this thread alone writes to ``stream``."""
        previous = getattr(self._local, "target", None)
        self._local.target = stream
        try:
            yield
        finally:
            self._local.target = previous

    def write(self, text: str) -> int:
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")


@contextlib.contextmanager
def quiet_output(out_dir: Path) -> Iterator[Callable[[Callable[[str], None]], Callable[[str], None]]]:
    """Within: stdout/stderr, warnings and moto's logging go to ``out_dir / LOG_NAME``.

    Yields ``shown(progress)``: a wrapper that writes ``progress`` lines to the real terminal.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    real_out, real_err = sys.stdout, sys.stderr
    log = (out_dir / LOG_NAME).open("w", encoding="utf-8")
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    saved: list[tuple[logging.Logger, bool]] = []
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate))
        logger.addHandler(handler)
        logger.propagate = False

    stdout, stderr = _PerThreadStream(log), _PerThreadStream(log)

    def shown(progress: Callable[[str], None]) -> Callable[[str], None]:
        def write(line: str) -> None:
            with stdout.to(real_out):  # this thread only: a handler printing meanwhile stays in the log
                progress(line)

        return write

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        logging.captureWarnings(True)
        sys.stdout, sys.stderr = stdout, stderr
        try:
            yield shown
        finally:
            sys.stdout, sys.stderr = real_out, real_err
            logging.captureWarnings(False)
            for logger, propagate in saved:
                logger.removeHandler(handler)
                logger.propagate = propagate
            _restore_streams((log, stdout, stderr), real_out)
            log.close()


def _restore_streams(drill_streams: tuple[IO[str], ...], real: Any) -> None:
    """Handlers created during the drill (a handler module's logger) point back at the terminal."""
    loggers = [logging.getLogger()] + [
        item for item in logging.root.manager.loggerDict.values() if isinstance(item, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and any(handler.stream is s for s in drill_streams):
                handler.setStream(real)


def log_lines(out_dir: Path) -> int:
    """How many lines the drill's log holds (0 when there is none)."""
    path = out_dir / LOG_NAME
    if not path.exists():
        return 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        return sum(1 for _ in lines)
