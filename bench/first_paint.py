"""How long the app's first page stays blank on a cold start: a fresh Streamlit server, then a
real browser (Playwright + Debian's chromium) opening /runs, timed until the page's title is
drawn. The first session of a server process pays every import its pages make; this checkout's
app ("product": the committed HEAD) is timed against the app of another commit ("before", default
`f23f812`, whose runs page imported torch through the launch form), each on a store of the same
runs written by its own code (`tests.app.conftest.fill_store`), alternating A B A B, each in a
fresh server; and, as the floor, a Streamlit app that only writes the title (what Streamlit
itself costs: its server, the browser's bundle, the websocket). Prints the median of each and the
ratios.

    OMP_NUM_THREADS=1 nice -n 5 python bench/first_paint.py [--runs 3] [--before REV]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from trees import checkout

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FILL = (
    "from pathlib import Path; from storage.duckdb_store import DuckDBStore; "
    "from storage.paths import store_path, home; from tests.app.conftest import fill_store; "
    "s = DuckDBStore(store_path()); fill_store(s, home()); s.close()"
)


def filled_home(root: Path, folder: Path) -> Path:
    """A home folder with one searched run (100 candidates) and one training run, written by
    the code in `root` (each side reads a store of its own schema)."""
    folder.mkdir(parents=True)
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(folder), "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", FILL], cwd=root, env=env, check=True)
    return folder


FLOOR_APP = 'import streamlit as st\nst.title("Runs")\n'


def floor_app(folder: Path) -> Path:
    """A Streamlit app that only draws the runs page's title."""
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "streamlit_app.py").write_text(FLOOR_APP)
    (folder / "bench-home").mkdir()
    return folder


def first_paint(root: Path, browser) -> float:
    """Seconds from opening /runs on a fresh server until its title is drawn."""
    port = free_port()
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(root / "bench-home"), "PYTHONPATH": str(root)}
    argv = [sys.executable, "-m", "streamlit", "run", str(root / "app" / "streamlit_app.py")]
    argv += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    argv += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(
        argv,
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/runs")
        page.get_by_role("heading", name="Runs", exact=True).wait_for(timeout=120_000)
        elapsed = time.perf_counter() - start
        page.close()
        return elapsed
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server this function started
        proc.wait(timeout=30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--before", default="f23f812", help="the commit to compare with")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(args.before, Path(tmp) / "before")
        product = checkout("HEAD", Path(tmp) / "product")
        for root in (product, before):
            filled_home(root, root / "bench-home")
        floor = floor_app(Path(tmp) / "floor")
        sides = {"product": product, f"before ({args.before})": before, "floor": floor}
        times: dict[str, list[float]] = {name: [] for name in sides}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for root in sides.values():
                first_paint(root, browser)  # warm the file cache
            for _ in range(args.runs):
                for name, root in sides.items():
                    times[name].append(first_paint(root, browser))
            browser.close()
    a, b, c = (statistics.median(t) for t in times.values())
    print(f"# cold first paint of /runs, median of {args.runs} alternating runs (after warm-up)")
    print(f"| what | {' (s) | '.join(times)} (s) | product / before | product / floor |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| first paint of /runs | {a:.2f} | {b:.2f} | {c:.2f} | {a / b:.2f} | {a / c:.2f} |")
    print("runs:", {k: [round(x, 2) for x in v] for k, v in times.items()})


if __name__ == "__main__":
    main()
