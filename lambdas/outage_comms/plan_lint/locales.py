"""Lint: everything each declared locale needs besides its message templates, file by file and key by key.

Message templates (``messages/<locale>/<scenario>.yaml``) are checked by lint's template pass, one
finding per missing file. This module adds, per locale of the plan:

- the locale is one Babel/CLDR can format (dates, lists, numbers), else nothing can be written in it;
- ``status/strings/<locale>.yaml`` exists and has every key of the default locale's file (when the
  status page is on);
- ``subscriptions/<locale>.yaml`` exists and has every key of the default locale's file (when people
  can subscribe: email, SMS or push).

Each finding names the path to create and the keys it lacks. At run time a missing file or key falls
back to the default locale's words with a warning (``outage_comms.locale_files``); lint makes it an error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from outage_comms.channel_specs.registry import ChannelSet
from outage_comms.leaks import Finding
from outage_comms.locale_files import (
    missing_keys,
    read_mapping,
    status_strings_path,
    subscription_words_path,
)
from outage_comms.plan import Plan
from outage_comms.vocabulary import Channel

#: Channels whose subscribers get the confirmation and footer words of subscriptions/<locale>.yaml:
#: those customers subscribe to themselves (registry spec ``self_service``).
SUBSCRIPTION_CHANNELS = ChannelSet(lambda spec: spec.self_service, "self-service channels")


def locale_findings(plan: Plan, templates_dir: Path) -> list[Finding]:
    """Every missing locale word file or key, one finding each (error)."""
    findings: list[Finding] = []
    enabled = set(plan.channels.enabled())
    word_files: list[tuple[str, Callable[[Path, str], Path]]] = []
    if Channel.STATUS_PAGE in enabled:
        word_files.append(("status site words", status_strings_path))
    if enabled & SUBSCRIPTION_CHANNELS:
        word_files.append(("subscription words", subscription_words_path))
    for what, path_of in word_files:
        findings += _word_file_findings(plan, templates_dir, what, path_of)
    return findings


def unknown_locales(plan: Plan) -> list[Finding]:
    """Locales Babel/CLDR cannot format (lint stops there: no message could be written in them)."""
    from outage_comms.locale_format import UnknownLocale, babel_locale

    findings = []
    for index, code in enumerate(plan.locale_codes):
        try:
            babel_locale(code)
        except UnknownLocale as exc:
            findings.append(
                Finding(
                    "locale.unknown", str(exc), "use a BCP-47 tag CLDR knows", where=f"locales[{index}].code"
                )
            )
    return findings


def _word_file_findings(
    plan: Plan, templates_dir: Path, what: str, path_of: Callable[[Path, str], Path]
) -> list[Finding]:
    default_path = path_of(templates_dir, plan.default_locale)
    try:
        reference = read_mapping(default_path)
    except ValueError as exc:
        return [
            Finding("locale.file", str(exc), "make it a mapping of keys to words", where=str(default_path))
        ]
    if reference is None:
        return [
            Finding(
                "locale.file",
                f"the {what} of the default locale '{plan.default_locale}' are missing",
                f"create {default_path} (copy the shipped templates/{default_path.relative_to(templates_dir)}"
                " of a shipped locale and translate it)",
                where=str(default_path),
            )
        ]
    findings = []
    for code in plan.locale_codes:
        if code == plan.default_locale:
            continue
        path = path_of(templates_dir, code)
        try:
            data = read_mapping(path)
        except ValueError as exc:
            findings.append(
                Finding("locale.file", str(exc), "make it a mapping of keys to words", where=str(path))
            )
            continue
        if data is None:
            findings.append(
                Finding(
                    "locale.file",
                    f"locale '{code}' has no {what}: file is missing",
                    f"create {path}: copy {default_path} and translate every value ({len(reference)} keys)",
                    where=str(path),
                )
            )
            continue
        missing = missing_keys(reference, data)
        if missing:
            findings.append(
                Finding(
                    "locale.keys",
                    f"locale '{code}' lacks {len(missing)} of the {what}: {', '.join(missing)}",
                    f"add {', '.join(missing)} to {path} (see {default_path})",
                    where=str(path),
                )
            )
    return findings
