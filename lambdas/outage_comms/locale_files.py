"""The per-locale word files besides the message templates, and what happens when one is missing.

A locale needs, under the plan's templates folder (see templates/README.md):

- ``messages/<locale>/<scenario>.yaml`` for every scenario of the plan (rendering.py),
- ``status/strings/<locale>.yaml`` with every key of the default locale's file (the status site),
- ``subscriptions/<locale>.yaml`` with every key of the default locale's file (confirmations, footers).

``outage-comms lint`` reports each missing file and key as an error (``outage_comms_cli.locale_check``).
At run time a missing file or key never fails a publication: the default locale's words are used and
a warning names the file and the keys to add.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from outage_comms.templates_location import read_template_data

logger = logging.getLogger(__name__)


def status_strings_path(templates_dir: Path, locale: str) -> Path:
    return templates_dir / "status" / "strings" / f"{locale}.yaml"


def subscription_words_path(templates_dir: Path, locale: str) -> Path:
    return templates_dir / "subscriptions" / f"{locale}.yaml"


def read_mapping(path: Path) -> dict[str, Any] | None:
    """The YAML mapping in ``path`` (or its compiled JSON twin in the Lambda asset); None when neither exists.

    ValueError when the file does not parse or is not a mapping.
    """
    try:
        data = read_template_data(path)
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of words (see templates/README.md)")
    return data


def missing_keys(reference: Mapping[str, Any], data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys ``reference`` has and ``data`` lacks (or holds as an empty value), in file order."""
    missing: list[str] = []
    for key, value in reference.items():
        dotted = f"{prefix}{key}"
        if key not in data or data[key] in (None, ""):
            missing.append(dotted)
        elif isinstance(value, Mapping):
            other = data[key]
            missing.extend(
                missing_keys(value, other, f"{dotted}.") if isinstance(other, Mapping) else [dotted]
            )
    return missing


def _merged(reference: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(reference)
    for key, value in data.items():
        if isinstance(value, Mapping) and isinstance(reference.get(key), Mapping):
            merged[key] = _merged(reference[key], value)
        elif value not in (None, ""):
            merged[key] = value
    return merged


@functools.lru_cache(maxsize=32)
def words_with_fallback(path: Path, default_path: Path) -> dict[str, Any]:
    """The words in ``path``; a missing key (or file) comes from ``default_path``, with a warning."""
    data = read_mapping(path)
    if path == default_path:
        if data is None:
            raise ValueError(f"{path}: the default locale's file is missing; create it (templates/README.md)")
        return data
    reference = read_mapping(default_path) or {}
    if data is None:
        logger.warning(
            "%s is missing: the default locale's words are used; create it (outage-comms lint lists it)", path
        )
        return dict(reference)
    missing = missing_keys(reference, data)
    if missing:
        logger.warning("%s lacks %s: the default locale's words are used for them", path, ", ".join(missing))
    return _merged(reference, data)


def status_strings(templates_dir: Path, locale: str, default_locale: str) -> dict[str, Any]:
    """``status/strings/<locale>.yaml``, completed from the default locale's file."""
    return words_with_fallback(
        status_strings_path(templates_dir, locale), status_strings_path(templates_dir, default_locale)
    )


def subscription_words(templates_dir: Path, locale: str, default_locale: str) -> dict[str, Any]:
    """``subscriptions/<locale>.yaml``, completed from the default locale's file."""
    return words_with_fallback(
        subscription_words_path(templates_dir, locale), subscription_words_path(templates_dir, default_locale)
    )
