"""Shared fixtures: every test gets its own AUTOSPIKFORMER_HOME; a tiny trained supernet."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

# One intra-op thread per process: tests start workers, a recorder and the app next to the test
# process on 2 cores, and OpenMP's spinning threads slow everything several-fold when
# oversubscribed. Subprocesses inherit this.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

TINY_SPACE = """\
# A tiny joint space for tests: trains in seconds on 2 CPU cores.
embed_dim: [16, 32]
depth: [1, 2]
mlp_ratio: [2, 4]
num_heads: [2, 4]
time_steps: [1, 2]
threshold: [0.6, 1.0, 1.4]
tau: [1.5, 2, 10]
"""


@pytest.fixture(autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test writes into a fresh home folder, never into the repo."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(home))
    return home


@pytest.fixture
def home(_home: Path) -> Path:
    return _home


@pytest.fixture(scope="session")
def tiny_space_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spaces") / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return path


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder that every process of this test run sees: under pytest-xdist the parent of the
    workers' own base folders, else the base folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _train_tiny(home: Path, space: Path) -> None:
    """Run `tiny` in `home`: a supernet on digits trained for 2 epochs."""
    from tasks import pipeline

    old = os.environ.get("AUTOSPIKFORMER_HOME")
    os.environ["AUTOSPIKFORMER_HOME"] = str(home)
    try:
        spec = pipeline.RunSpec(
            name="tiny", dataset="digits", space=str(space), epochs=2, lr=5e-3, batch_size=64
        )
        store = pipeline.open_store()
        pipeline.ensure_run(store, spec, spec.validate())
        pipeline.train_run(store, "tiny", device="cpu")
        store.update_run("tiny", state="done", progress=1.0)
    finally:
        if old is None:
            os.environ.pop("AUTOSPIKFORMER_HOME", None)
        else:
            os.environ["AUTOSPIKFORMER_HOME"] = old


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder holding run `tiny`: a supernet on digits trained for 2 epochs (space
    `TINY_SPACE`). Trained once per test run, by whichever process asks first (the others wait
    on a file lock); each process gets its own copy, so no two processes share a store file."""
    shared = _shared_folder(tmp_path_factory)
    trained = shared / "trained-tiny"
    with open(shared / "trained-tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (trained / ".complete").exists():
            shutil.rmtree(trained, ignore_errors=True)  # a process that died while training
            trained.mkdir()
            space = trained / "tiny.yaml"
            space.write_text(TINY_SPACE)
            _train_tiny(trained, space)
            (trained / ".complete").touch()
    home = tmp_path_factory.mktemp("trained")
    shutil.copytree(trained, home, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete"))
    return home


# The files that take longest (wall time: workers, leases at their default timeouts, browsers),
# longest first. They are handed out first, so under pytest-xdist they run beside the many short
# files instead of after them (`--dist loadfile` hands out files in collection order).
LONG_FILES = (
    "tests/tasks/test_runs.py",
    "tests/tasks/test_lost_and_deleted.py",
    "tests/tasks/test_up.py",
    "tests/app/test_e2e_browser.py",
    "tests/app/test_e2e_cockpit.py",
    "tests/app/test_e2e_units.py",
    "tests/test_cli.py",
    "tests/tasks/test_writers.py",
    "tests/app/test_e2e_views.py",
    "tests/app/test_e2e_eta.py",
    "tests/tasks/test_hosts.py",
    "tests/app/test_permissions_table.py",
    "tests/app/test_e2e_leaderboard.py",
    "tests/engine/test_distributed.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parents[1]
    missing = [name for name in LONG_FILES if not (root / name).exists()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py LONG_FILES names missing files: {missing}")
    rank = {name: k for k, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(LONG_FILES)))
