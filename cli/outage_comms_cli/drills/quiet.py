"""Quiet, readable drill output: moto's and the handlers' own lines go to a log file, not the terminal.

An embedded drill deploys the app into moto and runs every handler in-process. Left alone, the
terminal fills with moto's "No Moto CloudFormation support for ..." lines, Python warnings and the
handlers' JSON log lines. :func:`quiet_output` sends all of that to ``embedded-aws.log`` in the
drill's output folder; the drill's own progress lines (written with :func:`shown`) still reach the
terminal.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

LOG_NAME = "embedded-aws.log"
#: Loggers whose records belong in the log file, not on the terminal.
_QUIET_LOGGERS = ("moto", "py.warnings", "botocore", "aws_lambda_powertools", "jsii")


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

    def shown(progress: Callable[[str], None]) -> Callable[[str], None]:
        def write(line: str) -> None:
            with contextlib.redirect_stdout(real_out):
                progress(line)

        return write

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        logging.captureWarnings(True)
        sys.stdout, sys.stderr = log, log
        try:
            yield shown
        finally:
            sys.stdout, sys.stderr = real_out, real_err
            logging.captureWarnings(False)
            for logger, propagate in saved:
                logger.removeHandler(handler)
                logger.propagate = propagate
            _restore_streams(log, real_out)
            log.close()


def _restore_streams(log: IO[str], real: Any) -> None:
    """Handlers created during the drill (a handler module's logger) point back at the terminal."""
    loggers = [logging.getLogger()] + [
        item for item in logging.root.manager.loggerDict.values() if isinstance(item, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is log:
                handler.setStream(real)


def log_lines(out_dir: Path) -> int:
    """How many lines the drill's log holds (0 when there is none)."""
    path = out_dir / LOG_NAME
    if not path.exists():
        return 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        return sum(1 for _ in lines)
