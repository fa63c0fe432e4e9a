"""Every ``bench/results/*.json`` is in the shared format (issue 13.7), and the check refuses what is not.

A figure is kept only with the machine and load it was measured under, and either the baseline it was
measured against in the same run (with their ratio) or a note saying why it has none. The README's
performance table (``bench/readme_table.py``) is generated from these files.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[2] / "bench"
RESULTS = sorted(p for p in (BENCH / "results").glob("*.json") if p.name != "latest.json")


def _module(name: str) -> ModuleType:
    """A bench module by the name the bench scripts import each other by (bench/ on ``sys.path``)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    module = importlib.import_module(name)
    assert Path(str(module.__file__)).parent == BENCH, module.__file__
    return module


results = _module("_results")


def good_sample() -> dict[str, Any]:
    """A run written by ``BenchRun`` itself: one figure with a baseline, one with a note."""
    bench = results.BenchRun("sample", title="Sample")
    bench.figure("render", 12.5, "ms", baseline=("bare write", 5.0), target="< 20 ms", met=True)
    bench.figure("messages lost", 0, "messages", target="0", met=True, note="a count, not a timing")
    return bench.result()


@pytest.mark.parametrize("path", RESULTS, ids=[p.name for p in RESULTS])
def test_every_results_file_is_in_the_shared_format(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert results.problems(data) == [], path.name
    assert data["bench"] == path.stem
    for figure in data["figures"]:
        if "baseline" in figure and figure.get("ratio") is not None:
            assert figure["ratio"] == pytest.approx(figure["value"] / figure["baseline"]["value"], rel=0.02)


def test_the_results_folder_holds_files() -> None:
    assert len(RESULTS) >= 10


def test_a_run_written_by_benchrun_conforms(tmp_path: Path) -> None:
    sample = good_sample()
    assert results.problems(sample) == []
    assert sample["figures"][0]["ratio"] == 2.5
    assert set(sample["machine"]) >= {"cpu_count", "cpu_model", "python"}
    assert len(sample["load"]["before"]) == 3 and len(sample["load"]["after"]) == 3


def _without(path: tuple[str | int, ...]) -> dict[str, Any]:
    sample = good_sample()
    parent: Any = sample
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return sample


@pytest.mark.parametrize(
    ("missing", "says"),
    [
        (("format",), "format"),
        (("bench",), "bench"),
        (("when",), "when"),
        (("machine",), "machine"),
        (("machine", "cpu_model"), "cpu_model"),
        (("load",), "load"),
        (("load", "after"), "load.after"),
        (("figures",), "figures"),
        (("figures", 0, "value"), "value"),
        (("figures", 0, "unit"), "unit"),
        (("figures", 0, "ratio"), "ratio"),
        (("figures", 1, "note"), "neither a same-run baseline"),
        (("figures", 1, "met"), "target without met"),
    ],
)
def test_a_file_lacking_a_required_part_is_refused(missing: tuple[str | int, ...], says: str) -> None:
    found = results.problems(_without(missing))
    assert found and any(says in problem for problem in found), found


def test_a_figure_with_neither_baseline_nor_note_is_refused() -> None:
    sample = good_sample()
    bare = copy.deepcopy(sample["figures"][0])
    del bare["baseline"], bare["ratio"]
    sample["figures"].append(bare)
    assert results.problems(sample) == [
        "figure 2 ('render'): neither a same-run baseline and ratio nor a note saying why not"
    ]


def test_the_morning_security_format_is_refused() -> None:
    legacy = {
        "measured_at": "2026-12-02T08:13:03+00:00",
        "machine": {"platform": "Linux", "cpus": 2, "python": "3.11.7"},
        "scale": "full",
        "areas": {"edge": {"tried": 11, "accepted_wrongly": 0, "crashed": 0, "lost": 0}},
    }
    found = results.problems(legacy)
    assert "format is None, not 'outage-comms-bench/1'" in found
    assert "no load" in found and "no figures" in found


def test_benchrun_write_names_what_is_missing_and_still_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = results.BenchRun("sample")
    bench.figure("throughput", 18.8, "events/s")
    written = bench.write(tmp_path / "sample.json")
    assert json.loads((tmp_path / "sample.json").read_text(encoding="utf-8")) == written
    assert "neither a same-run baseline and ratio nor a note" in capsys.readouterr().err


def test_the_security_report_folds_records_into_the_shared_format(tmp_path: Path) -> None:
    report = _module("security_report")
    records = tmp_path / "records"
    report.stamp_start(records)
    lines = [
        {"area": "edge", "test": "a", "tried": 11, "accepted_wrongly": 0, "crashed": 0, "lost": 0},
        {"area": "guard", "test": "b", "tried": 40, "accepted_wrongly": 1, "crashed": 0, "lost": 0,
         "examples": ["accepted: <script>"]},
    ]  # fmt: skip
    (records / "w0.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "security.json"
    assert report.main([str(records), "--out", str(out)]) == 1  # one input accepted wrongly
    data = json.loads(out.read_text(encoding="utf-8"))
    assert results.problems(data) == []
    start = json.loads((records / "_start.json").read_text(encoding="utf-8"))
    assert data["when"] == start["when"] and data["load"]["before"] == start["load"]
    figures = {f["name"]: f for f in data["figures"]}
    assert figures["attacks and bad inputs tried (2 areas, 2 tests)"]["value"] == 51
    wrong = figures["accepted wrongly (reached a customer, counted, approved)"]
    assert (wrong["value"], wrong["met"]) == (1, False)
    assert data["details"]["areas"]["guard"]["examples"] == ["accepted: <script>"]
    assert "| **all** | **51** | **1** | **0** | **0** |" in data["details"]["table_markdown"]


def test_the_readme_table_lists_every_conforming_file_and_names_the_others(tmp_path: Path) -> None:
    table = _module("readme_table")
    (tmp_path / "sample.json").write_text(json.dumps(good_sample()), encoding="utf-8")
    (tmp_path / "old.json").write_text(json.dumps({"measured_at": "x"}), encoding="utf-8")
    text = table.table(tmp_path)
    assert "| Sample | render | 12.5 ms | 5.00 (bare write) | 2.50× | < 20 ms | yes |" in text
    assert "Not yet in the shared results format (not tabled): old.json." in text
    assert "missing parts" not in text
    bare = good_sample()
    del bare["figures"][1]["note"]
    (tmp_path / "sample.json").write_text(json.dumps(bare), encoding="utf-8")
    assert "Tabled, but missing parts of the shared format: sample (figure 1 ('messages lost'): neither" in (
        table.table(tmp_path)
    )
