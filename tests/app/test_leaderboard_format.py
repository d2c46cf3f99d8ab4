"""How candidates read in the tables: per-block genes as short columns, one accuracy format, the
selected rows ticked, widths that fit the explorer's column; silent blocks flagged."""

from __future__ import annotations

import pandas as pd

from app.common import units
from app.web.components import leaderboard_format as lf
from app.web.components import ui


def table(filled, alpha: float = 0.5, top: int = 10, selected=()):
    ranked = filled.store.rank(filled.run, alpha=alpha, top=top)
    rows = ui.ranked_frame(ranked)
    return ranked, *lf.leaderboard(rows, {r.id: r.arch for r, _ in ranked}, selected)


def test_per_block_genes_read_as_short_columns() -> None:
    arch = {"mlp_ratios": [4, 3], "num_heads": [4, 2], "thresholds": [1.4, 1], "taus": [2, 10]}
    shown = {c: lf.per_block(arch, key, fmt) for c, (key, fmt) in lf.BLOCK_GENES.items()}
    assert shown == {"mlp": "4/3", "heads": "4/2", "thr": "1.4/1.0", "tau": "2/10"}
    assert lf.per_block({"mlp_ratios": [3.5]}, "mlp_ratios", "{:g}") == "3.5"


def test_the_leaderboard_columns_and_formats(filled) -> None:
    ranked, out, config = table(filled)
    first = ranked[0][0]
    assert list(out["id"]) == [r.id for r, _ in ranked]  # same order: row picks map to ids
    assert out["accuracy"].iloc[0] == first.accuracy * 100
    assert config["accuracy"]["type_config"]["format"] == lf.ACCURACY_FORMAT
    assert out["mlp"].iloc[0] == "/".join(f"{r:g}" for r in first.arch["mlp_ratios"])
    assert out["thr"].iloc[0] == "/".join(f"{t:.1f}" for t in first.arch["thresholds"])
    assert out["params"].iloc[0] == units.format_ops(first.params)  # kept: the last to go
    unit = units.energy_unit_uj([r.energy_uj for r, _ in ranked])[0]
    assert config["energy"]["label"] == f"energy ({unit})"
    assert out["energy"].tolist() == [r.energy_uj * units.unit_factor(unit) for r, _ in ranked]
    assert out["✓"].tolist() == [""] * len(out)
    rows = ui.ranked_frame(ranked)
    wide, _ = lf.leaderboard(rows, {r.id: r.arch for r, _ in ranked}, fit_px=2000)
    assert set(wide["search"]) <= {"evolution.1", "random.1"}  # two searches: it says which


def test_the_selected_candidate_is_ticked(filled) -> None:
    ranked, out, _ = table(filled, selected=[filled.store.rank(filled.run, top=3)[2][0].id])
    assert out["✓"].tolist()[:4] == ["", "", "✓", ""]


def test_columns_fit_the_explorer_or_optional_ones_go(filled) -> None:
    ranked, out, config = table(filled)
    assert lf.SELECT_PX + sum(c["width"] for c in config.values()) <= lf.FIT_PX
    assert set(config) == set(out.columns)
    rows = ui.ranked_frame(ranked)
    archs = {r.id: r.arch for r, _ in ranked}
    narrow, config = lf.leaderboard(rows, archs, fit_px=700)
    dropped = [c for c in lf.OPTIONAL if c not in narrow.columns]
    assert dropped and dropped == list(lf.OPTIONAL[: len(dropped)])
    for column in ("rank", "id", "F_AEB", "accuracy", "energy", "mlp", "heads", "thr", "tau"):
        assert column in narrow.columns


def test_widths_follow_the_content() -> None:
    frame = pd.DataFrame({"id": ["0123456789abcdef"], "T": [4]})
    assert lf._width(frame, "id") > lf._width(frame, "T")


def test_silent_blocks_are_those_whose_spiking_layers_never_fire() -> None:
    rates = {
        "sps.rpe_lif": 0.1,
        "blocks.0.attn.qkv_lif": 0.2,
        "blocks.0.mlp.fc1_lif": 0.0,
        "blocks.1.attn.qkv_lif": 0.0,
        "blocks.1.mlp.fc1_lif": 0.0,
    }
    assert lf.silent_blocks(rates, depth=3) == [2]  # block 3 has no recorded rates: not judged
    energy = {"blocks.1.mlp.fc1_linear": 0.0, "blocks.1.attn.qkv_linear": 0.25}
    note = lf.silent_note(rates, energy, depth=2)
    assert note.startswith("Block 2 is silent") and "energy: 250 nJ." in note
    assert lf.silent_note({"blocks.0.mlp.fc1_lif": 0.3}, {}, depth=1) is None


def test_the_explorer_ticks_the_selection_and_flags_a_silent_block(filled, open_app) -> None:
    record = filled.store.rank(filled.run, alpha=0.5, top=2)[1][0]
    silent = {k: (0.0 if k.startswith("blocks.0.") else v) for k, v in record.firing_rates.items()}
    with filled.store.connect(write=True) as con:  # the fixture's rates are never 0
        con.execute(
            "UPDATE candidates SET firing_rates = $f WHERE id = $i",
            {"f": __import__("json").dumps(silent, sort_keys=True), "i": record.id},
        )
    at = open_app("explorer", {"run": filled.run, "alpha": "0.5", "selection": record.id})
    assert not at.exception
    board = at.dataframe[0].value
    assert board.loc[board["id"] == record.id, "✓"].item() == "✓"
    assert (board["✓"] == "✓").sum() == 1
    assert any(w.value.startswith("Block 1 is silent") for w in at.warning)


def test_archived_runs_are_left_out_of_the_run_lists_unless_linked(filled, open_app) -> None:
    filled.store.update_run("digits-live", archived=True)
    at = open_app("explorer")
    assert at.selectbox(key="ex_run").options == [filled.run]
    at = open_app("compare")
    assert "digits-live" not in at.selectbox(key="cp_run").options
    at = open_app("explorer", {"run": "digits-live"})
    assert "digits-live" in at.selectbox(key="ex_run").options


def test_the_selected_candidates_table_uses_the_same_accuracy_format(filled, open_app) -> None:
    ids = [r.id for r in filled.records[filled.evolution][:3]]
    at = open_app("explorer", {"run": filled.run, "selection": ",".join(ids)})
    subset = at.dataframe[1]
    assert subset.value["accuracy"].max() > 1  # shown x 100
    assert '"format":"%.2f%%"' in subset.proto.columns.replace(" ", "")
