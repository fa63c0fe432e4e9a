"""Babel's CLDR data pruned to the keys our code reads formats exactly as Babel's full data does.

``lambda_asset.prune_babel_locale_data`` keeps the plan's locales' files and, in each, only
``BABEL_LOCALE_KEYS`` (duration units only), and in ``global.dat`` only ``BABEL_GLOBAL_KEYS``. Every
Babel call of the Lambda code (``locale_format``, the status site's dates and percentages) runs in a
clean interpreter against the pruned copy and against the installed Babel; the outputs must match.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import babel
import pytest

from outage_comms_cdk.lambda_asset import BABEL_LOCALE_KEYS, prune_babel_locale_data

pytestmark = pytest.mark.infrastructure

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"

FORMAT_EVERYTHING = r"""
import json, sys
sys.path[:0] = [p for p in sys.argv[1:3] if p]
import babel
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from babel.dates import format_date
from babel.numbers import parse_pattern
from outage_comms import locale_format as lf
out = [babel.__file__]
for code in json.loads(sys.argv[3]):
    locale = lf.babel_locale(code)
    out.append(lf.cldr_chain(code))
    for moment in (datetime(2026, 11, 27, 14, 35, tzinfo=UTC), datetime(2026, 3, 10, 2, 5, tzinfo=UTC)):
        for zone in ("UTC", "Europe/Berlin", "America/Sao_Paulo", "Asia/Tokyo"):
            out.append(lf.format_moment(moment, code, zone, "MEZ"))
            out.append(lf.format_moment(moment, code, zone, "horario de Brasilia"))
    for names in ([], ["A"], ["A", "B"], ["A", "B", "C"]):
        out.append(lf.format_names(names, code))
    for minutes in (1, 59, 60, 61, 95, 125, 1560):
        out.append(lf.format_span(timedelta(minutes=minutes), code))
    for value in (100, 99.5, 0, 12.345):
        out.extend([lf.format_percent(value, code), lf.format_percent(value, code, 0)])
    for value in (1234.5, 0, 1000000):
        out.extend([lf.format_number(value, code, decimals) for decimals in (None, 2, 0)])
    out.append(str(format_date(date(2026, 11, 27), "medium", locale=locale)))
    out.append(str(parse_pattern("#,##0.00 %").apply(Decimal("99.95") / 100, locale)))
print(json.dumps(out, ensure_ascii=False))
"""


def _format(babel_parent: Path | None, locales: list[str]) -> list[object]:
    result = subprocess.run(
        [
            sys.executable, "-I", "-c", FORMAT_EVERYTHING,
            str(babel_parent or ""), str(LAMBDAS), json.dumps(locales),
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    output: list[object] = json.loads(result.stdout)
    return output


@pytest.mark.parametrize(
    "locales",
    [["en", "pt-BR"], ["en", "de", "de-AT", "fr"], ["en-US", "ja", "ar", "zh-Hant-TW", "es-419", "hi"]],
)
def test_pruned_babel_formats_exactly_as_the_full_data(tmp_path: Path, locales: list[str]) -> None:
    shutil.copytree(
        Path(babel.__file__).parent, tmp_path / "babel", ignore=shutil.ignore_patterns("__pycache__")
    )
    full_size = sum(p.stat().st_size for p in (tmp_path / "babel").rglob("*.dat"))
    prune_babel_locale_data(tmp_path, locales)
    pruned_size = sum(p.stat().st_size for p in (tmp_path / "babel").rglob("*.dat"))
    # the pruned copy is a fraction of the full data, and its locale files hold only the kept keys
    assert pruned_size < full_size / 20
    for path in (tmp_path / "babel" / "locale-data").glob("*.dat"):
        assert set(pickle.loads(path.read_bytes())) <= BABEL_LOCALE_KEYS, path.name
    pruned, full = _format(tmp_path, locales), _format(None, locales)
    assert str(pruned[0]).startswith(str(tmp_path)) and not str(full[0]).startswith(str(tmp_path))
    assert pruned[1:] == full[1:]


def test_a_key_the_code_reads_is_missed_by_the_comparison(tmp_path: Path) -> None:
    # Given a pruning that drops a key the code reads (the list patterns), the comparison fails
    shutil.copytree(
        Path(babel.__file__).parent, tmp_path / "babel", ignore=shutil.ignore_patterns("__pycache__")
    )
    prune_babel_locale_data(tmp_path, ["en"])
    for path in (tmp_path / "babel" / "locale-data").glob("*.dat"):
        data = pickle.loads(path.read_bytes())
        data.pop("list_patterns", None)
        path.write_bytes(pickle.dumps(data, protocol=4))
    result = subprocess.run(
        [sys.executable, "-I", "-c", FORMAT_EVERYTHING, str(tmp_path), str(LAMBDAS), '["en"]'],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "list_patterns" in result.stderr
