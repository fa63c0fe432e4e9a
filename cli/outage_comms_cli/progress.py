"""A spinner on stderr for CLI steps that can take more than a second (an API call, a deployment).

Shown only on a terminal: scripts reading ``--format json`` from stdout see nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

_err = Console(stderr=True)


@contextmanager
def progress(text: str) -> Iterator[None]:
    if _err.is_terminal:
        with _err.status(text, spinner="dots"):
            yield
    else:
        yield
