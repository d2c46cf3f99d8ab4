"""The compare page: two fronts with hypervolumes, two candidates side by side, the knee."""

from __future__ import annotations

from app.common import frames
from app.common.units import format_energy
from engine.pareto import hypervolume
from engine.space import SearchSpace
from tasks.pipeline import search_reference


def test_default_compares_the_newest_runs_two_searches(filled, open_app) -> None:
    at = open_app("compare")
    assert not at.exception
    assert at.query_params["search"] == filled.evolution
    assert at.query_params["search2"] == filled.random
    labels = [m.label for m in at.metric]
    assert labels == ["A: hypervolume", "B: hypervolume"]
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


def test_hypervolumes_use_the_searches_stored_reference(filled, open_app) -> None:
    """Both metrics use the searches' reference (here derived, as for searches recorded before
    references were stored: the space's energy bound on digits), not the energies shown."""
    at = open_app("compare")
    ref = search_reference("digits", SearchSpace.preset("digits-tiny"))
    for metric, search in zip(at.metric, (filled.evolution, filled.random), strict=True):
        points = frames.load_points(filled.store, filled.run, search)
        hv = hypervolume(points["accuracy"], points["energy_uj"], ref, 0.0)
        assert metric.value == f"{hv:.4g}"
    assert any(f"up to energy {format_energy(ref)} " in c.value for c in at.caption)
