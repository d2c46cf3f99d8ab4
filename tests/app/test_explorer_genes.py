"""The explorer's genes section (AppTest, real DuckDB store): the brush in the link selects the
candidates inside it, Clear removes it, a bad one is one line; the gene importance panel states
its method and its fit."""

from __future__ import annotations

from app.common import genes as gene_columns
from app.web.components import genes


def depth_of(filled) -> dict[str, int]:
    records = filled.records[filled.evolution] + filled.records[filled.random]
    return {r.id: r.arch["depth"] for r in records}


def selected_caption(at) -> str:
    return next(c.value for c in at.caption if "candidates selected" in c.value)


def test_a_brush_in_the_link_selects_the_candidates_inside_it(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "brush": "depth:2:2"}, timeout=180)
    assert not at.exception
    deep = sorted(i for i, d in depth_of(filled).items() if d == 2)
    assert 0 < len(deep) < len(depth_of(filled))
    assert selected_caption(at).startswith(f"{len(deep):,} candidates selected")
    shown = at.dataframe[1].value["id"].tolist()  # the selection's table, under the leaderboard
    assert sorted(shown) == deep
    brushed = next(m.value for m in at.markdown if m.value.startswith("**Brushed:**"))
    assert "depth 2 to 2" in brushed and f"{len(deep):,} of" in brushed
    assert at.query_params["brush"] == "depth:2:2"  # the link keeps it
    ticks = at.dataframe[0].value
    marked = ticks.loc[ticks["✓"] == "✓", "id"].tolist()
    assert marked and set(marked) <= set(deep)  # the leaderboard ticks the brushed rows


def test_clear_brush_empties_the_selection_and_the_link(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "brush": "depth:2:2"}, timeout=180)
    at.button(key="ex_unbrush").click().run()
    assert not at.exception
    assert "brush" not in at.query_params
    assert any(c.value.startswith("Nothing selected") for c in at.caption)
    assert at.button(key="ex_unbrush").disabled


def test_a_bad_brush_in_the_link_is_one_line(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "brush": "height:1:2"}, timeout=180)
    assert not at.exception
    lines = [w.value for w in at.warning if "brush=" in w.value]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "brush" not in at.query_params


def test_gene_importance_states_its_method_and_fit(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run}, timeout=180)
    assert not at.exception
    heads = [m.value for m in at.markdown]
    assert "**What drives accuracy**" in heads
    assert "**What drives energy (45nm-fp32)**" in heads
    fits = [c.value for c in at.caption if c.value.startswith("Out-of-bag R²")]
    n = len(genes.frame(filled.run, None, "45nm-fp32"))  # run scope: an arch counts once
    assert len(fits) == 2 and all(f"over {n} candidates" in f for f in fits)
    method = next(c.value for c in at.caption if c.value.startswith("Permutation importance"))
    assert "RandomForestRegressor" in method and "seed 0" in method


def test_the_genes_that_vary_are_the_axes(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run}, timeout=180)
    assert not at.exception
    data = genes.frame(filled.run, None, "45nm-fp32")
    axes = genes.axes(data)
    assert axes[-2:] == ["accuracy", "energy_uj"]
    assert set(axes[:-2]) <= set(gene_columns.GENES)
    assert "num_heads" in axes or data["num_heads"].nunique() == 1
