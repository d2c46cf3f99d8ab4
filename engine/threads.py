"""How many intra-op threads torch should use, so the processes of one host share its cores.

torch starts as many OpenMP threads as the machine has cores. Two such processes on the same
cores oversubscribe them, and spinning OpenMP threads then slow both several-fold: a 12-candidate
digits search next to another job took 69.8 s at torch's default 2 threads and 16.3 s at 1, on
2 cores. So every process that computes (the CLI, each worker) divides the cores it may use by
the processes busy on them, at least 1 thread:

    choice = choose_threads(busy_processes=2)   # e.g. the worker and the recorder of `up`
    apply_threads(choice, log.info)             # "torch threads: 1 (2 cores / 2 busy processes)"

An explicit `AUTOSPIKFORMER_TORCH_THREADS` (a whole number >= 1; 0 or unset: choose) wins, then
an explicit `OMP_NUM_THREADS`. Cores are those of the process's CPU affinity, capped by a cgroup
CPU quota (a container limited to 2 CPUs on a 64-core host has 2). `host_busy_processes()`
counts what else runs on the host now, for a process that cannot know it from its launcher.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

THREADS_ENV = "AUTOSPIKFORMER_TORCH_THREADS"
OMP_ENV = "OMP_NUM_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count and where it came from (`source`: the variable or option that set it,
    "" when the cores were divided among the busy processes)."""

    threads: int
    cores: int
    busy_processes: int
    source: str = ""

    def describe(self) -> str:
        """One line for a log, e.g. "torch threads: 1 (2 cores / 2 busy processes)"."""
        if self.source:
            return f"torch threads: {self.threads} ({self.source}={self.threads})"
        busy = f"{self.busy_processes} busy process{'es' if self.busy_processes != 1 else ''}"
        return f"torch threads: {self.threads} ({self.cores} cores / {busy})"


def choose_threads(
    busy_processes: int, cores: int | None = None, *, environ: Mapping[str, str] | None = None
) -> ThreadChoice:
    """Threads for one of `busy_processes` processes computing on `cores` (default: this
    process's, `available_cores()`): an explicit setting if there is one, else
    cores // busy_processes, at least 1.

    Raises ValueError (one line) for a malformed `AUTOSPIKFORMER_TORCH_THREADS` or a count
    below 1.
    """
    if isinstance(busy_processes, bool) or not isinstance(busy_processes, int):
        raise ValueError(f"busy_processes must be a whole number, got {busy_processes!r}")
    if busy_processes < 1:
        raise ValueError(f"busy_processes must be at least 1, got {busy_processes}")
    if cores is not None and (isinstance(cores, bool) or not isinstance(cores, int) or cores < 1):
        raise ValueError(f"cores must be a whole number >= 1, got {cores!r}")
    env = os.environ if environ is None else environ
    n_cores = available_cores() if cores is None else cores
    explicit = _explicit(env)
    if explicit is not None:
        return ThreadChoice(explicit[1], n_cores, busy_processes, explicit[0])
    return ThreadChoice(max(1, n_cores // busy_processes), n_cores, busy_processes)


def apply_threads(choice: ThreadChoice, log: Callable[[str], object] | None = None) -> str:
    """Set torch's intra-op threads to `choice.threads`; return (and `log`) its one-line reason.

    A count given on a command line is a choice too: `ThreadChoice(n, available_cores(), 1,
    "--threads")` logs "torch threads: n (--threads=n)".
    """
    import torch

    if choice.threads < 1:
        raise ValueError(f"torch threads must be at least 1, got {choice.threads}")
    torch.set_num_threads(choice.threads)
    line = choice.describe()
    if log is not None:
        log(line)
    return line


def _explicit(env: Mapping[str, str]) -> tuple[str, int] | None:
    raw = env.get(THREADS_ENV, "").strip()
    if raw:
        try:
            n = int(raw)
        except ValueError:
            n = -1
        if n < 0:
            raise ValueError(f"{THREADS_ENV} must be a whole number >= 0, got {raw!r}")
        if n > 0:
            return THREADS_ENV, n
    # OpenMP's own variable may list one count per nesting level ("4,2"); the first is ours.
    first = env.get(OMP_ENV, "").split(",")[0].strip()
    if first.isdigit() and int(first) > 0:
        return OMP_ENV, int(first)
    return None


def host_busy_processes(
    own: int = 1,
    *,
    samples: int = 5,
    interval_s: float = 0.01,
    loadavg: Path = Path("/proc/loadavg"),
) -> int:
    """`own` plus the host's other busy threads right now: the runnable count of
    /proc/loadavg (which includes the caller), less the caller, median of a few samples.

    For a process that did not know it shares the cores (the CLI next to a worker, two CLIs).
    The count is the kernel's, for the whole host: in a container it includes other
    containers' work. Without /proc it is `own`.
    """
    others = []
    for i in range(samples):
        try:
            runnable = int(loadavg.read_text().split()[3].split("/")[0])
        except (OSError, IndexError, ValueError):
            return own
        others.append(max(0, runnable - 1))
        if i + 1 < samples:
            time.sleep(interval_s)
    return own + int(statistics.median_low(others))


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    return max(1, min(cores, quota) if quota else cores)


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """CPUs allowed by the cgroup quota (rounded up), or None without a quota."""
    try:  # cgroup v2: "max 100000" or "200000 100000"
        return parse_cpu_max((root / "cpu.max").read_text())
    except OSError:
        pass
    try:  # cgroup v1
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return math.ceil(quota / period) if quota > 0 and period > 0 else None


def parse_cpu_max(text: str) -> int | None:
    """CPUs of a cgroup v2 `cpu.max` line ("max 100000": None; "150000 100000": 2)."""
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return math.ceil(quota / period) if quota > 0 and period > 0 else None
