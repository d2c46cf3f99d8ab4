"""engine.threads: cores divided among busy processes, explicit settings win, torch follows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from engine.threads import (
    ThreadChoice,
    apply_threads,
    available_cores,
    cgroup_cpu_limit,
    choose_threads,
    host_busy_processes,
    parse_cpu_max,
)


@pytest.mark.parametrize(
    ("busy", "cores", "threads"),
    [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 16, 8), (3, 16, 5), (16, 16, 1), (40, 16, 1)],
)
def test_cores_are_divided_among_busy_processes(busy: int, cores: int, threads: int) -> None:
    choice = choose_threads(busy, cores, environ={})
    assert choice == ThreadChoice(threads, cores, busy)
    assert choice.threads * busy <= max(cores, busy)


def test_the_log_line_says_the_count_and_why() -> None:
    assert choose_threads(2, 2, environ={}).describe() == (
        "torch threads: 1 (2 cores / 2 busy processes)"
    )
    assert choose_threads(1, 8, environ={}).describe() == (
        "torch threads: 8 (8 cores / 1 busy process)"
    )
    explicit = choose_threads(2, 2, environ={"AUTOSPIKFORMER_TORCH_THREADS": "3"})
    assert explicit.describe() == "torch threads: 3 (AUTOSPIKFORMER_TORCH_THREADS=3)"


def test_explicit_settings_win_autospikformer_first() -> None:
    both = {"AUTOSPIKFORMER_TORCH_THREADS": "3", "OMP_NUM_THREADS": "5"}
    assert choose_threads(4, 2, environ=both).threads == 3
    assert choose_threads(4, 2, environ={"OMP_NUM_THREADS": "5"}).threads == 5
    assert choose_threads(4, 2, environ={"OMP_NUM_THREADS": "4,2"}).threads == 4  # nested
    zero = {"AUTOSPIKFORMER_TORCH_THREADS": "0", "OMP_NUM_THREADS": ""}
    assert choose_threads(2, 4, environ=zero) == ThreadChoice(2, 4, 2)  # 0: choose
    assert choose_threads(2, 4, environ={"OMP_NUM_THREADS": "lots"}).threads == 2


@pytest.mark.parametrize("raw", ["two", "-1", "1.5"])
def test_a_malformed_setting_is_a_one_line_error(raw: str) -> None:
    with pytest.raises(ValueError, match="AUTOSPIKFORMER_TORCH_THREADS must be a whole number"):
        choose_threads(1, 2, environ={"AUTOSPIKFORMER_TORCH_THREADS": raw})


@pytest.mark.parametrize(
    ("busy", "cores"), [(0, 2), (-1, 2), (True, 2), (1.5, 2), (1, 0), (1, -2), (1, 2.0)]
)
def test_bad_counts_are_refused(busy, cores) -> None:
    with pytest.raises(ValueError, match="must be"):
        choose_threads(busy, cores, environ={})


def test_default_cores_are_this_process_s() -> None:
    cores = available_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    assert choose_threads(1, environ={}).cores == cores


def test_apply_sets_torch_threads_and_logs_the_line() -> None:
    before = torch.get_num_threads()
    lines: list[str] = []
    try:
        line = apply_threads(choose_threads(1, 2, environ={}), lines.append)
        assert torch.get_num_threads() == 2 and lines == [line]
        assert line == "torch threads: 2 (2 cores / 1 busy process)"
        apply_threads(ThreadChoice(1, 2, 1, "--threads"))
        assert torch.get_num_threads() == 1
        with pytest.raises(ValueError, match="at least 1"):
            apply_threads(ThreadChoice(0, 2, 1, "--threads"))
    finally:
        torch.set_num_threads(before)


def test_cgroup_quota_caps_the_cores(tmp_path: Path) -> None:
    assert parse_cpu_max("max 100000\n") is None
    assert parse_cpu_max("200000 100000\n") == 2
    assert parse_cpu_max("150000 100000") == 2  # 1.5 CPUs: two threads may share them
    assert parse_cpu_max("garbage") is None
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(v1) is None
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    assert cgroup_cpu_limit(v1) == 3
    assert cgroup_cpu_limit(tmp_path / "missing") is None


def test_host_busy_processes_counts_other_runnable_threads(tmp_path: Path) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("1.95 1.20 0.80 3/412 12345\n")  # the caller and two others
    assert host_busy_processes(loadavg=loadavg, interval_s=0) == 3
    assert host_busy_processes(own=2, loadavg=loadavg, interval_s=0) == 4
    loadavg.write_text("0.00 0.00 0.00 1/412 12345\n")  # only the caller
    assert host_busy_processes(loadavg=loadavg, interval_s=0) == 1
    assert host_busy_processes(loadavg=tmp_path / "missing") == 1
    real = host_busy_processes(samples=2, interval_s=0)
    assert real >= 1
