"""`autospikformer up`: broker, workers and app from one command; Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

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


def _listening(port: int) -> set[str]:
    """The local addresses of every socket listening on TCP `port` (from /proc/net)."""
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # host order
            found.add(socket.inet_ntop(family, words))
    return found


def _fresh_env(tmp_path: Path, home: Path) -> dict[str, str]:
    """A fresh clone's environment: the embedded broker, no secrets (HOME is empty)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "AUTOSPIKFORMER_PUBLIC")}
    user_home = tmp_path / "user"
    user_home.mkdir(exist_ok=True)
    env.update(AUTOSPIKFORMER_HOME=str(home), AUTOSPIKFORMER_TORCH_THREADS="1", HOME=str(user_home))
    return env


def _read_until(proc: subprocess.Popen, text: str, timeout: float) -> str:
    """`proc`'s stderr (a text pipe) line by line until a line holds `text`; what was read. A
    thread reads, since a pipe's buffered lines are invisible to select()."""
    lines: list[str] = []
    over = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if text in line:
                break
        over.set()

    threading.Thread(target=read, daemon=True).start()
    if not over.wait(timeout):
        raise AssertionError(f"no {text!r} on stderr in {timeout:g} s: {''.join(lines)}")
    if not lines or text not in lines[-1]:
        raise AssertionError(f"stderr closed before {text!r}: {''.join(lines)}")
    return "".join(lines)


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
    env = _fresh_env(tmp_path, home)  # the embedded broker, no sign-in
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
        assert _listening(port) == {"127.0.0.1"}  # no sign-in: this machine only
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
        assert "this machine only: no sign-in is configured" in out.decode()
        assert "warning" not in out.decode()
        wait_for(lambda: not any(processes.alive(p) for p in family), 10, "no process left")
        assert not broker.ping(embedded.port)
        assert not (home / "broker" / broker.STATE_FILE).exists()
        assert not _health(port)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def test_up_public_without_sign_in_warns_and_listens_everywhere(tmp_path: Path) -> None:
    port = free_port()
    env = _fresh_env(tmp_path, tmp_path / "home")
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--public", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        first = up.stderr.readline()  # printed before anything starts
        assert first.startswith("warning: no sign-in is configured and the app listens on 0.0.0.0")
        wait_for(lambda: _health(port) or up.poll() is not None, 120, "the app's health check")
        assert up.poll() is None
        assert _listening(port) == {"0.0.0.0"}
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.communicate(timeout=60)
        finally:
            if up.poll() is None:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()


PROCFILE_WEB_ADDRESS = 'address=$(python -m app.common.signin) && echo "$address"'


@pytest.mark.parametrize(
    ("public", "secrets", "address", "warns"),
    [
        ("", "", "127.0.0.1", False),
        ("1", "", "0.0.0.0", True),
        ("", "[auth]\nredirect_uri = 'http://x/oauth2callback'\n", "0.0.0.0", False),
        ("", "[other]\nkey = 1\n", "127.0.0.1", False),
        ("maybe", "", None, False),
    ],
)
def test_procfile_web_listens_by_the_same_rule(
    tmp_path: Path, public: str, secrets: str, address: str | None, warns: bool
) -> None:
    """The Procfile's `web` takes its address from `python -m app.common.signin` (as `up`):
    0.0.0.0 only with sign-in or AUTOSPIKFORMER_PUBLIC=1; a bad value stops it from starting."""
    procfile = (REPO / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    assert web.startswith("web: address=$(python -m app.common.signin) && exec streamlit run ")
    assert '--server.address "$address"' in web and "0.0.0.0" not in web
    project = tmp_path / "project"  # the folder the process is started from
    if secrets:
        (project / ".streamlit").mkdir(parents=True)
        (project / ".streamlit" / "secrets.toml").write_text(secrets)
    project.mkdir(exist_ok=True)
    env = _fresh_env(tmp_path, tmp_path / "home")
    env.update(AUTOSPIKFORMER_PUBLIC=public, PYTHONPATH=str(REPO), PATH=os.environ["PATH"])
    bindir = tmp_path / "bin"  # `python` on PATH is this interpreter, as in the image
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    env["PATH"] = f"{bindir}:{env['PATH']}"
    done = subprocess.run(
        ["sh", "-c", PROCFILE_WEB_ADDRESS], cwd=project, env=env, capture_output=True, text=True
    )
    if address is None:
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip() == "error: AUTOSPIKFORMER_PUBLIC must be 1 or 0, got 'maybe'"
        return
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == address
    assert done.stderr.startswith("warning: no sign-in") == warns, done.stderr


def test_procfile_web_serves_with_the_same_limits_as_up() -> None:
    """Every Streamlit setting `up` passes (the 1 MB upload cap, the viewer toolbar, ...) is on
    the Procfile's `web` line too: a deployment gets no larger upload than `up`."""
    import argparse

    from app.cli.commands.up import commands

    args = argparse.Namespace(no_app=False, app="app/streamlit_app.py", port=1, address="x")
    app = commands(args)["app"]
    settings = {
        flag: value
        for flag, value in zip(app, app[1:], strict=False)
        if flag.startswith("--") and flag not in ("--server.port", "--server.address")
    }
    assert "--server.maxUploadSize" in settings
    web = next(
        line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    for flag, value in settings.items():
        assert f" {flag} {value}" in web, f"the Procfile's web lacks {flag} {value}"


def test_the_image_listens_by_the_same_rule() -> None:
    """The Dockerfile's command is a plain `up`: it never names 0.0.0.0 itself."""
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'CMD ["up", "--port", "8501"]' in dockerfile
    assert "0.0.0.0" not in dockerfile.split("ENTRYPOINT")[1]


def test_up_restarts_a_killed_broker_and_the_run_goes_on(tmp_path: Path) -> None:
    """kill -9 the embedded redis-server under `up`: `up` restarts it on the same port with its
    password and data within seconds, says so in one line, and the run launched before reaches
    done (nothing is left in "training")."""
    from storage.duckdb_store import DuckDBStore

    home = tmp_path / "home"
    env = _fresh_env(tmp_path, home)
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--no-app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        before = wait_for(lambda: broker.find(home / "broker"), 60, "the embedded broker")
        space = tmp_path / "space.yaml"
        space.write_text(SPACE)
        args = ["launch", "--run", "kb", "--space", str(space), *RUN_ARGS]
        args[args.index("--generations") + 1] = "1"
        launched = subprocess.run(
            [sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env, capture_output=True
        )
        assert launched.returncode == 0, launched.stderr
        store = DuckDBStore(home / "store.duckdb")
        wait_for(lambda: store.get_run("kb").state == "training", 180, "training to start")

        os.kill(before.server_pid, signal.SIGKILL)
        killed = time.monotonic()
        after = wait_for(
            lambda: (b := broker.find(home / "broker")) and b.server_pid != before.server_pid and b,
            30,
            "the broker to be restarted",
            every=0.1,
        )
        back_s = time.monotonic() - killed
        assert (after.port, after.password) == (before.port, before.password)
        assert up.poll() is None

        def ended() -> str | None:
            state = store.get_run("kb").state
            return state if state in ("done", "failed", "cancelled") else None

        assert wait_for(ended, 240, "the run to end", every=1.0) == "done", store.get_run(
            "kb"
        ).message
        done_s = time.monotonic() - killed
        print(f"\nbroker back {back_s:.1f} s after kill -9; run done {done_s:.0f} s after")
        os.killpg(up.pid, signal.SIGINT)
        _, err = up.communicate(timeout=60)
        assert up.returncode == 0, err
        restarted = [line for line in err.splitlines() if "embedded broker" in line]
        assert len(restarted) == 1 and restarted[0].startswith("warning: the embedded broker")
        assert f"pid {before.server_pid}) died; restarted it on port {before.port}" in restarted[0]
        assert not broker.ping(after.port)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def test_up_stops_with_one_line_when_the_broker_cannot_come_back(tmp_path: Path) -> None:
    """kill -9 the embedded server and take its port: `up` cannot restart it there, so it stops
    everything (workers included) with one line and exit code 1, leaving no process behind."""
    home = tmp_path / "home"
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--no-app"],
        cwd=REPO,
        env=_fresh_env(tmp_path, home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    squatter = socket.socket()
    try:
        # Past its first broker start: a broker that answers is not enough (`up` may not have
        # seen it answer yet, and would then report a failed first start, exit 2).
        said = _read_until(up, "Ctrl-C stops", 120)
        before = broker.find(home / "broker")
        assert before is not None, said
        family = _descendants(up.pid)
        # `up` paused while its broker dies and the port is taken, so it cannot restart the
        # broker there first (a race that a loaded machine sometimes lost).
        os.kill(up.pid, signal.SIGSTOP)
        os.kill(before.server_pid, signal.SIGKILL)

        def take_port() -> bool:
            try:
                squatter.bind(("127.0.0.1", before.port))
            except OSError:
                return False
            squatter.listen()
            return True

        wait_for(take_port, 5, "the broker's port to be free", every=0.001)
        os.kill(up.pid, signal.SIGCONT)
        _, rest = up.communicate(timeout=90)
        err = said + rest
        assert up.returncode == 1, err
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, err
        print(f"\n{errors[0]}")
        prefix = (
            "error: the embedded broker died and could not be restarted: embedded Redis server "
            f"did not start on port {before.port}: "
        )
        assert errors[0].startswith(prefix) and errors[0].endswith("; stopping"), err
        wait_for(lambda: not any(processes.alive(p) for p in family), 10, "no process left")
    finally:
        squatter.close()
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
