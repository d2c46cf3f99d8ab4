"""`autospikformer up`: the whole service on this machine, stopped cleanly by Ctrl-C.

Starts the embedded broker (when `REDIS_URL` is unset), one worker on the gpu queue, the recorder
(the cpu queue, concurrency 1) and the Streamlit app on ADDRESS:PORT. Without sign-in configured
the app listens on 127.0.0.1 only; `--public` (or `AUTOSPIKFORMER_PUBLIC=1`) or a non-loopback
`--address` opens it to other machines, with a one-line warning (`app.common.signin`).
Logs go to `$AUTOSPIKFORMER_HOME/logs/`. Ctrl-C or SIGTERM stops the app and the workers (SIGTERM,
then SIGKILL for what is left after a grace period), then the broker, leaving no process behind.

`up` watches its children: a worker or the app that exits stops everything with one line. The
embedded broker is restarted when it dies (same port, password and append-only data, so the
workers reconnect and queued work is kept), with one warning line; if it cannot be restarted,
or dies more than MAX_BROKER_RESTARTS times within a minute, everything stops with one line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.cli.commands.common import positive_int, require
from app.common import signin

HELP = "serve the app with a local broker and workers on http://localhost:PORT (Ctrl-C stops)"
APP_FILE = Path(__file__).resolve().parents[2] / "streamlit_app.py"
GRACE_S = 20.0  # > the workers' soft shutdown (tasks go back to the queue)
MAX_BROKER_RESTARTS = 5  # within RESTART_WINDOW_S; then the broker is given up on
RESTART_WINDOW_S = 60.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=positive_int, default=8501)
    p.add_argument(
        "--address",
        default=None,
        help="where the app listens (default: 127.0.0.1 without sign-in, 0.0.0.0 with it)",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="listen on every interface (0.0.0.0) even without sign-in (as "
        "AUTOSPIKFORMER_PUBLIC=1): anyone who reaches the port can launch, cancel and delete",
    )
    p.add_argument("--app", default=str(APP_FILE), help="the Streamlit script to serve")
    p.add_argument("--no-app", action="store_true", help="start the broker and workers only")


def _reach(listening: signin.Binding) -> str:
    if not listening.local_only:
        return f" (listening on {listening.address})"
    if listening.signed_in:
        return ""
    return (
        " (this machine only: no sign-in is configured; --public or AUTOSPIKFORMER_PUBLIC=1 "
        "serves other machines)"
    )


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """Name -> command line of every child process."""
    cli = [sys.executable, "-m", "app.cli", "worker"]
    children = {
        "worker": [*cli, "--queues", "gpu"],
        # The recorder only keeps books (and fits the predictor): one thread, so the gpu worker
        # keeps the cores (engine.threads).
        "recorder": [*cli, "--queues", "cpu", "--concurrency", "1", "--threads", "1"],
    }
    if not args.no_app:
        children["app"] = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(args.app),
            "--server.port",
            str(args.port),
            "--server.address",
            args.address,
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.maxUploadSize",
            "1",  # MB: a search-space YAML is a few KB (engine.limits.MAX_SPACE_FILE_BYTES)
            "--client.toolbarMode",
            "viewer",  # no "Deploy" button: this is a product, not a notebook
        ]
    return children


def where_to_listen(args: argparse.Namespace) -> signin.Binding:
    """The app's address (`app.common.signin.binding`); prints its warning, if any."""
    try:
        public = args.public or signin.public_from_env()
    except ValueError as err:
        require(False, str(err))
    chosen = signin.binding(args.address, public=public, script=args.app)
    args.address = chosen.address
    if chosen.warning and not args.no_app:
        print(chosen.warning, file=sys.stderr, flush=True)
    return chosen


def revive_broker(embedded: Any, restarts: list[float]) -> tuple[Any, str]:
    """Restart the embedded broker that died (`tasks.plumbing.broker.restart`). Returns the new
    one and "", or the old one and why it was not restarted (one line)."""
    from storage.errors import one_line
    from tasks.plumbing import broker

    now = time.monotonic()
    restarts[:] = [t for t in restarts if now - t < RESTART_WINDOW_S]
    if len(restarts) >= MAX_BROKER_RESTARTS:
        return embedded, (
            f"the embedded broker died {len(restarts) + 1} times within {RESTART_WINDOW_S:.0f} s; "
            f"see {embedded.folder / 'server.log'}"
        )
    restarts.append(now)
    try:
        revived = broker.restart(embedded)
    except (ValueError, OSError) as err:
        return (
            embedded,
            f"the embedded broker died and could not be restarted: {one_line(err, 300)}",
        )
    print(
        f"warning: the embedded broker (pid {embedded.server_pid}) died; restarted it on port "
        f"{revived.port} with its data (pid {revived.server_pid})",
        file=sys.stderr,
        flush=True,
    )
    return revived, ""


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    from app.common.address import record_app_address
    from storage import paths
    from tasks.plumbing import broker, processes

    require(args.port <= 65535, f"--port must be <= 65535, got {args.port}")
    if not args.no_app and not Path(args.app).is_file():
        print(f"warning: {args.app} not found; serving without the app", file=sys.stderr)
        args.no_app = True
    listening = where_to_listen(args)
    home = paths.home()
    logs = paths.logs_dir()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    embedded = None
    url = os.environ.get("REDIS_URL")
    if not url:
        embedded = broker.ensure(handle_signals=False)
        url = embedded.url
    env = {**os.environ, "REDIS_URL": url, "AUTOSPIKFORMER_HOME": str(home)}
    children: dict[str, Any] = {}
    exit_code = 0
    try:
        for name, argv in commands(args).items():
            children[name] = processes.spawn(argv, env=env, log=logs / f"{name}.log")
        where = "" if args.no_app else f"serving http://localhost:{args.port}{_reach(listening)}; "
        if not args.no_app:  # for absolute links (`share --json`'s url)
            record_app_address(args.address, args.port)
        shown = broker.redacted(url)
        print(f"{where}broker {shown}; logs in {logs}; Ctrl-C stops", file=sys.stderr, flush=True)
        restarts: list[float] = []
        while not stop.wait(0.5):
            dead = [n for n, p in children.items() if p.poll() is not None]
            if dead:
                print(f"error: {', '.join(dead)} exited; see {logs}; stopping", file=sys.stderr)
                exit_code = 1
                break
            if embedded is not None and not embedded.alive():
                embedded, failure = revive_broker(embedded, restarts)
                if failure:
                    print(f"error: {failure}; stopping", file=sys.stderr, flush=True)
                    exit_code = 1
                    break
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the cleanup
            signal.signal(sig, signal.SIG_IGN)
        started = time.monotonic()
        processes.stop(
            list(children.values()),
            signals=((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 5.0)),
        )
        if embedded is not None:
            embedded.stop()
        print(f"stopped in {time.monotonic() - started:.1f} s", file=sys.stderr)
    if exit_code:
        raise SystemExit(exit_code)
    return None
