"""The researcher views' URL state (app/web/components/viewstate.py): the explorer's brush, the
runs table's filters and Compare's extra runs round-trip through a link; bad values are one line
each and dropped."""

from __future__ import annotations

from app.web.components import viewstate


def test_the_explorer_brush_round_trips() -> None:
    view = viewstate.ExplorerView(
        run="r1", brush=(("depth", 2.0, 3.0), ("energy_uj", 0.01, 0.2)), blocks=True
    )
    params = view.to_params()
    assert params["brush"] == "depth:2:3,energy_uj:0.01:0.2" and params["blocks"] == "1"
    assert viewstate.parse_explorer(params) == (view, [])
    assert "brush" not in viewstate.ExplorerView(run="r1").to_params()


def test_the_runs_filters_round_trip_and_bad_ones_are_one_line() -> None:
    view = viewstate.RunsView(states=("done", "failed"), datasets=("digits",), tags=("a b", "c"))
    assert viewstate.parse_runs(view.to_params()) == (view, [])
    parsed, problems = viewstate.parse_runs({"state": "done,dreaming", "tag": "ok,bad\x00tag"})
    assert parsed.states == ("done",) and parsed.tags == ("ok",)
    assert len(problems) == 2 and all("\n" not in p for p in problems)
    assert "state='dreaming'" in problems[1] or "state='dreaming'" in problems[0]


def test_compare_keeps_at_most_seven_more_runs_and_refuses_bad_names() -> None:
    names = ",".join(f"r{i}" for i in range(10))
    view, problems = viewstate.parse_compare({"mode": "runs", "more": names})
    assert view.more == tuple(f"r{i}" for i in range(viewstate.MAX_MORE)) and problems == []
    assert viewstate.parse_compare(view.to_params())[0] == view
    view, problems = viewstate.parse_compare({"more": "ok,../etc"})
    assert view.more == ("ok",) and len(problems) == 1 and "not a valid name" in problems[0]
