"""The runs table (AppTest, real DuckDB store): filters by state, dataset, owner and tags kept in
the link, bad filter values refused with one line; tags and notes edited on a run's page by its
owner only; the settings two runs differ in; more than two fronts in Compare."""

from __future__ import annotations

import pytest

from app.common.settings_diff import settings_diff
from engine.space import SearchSpace
from storage.records import RunRecord, SearchRecord
from tests.app.conftest import make_candidates, shown
from tests.app.signin import ANA, AUTH, BOB, identity


@pytest.fixture
def many(filled):
    """digits-demo (done, alice) and digits-live (training), plus two done mnist runs."""
    store = filled.store
    store.annotate_run(filled.run, tags=["baseline", "int8"], notes="the first\nsearch")
    space = SearchSpace.preset("digits-tiny").to_dict()
    for name, state, tags in (("mnist-a", "done", []), ("mnist-b", "failed", ["int8"])):
        store.create_run(
            RunRecord(name, dataset="mnist-5k", owner="bob", state=state, tags=tags, space=space)
        )
    for seed, run in enumerate(("mnist-a", "mnist-b")):
        store.create_search(SearchRecord(id=f"{run}.random.1", run=run, strategy="random"))
        store.add_candidates(make_candidates(run, f"{run}.random.1", 8, seed=seed + 7))
    return filled


def table(at):
    return next(d.value for d in at.dataframe if "candidates" in d.value.columns)


def names(at) -> list[str]:
    return [r.removeprefix("runs?run=") for r in table(at)["run"]]


def cards(at) -> list[str]:
    return [m.value.split("\n")[0][4:] for m in at.markdown if m.value.startswith("### ")]


def test_the_table_lists_every_run_newest_first_with_its_figures(many, open_app) -> None:
    at = open_app("runs")
    assert not at.exception
    frame = table(at)
    assert names(at) == ["mnist-b", "mnist-a", "digits-live", many.run]
    demo = frame.iloc[3]
    records = many.records[many.evolution] + many.records[many.random]
    assert demo["best accuracy"] == pytest.approx(max(r.accuracy for r in records) * 100)
    assert list(demo["tags"]) == ["baseline", "int8"] and demo["notes"] == "the first search"
    assert (demo["state"], demo["dataset"], demo["owner"]) == ("done", "digits", "alice")
    assert frame.iloc[0]["candidates"] == 8 and frame.iloc[2]["candidates"] == 0


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "done"}, ["mnist-a", "digits-demo"]),
        ({"dataset": "mnist-5k", "state": "done,failed"}, ["mnist-b", "mnist-a"]),
        ({"owner": "alice"}, ["digits-demo"]),
        ({"tag": "int8"}, ["mnist-b", "digits-demo"]),
        ({"tag": "baseline,int8", "dataset": "digits"}, ["digits-demo"]),
    ],
)
def test_filters_in_the_link_filter_the_table_and_the_cards(many, open_app, params, expected):
    at = open_app("runs", params)
    assert not at.exception
    assert names(at) == expected
    assert cards(at) == expected
    for key, value in params.items():
        assert at.query_params[key] == value  # a copied link keeps them


def test_picking_a_filter_puts_it_in_the_link(many, open_app) -> None:
    at = open_app("runs")
    at.multiselect(key="rt_dataset").set_value(["mnist-5k"]).run()
    assert names(at) == ["mnist-b", "mnist-a"]
    assert at.query_params["dataset"] == "mnist-5k"
    at.multiselect(key="rt_tag").set_value(["int8"]).run()
    assert names(at) == ["mnist-b"] and at.query_params["tag"] == "int8"


@pytest.mark.parametrize(
    ("params", "line"),
    [
        ({"state": "sleeping"}, "state='sleeping' in the link is not one of"),
        ({"tag": "nobody-uses-this"}, "tag='nobody-uses-this' in the link matches no run"),
        ({"owner": "bad\u0007owner"}, "owner='bad\\x07owner' in the link is not a valid value"),
    ],
)
def test_a_bad_filter_in_the_link_is_one_line_and_ignored(many, open_app, params, line) -> None:
    at = open_app("runs", params)
    assert not at.exception
    warnings = [shown(w.value) for w in at.warning]
    assert [w for w in warnings if line in w] and all("\n" not in w for w in warnings)
    assert len(names(at)) == 4
    assert all(key not in at.query_params for key in params)


def test_the_settings_two_runs_differ_in(many) -> None:
    store = many.store
    store.update_run("mnist-a", settings={"train": {"epochs": 5, "seed": 1}})
    store.update_run("mnist-b", settings={"train": {"epochs": 9, "seed": 1}})
    diff = settings_diff(store, store.get_run("mnist-a"), store.get_run("mnist-b"))
    assert list(diff.columns) == ["A: mnist-a", "B: mnist-b"]
    assert diff.loc["epochs"].tolist() == ["5", "9"]
    assert diff.loc["tags"].tolist() == ["-", "int8"]
    assert "seed" not in diff.index and "dataset" not in diff.index  # only what differs


def test_compare_overlays_more_than_two_runs_and_diffs_a_and_b(many, open_app) -> None:
    params = {"mode": "runs", "run": many.run, "run2": "mnist-a", "more": "mnist-b,digits-live"}
    at = open_app("compare", params)
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == [
        f"{t}: {kind}"
        for t in "ABCD"
        for kind in ("normalized hypervolume", "raw hypervolume (µJ × accuracy)")
    ]
    chart = at.get("vega_lite_chart")[0].proto.SerializeToString()
    for label in (f"A: {many.run}", "B: mnist-a", "C: mnist-b"):  # D has no candidate
        assert label.encode() in chart  # the legend names the runs
    diff = at.table[0].value
    assert list(diff.columns) == [f"A: {many.run}", "B: mnist-a"]
    assert diff.loc["dataset"].tolist() == ["digits", "mnist-5k"]
    assert at.query_params["more"] == "mnist-b,digits-live"


def test_compare_leaves_out_an_unknown_extra_run_with_one_line(many, open_app) -> None:
    params = {"mode": "runs", "run": many.run, "run2": "mnist-a", "more": "ghost"}
    at = open_app("compare", params)
    assert [shown(e.value) for e in at.error if "ghost" in e.value] == [
        "Unknown run 'ghost': there is no run by that name; left out."
    ]
    assert "more" not in at.query_params


# ---- tags and notes on a run's page -------------------------------------------------------------
def save(at, tags: list[str], notes: str):
    at.multiselect(key="rt_tags").set_value(tags)
    at.text_area(key="rt_notes").set_value(notes)
    return at.button(key="FormSubmitter:rt_form-Save tags and notes").click().run()


def test_the_owner_edits_tags_and_notes(many, open_app) -> None:
    at = open_app("runs", {"run": "mnist-a"})
    at = save(at, ["cifar", "int8"], "retry with\nmore epochs")
    assert not at.exception
    record = many.store.get_run("mnist-a")
    assert (record.tags, record.notes) == (["cifar", "int8"], "retry with\nmore epochs")
    assert record.updated_at == record.created_at  # notes are not progress
    assert any("Saved the tags and notes of mnist-a" in s.value for s in at.success)
    assert ":violet-badge[cifar]" in next(m.value for m in at.markdown if "### " in m.value)


def test_a_bad_tag_is_one_line_and_changes_nothing(many, open_app) -> None:
    at = open_app("runs", {"run": "mnist-b"})
    at = save(at, ["a,b"], "new notes")
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and "without commas" in errors[0] and "\n" not in errors[0]
    record = many.store.get_run("mnist-b")
    assert (record.tags, record.notes) == (["int8"], "")


def test_only_the_owner_may_edit_and_a_forged_click_is_refused(many, open_app) -> None:
    many.store.create_run(RunRecord(name="anas", dataset="digits", owner=identity(ANA)))
    at = open_app("runs", {"run": "anas"}, secrets=AUTH, user=BOB)
    assert at.multiselect(key="rt_tags").disabled
    at = open_app("runs", {"run": "anas"}, secrets=AUTH, user=ANA)
    assert not at.multiselect(key="rt_tags").disabled
    at.user = dict(BOB)  # the click arrives as B
    at = save(at, ["mine"], "")
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Only the owner of run anas")
    assert many.store.get_run("anas").tags == []


def test_the_columns_fit_the_page_dropping_the_optional_ones_in_turn() -> None:
    import datetime as dt

    import pandas as pd

    from app.web.components import runs_table

    row = {"run": "runs?run=r1", "state": "done", "dataset": "digits", "owner": "-", "tags": []}
    row |= {"notes": "", "progress": 1.0, "candidates": 8, "best accuracy": 90.0}
    row |= {"min energy": 1.0, "created": dt.datetime(2026, 1, 1), "elapsed": "1:00"}
    frame = pd.DataFrame([row])
    shown = runs_table.fit(frame, "nJ")
    assert "owner" not in shown and "tags" not in shown and "notes" not in shown  # nobody has any
    assert {"run", "state", "best accuracy", "min energy", "created"} <= set(shown)
    wordy = pd.DataFrame([row | {"owner": "x" * 30, "tags": ["a" * 30], "notes": "n" * 24}])
    narrow = runs_table.fit(wordy, "nJ")
    assert "elapsed" not in narrow and {"owner", "tags", "run", "min energy"} <= set(narrow)
    assert all(c in runs_table.TABLE_COLUMNS for c in narrow)
