"""Where a plan's templates live: found from the plan, never from the install location.

A plan may say ``templates: <path>`` (relative to the plan file, or absolute); without it the folder is
``templates/`` beside the plan file. Lint, preview, the drill, ``cdk synth`` (the Lambda asset copies this
folder) and so the deployed functions (``TEMPLATES_DIR`` in the asset) all use :func:`templates_dir_for`.
"""

from __future__ import annotations

from pathlib import Path

#: The folder beside the plan file when the plan does not name one.
DEFAULT_TEMPLATES_FOLDER = "templates"


def templates_dir_for(plan_path: str | Path, templates: str | None = None) -> Path:
    """The templates folder of the plan at ``plan_path`` whose ``templates:`` field is ``templates``."""
    base = Path(plan_path).resolve().parent
    return (base / (templates or DEFAULT_TEMPLATES_FOLDER)).resolve()


def missing_templates_message(folder: Path) -> tuple[str, str]:
    """(message, fix) for a templates folder that does not exist."""
    return (
        f"templates folder {folder} does not exist",
        "create it (outage-comms init copies the shipped templates for your locales), or set "
        "'templates:' in the plan to a folder relative to the plan file",
    )
