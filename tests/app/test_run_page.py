"""A run's page (`/runs?run=NAME`): its settings, training and search curves, time per stage,
the log, and the lifecycle actions (archive, clone, delete; owner-only with sign-in)."""

from __future__ import annotations

import json

import pytest

from storage.records import EpochRecord, EventRecord, RunRecord
from tests.app.conftest import shown
from tests.app.signin import ANA, AUTH, BOB, claims

SETTINGS = {
    "train": {"dataset": "digits", "epochs": 3, "seed": 2, "sampling": "sandwich", "lr": 0.005},
    "search": {"strategy": "evolution", "generations": 3, "population": 20, "parents": 5},
    "launch": {"device": "cpu"},
}
SETTINGS["search"] |= {"alpha": 0.4, "energy_budget_uj": None, "recalib_batches": 6, "seed": 2}


@pytest.fixture
def run(filled):
    """digits-demo with launch settings, three epochs and two log events."""
    from storage.duckdb_store import DuckDBStore

    store: DuckDBStore = filled.store
    store.update_run(filled.run, settings=SETTINGS)
    store.add_epochs(
        EpochRecord(filled.run, e, loss=2.0 / e, val_accuracy_largest=0.5 + e / 10,
                    val_accuracy_smallest=0.4 + e / 10, seconds=20.0 + e)
        for e in (1, 2, 3)
    )  # fmt: skip
    store.add_events(
        [
            EventRecord(filled.run, "a", "retry", "epoch 2 was run again", worker="gpu-host:12"),
            EventRecord(filled.run, "b", "info", "search started", worker="cpu-host:3"),
        ]
    )
    return filled


def charts(at) -> list:
    return at.get("vega_lite_chart")


def test_the_page_shows_settings_curves_times_and_log(run, open_app) -> None:
    at = open_app("runs", {"run": run.run})
    assert not at.exception
    assert at.title[0].value == f"Run {run.run}"
    training, search = (t.value for t in at.table[:2])
    assert (training.index.name, search.index.name) == ("Supernet training", "Search")
    rows = training["value"].to_dict()
    assert rows["dataset"] == "digits" and rows["epochs"] == "3" and rows["sampling"] == "sandwich"
    assert rows["space"] == "digits-tiny" and rows["seed"] == "2" and rows["device"] == "cpu"
    rows = search["value"].to_dict()
    assert (rows["strategy"], rows["generations"], rows["population"]) == ("evolution", "3", "20")
    assert (rows["parents"], rows["alpha"], rows["recalibration batches"]) == ("5", "0.4", "6")
    assert rows["energy budget"] == "none" and rows["owner"] == "alice"
    assert rows["generation 0"] == "random"  # recorded before anchors existed
    assert "3 epochs, 22 s per epoch" in [c.value for c in at.caption]
    assert len(charts(at)) == 2 + 3  # loss, accuracies; best F_AEB, hypervolume, evaluated
    assert any(c.value == "3 of 3 epochs." for c in at.caption)
    assert any(c.value.startswith("3 of 3 generations.") for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["supernet training"] == "1 min 06 s"  # 21 + 22 + 23 s
    log = at.dataframe[-1].value
    assert log["kind"].tolist() == ["info", "retry"]  # newest first
    assert log["worker"].tolist() == ["cpu-host:3", "gpu-host:12"]


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"anchors": True}, "anchors + random"),
        ({"anchors": False}, "random"),
        ({"anchors": True, "strategy": "nsga2"}, "anchors + random"),  # not started yet
        ({"anchors": True, "strategy": "random", "front_box": {}}, "anchors + random"),
        ({"anchors": False, "strategy": "random", "front_box": {}}, "random"),
    ],
)
def test_the_page_says_how_generation_0_was_drawn(run, open_app, changes, shown) -> None:
    settings = {**SETTINGS, "search": {**SETTINGS["search"], **changes}}
    run.store.update_run(run.run, settings=settings)
    at = open_app("runs", {"run": run.run})
    assert at.table[1].value["value"].to_dict()["generation 0"] == shown


@pytest.mark.parametrize("strategy", ["random", "nsga2"])
def test_a_search_recorded_before_it_took_anchors_shows_how_it_ran(run, open_app, strategy):
    """Its settings say anchors (the default) but its saved state has none: it ran without."""
    settings = {**SETTINGS, "search": {**SETTINGS["search"], "strategy": strategy, "anchors": True}}
    run.store.update_run(run.run, settings=settings)
    state = run.home / "runs" / run.run / "searches" / f"{run.run}.{strategy}.1.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"config": {"population": 20}, "generation": 3}))
    at = open_app("runs", {"run": run.run})
    assert at.table[1].value["value"].to_dict()["generation 0"] == "random"


def test_the_search_curve_is_the_normalized_hypervolume(run, open_app) -> None:
    """Labelled and unitless; for generations recorded before it was kept, recomputed from the
    search's candidates (the filled store's generations have none)."""
    from app.web.components import run_charts
    from tasks import history

    at = open_app("runs", {"run": run.run})
    spec = json.loads(charts(at)[3].proto.spec)
    assert spec["encoding"]["y"]["title"] == "normalized hypervolume"
    assert any("normalized hypervolume (accuracy above chance × log energy, 0–1)" in c.value
               for c in at.caption)  # fmt: skip
    generations = history.history(run.store, run.run)["generations"]
    values = [g["hypervolume_normalized"] for g in generations]
    assert all(0 < v < 1 for v in values) and values == sorted(values)
    frame = run_charts.generation_frame(generations)
    chart = run_charts.search_charts(frame, 3)[1].to_dict()
    assert chart["encoding"]["y"]["field"] == "hypervolume_normalized"


def test_the_curves_grow_as_epochs_are_recorded(filled, open_app) -> None:
    filled.store.update_run("digits-live", settings=SETTINGS)
    at = open_app("runs", {"run": "digits-live"})
    assert charts(at) == []
    assert any("No epoch recorded yet" in c.value for c in at.caption)
    filled.store.add_epochs([EpochRecord("digits-live", 1, loss=2.0, seconds=5.0)])
    at.run()  # what the page's live fragment does every few seconds
    assert len(charts(at)) == 1  # loss only: no accuracies recorded
    assert any("1 of 3 epochs." == c.value for c in at.caption)
    filled.store.add_epochs([EpochRecord("digits-live", 2, loss=1.5, seconds=5.0)])
    at.run()
    assert any("2 of 3 epochs." == c.value for c in at.caption)


def test_during_epoch_1_the_page_shows_an_eta_the_step_loss_and_the_worker(
    filled, open_app
) -> None:
    import json
    import time

    import pyarrow as pa

    from storage.records import ProgressRecord

    filled.store.update_run("digits-live", settings=SETTINGS)
    at = open_app("runs", {"run": "digits-live"})
    assert any("ETA estimating…" in m.value for m in at.markdown)  # nothing timed yet
    now = time.time()
    filled.store.add_progress(
        ProgressRecord("digits-live", "training", 1, done, 94, seconds=done * 0.5, loss=2.0 / done,
                       worker="gpu-host:7", created_at=now - 20 + done * 0.5)
        for done in (1, 5, 9, 13)
    )  # fmt: skip
    at.run()
    heading = next(m.value for m in at.markdown if m.value.startswith("### digits-live"))
    assert "ETA at least " in heading and "estimating" not in heading  # the search is untimed
    assert "Now: epoch 1 of 3: batch 13/94 · gpu-host:7" in [shown(c.value) for c in at.caption]
    (chart,) = charts(at)  # the per-step loss, before any epoch is recorded
    spec = json.loads(chart.spec)
    assert spec["encoding"]["y"]["title"] == "training loss per step"
    (data,) = chart.proto.datasets
    frame = pa.ipc.open_stream(data.data.data).read_all().to_pandas()
    assert frame["batch"].tolist() == [1, 5, 9, 13]  # one point per recorded point
    assert frame["position"].tolist() == pytest.approx([1 / 94, 5 / 94, 9 / 94, 13 / 94])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["ETA"].startswith("at least ")
    assert metrics["supernet training"] == "6 s"  # epoch 1 so far: its latest point's 6.5 s


def test_archive_hides_the_run_and_restore_shows_it(run, open_app) -> None:
    at = open_app("runs", {"run": run.run})
    next(b for b in at.button if b.label == "Archive").click().run()
    assert run.store.get_run(run.run).archived
    assert next(b for b in at.button if b.label == "Restore")


def test_clone_opens_launch_with_the_settings(run, open_app) -> None:
    at = open_app("runs", {"run": run.run})
    next(b for b in at.button if b.label == "Clone").click().run()
    assert at.title[0].value == "Launch a run"
    assert at.text_input(key="ln_name").value == f"{run.run}-2"
    assert at.number_input(key="ln_epochs").value == 3
    assert at.number_input(key="ln_pop").value == 20
    assert at.number_input(key="ln_recalib").value == 6
    assert at.selectbox(key="ln_sampling").value == "sandwich"
    assert at.selectbox(key="ln_preset").value == "digits-tiny"


def test_delete_asks_then_removes_records_and_files(run, open_app) -> None:
    folder = run.home / "runs" / run.run / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "epoch-0001.safetensors").write_bytes(b"weights")
    at = open_app("runs", {"run": run.run})
    next(b for b in at.button if b.label == "Delete").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    assert run.store.get_run(run.run)  # nothing deleted before the confirmation
    next(b for b in at.button if b.label == "Yes, delete it").click().run()
    assert [r.name for r in run.store.list_runs()] == ["digits-live"]
    assert not (run.home / "runs" / run.run).exists()
    assert any(f"Deleted {run.run}" in i.value for i in at.info)
    assert at.title[0].value == "Runs"


def test_an_active_run_cannot_be_deleted(filled, open_app) -> None:
    at = open_app("runs", {"run": "digits-live"})
    delete = next(b for b in at.button if b.label == "Delete")
    assert delete.disabled
    assert any("still active: cancel it before deleting it" in shown(c.value) for c in at.caption)


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (ANA, True),  # a run launched before identities: its owner is the verified email
        (claims("ana-1", "ana@example.org", verified=False), False),  # not verified: no match
        (claims("x-9", "x@example.org", name="ana@example.org"), False),  # a name never counts
        (BOB, False),
    ],
)
def test_with_sign_in_only_the_owner_may_delete(run, open_app, user, allowed) -> None:
    run.store.create_run(
        RunRecord(name="old", dataset="digits", state="done", owner="ana@example.org")
    )
    at = open_app("runs", {"run": "old"}, secrets=AUTH, user=user)
    assert not at.exception
    assert next(b for b in at.button if b.label == "Delete").disabled is not allowed


def test_a_run_without_settings_still_has_a_page(filled, open_app) -> None:
    filled.store.create_run(RunRecord(name="bare", dataset="digits", state="failed"))
    at = open_app("runs", {"run": "bare"})
    assert not at.exception
    assert any("No epoch recorded yet" in c.value for c in at.caption)


def test_an_energy_budget_is_shown_with_a_readable_unit(filled, open_app) -> None:
    settings = {**SETTINGS, "search": {**SETTINGS["search"], "energy_budget_uj": 0.25}}
    filled.store.update_run("digits-live", settings=settings)
    at = open_app("runs", {"run": "digits-live"})
    assert at.table[1].value["value"].to_dict()["energy budget"] == "250 nJ"


def test_a_silent_best_is_flagged_on_the_card(run, open_app) -> None:
    best = run.store.generations(run.random)[-1].best_id
    at = open_app("runs", {"run": run.run})
    assert not any("silent" in m.value for m in at.markdown if f"best `{best}`" in m.value)
    with run.store.connect(write=True) as con:
        con.execute("UPDATE candidates SET silent = true WHERE id = $i", {"i": best})
    # A finished run's line is kept until the run changes: candidates never change in place but
    # here, so the test drops the kept line.
    from app.web.pages import run as run_page

    run_page._finished_line.clear()
    at = open_app("runs", {"run": run.run})
    line = next(m.value for m in at.markdown if f"best `{best}`" in m.value)
    assert line.endswith("silent (a block never fires)")
