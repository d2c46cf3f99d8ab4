"""URL view state: parsing, defaults, one-line problems and round trips."""

from __future__ import annotations

import pytest

from app.web.components import viewstate
from app.web.components.viewstate import CompareView, ExplorerView


def test_explorer_view_round_trips_through_params() -> None:
    view = ExplorerView(
        run="r1",
        search="r1.evolution.1",
        alpha=0.37,
        selection=("aaaa", "bbbb"),
        page=2,
        top=5,
        color="strategy",
        log=True,
        box=(0.1, 2.5, 0.6, 0.9),
    )
    parsed, problems = viewstate.parse_explorer(view.to_params())
    assert problems == []
    assert parsed == view


def test_defaults_are_left_out_of_the_link() -> None:
    assert ExplorerView(run="r1").to_params() == {"run": "r1", "alpha": "0.5"}


@pytest.mark.parametrize("text", ["abc", "1.5", "-0.1", "nan", "inf"])
def test_bad_alpha_falls_back_with_a_message(text: str) -> None:
    view, problems = viewstate.parse_explorer({"run": "r1", "alpha": text})
    assert view.alpha == viewstate.DEFAULT_ALPHA
    assert len(problems) == 1 and "alpha=" in problems[0] and "[0, 1]" in problems[0]
    assert "\n" not in problems[0]


def test_list_values_take_the_last_one() -> None:
    view, _ = viewstate.parse_explorer({"alpha": ["0.1", "0.9"]})
    assert view.alpha == 0.9


def test_selection_is_deduplicated_and_malformed_ids_reported() -> None:
    view, problems = viewstate.parse_explorer({"selection": "aa,bb,aa,../x"})
    assert view.selection == ("aa", "bb")
    assert any("malformed" in p for p in problems)


def test_bad_run_name_and_box_are_reported() -> None:
    view, problems = viewstate.parse_explorer({"run": "../etc", "box": "1,2,3"})
    assert view.run is None and view.box is None
    assert len(problems) == 2


def test_compare_view_round_trips() -> None:
    view = CompareView(mode="candidates", run="r1", a="aaaa", b="bbbb", alpha=0.8)
    parsed, problems = viewstate.parse_compare(view.to_params())
    assert problems == [] and parsed == view


def test_share_link_points_at_the_page() -> None:
    link = viewstate.share_link(
        "http://localhost:8501/explorer?run=old", "explorer", {"run": "r 1", "alpha": "0.5"}
    )
    assert link == "http://localhost:8501/explorer?run=r+1&alpha=0.5"
    assert viewstate.share_link(None, "explorer", {"run": "r1"}) == "explorer?run=r1"


def test_explorer_profile_and_infeasible_round_trip() -> None:
    view = viewstate.ExplorerView(run="r", profile="loihi-2018", infeasible=True)
    params = view.to_params()
    assert params["profile"] == "loihi-2018" and params["infeasible"] == "1"
    assert viewstate.parse_explorer(params) == (view, [])
    default = viewstate.ExplorerView(run="r").to_params()
    assert "profile" not in default and "infeasible" not in default


def test_explorer_silent_in_order_round_trips_and_is_off_by_default() -> None:
    view = viewstate.ExplorerView(run="r", silent=True)
    assert view.to_params()["silent"] == "1"
    assert viewstate.parse_explorer(view.to_params()) == (view, [])
    assert "silent" not in viewstate.ExplorerView(run="r").to_params()
    assert viewstate.parse_explorer({"run": "r", "silent": "0"})[0].silent is False


def test_explorer_unknown_profile_is_reported_and_replaced() -> None:
    view, problems = viewstate.parse_explorer({"run": "r", "profile": "tpu"})
    assert view.profile == "45nm-fp32"
    assert len(problems) == 1 and "profile='tpu'" in problems[0] and "\n" not in problems[0]


def test_leaderboard_view() -> None:
    view, problems = viewstate.parse_leaderboard({"id": "0123456789ab"})
    assert (view.id, problems) == ("0123456789ab", [])
    assert view.to_params() == {"id": "0123456789ab"}
    bad, problems = viewstate.parse_leaderboard({"id": "../x"})
    assert bad.id is None and problems


def test_share_link_from_one_page_to_another() -> None:
    base = "http://host:8501/explorer"
    link = viewstate.share_link(base, "leaderboard", {"id": "ab12"}, current="explorer")
    assert link == "http://host:8501/leaderboard?id=ab12"
    assert viewstate.share_link(base + "?run=x", "explorer", {"run": "y"}) == (
        "http://host:8501/explorer?run=y"
    )


@pytest.mark.parametrize("text", ["100000000000000000000", "0", "-3", "nan", "1e400", "201"])
def test_top_in_a_link_stays_within_the_page_limit(text: str) -> None:
    view, problems = viewstate.parse_explorer({"run": "r1", "top": text})
    assert view.top == viewstate.DEFAULT_TOP
    assert problems == [
        f"top={text!r} in the link is not a whole number in [1, {viewstate.MAX_TOP}]; "
        f"using {viewstate.DEFAULT_TOP}"
    ]
