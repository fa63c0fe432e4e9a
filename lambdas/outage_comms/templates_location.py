"""Where a plan's templates live: found from the plan, never from the install location.

A plan may say ``templates: <path>`` (relative to the plan file, or absolute); without it the folder is
``templates/`` beside the plan file. Lint, preview, the drill, ``cdk synth`` (the Lambda asset copies this
folder) and so the deployed functions (``TEMPLATES_DIR`` in the asset) all use :func:`templates_dir_for`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: The folder beside the plan file when the plan does not name one.
DEFAULT_TEMPLATES_FOLDER = "templates"
#: Word and message files people write as YAML; the Lambda asset ships each one compiled to JSON instead.
YAML_SUFFIXES = (".yaml", ".yml")
COMPILED_SUFFIX = ".json"


class TemplateDataError(ValueError):
    """A word or message file that does not parse; the message says why (``invalid YAML: ...``)."""


def compiled_path(path: Path) -> Path:
    """Where the Lambda asset keeps the compiled form of the YAML file ``path`` (same name, ``.json``)."""
    return path.with_suffix(COMPILED_SUFFIX)


def read_template_data(path: str | Path) -> Any:
    """The data in a templates-folder YAML file (messages, status strings, subscription words).

    Where the YAML file exists (a team's repository, lint, preview, the drill) it is parsed; the Lambda
    asset ships only its compiled JSON twin (:func:`compiled_path`, written at synth), so a function never
    needs a YAML parser. Neither file: ``FileNotFoundError``; a file that does not parse:
    :class:`TemplateDataError`.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path.suffix not in YAML_SUFFIXES:
            raise
        try:
            compiled = compiled_path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(2, "No such file or directory", str(path)) from None
        return json.loads(compiled)
    if path.suffix not in YAML_SUFFIXES:
        return json.loads(text)
    import yaml  # only where people's YAML files are (never in the Lambda asset)

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateDataError(f"invalid YAML: {exc}") from None


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
