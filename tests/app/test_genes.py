"""Genes as columns, the brush and the parallel-coordinates chart (app/common/genes.py,
app/common/parallel.py), on real candidates of the digits-tiny space."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from app.common import genes, parallel
from tests.app.conftest import make_candidates


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    records = make_candidates("r", "r.evolution.1", 40)
    points = pd.DataFrame(
        {
            "id": [r.id for r in records],
            "arch": [json.dumps(r.arch) for r in records],
            "accuracy": [r.accuracy for r in records],
            "energy_uj": [r.energy_uj for r in records],
        }
    )
    return genes.gene_frame(points, per_block_mlp=True)


def test_per_block_genes_are_their_mean_and_mlp_per_block_on_request(frame) -> None:
    record = make_candidates("r", "r.evolution.1", 40)[3]
    row = frame.iloc[3]
    arch = record.arch
    assert row["id"] == record.id and row["T"] == arch["time_steps"]
    assert row["mlp_ratio"] == pytest.approx(sum(arch["mlp_ratios"]) / arch["depth"])
    assert row["threshold"] == pytest.approx(sum(arch["thresholds"]) / arch["depth"])
    assert row["mlp_ratio_1"] == arch["mlp_ratios"][0]
    deepest = int(frame["depth"].max())
    shallow = frame[frame["depth"] < deepest].iloc[0]
    assert math.isnan(shallow[f"mlp_ratio_{deepest}"])  # no such block


def test_fixed_genes_are_left_out(frame) -> None:
    fixed = frame.assign(num_heads=2.0)
    assert "num_heads" not in genes.varying(fixed, list(genes.GENES))
    assert "depth" in genes.varying(fixed, list(genes.GENES))


def test_positions_invert_to_real_values_and_energy_is_log(frame) -> None:
    lo, hi = frame["energy_uj"].min(), frame["energy_uj"].max()
    assert genes.from_unit(frame, "energy_uj", 0.0) == pytest.approx(lo)
    assert genes.from_unit(frame, "energy_uj", 0.5) == pytest.approx(math.sqrt(lo * hi))
    assert genes.position(frame, "energy_uj", math.sqrt(lo * hi)) == pytest.approx(0.5)
    assert genes.from_unit(frame, "depth", 2.0) == frame["depth"].max()  # clipped to the axis


def test_a_drag_over_one_axis_brushes_that_axis_in_real_values(frame) -> None:
    axes = ["embed_dim", "depth", "accuracy"]
    # Over axis 1 (depth) only, its upper half.
    ranges = genes.brush_from_selection(frame, axes, {"axis": [0.8, 1.2], "unit": [1.0, 0.5]})
    low, high = frame["depth"].min(), frame["depth"].max()
    assert ranges == [("depth", pytest.approx((low + high) / 2), pytest.approx(high))]
    ids = frame.loc[genes.brushed(frame, ranges), "id"]
    assert len(ids) and (frame.set_index("id").loc[ids, "depth"] > (low + high) / 2 - 1e-9).all()
    assert genes.brush_from_selection(frame, axes, {"axis": [0.2, 0.8], "unit": [0, 1]}) == []
    assert genes.brush_from_selection(frame, axes, {}) == []


def test_brushes_combine_per_axis_and_round_trip_through_the_link(frame) -> None:
    first = genes.merge((), [("depth", 2.0, 2.0)])
    both = genes.merge(first, [("accuracy", 0.5, 0.9)])
    again = genes.merge(both, [("depth", 1.0, 1.0)])
    assert again == (("accuracy", 0.5, 0.9), ("depth", 1.0, 1.0))
    text = genes.format_brush(both)
    assert text == "depth:2:2,accuracy:0.5:0.9"
    assert genes.parse_brush(text) == (both, None)
    mask = genes.brushed(frame, both)
    assert (frame.loc[mask, "depth"] == 2).all()
    assert frame.loc[mask, "accuracy"].between(0.5, 0.9).all()
    assert not genes.brushed(frame, [("mlp_ratio_9", 0, 9)]).any()  # an axis it lacks


@pytest.mark.parametrize("text", ["depth:1", "height:1:2", "depth:a:2", "depth:1:inf", "x"])
def test_a_bad_brush_in_a_link_is_one_line_and_ignored(text: str) -> None:
    ranges, problem = genes.parse_brush(text)
    assert ranges == () and problem and "\n" not in problem and "brush=" in problem


def test_the_chart_draws_one_line_per_candidate_with_real_tick_labels(frame) -> None:
    axes = genes.varying(frame, [*genes.GENES, "accuracy", "energy_uj"])
    inside = frame["id"].head(5).tolist()
    chart = parallel.parallel_chart(frame, axes, inside=inside, ranges=[("depth", 2, 2)])
    spec = chart.to_dict()
    data = spec["datasets"]
    rows = [r for v in data.values() for r in v if "id" in r and "axis" in r]
    assert {r["id"] for r in rows} == set(frame["id"])  # every candidate, one line each
    assert {r["id"] for r in rows if r["inside"]} == set(inside)
    labels = {r["label"] for v in data.values() for r in v if "label" in r}
    units = [u for u in ("pJ", "nJ", "µJ", "mJ") if any(t.endswith(u) for t in labels)]
    assert len(units) == 1  # one unit on the whole energy axis
    assert len([t for t in labels if t.endswith(units[0])]) == parallel.TICKS
    assert any(t.endswith("%") for t in labels)
    assert parallel.BRUSH in json.dumps(spec["params"] if "params" in spec else spec)


def test_many_candidates_draw_the_kept_ones_and_a_seeded_sample(frame) -> None:
    keep = frame["id"].iloc[[3, 7]].tolist()
    drawn = parallel.drawn_ids(frame, keep, max_lines=10)
    assert len(drawn) == 10 and set(keep) <= set(drawn)
    assert drawn == parallel.drawn_ids(frame, keep, max_lines=10)
