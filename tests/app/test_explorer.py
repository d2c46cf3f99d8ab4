"""The explorer page (AppTest against a real DuckDB store in a temporary home)."""

from __future__ import annotations

import re

from app import frames
from storage.records import SearchRecord

BEST = re.compile(r"Best at alpha=([0-9.]+): `([0-9a-f]+)`")


def best_shown(at) -> tuple[float, str]:
    for md in at.markdown:
        m = BEST.search(md.value)
        if m:
            return float(m.group(1)), m.group(2)
    raise AssertionError("no 'Best at alpha' line on the page")


def test_explorer_renders_the_chart_and_the_best_candidate(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "alpha": "0.3"})
    assert not at.exception
    assert len(at.get("vega_lite_chart")) >= 1
    alpha, best = best_shown(at)
    top, _ = filled.store.rank(filled.run, alpha=0.3, top=1)[0]
    assert (alpha, best) == (0.3, top.id)
    assert at.dataframe[0].value["id"].tolist() == [
        r.id for r, _ in filled.store.rank(filled.run, alpha=0.3, top=10)
    ]


def test_moving_alpha_changes_the_top_ranked_candidate(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "alpha": "0"})
    _, by_accuracy = best_shown(at)
    at.slider(key="ex_alpha").set_value(1.0).run()
    alpha, by_energy = best_shown(at)
    assert alpha == 1.0 and by_energy != by_accuracy
    assert by_energy == filled.store.rank(filled.run, alpha=1.0, top=1)[0][0].id
    assert at.query_params["alpha"] == "1"


def test_bad_alpha_in_the_link_is_reported(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "alpha": "banana"})
    assert not at.exception
    assert any("alpha='banana'" in w.value for w in at.warning)
    assert best_shown(at)[0] == 0.5
    assert at.query_params["alpha"] == "0.5"


def test_unknown_run_is_a_clear_message(filled, open_app) -> None:
    at = open_app("explorer", {"run": "no-such-run"})
    assert not at.exception
    assert any("Unknown run 'no-such-run'" in e.value for e in at.error)
    assert not at.get("vega_lite_chart")


def test_unknown_candidate_in_the_selection_is_reported(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "selection": "0123456789abcdef"})
    assert not at.exception
    assert any("Unknown candidate '0123456789abcdef'" in w.value for w in at.warning)


def test_a_selected_candidate_opens_its_detail(filled, open_app) -> None:
    record = filled.records[filled.evolution][5]
    at = open_app("explorer", {"run": filled.run, "selection": record.id})
    assert not at.exception
    assert any(f"Candidate `{record.id}`" in md.value for md in at.markdown)
    blocks = at.table[0].value
    assert len(blocks) == record.arch["depth"]
    assert blocks["threshold"].tolist() == [float(t) for t in record.arch["thresholds"]]
    labels = [m.label for m in at.metric]
    assert {"params", "SOPs", "energy", "time steps T", "embed dim"} <= set(labels)
    # Per-layer energy and firing-rate charts next to the scatter.
    assert len(at.get("vega_lite_chart")) == 3
    assert len(at.get("download_button")) >= 3  # CSV, Parquet, config JSON (+ checkpoint)


def test_a_box_in_the_link_selects_every_candidate_inside(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "box": "0.2,1.0,0.6,0.8"})
    assert not at.exception
    assert any("candidates selected" in c.value for c in at.caption)
    assert at.selectbox(key="ex_detail").value is not None


def test_search_scope_ranks_only_that_search(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "search": filled.random, "alpha": "0.5"})
    table = at.dataframe[0].value
    assert set(table["id"]) <= {r.id for r in filled.records[filled.random]}
    assert "search" not in table.columns  # one search: the column would say the same everywhere
    assert table["id"].iloc[0] == filled.store.rank(filled.run, filled.random, 0.5, 1)[0][0].id


def test_unknown_search_falls_back_to_the_whole_run(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "search": "digits-demo.nope.9"})
    assert any("Unknown search" in e.value for e in at.error)
    assert "search" not in at.query_params


def test_query_params_round_trip(filled, open_app) -> None:
    record = filled.records[filled.random][3]
    params = {
        "run": filled.run,
        "search": filled.random,
        "alpha": "0.25",
        "selection": record.id,
        "top": "5",
        "color": "strategy",
        "log": "1",
    }
    at = open_app("explorer", params)
    assert not at.exception
    assert {k: str(v) for k, v in at.query_params.items()} == params
    assert at.slider(key="ex_alpha").value == 0.25
    assert at.radio(key="ex_color").value == "strategy"
    assert len(at.dataframe[0].value) == 5
    # A second session opening the same link sees the same view.
    again = open_app("explorer", {k: str(v) for k, v in at.query_params.items()})
    assert best_shown(again) == best_shown(at)
    assert {k: str(v) for k, v in again.query_params.items()} == params


def test_live_run_without_candidates_says_so(filled, open_app) -> None:
    at = open_app("explorer", {"run": "digits-live"})
    assert not at.exception
    assert any("No candidates yet" in i.value for i in at.info)


def drawn_caption(at) -> str:
    return next(c.value for c in at.caption if "points drawn" in c.value)


def test_many_candidates_are_thinned_for_drawing_but_the_front_stays_exact(
    filled, open_app, make_records
) -> None:
    big = f"{filled.run}.evolution.2"
    filled.store.create_search(
        SearchRecord(id=big, run=filled.run, strategy="evolution", state="done")
    )
    filled.store.add_candidates(make_records(filled.run, big, 5000, seed=7))
    at = open_app("explorer", {"run": filled.run, "search": big})
    assert not at.exception
    caption = drawn_caption(at)
    front = frames.front(frames.load_points(filled.store, filled.run, big))
    assert "5,000 candidates" in caption and "aggregated" in caption
    assert f"Pareto front of {len(front)}" in caption
    drawn = int(re.search(r"([\d,]+) points drawn", caption)[1].replace(",", ""))
    assert drawn < 5000


def test_the_explorer_picks_up_new_candidates_of_a_live_run(filled, open_app, make_records):
    search = "digits-live.evolution.1"
    filled.store.update_run("digits-live", state="searching")
    filled.store.create_search(
        SearchRecord(id=search, run="digits-live", strategy="evolution", state="searching")
    )
    records = make_records("digits-live", search, 10, seed=3)
    filled.store.add_candidates(records[:4])
    at = open_app("explorer", {"run": "digits-live"})
    assert drawn_caption(at).startswith("4 candidates")
    filled.store.add_candidates(records[4:])
    at.run()  # what the fragment's timer does while the run is live
    assert drawn_caption(at).startswith("10 candidates")


def test_a_page_past_the_end_shows_the_last_page(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "page": "99"})
    assert not at.exception
    assert any("ranks 91-98" in h.value for h in at.subheader)
    assert at.query_params["page"] == "10"
    assert len(at.dataframe[0].value) == 8
