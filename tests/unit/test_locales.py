"""Any set of locales: formatting with Babel for the locale and the plan's zone, plans without pt-BR,
every missing locale file listed by lint, and the runtime falling back (with a warning) instead of failing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outage_comms.locale_format import format_number, format_percent
from outage_comms.plan import LocaleSettings, load_plan
from outage_comms.rendering import format_duration, format_time, join_names
from tests.plan_builder import GERMAN, PlanSpec, write_plan_folder

pytestmark = pytest.mark.unit

MOMENT = datetime(2026, 11, 27, 14, 35, tzinfo=UTC)


def settings(code: str, zone: str, label: str) -> LocaleSettings:
    return LocaleSettings(code=code, timezone=zone, timezone_label=label)


@pytest.mark.parametrize(
    ("code", "zone", "label", "expected"),
    [
        ("en", "UTC", "UTC", "27 Nov, 14:35 UTC"),
        ("de", "Europe/Berlin", "MEZ", "27. Nov., 15:35 MEZ"),
        ("pt-BR", "America/Sao_Paulo", "horário de Brasília", "27/11 11:35 (horário de Brasília)"),
        ("ja", "Asia/Tokyo", "JST", "11月27日 23:35 JST"),
        ("en-US", "America/New_York", "ET", "Nov 27, 9:35\u202fAM ET"),
    ],
)
def test_times_read_as_the_locale_writes_them_in_the_plans_zone(code, zone, label, expected) -> None:
    assert format_time(MOMENT, settings(code, zone, label)) == expected


def test_arabic_time_uses_arabic_month_names() -> None:
    text = format_time(MOMENT, settings("ar", "Asia/Riyadh", "AST"))
    assert "نوفمبر" in text and "5:35" in text and text.endswith("AST")


@pytest.mark.parametrize(
    ("code", "names", "expected"),
    [
        ("en", ["Sync", "Search", "Web app"], "Sync, Search and Web app"),
        ("de", ["Checkout", "Auszahlungen"], "Checkout und Auszahlungen"),
        ("pt-BR", ["Busca", "Login"], "Busca e Login"),
        ("ja", ["決済", "入金"], "決済、入金"),
        ("de", ["Checkout"], "Checkout"),
        ("de", [], ""),
    ],
)
def test_lists_are_joined_as_the_locale_joins_them(code, names, expected) -> None:
    assert join_names(names, code) == expected


@pytest.mark.parametrize(
    ("code", "minutes", "expected"),
    [
        ("en", 95, "1 hour and 35 minutes"),
        ("en", 0, "1 minute"),
        ("de", 95, "1 Stunde und 35 Minuten"),
        ("de", 120, "2 Stunden"),
        ("pt-BR", 61, "1 hora e 1 minuto"),
    ],
)
def test_durations_in_words_of_the_locale(code, minutes, expected) -> None:
    assert format_duration(timedelta(minutes=minutes), code) == expected


@pytest.mark.parametrize(
    ("code", "percent", "number"),
    [
        ("en", "100.00%", "1,234.5"),
        ("de", "100,00\xa0%", "1.234,5"),
        ("pt-BR", "100,00%", "1.234,5"),
        ("ja", "100.00%", "1,234.5"),
    ],
)
def test_percentages_and_numbers_use_the_locales_separators(code, percent, number) -> None:
    assert format_percent(100.0, code) == percent
    assert format_number(1234.5, code, 1) == number


def test_arabic_percent_keeps_the_value() -> None:
    assert "99" in format_percent(99.5, "ar") and "50" in format_percent(99.5, "ar")


# ---------------------------------------------------------------------------------------------
# Plans: only a default locale is required
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locales", [("en",), ("en", "de"), ("de",), ("en", "ja")])
def test_any_set_of_locales_is_a_valid_plan(tmp_path: Path, locales: tuple[str, ...]) -> None:
    path = write_plan_folder(tmp_path, PlanSpec(locales=locales, default_locale=locales[0]))
    plan = load_plan(path)
    assert plan.locale_codes == list(locales)


def test_a_locale_tag_with_script_and_region_is_accepted(tmp_path: Path) -> None:
    path = write_plan_folder(tmp_path, PlanSpec(locales=("en", "zh-Hant-TW", "es-419")))
    assert load_plan(path).locale_codes == ["en", "zh-Hant-TW", "es-419"]


# ---------------------------------------------------------------------------------------------
# Lint lists every missing file and key, each with the path to create
# ---------------------------------------------------------------------------------------------


def lint(path: Path):  # type: ignore[no-untyped-def]
    from outage_comms_cli.lint import lint_plan

    return lint_plan(path, templates_dir=path.parent / "templates")


def test_lint_lists_each_missing_file_of_a_new_locale(tmp_path: Path) -> None:
    path = write_plan_folder(
        tmp_path, PlanSpec(locales=("en", "de"), channels=("email", "slack", "status_page"))
    )
    report = lint(path)
    wheres = {f.where.split(": ")[0] for f in report.findings if f.severity == "error"}
    templates = tmp_path / "templates"
    assert "templates/status/strings/de.yaml" in wheres  # lint shows paths under the templates folder
    assert "templates/subscriptions/de.yaml" in wheres
    for scenario in ("investigating", "major_outage", "resolved", "holding_update"):
        assert any(w.endswith(f"messages/de/{scenario}.yaml") for w in wheres), (scenario, wheres)
    status = next(f for f in report.findings if f.where == "templates/status/strings/de.yaml")
    assert (
        f"create {templates}/status/strings/de.yaml" in status.fix and "status/strings/en.yaml" in status.fix
    )
    assert report.exit_code == 1


def test_lint_names_the_keys_a_locale_file_lacks(tmp_path: Path) -> None:
    path = write_plan_folder(tmp_path, PlanSpec(locales=("en", "de")), translations={"de": GERMAN})
    strings = tmp_path / "templates" / "status" / "strings" / "de.yaml"
    text = strings.read_text()
    kept = [line for line in text.splitlines() if not line.startswith(("skip_link:", "page_title:"))]
    strings.write_text("\n".join(kept) + "\n")
    report = lint(path)
    (finding,) = [f for f in report.findings if f.where == "templates/status/strings/de.yaml"]
    assert "skip_link" in finding.message and "page_title" in finding.message
    assert "skip_link" in finding.fix and str(strings) in finding.fix


def test_a_complete_german_plan_lints_clean_of_locale_findings(tmp_path: Path) -> None:
    path = write_plan_folder(tmp_path, PlanSpec(locales=("en", "de")), translations={"de": GERMAN})
    report = lint(path)
    assert report.exit_code == 0, report.findings


def test_an_english_only_plan_needs_no_other_locale_files(tmp_path: Path) -> None:
    channels = ("email", "slack", "status_page", "sns", "sms")
    path = write_plan_folder(tmp_path, PlanSpec(locales=("en",), channels=channels))
    report = lint(path)
    assert report.exit_code == 0, report.findings


def test_a_locale_babel_cannot_format_is_named(tmp_path: Path) -> None:
    path = write_plan_folder(tmp_path, PlanSpec(locales=("en", "qq")), translations={"qq": {}})
    report = lint(path)
    assert report.exit_code == 2
    assert any(f.code == "locale.unknown" and "'qq'" in f.message for f in report.findings)


# ---------------------------------------------------------------------------------------------
# At run time: the default locale's words, a warning, never FileNotFoundError
# ---------------------------------------------------------------------------------------------


def test_missing_status_strings_fall_back_with_a_warning(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    from outage_comms.locale_files import status_strings

    write_plan_folder(tmp_path, PlanSpec(locales=("en", "de")))
    templates = tmp_path / "templates"
    with caplog.at_level(logging.WARNING):
        words = status_strings(templates, "de", "en")
    assert words["current_status"] == "Current status"
    assert "status/strings/de.yaml is missing" in caplog.text


def test_missing_keys_fall_back_key_by_key(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    from outage_comms.locale_files import subscription_words

    write_plan_folder(tmp_path, PlanSpec(locales=("en", "de")))
    templates = tmp_path / "templates"
    (templates / "subscriptions" / "de.yaml").write_text(
        "confirm_sms:\n  body: '{{ org.name }}: Ihr Code ist {{ code }}.'\n"
    )
    with caplog.at_level(logging.WARNING):
        words = subscription_words(templates, "de", "en")
    assert words["confirm_sms"]["body"].startswith("{{ org.name }}: Ihr Code")
    assert "Confirm your" in words["confirm_email"]["subject"]
    assert "confirm_email" in caplog.text and "email_footer" in caplog.text


def test_status_site_builds_for_a_locale_without_its_files(tmp_path: Path) -> None:
    from outage_comms.status.site import SiteOptions, build_site

    path = write_plan_folder(tmp_path, PlanSpec(locales=("en", "de")))
    plan = load_plan(path)
    files = build_site(plan, [], now=MOMENT, options=SiteOptions(templates_dir=tmp_path / "templates"))
    assert any(str(name).startswith("de/") for name in files)
