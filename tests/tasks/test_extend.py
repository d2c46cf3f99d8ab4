"""Extending a launched run's finished search on real workers (`tasks.api.extend`, which
`search --resume` calls for a launched run): the reconciler steps the new generations under the
same search id, replays the whole search from the result cache, and marks it done again."""

from __future__ import annotations

import json
import signal

import pytest

from tests.tasks.conftest import Service

ENDED = ("done", "failed", "cancelled")


def test_a_launched_search_continues_on_the_workers(service: Service) -> None:
    worker = service.worker(log="extend")
    try:
        service.launch("x1")
        assert service.wait_state("x1", ENDED, timeout=300) == "done"
        before = service.candidate_set("x1")
        done = service.cli("search", "--resume", "x1.evolution.1", "--generations", "1", "--json",
                           timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        service.kill(worker, signal.SIGTERM)
    assert set(result) == {"run", "search", "evaluated", "pareto", "best"}
    assert result["search"] == "x1.evolution.1"
    store = service.store()
    search = store.get_search("x1.evolution.1")
    assert (search.state, search.generation, search.settings["generations"]) == ("done", 3, 3)
    assert [g.generation for g in store.generations("x1.evolution.1")] == [0, 1, 2]
    run = store.get_run("x1")
    assert (run.state, run.progress, run.settings["search"]["generations"]) == ("done", 1.0, 3)
    after = service.candidate_set("x1")
    assert set(before) < set(after) and result["evaluated"] == len(after)
    assert {g for _, _, g in after.values()} == {0, 1, 2}
    assert service.duplicated_rows() == 0
    status = service.cli_json("status", "--run", "x1")
    assert [g["generation"] for g in status["history"]["generations"]] == [1, 2, 3]
    assert (status["generation"], status["generations"]) == (3, 3)


def test_extend_refuses_a_search_run_from_the_command_line(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers step only a launched run's own search; others continue from the CLI."""
    from storage.records import RunRecord, SearchRecord
    from tasks import api

    store = service.store()
    store.create_run(RunRecord(name="cli1", dataset="digits", space={}, state="done"))
    store.create_search(SearchRecord(id="cli1.random.1", run="cli1", strategy="random",
                                     state="done"))  # fmt: skip
    state = service.home / "runs" / "cli1" / "searches" / "cli1.random.1.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"generation": 1}))
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(service.home))
    with pytest.raises(ValueError, match="search --resume cli1.random.1"):
        api.extend("cli1", "cli1.random.1", 2)
    with pytest.raises(ValueError, match="unknown search"):
        api.extend("cli1", "cli1.random.9", 2)
    assert store.get_search("cli1.random.1").state == "done"
    assert store.get_run("cli1").settings == {}


def test_extend_counts_against_the_owners_active_runs(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Extending reopens a run: an owner at `AUTOSPIKFORMER_MAX_ACTIVE_RUNS` extends nothing."""
    from storage.records import RunRecord, SearchRecord
    from tasks import api

    store = service.store()
    store.create_run(RunRecord(name="q1", dataset="digits", owner="ana", state="done"))
    store.create_run(RunRecord(name="q2", dataset="digits", owner="ana", state="cancelled"))
    store.create_search(SearchRecord(id="q1.random.1", run="q1", strategy="random", state="done"))
    state = service.home / "runs" / "q1" / "searches" / "q1.random.1.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"generation": 1}))
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(service.home))
    monkeypatch.setenv(api.MAX_ACTIVE_ENV, "1")
    with pytest.raises(ValueError, match="search --resume"):  # under the limit: the next check
        api.extend("q1", "q1.random.1", 2)
    store.create_run(RunRecord(name="q3", dataset="digits", owner="ana", state="training"))
    with pytest.raises(ValueError, match=r"already has 1 active runs \(q3\); at most 1 per user"):
        api.extend("q1", "q1.random.1", 2)
    assert store.get_search("q1.random.1").state == "done"
    assert store.get_run("q1").state == "done"
