"""Bad input to launch, status and cancel: one-line errors, exit code 2, nothing stored."""

from __future__ import annotations

import pytest

from tests.tasks.conftest import RUN_ARGS, Service


def _rows(service: Service) -> dict[str, int]:
    if not (service.home / "store.duckdb").exists():
        return {"runs": 0, "searches": 0, "candidates": 0}
    with service.store().connect() as con:
        return {
            t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("runs", "searches", "candidates")
        }


def _fails(service: Service, *args: str, says: str) -> None:
    done = service.cli(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert says in lines[0], lines[0]


@pytest.mark.parametrize("command", ["status", "cancel"])
def test_unknown_run(service: Service, command: str) -> None:
    _fails(service, command, "--run", "nope", says="unknown run 'nope'")


@pytest.mark.parametrize("command", ["status", "cancel", "launch"])
def test_path_traversal_run_name(service: Service, command: str) -> None:
    before = _rows(service)
    extra = ("--space", str(service.space), *RUN_ARGS) if command == "launch" else ()
    _fails(service, command, "--run", "../x", *extra, says="bad run name '../x'")
    assert _rows(service) == before
    assert not (service.home.parent / "x").exists()
    assert not (service.home / "runs").exists() or not any((service.home / "runs").iterdir())


def test_invalid_space_file(service: Service) -> None:
    bad = service.home / "bad-space.yaml"
    bad.write_text("embed_dim: [16]\ndepth: [1]\nwings: [2]\n")
    before = _rows(service)
    done = service.cli("launch", "--run", "badspace", "--space", str(bad), *RUN_ARGS)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "wings" in done.stderr
    assert _rows(service) == before


@pytest.mark.parametrize("alpha", ["1.5", "-0.1", "nan"])
def test_alpha_out_of_range(service: Service, alpha: str) -> None:
    before = _rows(service)
    args = ("launch", "--run", "alpha", "--space", str(service.space), *RUN_ARGS)
    _fails(service, *args, "--alpha", alpha, says="alpha")
    assert _rows(service) == before


def test_alpha_out_of_range_through_the_api(service: Service, monkeypatch) -> None:
    """The app calls `tasks.api.launch` directly: the same check, before any write."""
    from tasks import api
    from tasks.pipeline import RunSpec, SearchSpec

    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(service.home))
    before = _rows(service)
    spec = RunSpec(name="alpha-api", dataset="digits", space=str(service.space), epochs=1)
    with pytest.raises(ValueError, match="alpha"):
        api.launch(spec, SearchSpec(alpha=1.5, generations=1, population=2))
    assert _rows(service) == before


def test_duplicate_run_name(service: Service) -> None:
    service.launch("dup")
    before = _rows(service)
    args = ("launch", "--run", "dup", "--space", str(service.space), *RUN_ARGS)
    _fails(service, *args, says="run 'dup' already exists")
    assert _rows(service) == before
    assert service.store().get_run("dup").state == "queued"  # the first one is untouched


def test_unreachable_broker(service: Service, monkeypatch) -> None:
    from tests.tasks.conftest import free_port

    before = _rows(service)
    monkeypatch.setattr(service.redis, "port", free_port())  # nothing listens there
    args = ("launch", "--run", "nobroker", "--space", str(service.space), *RUN_ARGS)
    _fails(service, *args, says="cannot reach the broker")
    monkeypatch.undo()
    assert _rows(service) == before


def _exported_run(service: Service) -> None:
    """Run `exp`, done, with one candidate `c1` and no supernet checkpoint."""
    from storage.errors import UnknownRun
    from storage.records import CandidateRecord, RunRecord, SearchRecord

    store = service.store()
    try:
        store.get_run("exp")
        return
    except UnknownRun:
        pass
    store.create_run(RunRecord(name="exp", dataset="digits", state="done"))
    store.create_search(SearchRecord(id="exp.s", run="exp", strategy="evolution"))
    store.add_candidates(
        [CandidateRecord("exp", "exp.s", "c1", {"embed_dim": 16}, accuracy=0.5, energy_uj=1.0)]
    )


def test_remote_export_and_test_requests_refuse_bad_input(service: Service) -> None:
    """`export --remote` with a bad run, candidate or output: one line, exit 2, nothing enqueued,
    nothing stored (a test evaluation is checked by the same `tasks.remote.request`)."""
    import redis

    _exported_run(service)
    client = redis.Redis.from_url(service.redis.url)
    keys = set(client.keys("*"))
    before = _rows(service)
    out = str(service.home / "x.safetensors")
    base = ("export", "--remote", "--out", out)
    _fails(service, *base, "--run", "nope", "--candidate", "c1", says="unknown run 'nope'")
    _fails(service, *base, "--run", "exp", "--candidate", "c9", says="unknown candidate 'c9'")
    _fails(service, *base, "--run", "exp", "--candidate", "c1", says="has no supernet checkpoint")
    _fails(
        service, "export", "--remote", "--run", "exp", "--candidate", "c1", "--out", "x.pt",
        says="--out must end in .safetensors",
    )  # fmt: skip
    assert set(client.keys("*")) == keys  # nothing enqueued, no request status
    assert _rows(service) == before
    assert not (service.home / "x.safetensors").exists()


def test_remote_export_without_a_running_broker(service: Service) -> None:
    import subprocess
    import sys

    from tests.tasks.conftest import REPO

    _exported_run(service)
    fake = service.home / "runs" / "exp" / "checkpoints" / "epoch-0001.safetensors"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_bytes(b"x")  # a checkpoint is there: only the broker is missing
    env = {k: v for k, v in service.env.items() if k != "REDIS_URL"}  # and no embedded one runs
    try:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "export", "--remote", "--run", "exp", "--candidate",
             "c1", "--out", str(service.home / "y.safetensors")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        fake.unlink()
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no broker is running" in lines[0], done.stderr
    assert not (service.home / "broker").exists()  # it did not start one


# ---- names the broker's own keys use ----------------------------------------------------------
# One key of each that belongs to no run. Launch clears a new run's leftovers with the pattern
# `autospikformer:<run>:*`: a run called `task` would match every run's task map.
GLOBAL_KEYS = (
    "autospikformer:task:t-1",
    "autospikformer:worker:celery@host",
    "autospikformer:records:dead",
    "autospikformer:inflight:probe",
    "autospikformer:recorder:probe",
)


def test_the_reserved_names_are_the_brokers_own_keys() -> None:
    """Every key of `tasks/plumbing` that belongs to no run has its second part reserved, so a
    new global key cannot be added without reserving its name."""
    from tasks.plumbing import coordination, recorder

    made = [
        coordination.INFLIGHT,
        coordination._task_key("t"),
        coordination._worker_key("w"),
        recorder.RECORDS,
        recorder.DEAD,
        recorder.RECORDER_LEASE,
    ]
    assert {k.split(":")[1] for k in made} == coordination.RESERVED_RUN_NAMES
    assert all(k.startswith(coordination.KEY_PREFIX + ":") for k in made)


def test_a_run_may_not_take_a_name_the_brokers_own_keys_use(service: Service, monkeypatch) -> None:
    """`launch --run task` (the command line, then the API the app calls, for every reserved
    name): one line, nothing stored, and no key of the broker's own touched."""
    import redis

    from storage.errors import BadName
    from tasks import api
    from tasks.pipeline import RunSpec, SearchSpec
    from tasks.plumbing.coordination import RESERVED_RUN_NAMES

    client = redis.Redis.from_url(service.redis.url)
    for k in GLOBAL_KEYS:
        client.set(k, 1)
    try:
        before = _rows(service)
        args = ("launch", "--run", "task", "--space", str(service.space), *RUN_ARGS)
        _fails(service, *args, says="run name 'task' is reserved by the broker")
        monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(service.home))
        monkeypatch.setenv("REDIS_URL", service.redis.url)
        for name in sorted(RESERVED_RUN_NAMES):
            spec = RunSpec(name=name, dataset="digits", space=str(service.space), epochs=1)
            with pytest.raises(BadName, match=f"run name '{name}' is reserved"):
                api.launch(spec, SearchSpec(generations=1, population=2, parents=1))
        assert _rows(service) == before
        assert all(client.exists(k) for k in GLOBAL_KEYS)
    finally:
        client.delete(*GLOBAL_KEYS)


# A launch that passes the name check while another launch of the same name creates its run: the
# store's create refuses it, and it must not have cleared the first run's keys on the way.
RACED = """
import sys
from storage.duckdb_store import DuckDBStore
from storage.errors import UnknownRun
from tasks import api, pipeline

def checked_too_early(self, name):  # the other launch creates the run right after this check
    raise UnknownRun(name)

DuckDBStore.get_run = checked_too_early
spec = pipeline.RunSpec(name="raced", dataset="digits", space=sys.argv[1], epochs=1)
try:
    api.launch(spec, pipeline.SearchSpec(generations=1, population=2, parents=1))
except ValueError as err:
    print(type(err).__name__, err)
"""


def test_a_launch_that_loses_the_name_leaves_the_winners_keys(service: Service) -> None:
    import subprocess
    import sys

    import redis

    from storage.records import RunRecord
    from tests.tasks.conftest import REPO

    service.store().create_run(RunRecord(name="raced", dataset="digits", state="queued"))
    client = redis.Redis.from_url(service.redis.url)
    client.set("autospikformer:raced:probe", 1)  # a key the first launch's run owns
    try:
        before = _rows(service)
        done = subprocess.run(
            [sys.executable, "-c", RACED, str(service.space)],
            cwd=REPO,
            env=service.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.stdout.strip() == "DuplicateRun run 'raced' already exists", done.stderr
        assert client.get("autospikformer:raced:probe") == b"1"
        assert _rows(service) == before
    finally:
        client.delete("autospikformer:raced:probe")


# ---- each owner's active runs ------------------------------------------------------------------
def test_an_owner_at_the_limit_of_active_runs_launches_nothing(service: Service, monkeypatch):
    """`AUTOSPIKFORMER_MAX_ACTIVE_RUNS`: an owner's queued and running runs at most; their
    finished runs and other owners' runs do not count."""
    from storage.records import RunRecord
    from tasks import api

    store = service.store()
    for name, owner, state in [
        ("quota-a1", "ana", "queued"),
        ("quota-a2", "ana", "searching"),
        ("quota-a3", "ana", "done"),
        ("quota-b1", "bob", "training"),
    ]:
        store.create_run(RunRecord(name=name, dataset="digits", owner=owner, state=state))
    monkeypatch.setenv(api.MAX_ACTIVE_ENV, "2")
    before = _rows(service)
    args = ("launch", "--run", "quota-a4", "--space", str(service.space), *RUN_ARGS)
    _fails(
        service, *args, "--owner", "ana",
        says="its owner already has 2 active runs (quota-a1, quota-a2); at most 2 per user",
    )  # fmt: skip
    assert _rows(service) == before
    api.check_quota(store, "bob")  # one active run of two
    api.check_quota(store, "")  # the command line's runs have no owner: never counted
    monkeypatch.setenv(api.MAX_ACTIVE_ENV, "0")  # no limit
    api.check_quota(store, "ana")
    for bad in ("-1", "two", "1.5"):
        monkeypatch.setenv(api.MAX_ACTIVE_ENV, bad)
        with pytest.raises(ValueError, match="AUTOSPIKFORMER_MAX_ACTIVE_RUNS must be a whole"):
            api.check_quota(store, "ana")
    monkeypatch.delenv(api.MAX_ACTIVE_ENV)
    assert api.max_active_runs() == api.DEFAULT_MAX_ACTIVE_RUNS == 8
    for name in ("quota-a1", "quota-a2", "quota-b1"):  # nothing of this module may start them
        store.update_run(name, state="cancelled")


def test_the_default_limit_refuses_the_ninth_active_run(service: Service, monkeypatch) -> None:
    """The twin of the test above at the default users get (`AUTOSPIKFORMER_MAX_ACTIVE_RUNS`
    unset): seven active runs leave room for an eighth, eight leave none."""
    from storage.records import RunRecord
    from tasks import api

    monkeypatch.delenv(api.MAX_ACTIVE_ENV, raising=False)
    store = service.store()
    names = [f"default-quota-{k}" for k in range(8)]
    for name in names[:7]:
        store.create_run(RunRecord(name=name, dataset="digits", owner="dee", state="queued"))
    api.check_quota(store, "dee")
    store.create_run(RunRecord(name=names[7], dataset="digits", owner="dee", state="training"))
    with pytest.raises(
        ValueError, match=r"already has 8 active runs \(default-quota-0, .*\); at most 8"
    ):
        api.check_quota(store, "dee")
    for name in names:  # nothing of this module may start them
        store.update_run(name, state="cancelled")
