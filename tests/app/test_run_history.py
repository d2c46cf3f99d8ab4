"""A run's history and lifecycle from the command line: `status --json` settings, history and
ETA (CONTRACT.md), `delete` and archiving; and the estimates behind them (`tasks.history`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from storage.duckdb_store import DuckDBStore
from storage.errors import UnknownRun
from storage.records import EpochRecord, GenerationRecord, RunRecord, SearchRecord
from tasks import estimates, history

REPO = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )


def last_json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stdout
    lines = [line for line in proc.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def searched(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained home (run `tiny`, 2 epochs) searched for 2 generations of 4."""
    from tasks import pipeline

    home = tmp_path_factory.mktemp("history")
    shutil.copytree(trained_home, home, dirs_exist_ok=True)
    old = os.environ.get("AUTOSPIKFORMER_HOME")
    os.environ["AUTOSPIKFORMER_HOME"] = str(home)
    try:
        store = pipeline.open_store()
        spec = pipeline.SearchSpec(generations=2, population=4, parents=2, seed=1)
        pipeline.run_search(store, "tiny", spec, device="cpu")
    finally:
        if old is None:
            os.environ.pop("AUTOSPIKFORMER_HOME", None)
        else:
            os.environ["AUTOSPIKFORMER_HOME"] = old
    return home


def test_training_records_each_epoch_with_its_time_and_worker(trained_home: Path) -> None:
    store = DuckDBStore(trained_home / "store.duckdb")
    epochs = store.epochs("tiny")
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(e.loss > 0 and e.seconds > 0 and ":" in e.worker for e in epochs)
    # Within each epoch, throttled points: always its first and its last batch.
    for epoch in epochs:
        points = store.progress("tiny", "training", epoch.epoch)
        assert points[0].done == 1 and points[-1].done == points[-1].total > 1
        assert all(p.loss > 0 and p.worker == epoch.worker for p in points)
        assert points[-1].seconds <= epoch.seconds
    steps = history.step_history(store, "tiny")
    assert [s["position"] for s in steps] == sorted(s["position"] for s in steps)
    assert steps[0]["position"] < 1 and steps[-1]["position"] == 2.0


def test_a_worker_records_epochs_through_the_recorder(
    trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a worker the store is an `OpWriter`: the epoch goes out as an op that the recorder
    applies (here `Store.apply` on the file, as the recorder does)."""
    from storage.ops import AddEpochs, AddProgress
    from tasks import pipeline
    from tasks.plumbing.recording import OpWriter

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(home))
    reader = DuckDBStore(home / "store.duckdb")
    settings = reader.get_run("tiny").settings
    settings["train"]["epochs"] = 3
    reader.update_run("tiny", settings=settings)
    sent: list[list] = []

    def send(ops: list) -> None:
        sent.append(ops)
        reader.apply(ops)

    pipeline.train_run(OpWriter(reader.get_run("tiny"), send), "tiny", device="cpu", max_epochs=1)
    assert any(isinstance(op, AddEpochs) for ops in sent for op in ops)
    assert any(isinstance(op, AddProgress) for ops in sent for op in ops)
    assert reader.progress("tiny", "training", 3)[-1].done == reader.progress("tiny")[-1].total
    epochs = reader.epochs("tiny")
    assert [e.epoch for e in epochs] == [1, 2, 3] and epochs[-1].seconds > 0


def test_an_epoch_event_keeps_the_accuracies_and_seconds_it_carries() -> None:
    from tasks.pipeline import epoch_record

    event = {"event": "epoch", "epoch": 3, "loss": 1.5, "seconds": 7.5}
    event |= {"val_accuracy_largest": 0.8, "val_accuracy_smallest": 0.6}
    record = epoch_record("r", event, measured_s=99.0, worker="w:1")
    assert (record.epoch, record.loss, record.seconds) == (3, 1.5, 7.5)
    assert (record.val_accuracy_largest, record.val_accuracy_smallest) == (0.8, 0.6)
    bare = epoch_record("r", {"event": "epoch", "epoch": 1, "loss": 2.0}, 4.0, "w:1")
    assert (bare.val_accuracy_largest, bare.seconds) == (None, 4.0)


def test_status_json_reports_settings_history_and_eta(searched: Path) -> None:
    status = last_json(cli(searched, "status", "--run", "tiny", "--json"))
    settings = status["settings"]
    assert set(history.SETTING_KEYS) <= set(settings)
    assert (settings["dataset"], settings["epochs"], settings["space"]) == ("digits", 2, "custom")
    assert (settings["strategy"], settings["generations"], settings["population"]) == (
        "evolution",
        2,
        4,
    )
    assert settings["recalib_batches"] == 4 and settings["sampling"]
    epochs = status["history"]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert set(epochs[0]) == {
        "epoch",
        "loss",
        "val_accuracy_largest",
        "val_accuracy_smallest",
        "seconds",
    }
    generations = status["history"]["generations"]
    assert [g["generation"] for g in generations] == [1, 2]
    store = DuckDBStore(searched / "store.duckdb")
    recorded = store.generations(status["search"])
    assert [g["hypervolume"] for g in generations] == [g.hypervolume for g in recorded]
    assert [g["evaluated"] for g in generations] == [g.evaluated for g in recorded]
    assert generations[0]["evaluated"] <= generations[1]["evaluated"] <= 8
    assert all(g["seconds"] >= 0 for g in generations)
    assert status["state"] == "done" and status["eta_s"] is None
    # Elapsed time runs to the run's end; nothing is in flight.
    record = store.get_run("tiny")
    assert status["finished_at"] == record.finished_at is not None
    assert status["elapsed_s"] == pytest.approx(record.finished_at - record.created_at)
    assert status["doing"] is None and status["eta_complete"] is True


def test_status_of_an_unknown_run_is_one_line(home: Path) -> None:
    assert "unknown run 'ghost'" in one_line_error(cli(home, "status", "--run", "ghost"))


# ---- estimates ----------------------------------------------------------------------------------
SPACE = {
    "embed_dim": [16],
    "depth": [1],
    "mlp_ratio": [2],
    "num_heads": [2],
    "time_steps": [1],
    "threshold": [1.0],
    "tau": [2],
}
LAUNCHED = {
    "train": {"epochs": 4},
    "search": {"strategy": "random", "generations": 2, "population": 5},
}


def finished_run(store: DuckDBStore, name: str, *, epoch_s: float, candidate_s: float) -> None:
    """A done run with 2 epochs and one search of 2 generations x 5 candidates."""
    store.create_run(
        RunRecord(name=name, dataset="digits", space=SPACE, settings=LAUNCHED, state="done")
    )
    store.add_epochs(EpochRecord(name, e, loss=1.0, seconds=epoch_s) for e in (1, 2))
    search = f"{name}.random.1"
    store.create_search(SearchRecord(id=search, run=name, strategy="random", created_at=T0))
    for g in (0, 1):
        created = T0 + (g + 1) * 5 * candidate_s
        store.add_generation(
            GenerationRecord(search=search, generation=g, evaluated=(g + 1) * 5, created_at=created)
        )


def test_rates_come_from_earlier_runs_on_the_same_dataset_and_space(home: Path) -> None:
    store = DuckDBStore(home / "store.duckdb")
    assert history.measured_rates(store, "digits", SPACE) == history.Rates()
    finished_run(store, "a", epoch_s=10.0, candidate_s=2.0)
    finished_run(store, "b", epoch_s=20.0, candidate_s=4.0)
    rates = history.measured_rates(store, "digits", SPACE)
    assert rates == history.Rates(epoch_s=15.0, candidate_s=3.0, runs=2)
    assert history.measured_rates(store, "digits", {**SPACE, "depth": [1, 2]}).runs == 0
    assert history.measured_rates(store, "mnist-5k", SPACE).runs == 0
    # 4 epochs at 15 s and 2 x 5 candidates at 3 s
    assert history.estimate_s(rates, 4, 10) == pytest.approx(90.0)
    assert history.estimate_s(history.Rates(epoch_s=1.0), 4, 10) is None


def test_eta_of_an_active_run_counts_what_is_left(home: Path) -> None:
    store = DuckDBStore(home / "store.duckdb")
    finished_run(store, "earlier", epoch_s=10.0, candidate_s=2.0)
    store.create_run(
        RunRecord(
            name="live",
            dataset="digits",
            space=SPACE,
            settings=LAUNCHED,
            state="training",
            created_at=T0,
        )
    )
    # Its own first epoch took 30 s (it runs slower than the earlier one); 5 s into epoch 2.
    store.add_epochs([EpochRecord("live", 1, loss=1.0, seconds=30.0, created_at=T0 + 30)])
    record = store.get_run("live")
    eta = estimates.eta_s(store, record, now=T0 + 35)
    # SPACE holds one arch: whatever the plan (2 x 5), one candidate is left to evaluate.
    assert eta == pytest.approx(3 * 30.0 - 5.0 + 1 * 2.0)
    assert estimates.eta_s(store, store.get_run("earlier")) is None  # done: no ETA


def test_no_eta_without_anything_measured(home: Path) -> None:
    store = DuckDBStore(home / "store.duckdb")
    store.create_run(RunRecord(name="first", dataset="digits", space=SPACE, settings=LAUNCHED))
    assert estimates.eta_s(store, store.get_run("first")) is None


def test_durations_read_well() -> None:
    assert [history.format_duration(s) for s in (None, 42, 185, 7620)] == [
        "-",
        "42 s",
        "3 min 05 s",
        "2 h 07 min",
    ]


# ---- delete and archive -------------------------------------------------------------------------
def test_delete_removes_records_and_files(searched: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(searched, home)
    folder = home / "runs" / "tiny"
    assert (folder / "checkpoints").is_dir()
    out = last_json(cli(home, "delete", "--run", "tiny", "--json"))
    assert out["run"] == "tiny" and out["deleted"] is True and str(folder) in out["removed"]
    assert not folder.exists()
    store = DuckDBStore(home / "store.duckdb")
    with pytest.raises(UnknownRun):
        store.get_run("tiny")
    with store.connect() as con:
        for table in ("searches", "candidates", "epochs", "artefacts"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_delete_refuses_an_active_run_and_changes_nothing(home: Path) -> None:
    store = DuckDBStore(home / "store.duckdb")
    store.create_run(RunRecord(name="busy", dataset="digits", state="training"))
    store.add_epochs([EpochRecord("busy", 1, loss=1.0)])
    checkpoint = home / "runs" / "busy" / "checkpoints" / "epoch-0001.safetensors"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"weights")
    error = one_line_error(cli(home, "delete", "--run", "busy"))
    assert "training" in error and "cancel it" in error
    assert checkpoint.read_bytes() == b"weights"
    assert store.get_run("busy").state == "training" and len(store.epochs("busy")) == 1


@pytest.mark.parametrize(
    ("run", "message"), [("ghost", "unknown run 'ghost'"), ("../etc", "bad run name")]
)
def test_delete_of_a_bad_name_is_one_line(home: Path, run: str, message: str) -> None:
    assert message in one_line_error(cli(home, "delete", "--run", run))


def test_delete_also_clears_the_shared_artefacts_folder(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks import api

    shared = tmp_path / "shared"
    monkeypatch.setenv(api.ARTEFACTS_ENV, str(shared))
    (shared / "runs" / "old" / "searches").mkdir(parents=True)
    (shared / "runs" / "other").mkdir(parents=True)
    store = DuckDBStore(home / "store.duckdb")
    store.create_run(RunRecord(name="old", dataset="digits", state="cancelled"))
    assert api.delete("old")["removed"] == [str(shared / "runs" / "old")]
    assert (shared / "runs" / "other").is_dir()


def test_archive_hides_and_shows_a_run(home: Path) -> None:
    from tasks import api

    store = DuckDBStore(home / "store.duckdb")
    store.create_run(RunRecord(name="kept", dataset="digits", state="done"))
    assert api.archive("kept") == {"run": "kept", "archived": True}
    assert store.get_run("kept").archived and api.status("kept")["archived"]
    api.archive("kept", False)
    assert not store.get_run("kept").archived
    with pytest.raises(UnknownRun):
        api.archive("ghost")


# ---- a name freed by delete -------------------------------------------------------------------
def test_a_leftover_folder_of_a_deleted_run_blocks_its_name(home: Path, tiny_space_file) -> None:
    from tasks import api, pipeline

    (home / "runs" / "again" / "checkpoints").mkdir(parents=True)  # e.g. a late task wrote it
    spec = pipeline.RunSpec(name="again", dataset="digits", space=str(tiny_space_file), epochs=1)
    with pytest.raises(ValueError, match="folder .*again.* is still there"):
        api.launch(spec, pipeline.SearchSpec(generations=1, population=2, parents=1))
    assert run_names(home) == []


def test_a_launch_clears_the_marks_a_deleted_run_left(
    home: Path, tiny_space_file, tmp_path: Path
) -> None:
    """Marks such as "epoch 1 enqueued" or "finished" outlive a deleted run in Redis (for the
    visibility timeout); a new run of the same name must not be held back by them."""
    import redis

    from tests.tasks.conftest import RedisServer

    server = RedisServer(tmp_path / "redis")
    server.folder.mkdir()
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("autospikformer:again:train:1", 1)
        client.set("autospikformer:again:finished", 1)
        client.set("autospikformer:again-2:finished", 1)  # another run's: kept
        env = {**os.environ, "AUTOSPIKFORMER_HOME": str(home), "REDIS_URL": server.url}
        args = ["launch", "--run", "again", "--dataset", "digits", "--space", str(tiny_space_file)]
        args += ["--epochs", "1", "--generations", "1", "--population", "2", "--parents", "1"]
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert client.keys("autospikformer:again:*") == []
        assert client.get("autospikformer:again-2:finished") == b"1"
    finally:
        server.stop()


def run_names(home: Path) -> list[str]:
    if not (home / "store.duckdb").exists():
        return []
    return [r.name for r in DuckDBStore(home / "store.duckdb").list_runs()]


def test_rates_average_the_newest_earlier_runs_only(home: Path) -> None:
    """A team's store holds hundreds of runs: the estimate reads the `RATE_RUNS` newest on the
    same dataset and space, not all of them."""
    store = DuckDBStore(home / "store.duckdb")
    for k in range(history.RATE_RUNS + 3):  # the three oldest are ten times slower
        finished_run(store, f"r{k:02d}", epoch_s=100.0 if k < 3 else 10.0, candidate_s=2.0)
    rates = history.measured_rates(store, "digits", SPACE)
    assert rates.runs == history.RATE_RUNS
    assert rates.epoch_s == pytest.approx(10.0)
