"""The review and compose pages' HTML: Jinja2 templates (``templates/review``, ``templates/compose``),
autoescaped, found in the runtime's templates folder with the shipped copy as a fallback.

Below both pages: the review page (``outage_comms.workflow.review``) and the compose page
(``outage_comms.compose.page``) import it; it imports neither."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from outage_comms.rendering import DEFAULT_TEMPLATES_DIR

_PACKAGE_PARENT = Path(__file__).resolve().parent.parent
#: Where the page templates may be: the runtime's folder (a team may restyle them), then the shipped copy.
_SEARCH = (
    DEFAULT_TEMPLATES_DIR,
    _PACKAGE_PARENT / "templates",
    _PACKAGE_PARENT / "outage_comms_cli" / "shipped" / "templates",
    _PACKAGE_PARENT.parent / "templates",
)


@functools.cache
def environment() -> Environment:
    folders = [str(p) for p in dict.fromkeys(_SEARCH) if (p / "review").is_dir()]
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(name: str, **context: Any) -> str:
    """``name`` e.g. ``review/review.html.j2``; every value printed is escaped."""
    return environment().get_template(name).render(**context)
