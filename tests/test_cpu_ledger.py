"""tests/cpu_ledger.py, the opt-in plugin that says where the suite's CPU goes, counts the CPU of
a process that nobody waited for (a server's child after its group was killed): the part that
`getrusage(RUSAGE_CHILDREN)` alone misses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

ORPHAN_TEST = """
import subprocess, sys, time
from pathlib import Path

BURN = "import time; t = time.process_time()\\nwhile time.process_time() - t < 1.0: pass"


def test_leaves_an_orphan_that_burns_a_second(tmp_path):
    done = tmp_path / "done"
    # sh starts the burner in the background and exits at once: the burner's parent is gone,
    # and nobody in this test waits for it.
    script = f"{sys.executable} -c '{BURN}' && touch {done} &"
    subprocess.run(["sh", "-c", script], check=True)
    deadline = time.monotonic() + 30
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done.exists()


def test_does_nothing():
    pass
"""


def test_the_ledger_counts_a_process_nobody_waited_for(tmp_path: Path) -> None:
    (tmp_path / "test_orphan.py").write_text(ORPHAN_TEST)
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.cpu_ledger"]
    cmd += ["--cpu-ledger-dir", str(ledger), "--rootdir", str(tmp_path), str(tmp_path)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    ((name, entry),) = json.loads((ledger / "cpu-ledger-main.json").read_text()).items()
    assert name.endswith("test_orphan.py")
    assert entry["tests"] == 2
    assert entry["cpu"] >= 0.9, entry  # the orphan's second is in
    from tests.cpu_ledger import summarize

    table = summarize(ledger)
    assert "test_orphan.py" in table and table.splitlines()[-1].startswith("all")
