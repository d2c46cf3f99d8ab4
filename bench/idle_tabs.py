"""What an idle browser tab left open on the runs page costs the server: `autospikformer up` on a
store of N finished runs (a team's history, nothing in progress), one chromium tab on /runs, and
the Streamlit server's CPU over a quiet minute. This checkout ("product") against another commit
("before", default `0af243c`, whose runs page redrew every 2 s whether or not a run was in
progress), each side with its own store and its own `up`, one after the other, `--repeats` times
alternating. Prints each side's server CPU as a share of one core (and chromium's), and the ratio.

    OMP_NUM_THREADS=1 python bench/idle_tabs.py [--runs 400] [--idle 60] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from runs_page import FILL_TEAM
from trees import ROOT, checkout, python_in

sys.path.insert(0, str(ROOT))
from tests.app.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

# Nothing in progress: an idle team.
FILL = (
    FILL_TEAM
    + """
for run in store.list_runs():
    if run.active:
        store.update_run(run.name, state="done", progress=1.0)
print(json.dumps({"runs": len(store.list_runs())}))
"""
)


def _cpu_s(pids: list[int]) -> float:
    hz = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / hz
    return total


def _processes(word: str, under: int | None = None) -> list[int]:
    """Pids whose command line holds `word` (descendants of `under`, if given)."""
    parents, commands = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            commands[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])

    def below(pid: int) -> bool:
        while pid > 1:
            if pid == under:
                return True
            pid = parents.get(pid, 0)
        return False

    return [
        pid
        for pid, cmd in commands.items()
        if word.encode() in cmd and (under is None or below(pid))
    ]


def idle_cost(root: Path, home: Path, idle_s: float) -> tuple[float, float]:
    """(server, chromium) CPU-s per second of an idle /runs tab, code in `root`."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(home), "PYTHONPATH": str(root)}
    env["AUTOSPIKFORMER_USERS"] = "*"
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
        cwd=root,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/runs", timeout=120_000)
            page.get_by_text("This list updates every").first.wait_for(timeout=120_000)
            time.sleep(5)  # the first render's work done
            server = _processes("streamlit", under=up.pid)
            client = _processes("chromium") + _processes("headless_shell")
            s0, c0, t0 = _cpu_s(server), _cpu_s(client), time.monotonic()
            time.sleep(idle_s)
            s1, c1, t1 = _cpu_s(server), _cpu_s(client), time.monotonic()
            browser.close()
        return (s1 - s0) / (t1 - t0), (c1 - c0) / (t1 - t0)
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(60)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=400, help="finished runs in the store")
    p.add_argument("--idle", type=float, default=60.0, help="seconds the tab sits idle")
    p.add_argument("--repeats", type=int, default=2, help="alternated measurements per side")
    p.add_argument("--before", default="0af243c", help="the commit to compare with")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sides = {"product": ROOT, f"before {args.before}": checkout(args.before, Path(tmp) / "b")}
        homes = {}
        for name, root in sides.items():
            homes[name] = Path(tmp) / f"home-{len(homes)}"
            homes[name].mkdir()
            env = {"AUTOSPIKFORMER_HOME": str(homes[name])}
            count = python_in(root, FILL, str(args.runs), env=env)["runs"]
        costs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for _ in range(args.repeats):
            for name, root in sides.items():
                costs[name].append(idle_cost(root, homes[name], args.idle))
        print(f"One idle tab on /runs, {count} runs, none in progress, {args.idle:g} s each:")
        print("| side | server, share of a core | chromium, share of a core |")
        print("| --- | --- | --- |")
        for name, values in costs.items():
            server = ", ".join(f"{s:.1%}" for s, _ in values)
            client = ", ".join(f"{c:.1%}" for _, c in values)
            print(f"| {name} | {server} | {client} |")
        product, before = (statistics.median(s for s, _ in v) for v in costs.values())
        print(f"server, product / before (medians): {product / before:.3f}x")


if __name__ == "__main__":
    main()
