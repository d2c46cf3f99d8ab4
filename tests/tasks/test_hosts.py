"""Two hosts on one machine: a head host (its own home with the store, the recorder, the CLI) and a
gpu host (another home, no store), sharing only the artefact folder and Redis. Default settings.

A launched run trains, searches and exports on the gpu host, which never opens a `.duckdb` file
(its processes' open files are read from /proc all along); `export --remote` copies the file a
worker exported, and a second request reuses it; "evaluate on test" records a test-split result;
and `cancel` reaches the gpu host through Redis, mirrored by the recorder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.tasks.conftest import REPO, RUN_ARGS, SPACE, RedisServer, wait_for

ENDED = ("done", "failed", "cancelled")


@dataclass
class Host:
    """One host's environment: its own home folder; the artefact folder and Redis are shared."""

    name: str
    home: Path
    artefacts: Path
    redis_url: str

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSPIKFORMER_")}
        return {
            **env,
            "AUTOSPIKFORMER_HOME": str(self.home),
            "AUTOSPIKFORMER_ARTEFACTS": str(self.artefacts),
            "REDIS_URL": self.redis_url,
            "AUTOSPIKFORMER_TORCH_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], cwd=REPO, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip

    def cli_json(self, *args: str) -> dict:
        done = self.run("-m", "app.cli", *args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def worker(self, queues: str, log: str | None = None) -> subprocess.Popen:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{log or queues}.log", "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "--queues", queues],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def log(self, name: str) -> str:
        return (self.home / "logs" / f"{name}.log").read_text()


def group_pids(leader: int) -> list[int]:
    """Every process in the process group `leader` leads (the worker and its pool)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == leader:
                pids.append(int(entry.name))
    return pids


def open_duckdb_files(pids: list[int]) -> set[str]:
    found = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if ".duckdb" in target:
                found.add(f"{pid}: {target}")
    return found


class FdWatch:
    """Reads the open files of a process group every 50 ms in a thread, noting any .duckdb."""

    def __init__(self, leader: int) -> None:
        self.leader = leader
        self.found: set[str] = set()
        self.looks = 0
        self.pids_seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            pids = group_pids(self.leader)
            self.pids_seen.update(pids)
            self.found |= open_duckdb_files(pids)
            self.looks += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Hosts:
    head: Host
    gpu: Host
    redis: RedisServer
    space: Path
    procs: list[subprocess.Popen]

    def store(self):
        from storage.duckdb_store import DuckDBStore

        return DuckDBStore(self.head.home / "store.duckdb")

    def state(self, run: str) -> str:
        return self.store().get_run(run).state

    def launch(self, run: str) -> None:
        done = self.head.run("-m", "app.cli", "launch", "--run", run, "--space", str(self.space),
                             *RUN_ARGS)  # fmt: skip
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    root = tmp_path_factory.mktemp("hosts")
    server = RedisServer(root)
    server.start()
    artefacts = root / "shared-artefacts"
    head = Host("head", root / "head-home", artefacts, server.url)
    gpu = Host("gpu", root / "gpu-home", artefacts, server.url)
    space = root / "space.yaml"
    space.write_text(SPACE)
    procs: list[subprocess.Popen] = []
    yield Hosts(head, gpu, server, space, procs)
    from tasks.plumbing import processes

    processes.stop(procs)
    server.stop()


def test_two_hosts_share_no_store_file(hosts: Hosts) -> None:
    started = time.monotonic()
    hosts.procs.append(hosts.head.worker("cpu"))
    gpu = hosts.gpu.worker("gpu")
    hosts.procs.append(gpu)
    watch = FdWatch(gpu.pid)
    try:
        hosts.launch("h1")
        wait_for(lambda: hosts.state("h1") in ENDED, 300, "run h1 to end")
        assert hosts.state("h1") == "done", hosts.store().get_run("h1").message
        run_s = time.monotonic() - started

        # Export on the gpu host, from the head's CLI: enqueued, waited for, copied.
        store = hosts.store()
        best = store.rank("h1", alpha=0.5, top=1)[0][0]
        out = hosts.head.home / "best.safetensors"
        first = hosts.head.cli_json(
            "export", "--run", "h1", "--candidate", best.id, "--out", str(out), "--remote"
        )
        assert out.stat().st_size > 1000
        assert first["accuracy"] == pytest.approx(best.accuracy, abs=1e-9)  # same evaluation
        (artefact,) = store.artefacts("h1", "subnet")
        assert (hosts.head.artefacts / artefact.path).is_file()
        assert not (hosts.head.home / "runs").exists()  # everything went to the artefact folder

        # A second request reuses the recorded artefact: no new export task.
        again = hosts.head.home / "again.safetensors"
        hosts.head.cli_json(
            "export", "--run", "h1", "--candidate", best.id, "--out", str(again), "--remote"
        )
        assert again.read_bytes() == out.read_bytes()
        assert hosts.gpu.log("gpu").count("tasks.export_subnet[") == 2  # received + succeeded

        # Evaluate on test, through the tasks API: recorded as a test-split result.
        snippet = (
            "import json, sys; from tasks import remote; from storage.duckdb_store import "
            "open_store; s = open_store(); r = remote.request(s, 'h1', sys.argv[1], 'test'); "
            "r = remote.wait(s, 'h1', sys.argv[1], 'test', timeout_s=240); "
            "print(json.dumps(r.to_dict()))"
        )
        done = hosts.head.run("-c", snippet, best.id)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        (tested,) = store.test_results("h1", best.id)
        assert result["state"] == "done" and result["test"]["accuracy"] == tested.accuracy
        assert tested.split == "test" and tested.samples > 0 and 0 <= tested.accuracy <= 1
        assert hosts.gpu.log("gpu").count("tasks.export_subnet[") == 4  # the test evaluation
    finally:
        watch.stop()
    assert watch.looks > 100 and len(watch.pids_seen) >= 2  # the worker and its pool process
    assert watch.found == set(), f"a gpu-host process opened the store: {watch.found}"
    assert not list(hosts.gpu.home.rglob("*.duckdb*"))
    events = {e.kind for e in hosts.store().events("h1")}
    assert "info" in events
    print(f"\ntwo hosts: run h1 launched to done in {run_s:.0f} s; {watch.looks} looks at /proc")


def test_cancel_reaches_the_gpu_host_through_redis(hosts: Hosts) -> None:
    """The run is cancelled while its first epoch waits in the gpu queue; the gpu host, which has
    no store, learns it from Redis (the state the recorder mirrors) and trains nothing."""
    from tasks.plumbing import processes

    processes.stop(hosts.procs)
    hosts.procs.clear()
    hosts.procs.append(hosts.head.worker("cpu"))
    client = redis.Redis.from_url(hosts.redis.url)
    hosts.launch("h2")
    wait_for(lambda: client.exists("autospikformer:h2:step:train:1"), 60, "epoch 1 enqueued")
    status = hosts.head.cli_json("cancel", "--run", "h2")
    assert status["state"] == "cancelled"
    client.delete("autospikformer:h2:state")  # as if the cancel could not reach Redis
    wait_for(
        lambda: client.get("autospikformer:h2:state") == b"cancelled", 30, "the recorder's mirror"
    )
    hosts.procs.append(hosts.gpu.worker("gpu", log="gpu-cancel"))
    wait_for(
        lambda: "'skipped': 'inactive'" in hosts.gpu.log("gpu-cancel"), 120, "the gpu task to stop"
    )
    assert not (hosts.head.artefacts / "runs" / "h2" / "checkpoints").exists()
    assert hosts.state("h2") == "cancelled"
    assert [e.kind for e in hosts.store().events("h2")] == ["cancelled"]
