"""Child processes that die with their parent, and a clean way to stop them.

Linux delivers `PR_SET_PDEATHSIG` to a child when the *thread* that forked it exits, so it is only
armed when the caller is the main thread (a Streamlit script thread ends after every rerun).
Elsewhere the children poll their parent instead (see `tasks.plumbing.broker`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> Callable[[], None] | None:
    """A `preexec_fn` that asks the kernel to send `sig` when the parent dies (Linux only)."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not (
        threading.main_thread()
    ):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    parent = os.getpid()

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died between fork and prctl
            os.kill(os.getpid(), sig)

    return arm


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
    new_session: bool = True,
) -> subprocess.Popen:
    """Start `argv` so that it gets SIGTERM if this process dies (when possible).

    With `new_session` the child leads its own process group, so a terminal's Ctrl-C reaches only
    this process, which then stops its children in order (`stop`).
    """
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
            preexec_fn=_die_with_parent(signal.SIGTERM),
        )
    finally:
        if log is not None:
            out.close()


def alive(pid: int) -> bool:
    """True if a process `pid` exists (and is not a zombie of ours)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().split(b")")[-1].split()[0] != b"Z"
    except OSError:
        return True


def cmdline(pid: int) -> str:
    """The command line of `pid` ('' if unknown)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Send `sig` to the process group `proc` leads (or to `proc` alone if it leads none)."""
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except ProcessLookupError:
        pass


def stop(
    procs: Sequence[subprocess.Popen],
    *,
    signals: Sequence[tuple[int, float]] = ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)),
) -> None:
    """Stop `procs` and everything in their process groups: each signal in turn, waiting up to its
    grace period for all of them before escalating to the next."""
    for sig, grace in signals:
        running = [p for p in procs if p.poll() is None]
        if not running:
            break
        for p in running:
            signal_group(p, sig)
        deadline = time.monotonic() + grace
        for p in running:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    for p in procs:  # a group can outlive its leader (e.g. a pool child): finish it off
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
