"""`autospikformer report`: the paper's figures and tables as files; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from app.cli import main
from storage.records import RunRecord


def test_report_writes_figures_and_tables(filled, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    assert main(["report", "--run", filled.run, "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    names = sorted(Path(f).name for f in result["files"])
    assert names == [
        "energy_accuracy.html",
        "energy_accuracy.png",
        "hypervolume.csv",
        "hypervolume.html",
        "hypervolume.png",
        "pareto.csv",
        "pareto.html",
    ]
    assert (out / "energy_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "pareto.csv")
    assert len(table) == result["pareto"] > 0
    assert {"time_steps", "thresholds", "taus", "accuracy", "energy_uj"} <= set(table.columns)
    assert table["energy_uj"].is_monotonic_increasing
    volumes = pd.read_csv(out / "hypervolume.csv")
    assert set(volumes["strategy"]) == {"evolution", "random"}
    assert len(volumes) == 6


@pytest.mark.parametrize(
    ("run", "message"), [("ghost", "unknown run 'ghost'"), ("empty", "no candidates yet")]
)
def test_bad_run_is_a_one_line_error(filled, tmp_path: Path, capsys, run, message) -> None:
    filled.store.create_run(RunRecord(name="empty", dataset="digits"))
    assert main(["report", "--run", run, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "r").exists()
