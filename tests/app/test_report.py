"""`autospikformer report`: the paper's figures and tables as files; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from app.cli import main
from app.common import units
from storage.records import RunRecord


def html_rows(text: str) -> list[list[str]]:
    """The cells of an HTML table, row by row (the header row first)."""
    from html.parser import HTMLParser

    rows: list[list[str]] = []

    class Cells(HTMLParser):
        cell: list[str] | None = None

        def handle_starttag(self, tag, attrs) -> None:
            if tag == "tr":
                rows.append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag) -> None:
            if tag in ("td", "th") and self.cell is not None:
                rows[-1].append("".join(self.cell).strip())
                self.cell = None

        def handle_data(self, data) -> None:
            if self.cell is not None:
                self.cell.append(data)

    Cells().feed(text)
    return rows


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


def test_the_report_keeps_to_feasible_candidates(filled, tmp_path: Path) -> None:
    """Issue 10: with a budget, no Pareto row of the report is over it; the HTML table writes
    its energies in one unit, the CSV in microjoules under a machine name."""
    from dataclasses import replace

    from app.common.report import search_points, write_report
    from storage.records import SearchRecord

    sid = f"{filled.run}.evolution.8"
    filled.store.create_search(SearchRecord(id=sid, run=filled.run, strategy="evolution"))
    over = {r.id for r in filled.records[filled.evolution] if r.energy_uj > 1.0}
    filled.store.add_candidates(
        replace(
            r, search=sid, feasible=r.id not in over, violation="energy_budget" * (r.id in over)
        )
        for r in filled.records[filled.evolution]
    )
    # Each search is drawn with its own candidates: the budgeted one's are all within budget.
    points = search_points(filled.store, filled.run)
    mine = points[points["search"] == sid]
    assert len(mine) == 60 - len(over) and (mine["energy_uj"] <= 1.0).all()
    report = write_report(filled.store, filled.run, tmp_path / "r", alpha=0.5)
    table = pd.read_csv(tmp_path / "r" / "pareto.csv")
    assert "energy" not in table and table["energy_uj"].dtype == float
    header, *rows = html_rows((tmp_path / "r" / "pareto.html").read_text())
    unit = units.energy_unit_uj(table["energy_uj"])[0]
    [k] = [k for k, name in enumerate(header) if name.startswith("energy")]
    assert header[k] == f"energy ({unit})"
    assert [float(r[k]) for r in rows] == pytest.approx(
        (table["energy_uj"] * units.unit_factor(unit)).tolist(), rel=1e-3
    )
    assert report.pareto == len(table)
    loihi = write_report(filled.store, filled.run, tmp_path / "l", profile="loihi-2018")
    assert loihi.pareto >= 1
    assert "loihi-2018" in (tmp_path / "l" / "pareto.html").read_text()


def test_the_loihi_report_is_priced_and_boxed_under_loihi(filled, tmp_path: Path) -> None:
    """Every figure of a Loihi report: energies from the stored counts at Loihi's prices, and
    each search's hypervolumes in the box of the space on digits under Loihi."""
    from app.common.report import write_report
    from engine.pareto import hypervolume, normalized_hypervolume
    from engine.profiles import PROFILES
    from engine.search.reference import dataset_front_box
    from engine.space import SearchSpace

    loihi = PROFILES["loihi-2018"]
    report = write_report(filled.store, filled.run, tmp_path / "l", profile="loihi-2018")
    box = dataset_front_box("digits", SearchSpace.preset("digits-tiny"), loihi)
    volumes = pd.read_csv(tmp_path / "l" / "hypervolume.csv")
    assert (volumes["reference_energy_uj"] == box.energy_high_uj).all()
    for search, records in filled.records.items():
        energies = [loihi.energy_uj(r.macs, r.sops, r.neuron_updates) for r in records]
        accuracies = [r.accuracy for r in records]
        final = volumes[volumes["search"] == search].iloc[-1]
        expected = normalized_hypervolume(accuracies, energies, box)
        assert final["hypervolume_normalized"] == pytest.approx(expected, rel=1e-9)
        assert report.hypervolume_normalized[search] == pytest.approx(expected, rel=1e-9)
        assert 0.05 < expected < 0.95
        raw = hypervolume(accuracies, energies, box.energy_high_uj, 0.0)
        assert final["hypervolume"] == pytest.approx(raw, rel=1e-9)
        assert final["recorded_hypervolume"] == pytest.approx(
            1.2 + 0.05 * (search == filled.evolution)
        )
    table = pd.read_csv(tmp_path / "l" / "pareto.csv")
    by_id = {r.id: r for rs in filled.records.values() for r in rs}
    priced = [
        loihi.energy_uj(by_id[i].macs, by_id[i].sops, by_id[i].neuron_updates) for i in table["id"]
    ]
    assert table["energy_uj"].tolist() == pytest.approx(priced, rel=1e-9)


def test_an_int8_search_reported_under_fp32_is_boxed_in_fp32(filled, tmp_path: Path) -> None:
    """Issue 24's unit mix: a run whose only search priced energy under 45nm-int8 (its stored
    reference in int8 uJ), reported under 45nm-fp32, is measured in the fp32 box; and in the
    int8 box when reported under int8."""
    from dataclasses import replace

    from app.common.report import hypervolume_frame, search_points
    from engine.pareto import normalized_hypervolume
    from engine.profiles import PROFILES
    from engine.search.reference import dataset_front_box
    from engine.space import SearchSpace
    from storage.records import SearchRecord

    space = SearchSpace.preset("digits-tiny")
    int8 = PROFILES["45nm-int8"]
    filled.store.create_run(RunRecord("int8-run", dataset="digits", space=space.to_dict()))
    small = dataset_front_box("digits", space, int8)
    settings = {"energy_profile": int8.name, "reference_energy_uj": small.energy_high_uj}
    filled.store.create_search(SearchRecord("int8-run.random.1", "int8-run", "random", settings))
    records = [
        replace(r.priced(int8), run="int8-run", search="int8-run.random.1")
        for r in filled.records[filled.random]
    ]
    filled.store.add_candidates(records)
    for name in ("45nm-fp32", "45nm-int8"):
        profile = PROFILES[name]
        points = search_points(filled.store, "int8-run", profile)
        frame = hypervolume_frame(filled.store, "int8-run", points, profile)
        box = dataset_front_box("digits", space, profile)
        energies = [profile.energy_uj(r.macs, r.sops, r.neuron_updates) for r in records]
        expected = normalized_hypervolume([r.accuracy for r in records], energies, box)
        assert frame["hypervolume_normalized"].iloc[-1] == pytest.approx(expected, rel=1e-9)
        assert (frame["reference_energy_uj"] == box.energy_high_uj).all()
    assert small.energy_high_uj < dataset_front_box("digits", space, "45nm-fp32").energy_high_uj
