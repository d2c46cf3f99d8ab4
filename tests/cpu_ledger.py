"""Where the suite's CPU goes, per test file, every process a test started included.

Opt-in: `python -m pytest -p tests.cpu_ledger ...` (with or without pytest-xdist). Each test
process becomes a *child subreaper* (Linux `prctl(PR_SET_CHILD_SUBREAPER)`): a process whose
parent exits, or whose process group a fixture kills, is re-parented to the test process instead
of to init, and a reaper thread collects it. So the CPU of servers, workers and browsers that
`getrusage(RUSAGE_CHILDREN)` misses (nobody waited for them) is counted too, and charged to the
test that was running when they ended. Module fixtures end in their file's last test, so a file's
figure holds its fixtures.

At the end each process writes `cpu-ledger-<worker>.json` to `--cpu-ledger-dir` (default the
current folder); `python -m tests.cpu_ledger DIR` sums them per file, largest first.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

PR_SET_CHILD_SUBREAPER = 36

_started: set[int] = set()  # pids that subprocess.Popen started here: their owners wait for them
_by_file: dict[str, dict[str, float]] = defaultdict(lambda: {"cpu": 0.0, "wall": 0.0, "tests": 0})


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _total() -> float:
    """CPU-s of this process and of every process it has waited for (re-parented ones included,
    once reaped)."""
    return _cpu(resource.getrusage(resource.RUSAGE_SELF)) + _cpu(
        resource.getrusage(resource.RUSAGE_CHILDREN)
    )


def _zombie_orphans() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me and fields[0] == "Z" and int(entry) not in _started:
            found.append(int(entry))
    return found


def _reap() -> None:
    """Wait for the re-parented descendants that have ended: their CPU joins RUSAGE_CHILDREN."""
    for pid in _zombie_orphans():
        try:
            os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            continue


def _reaper() -> None:
    while True:
        _reap()
        time.sleep(0.5)


def _track_popen() -> None:
    original = subprocess.Popen._execute_child

    def execute_child(self, *args, **kwargs):  # noqa: ANN001, ANN202
        original(self, *args, **kwargs)
        _started.add(self.pid)

    subprocess.Popen._execute_child = execute_child


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cpu-ledger-dir", default=".", help="where cpu_ledger writes its files")


def pytest_configure(config: pytest.Config) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise pytest.UsageError("cpu_ledger: prctl(PR_SET_CHILD_SUBREAPER) failed")
    _track_popen()
    threading.Thread(target=_reaper, daemon=True, name="cpu-ledger-reaper").start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # noqa: ANN201
    cpu, wall = _total(), time.monotonic()
    yield
    if nextitem is None or nextitem.path != item.path:
        time.sleep(0.5)  # the file's servers were killed in its last teardown: let them end
    _reap()
    entry = _by_file[item.nodeid.split("::", 1)[0]]
    entry["cpu"] += _total() - cpu
    entry["wall"] += time.monotonic() - wall
    entry["tests"] += 1


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _by_file:
        return
    worker = getattr(config, "workerinput", {}).get("workerid", "main")  # xdist's, else main
    out = Path(config.getoption("--cpu-ledger-dir")) / f"cpu-ledger-{worker}.json"
    out.write_text(json.dumps(dict(_by_file), indent=1))


def summarize(folder: Path) -> str:
    files: dict[str, dict[str, float]] = {}
    for path in sorted(folder.glob("cpu-ledger-*.json")):
        files.update(json.loads(path.read_text()))
    rows = sorted(files.items(), key=lambda kv: -kv[1]["cpu"])
    total_cpu = sum(v["cpu"] for v in files.values())
    lines = [f"{'file':60} {'tests':>5} {'wall s':>7} {'CPU s':>7}"]
    for name, v in rows:
        lines.append(f"{name:60} {int(v['tests']):5d} {v['wall']:7.1f} {v['cpu']:7.1f}")
    lines.append(
        f"{'all':60} {sum(int(v['tests']) for v in files.values()):5d} "
        f"{sum(v['wall'] for v in files.values()):7.1f} {total_cpu:7.1f}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
