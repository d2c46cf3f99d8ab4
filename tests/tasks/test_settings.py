"""Task settings: read from the environment once, or passed in by `configure()` (what the worker
command does with its options) before the Celery app is first used."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tasks.plumbing.celery_app import celery_config
from tasks.plumbing.settings import TaskSettings
from tests.tasks.conftest import REPO


def test_defaults_and_environment() -> None:
    assert TaskSettings.from_env({}) == TaskSettings()
    chosen = TaskSettings.from_env({"AUTOSPIKFORMER_LEASE_TTL": "45", "REDIS_URL": "redis://x"})
    assert (chosen.lease_ttl_s, chosen.redis_url) == (45, "redis://x")
    assert TaskSettings.from_env({"AUTOSPIKFORMER_LOCK_TTL": "50"}).lease_ttl_s == 50  # old name
    with pytest.raises(ValueError, match="AUTOSPIKFORMER_SWEEP_S must be a number"):
        TaskSettings.from_env({"AUTOSPIKFORMER_SWEEP_S": "often"})
    with pytest.raises(ValueError, match="lease TTL"):
        TaskSettings(lease_ttl_s=0)
    routes = celery_config(TaskSettings(), "redis://x")["task_routes"]
    assert routes["tasks.export_subnet"] == {"queue": "gpu"}


def test_configure_before_use_and_not_after() -> None:
    """In a fresh process: settings passed in are the ones used; other ones after that fail."""
    code = (
        "from tasks.plumbing.celery_app import app\n"
        "from tasks.plumbing.settings import TaskSettings, configure, settings\n"
        "configure(TaskSettings(redis_url='redis://127.0.0.1:1/0', torch_threads=3))\n"
        "assert settings().torch_threads == 3\n"
        "assert app.conf.broker_url == 'redis://127.0.0.1:1/0'\n"
        "try:\n"
        "    configure(TaskSettings(torch_threads=1))\n"
        "except RuntimeError as err:\n"
        "    print('refused:', err)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: task settings are already in use")


def test_worker_refuses_a_bad_setting_in_one_line(tmp_path) -> None:
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(tmp_path), "AUTOSPIKFORMER_LEASE_TTL": "soon"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--queues", "gpu"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: AUTOSPIKFORMER_LEASE_TTL must be a number, got 'soon'"
    ]
    assert not (tmp_path / "broker").exists()  # refused before starting anything
