"""Real parts for the task tests: a private redis-server per module, worker processes started
through the command line, and a DuckDB store under a temporary home folder.

Runs are tiny so a whole run takes well under a minute on 2 CPU cores: a space with one or two
choices per gene, batch 256, uniform sampling. Every timing setting (visibility timeout, lease,
sweep interval) is the default a user gets: a killed worker's step comes back through its lease.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

SPACE = """\
# One or two choices per gene: a supernet that trains in seconds.
embed_dim: [16]
depth: [1]
mlp_ratio: [2]
num_heads: [1, 2]
time_steps: [1]
threshold: [0.6, 1.0, 1.4]
tau: [1.5, 2, 10]
"""

# `launch` options shared by the run tests (a run of 2 epochs and 2 generations of 4).
RUN_ARGS = (
    "--dataset", "digits", "--epochs", "2", "--batch-size", "256", "--sampling", "uniform",
    "--generations", "2", "--population", "4", "--parents", "2", "--seed", "3", "--device", "cpu",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class RedisServer:
    """A private redis-server on a free port, without persistence (a restart empties it)."""

    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.ping, 10, f"redis-server on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@dataclass
class Service:
    """A home folder, a broker and the worker processes started for one test module."""

    home: Path
    redis: RedisServer
    space: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AUTOSPIKFORMER_HOME": str(self.home),
            "REDIS_URL": self.redis.url,
            "AUTOSPIKFORMER_TORCH_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """`autospikformer ARGS` in a subprocess with this service's environment."""
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def cli_json(self, *args: str) -> dict[str, Any]:
        done = self.cli(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def worker(self, *args: str, log: str = "worker") -> subprocess.Popen:
        """`autospikformer worker ARGS` in its own process group, logging to home/logs/LOG.log."""
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{log}.log", "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", *args],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    @staticmethod
    def torch_loaders(proc: subprocess.Popen) -> list[int]:
        """The live processes of `proc`'s group (the worker and its pool) that have torch's
        library mapped: a process that ever imported torch keeps it mapped."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) != proc.pid:  # the process group id
                    continue
                if "libtorch" in (stat.parent / "maps").read_text():
                    found.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        return found

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the worker and its pool processes (its process group)."""
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.procs.clear()

    def store(self):
        from storage.duckdb_store import DuckDBStore

        return DuckDBStore(self.home / "store.duckdb")

    def run_state(self, run: str) -> str | None:
        """The run's state, None while it is unknown or the recorder holds the store's lock
        longer than a reader waits (`StoreBusy`: the app retries on its next refresh; the
        poll does the same)."""
        from storage.errors import StoreBusy, UnknownRun

        if not (self.home / "store.duckdb").exists():
            return None
        try:
            return self.store().get_run(run).state
        except (UnknownRun, StoreBusy):
            return None

    def wait_state(self, run: str, states: tuple[str, ...], timeout: float) -> str:
        return wait_for(
            lambda: (s := self.run_state(run)) in states and s,
            timeout,
            f"run {run} to reach {'|'.join(states)} (home {self.home})",
        )

    def launch(self, run: str, *extra: str) -> None:
        done = self.cli("launch", "--run", run, "--space", str(self.space), *RUN_ARGS, *extra)
        assert done.returncode == 0, done.stderr

    def candidate_set(self, run: str) -> dict[str, tuple[float, float, int]]:
        """id -> (accuracy, energy, generation) of every stored candidate of the run."""
        return {c.id: (c.accuracy, c.energy_uj, c.generation) for c in self.store().candidates(run)}

    def duplicated_rows(self) -> int:
        with self.store().connect() as con:
            row = con.execute(
                "SELECT count(*) - count(DISTINCT (search, id)) FROM candidates"
            ).fetchone()
        return int(row[0])


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> Iterator[Service]:
    home = tmp_path_factory.mktemp("service-home")
    space = home / "space.yaml"
    space.write_text(SPACE)
    svc = Service(home=home, redis=redis_server, space=space)
    yield svc
    svc.stop_all()
