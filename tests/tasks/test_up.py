"""`autospikformer up`: broker, workers and app from one command; Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tasks.plumbing import broker, processes
from tests.tasks.conftest import REPO, RUN_ARGS, SPACE, free_port, wait_for

APP = REPO / "app" / "streamlit_app.py"
PLACEHOLDER = 'import streamlit as st\nst.write("placeholder")\n'


def _health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_up_serves_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    app = APP
    if not app.exists():  # the app is written elsewhere; serve a stand-in meanwhile
        app = tmp_path / "placeholder_app.py"
        app.write_text(PLACEHOLDER)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # the embedded broker
    env.update(AUTOSPIKFORMER_HOME=str(home), AUTOSPIKFORMER_TORCH_THREADS="1")
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--port", str(port), "--app", str(app)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _health(port) or up.poll() is not None, 120, "the app's health check")
        assert up.poll() is None, up.stdout.read().decode()
        embedded = broker.find(home / "broker")
        assert embedded is not None

        # A launch from another shell reuses the running broker and the up's workers run it.
        space = tmp_path / "space.yaml"
        space.write_text(SPACE)
        args = ["launch", "--run", "up1", "--space", str(space), *RUN_ARGS, "--json"]
        args[args.index("--epochs") + 1] = "1"
        args[args.index("--generations") + 1] = "1"
        launched = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, capture_output=True
        )
        assert launched.returncode == 0, launched.stderr
        assert broker.find(home / "broker") == embedded  # reused, still up after launch exited

        def ended() -> str | None:
            status = subprocess.run(
                [sys.executable, "-m", "app.cli", "status", "--run", "up1", "--json"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
            )
            state = json.loads(status.stdout.splitlines()[-1])["state"]
            return state if state in ("done", "failed", "cancelled") else None

        assert wait_for(ended, 180, "the run launched on `up`", every=1.0) == "done"

        family = _descendants(up.pid)
        assert {embedded.server_pid, embedded.supervisor_pid} <= family
        os.killpg(up.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        out, _ = up.communicate(timeout=60)
        assert up.returncode == 0, out.decode()
        wait_for(lambda: not any(processes.alive(p) for p in family), 10, "no process left")
        assert not broker.ping(embedded.port)
        assert not (home / "broker" / broker.STATE_FILE).exists()
        assert not _health(port)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
