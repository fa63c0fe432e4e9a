"""Dates, times, lists, numbers, durations and percentages in the reader's language (Babel / CLDR).

Every locale a plan declares is a BCP-47 tag (``en``, ``pt-BR``, ``de``, ``ja``, ``ar``,
``zh-Hant-TW`` ...). Babel is imported on first use only (cold starts), and the Lambda asset
carries only the CLDR data of the plan's locales (``stacks/lambda_asset.py``).

One convention: a bare ``en`` is read as international English (CLDR ``en_GB``: ``27 Nov, 14:35``,
``A, B and C``), because a status page speaks to the world; write ``en-US`` for US conventions.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from babel import Locale

#: Plan locale -> the CLDR locale whose conventions it follows, where the tag alone is ambiguous.
_CLDR_ALIASES = {"en": "en_GB"}
#: The CLDR skeleton of the day in a message time: ``MMMd`` (``27 Nov``, ``27. Nov.``) unless the
#: language writes the day more compactly by custom (Brazil: ``27/11``, which keeps SMS and push short).
_DAY_SKELETON = {"pt": "dM"}


class UnknownLocale(ValueError):
    """Babel (CLDR) has no data for this tag: it cannot be formatted, so it cannot be a plan locale."""


@functools.lru_cache(maxsize=64)
def babel_locale(code: str) -> Locale:
    """The Babel ``Locale`` for a BCP-47 tag of the plan (``pt-BR`` -> ``pt_BR``)."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(_CLDR_ALIASES.get(code, code), sep="-" if "-" in code else "_")
    except (UnknownLocaleError, ValueError) as exc:
        raise UnknownLocale(
            f"'{code}' is not a locale Babel/CLDR knows; use a BCP-47 tag such as en, de, pt-BR, ja"
        ) from exc


def cldr_chain(code: str) -> list[str]:
    """The CLDR data files a locale loads, most specific first (``pt_BR``, ``pt``, ``root``).

    Babel merges each locale with its parents; the asset keeps exactly these (plus ``global``).
    """
    from babel.core import get_global

    locale = babel_locale(code)
    chain: list[str] = []
    name: str | None = str(locale)
    parents: Mapping[str, str] = get_global("parent_exceptions")
    while name and name not in chain:
        chain.append(name)
        if name == "root":
            break
        if name in parents:
            name = parents[name]
        elif "_" in name:
            name = name.rsplit("_", 1)[0]
        else:
            name = "root"
    if "root" not in chain:
        chain.append("root")
    return chain


def format_moment(moment: datetime, code: str, timezone: str, timezone_label: str) -> str:
    """``27 Nov, 14:35 UTC`` / ``27. Nov., 15:35 MEZ`` / ``27/11 11:35 (horário de Brasília)``.

    The day and month (no year: updates are about today) and the short time of the locale, joined as
    the locale joins them, in the plan's zone; then the plan's zone label (a label of several words is
    put in brackets so it does not read as part of the time).
    """
    from babel.dates import format_skeleton, get_datetime_format
    from babel.dates import format_time as babel_time

    locale = babel_locale(code)
    local = moment.astimezone(ZoneInfo(timezone))
    day = format_skeleton(_day_skeleton(code), local, locale=locale)
    clock = babel_time(local, "short", locale=locale)
    text = str(get_datetime_format("medium", locale=locale)).replace("{1}", day).replace("{0}", clock)
    label = timezone_label.strip()
    return f"{text} ({label})" if " " in label else f"{text} {label}"


@functools.lru_cache(maxsize=64)
def _day_skeleton(code: str) -> str:
    """The locale's own skeleton closest to the day skeleton, matched once (Babel matches it per call)."""
    from babel.dates import match_skeleton

    locale = babel_locale(code)
    wanted = _DAY_SKELETON.get(locale.language, "MMMd")
    if wanted in locale.datetime_skeletons:
        return wanted
    return match_skeleton(wanted, locale.datetime_skeletons) or wanted


def format_names(names: list[str], code: str) -> str:
    """``A``, ``A and B``, ``A, B and C``; ``Checkout und Auszahlungen``; ``A、B``."""
    from babel.lists import format_list

    return format_list(list(names), locale=babel_locale(code)) if names else ""


def format_span(delta: timedelta, code: str) -> str:
    """``1 hour and 35 minutes``; ``1 Stunde und 35 Minuten`` (at least one minute)."""
    from babel.units import format_unit

    minutes = max(1, round(delta.total_seconds() / 60))
    hours, mins = divmod(minutes, 60)
    locale = babel_locale(code)
    parts = [
        format_unit(value, unit, length="long", locale=locale)
        for value, unit in ((hours, "duration-hour"), (mins, "duration-minute"))
        if value
    ]
    return format_names(parts, code)


def format_percent(value: float, code: str, decimals: int = 2) -> str:
    """``100.00%`` / ``100,00 %`` / ``١٠٠٫٠٠٪`` where the locale writes so; ``value`` is in percent."""
    from babel.numbers import parse_pattern

    locale = babel_locale(code)
    pattern = parse_pattern(locale.percent_formats[None].pattern)
    pattern.frac_prec = (decimals, decimals)
    return str(pattern.apply(value / 100, locale))


def format_number(value: Any, code: str, decimals: int | None = None) -> str:
    """A number with the locale's separators (``1,234.5`` / ``1.234,5``)."""
    from babel.numbers import format_decimal

    if decimals is None:
        return str(format_decimal(value, locale=babel_locale(code)))
    fraction = "0" * decimals
    pattern = f"#,##0.{fraction}" if decimals else "#,##0"
    return str(format_decimal(value, format=pattern, locale=babel_locale(code)))
