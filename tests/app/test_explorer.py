"""The explorer page (AppTest against a real DuckDB store in a temporary home)."""

from __future__ import annotations

import re

from app.common import frames
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
    # Per-layer energy and firing-rate charts next to the scatter, then the genes section's
    # parallel coordinates and its two importance charts.
    assert len(at.get("vega_lite_chart")) == 6
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


# ---- second round: energy profiles, constraints, searches, sharing -----------------------------
def test_the_profile_selector_reranks_at_once_and_lives_in_the_url(filled, open_app) -> None:
    from engine.profiles import PROFILES

    at = open_app("explorer", {"run": filled.run, "alpha": "0.5"})
    _, fp32_best = best_shown(at)
    at.selectbox(key="ex_profile").set_value("loihi-2018").run()
    assert not at.exception
    assert at.query_params["profile"] == "loihi-2018"
    _, loihi_best = best_shown(at)
    ranked = filled.store.rank(filled.run, alpha=0.5, top=10, profile=PROFILES["loihi-2018"])
    assert loihi_best == ranked[0][0].id != fp32_best
    assert at.dataframe[0].value["id"].tolist() == [r.id for r, _ in ranked]
    assert any("Energies under loihi-2018" in c.value for c in at.caption)
    # A copied link reopens the same profile.
    again = open_app("explorer", {"run": filled.run, "alpha": "0.5", "profile": "loihi-2018"})
    assert best_shown(again)[1] == loihi_best


def test_the_per_layer_energy_follows_the_profile(filled, open_app) -> None:
    record = filled.records[filled.evolution][5]
    params = {"run": filled.run, "selection": record.id}
    fp32 = open_app("explorer", params)
    loihi = open_app("explorer", {**params, "profile": "loihi-2018"})

    # The per-layer energy chart (after the scatter): LIF layers cost energy on Loihi only.
    def energy_chart(at) -> bytes:
        return at.get("vega_lite_chart")[1].proto.SerializeToString()

    assert b"fc1_lif" in energy_chart(loihi) and b"fc1_linear" in energy_chart(loihi)
    assert b"fc1_lif" not in energy_chart(fp32) and b"fc1_linear" in energy_chart(fp32)
    assert any("Energy per layer** (loihi-2018)" in md.value for md in loihi.markdown)


def test_a_bad_profile_in_the_link_is_reported(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "profile": "tpu"})
    assert not at.exception
    assert any("profile='tpu'" in w.value for w in at.warning)
    assert "profile" not in at.query_params


def _split_by_budget(filled) -> tuple[str, set[str]]:
    """A third search whose costliest half is over its energy budget."""
    from dataclasses import replace

    sid = f"{filled.run}.evolution.9"
    filled.store.create_search(
        SearchRecord(id=sid, run=filled.run, strategy="evolution", settings={"alpha": 0.3})
    )
    records = filled.records[filled.evolution]
    budget = sorted(r.energy_uj for r in records)[len(records) // 2]
    over = {r.id for r in records if r.energy_uj > budget}
    filled.store.add_candidates(
        replace(
            r, search=sid, feasible=r.id not in over, violation="energy_budget" * (r.id in over)
        )
        for r in records
    )
    return sid, over


def test_infeasible_candidates_are_never_ranked_and_drawn_only_on_request(filled, open_app):
    sid, over = _split_by_budget(filled)
    at = open_app("explorer", {"run": filled.run, "search": sid, "alpha": "0"})
    assert not at.exception
    _, best = best_shown(at)
    assert best not in over  # the most accurate candidates are over the budget
    assert not set(at.dataframe[0].value["id"]) & over
    assert any(f"{len(over)} infeasible candidates hidden" in c.value for c in at.caption)
    spec = str(at.get("vega_lite_chart")[0].spec)
    assert "infeasible candidate" not in spec
    at.toggle(key="ex_infeasible").set_value(True).run()
    assert at.query_params["infeasible"] == "1"
    spec = str(at.get("vega_lite_chart")[0].spec)
    assert "infeasible candidate" in spec and '"cross"' in spec
    assert best_shown(at)[1] == best  # still the feasible winner
    assert drawn_caption(at).startswith(f"{60 - len(over)} candidates")


def test_each_search_shows_its_strategy_alpha_and_covered_alphas(filled, open_app) -> None:
    filled.store.update_search(filled.evolution, settings={"alpha": 0.5})
    at = open_app("explorer", {"run": filled.run})
    searches = next(c.value for c in at.caption if c.value.startswith("Searches:"))
    assert f"`{filled.evolution}`: evolution, alpha 0.5; covers alpha " in searches
    assert f"`{filled.random}`: random" in searches
    scope = at.selectbox(key="ex_search")
    assert "evolution, alpha 0.5" in scope.format_func(filled.evolution)


def test_share_freezes_the_leaderboard_from_the_explorer(filled, open_app) -> None:
    at = open_app("explorer", {"run": filled.run, "alpha": "0.3", "top": "5"})
    at.text_input(key="ex_share_title").input("weekly picks")
    at.button(key="FormSubmitter:ex_share_form-Share leaderboard").click().run()
    assert not at.exception
    boards = filled.store.list_leaderboards()
    assert len(boards) == 1
    board = boards[0]
    assert (board.title, board.alpha, board.top, board.author) == ("weekly picks", 0.3, 5, "")
    assert [c["id"] for c in board.candidates] == [
        r.id for r, _ in filled.store.rank(filled.run, alpha=0.3, top=5)
    ]
    assert any(c.value.endswith(f"leaderboard?id={board.id}") for c in at.code)


def test_sharing_needs_a_signed_in_user_with_auth(filled, open_app) -> None:
    from tests.app.signin import ANA, ANONYMOUS, AUTH, GATE, identity

    at = open_app("explorer", {"run": filled.run}, secrets=AUTH, user=ANONYMOUS)
    assert not at.exception
    assert any(GATE in i.value for i in at.info) and not at.get("vega_lite_chart")
    signed = open_app("explorer", {"run": filled.run}, secrets=AUTH, user=ANA)
    signed.button(key="FormSubmitter:ex_share_form-Share leaderboard").click().run()
    assert filled.store.list_leaderboards()[0].author == identity(ANA)


def mark_silent(filled, alpha: float) -> str:
    """Make the run's best candidate at `alpha` silent: its first block never fires."""
    import json

    best = filled.store.rank(filled.run, alpha=alpha, top=1)[0][0]
    rates = {k: (0.0 if k.startswith("blocks.0.") else v) for k, v in best.firing_rates.items()}
    with filled.store.connect(write=True) as con:
        con.execute(
            "UPDATE candidates SET silent = true, firing_rates = $f WHERE id = $i",
            {"f": json.dumps(rates, sort_keys=True), "i": best.id},
        )
    return best.id


def test_a_silent_candidate_is_flagged_and_ranked_last_unless_asked(filled, open_app) -> None:
    from app.web.components.leaderboard_format import SILENT

    quiet = mark_silent(filled, 0.3)
    at = open_app("explorer", {"run": filled.run, "alpha": "0.3", "top": "200"})
    assert not at.exception
    board = at.dataframe[0].value
    assert board["id"].iloc[-1] == quiet and board[SILENT].iloc[-1] == SILENT
    assert (board[SILENT] == SILENT).sum() == 1
    assert best_shown(at)[1] != quiet
    assert any("1 silent" in c.value and "ranked after the others" in c.value for c in at.caption)
    at.toggle(key="ex_silent").set_value(True).run()
    assert at.dataframe[0].value["id"].iloc[0] == quiet and best_shown(at)[1] == quiet
    assert at.query_params["silent"] == "1"  # kept in the link
    linked = open_app("explorer", {"run": filled.run, "alpha": "0.3", "silent": "1"})
    assert linked.dataframe[0].value["id"].iloc[0] == quiet


def test_the_leaderboard_download_flags_silent_candidates_last(filled) -> None:
    from app.web.components import downloads

    quiet = mark_silent(filled, 0.5)
    table = downloads.leaderboard(filled.store, filled.run, None, 0.5, silent_last=True)
    assert table["id"].iloc[-1] == quiet and table["silent"].tolist().count(True) == 1
    ranked = filled.store.rank(filled.run, alpha=0.5, silent_last=True)
    assert table["id"].tolist() == [r.id for r, _ in ranked]
    assert downloads.leaderboard(filled.store, filled.run, None, 0.5)["id"].iloc[0] == quiet


def test_shared_and_compared_silent_candidates_are_flagged(filled, open_app) -> None:
    from app.web.components.leaderboard_format import SILENT

    quiet = mark_silent(filled, 0.4)
    board = filled.store.share(filled.run, alpha=0.4, top=3, silent_last=True, id="quiet1")
    assert quiet not in [c["id"] for c in board.candidates]  # silent ones last: not in the top
    everyone = filled.store.share(filled.run, alpha=0.4, top=3, id="loud1")
    at = open_app("leaderboard", {"id": everyone.id})
    table = at.dataframe[0].value
    assert table["silent"].tolist() == [True, False, False] and table["id"].iloc[0] == quiet
    other = filled.store.rank(filled.run, alpha=0.4, top=2, silent_last=True)[0][0].id
    params = {"mode": "candidates", "run": filled.run, "a": quiet, "b": other}
    side = open_app("compare", params).table[0].value
    assert side.loc[f"silent blocks {SILENT}"].tolist() == ["1", "none", ""]
