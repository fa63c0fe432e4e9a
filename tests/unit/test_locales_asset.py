"""Babel reaches the Lambda asset with only the plan's locales of its CLDR data, and still formats them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import babel
import pytest

from outage_comms_cdk.lambda_asset import VENDORED_DIRECT, babel_locale_data_kept, prune_babel_locale_data

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_babel_is_vendored() -> None:
    assert "babel" in VENDORED_DIRECT


def test_kept_data_is_each_locale_with_its_parents_and_root() -> None:
    assert babel_locale_data_kept(["en", "pt-BR"]) == {"en_GB", "en_001", "en", "pt_BR", "pt", "root"}
    assert babel_locale_data_kept(["de-AT"]) == {"de_AT", "de", "root"}


@pytest.mark.parametrize("locales", [["en", "de"], ["en", "ja", "ar"]])
def test_the_pruned_babel_formats_the_plans_locales_in_a_clean_interpreter(tmp_path: Path, locales) -> None:
    shutil.copytree(
        Path(babel.__file__).parent, tmp_path / "babel", ignore=shutil.ignore_patterns("__pycache__")
    )
    before = len(list((tmp_path / "babel" / "locale-data").glob("*.dat")))
    prune_babel_locale_data(tmp_path, locales)
    kept = sorted(p.stem for p in (tmp_path / "babel" / "locale-data").glob("*.dat"))
    assert before > 500 and kept == sorted(babel_locale_data_kept(locales))
    assert not (tmp_path / "babel" / "messages").exists()
    code = (
        f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {str(ROOT / 'lambdas')!r}]\n"
        "import babel; assert babel.__file__.startswith(sys.path[0]), babel.__file__\n"
        "from datetime import UTC, datetime, timedelta\n"
        "from outage_comms.locale_format import format_moment, format_names, format_percent, format_span\n"
        f"for code in {locales!r}:\n"
        "    moment = datetime(2026, 11, 27, 14, 35, tzinfo=UTC)\n"
        "    print(format_moment(moment, code, 'Europe/Berlin', 'MEZ'), format_names(['A', 'B'], code),"
        " format_span(timedelta(minutes=95), code), format_percent(100, code))\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.stdout.strip().splitlines()) == len(locales)
    if "de" in locales:
        assert "27. Nov., 15:35 MEZ A und B 1 Stunde und 35 Minuten 100,00\xa0%" in result.stdout
