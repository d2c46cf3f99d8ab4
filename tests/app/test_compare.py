"""The compare page: two fronts with hypervolumes, two candidates side by side, the knee."""

from __future__ import annotations

from dataclasses import replace

from app.common import frames
from app.common.units import format_energy
from engine.pareto import hypervolume, normalized_hypervolume
from engine.profiles import PROFILES
from engine.search.reference import dataset_front_box
from engine.space import SearchSpace
from storage.records import RunRecord, SearchRecord

NORMALIZED = "normalized hypervolume"
LABEL = "normalized hypervolume (accuracy above chance × log energy, 0–1)"
RAW = "raw hypervolume (µJ × accuracy)"


def test_default_compares_the_newest_runs_two_searches(filled, open_app) -> None:
    at = open_app("compare")
    assert not at.exception
    assert at.query_params["search"] == filled.evolution
    assert at.query_params["search2"] == filled.random
    labels = [m.label for m in at.metric]
    assert labels == [f"A: {NORMALIZED}", f"A: {RAW}", f"B: {NORMALIZED}", f"B: {RAW}"]
    assert any(c.value.startswith(f"The {LABEL} is the share") for c in at.caption)
    # The fronts chart and two knee panels (accuracy, energy) per side.
    assert len(at.get("vega_lite_chart")) == 1 + 2 * 2


def test_knee_lists_each_alpha_range_and_its_winner(filled, open_app) -> None:
    at = open_app("compare", {"mode": "runs", "run": filled.run, "run2": filled.run})
    segments = at.dataframe[0].value
    points = frames.load_points(filled.store, filled.run)
    expected = frames.knee_segments(frames.knee(points))
    assert segments["id"].tolist() == expected["id"].tolist()
    assert segments["alpha_from"].iloc[0] == 0.0 and segments["alpha_to"].iloc[-1] == 1.0


def test_two_candidates_side_by_side(filled, open_app) -> None:
    a = filled.records[filled.evolution][0]
    b = filled.records[filled.random][1]
    params = {"mode": "candidates", "run": filled.run, "a": a.id, "b": b.id, "alpha": "0.5"}
    at = open_app("compare", params)
    assert not at.exception
    table = at.table[0].value
    assert list(table.columns) == ["A", "B", "B - A"]
    accuracy = table.loc["validation accuracy"]
    assert accuracy["A"] == f"{a.accuracy * 100:.2f}%" and accuracy["B"] == f"{b.accuracy:.2%}"
    from app.common.units import energy_unit_uj, format_ops

    energy = table.loc["energy"]  # one unit for the row, chosen as every other view chooses it
    unit = energy_unit_uj([a.energy_uj, b.energy_uj])[0]
    assert (energy["A"], energy["B"]) == (
        format_energy(a.energy_uj, unit=unit),
        format_energy(b.energy_uj, unit=unit),
    )
    assert energy["B - A"].endswith(f" {unit}") and energy["B - A"][0] in "+-"
    sops = table.loc["SOPs"]  # SI suffixes, as the CLI and the leaderboard write them
    assert (sops["A"], sops["B"]) == (format_ops(a.sops), format_ops(b.sops))
    assert table.loc["mlp per block", "A"] == "/".join(f"{r:g}" for r in a.arch["mlp_ratios"])
    assert table.loc["thr per block", "B"] == "/".join(f"{t:.1f}" for t in b.arch["thresholds"])
    assert [t.label for t in at.tabs] == [f"A: {a.id}", f"B: {b.id}"]
    shown = [m.value for m in at.markdown]
    assert any(f"Candidate `{a.id}`" in m for m in shown)
    assert any(f"Candidate `{b.id}`" in m for m in shown)
    assert {k: str(v) for k, v in at.query_params.items()} == params


def test_unknown_candidate_and_run_are_clear_messages(filled, open_app) -> None:
    at = open_app("compare", {"mode": "candidates", "run": filled.run, "a": "feedfacefeedface"})
    assert any("unknown candidate 'feedfacefeedface'" in e.value for e in at.error)
    at = open_app("compare", {"run": "ghost", "run2": filled.run})
    assert any("Unknown run 'ghost'" in e.value for e in at.error)


def test_the_knee_has_one_accuracy_format_and_a_range_for_a_single_value(filled, open_app) -> None:
    from app.web.components import compare_charts

    at = open_app("compare", {"mode": "runs", "run": filled.run, "run2": filled.run})
    config = at.dataframe[0].proto.columns  # the segments table's column settings (JSON text)
    assert '"format":"%.2f%%"' in config.replace(" ", "")
    # A winner that never changes: a padded range, not a zero-height axis.
    curve = frames.knee(frames.load_points(filled.store, filled.run).head(1))
    accuracy, energy = compare_charts.knee_panels(curve, alpha=0.5)
    low, high = accuracy.to_dict()["layer"][0]["encoding"]["y"]["scale"]["domain"]
    value = float(curve["accuracy"].iloc[0])
    assert low < value < high and high - low > 0.01


def shown(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_hypervolumes_are_in_the_box_of_the_shown_profile(filled, open_app) -> None:
    """The headline is the normalized hypervolume in the box of the space on digits under the
    profile the fronts are shown in (45nm-fp32); the raw one is kept with that box's bound as its
    reference."""
    at = open_app("compare")
    box = dataset_front_box("digits", SearchSpace.preset("digits-tiny"), "45nm-fp32")
    for tag, search in zip("AB", (filled.evolution, filled.random), strict=True):
        points = frames.load_points(filled.store, filled.run, search)
        hvn = normalized_hypervolume(points["accuracy"], points["energy_uj"], box)
        assert shown(at)[f"{tag}: {NORMALIZED}"] == f"{hvn:.4f}" and 0 < hvn < 1
        hv = hypervolume(points["accuracy"], points["energy_uj"], box.energy_high_uj, 0.0)
        assert shown(at)[f"{tag}: {RAW}"] == f"{hv:.4g}"
    assert any(f"up to energy {format_energy(box.energy_high_uj)} " in c.value for c in at.caption)


def test_a_search_priced_in_another_profile_is_measured_in_the_shown_one(filled, open_app) -> None:
    """Issue 24's unit mix: a search run under 45nm-int8 (its candidates and its stored
    reference in int8 uJ) shown under 45nm-fp32 gets the fp32 box and bound, never its own
    int8 reference with fp32 energies."""
    int8 = PROFILES["45nm-int8"]
    filled.store.create_run(
        RunRecord("int8-run", dataset="digits", space=SearchSpace.preset("digits-tiny").to_dict())
    )
    small = dataset_front_box("digits", SearchSpace.preset("digits-tiny"), "45nm-int8")
    settings = {"energy_profile": "45nm-int8", "reference_energy_uj": small.energy_high_uj}
    filled.store.create_search(SearchRecord("int8-run.random.1", "int8-run", "random", settings))
    filled.store.add_candidates(
        replace(r.priced(int8), run="int8-run", search="int8-run.random.1")
        for r in filled.records[filled.random]
    )
    at = open_app("compare", {"run": "int8-run", "run2": filled.run, "search2": filled.random})
    assert not at.exception
    # The same archs and counts: in the shown profile, both scopes measure the same.
    assert shown(at)[f"A: {NORMALIZED}"] == shown(at)[f"B: {NORMALIZED}"]
    assert shown(at)[f"A: {RAW}"] == shown(at)[f"B: {RAW}"]
    points = frames.load_points(filled.store, filled.run, filled.random)
    mixed = hypervolume(points["accuracy"], points["energy_uj"], small.energy_high_uj, 0.0)
    assert shown(at)[f"A: {RAW}"] != f"{mixed:.4g}"  # what the int8 reference would give
