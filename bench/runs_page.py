"""How long the runs page takes to render for a team's store of N runs: a real `AppTest` of the
whole app (`tests.app.conftest.app_at`, which draws the runs page once and then switches to the
page asked for) on a store filled by `tests.app.conftest.fill_store` (a searched run and a live
one) plus N finished runs, each with a search of 20 candidates. This checkout ("product") against
another commit ("before", default `daa754e`, whose runs table read every run's candidates and drew
a live card per run: several store reads per run every few seconds), each side in its own Python
process with its own store, one after the other. Prints each side's median seconds per render
(after the first, which pays the imports), and the ratio.

    OMP_NUM_THREADS=1 python bench/runs_page.py [--runs 50 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from trees import ROOT, checkout, python_in

# Code for each side's tree, with AUTOSPIKFORMER_HOME set to a fresh folder: the app tests' filled
# store plus `n` finished runs of 20 candidates each (a team's history; `bench/idle_tabs.py` too).
FILL_TEAM = """
import json, sys, time
from storage.duckdb_store import DuckDBStore
from storage.paths import home, store_path
from storage.records import RunRecord, SearchRecord
from tests.app.conftest import app_at, fill_store, make_candidates
n = int(sys.argv[1])
store = DuckDBStore(store_path())
fill_store(store, home())
for k in range(n):
    name = f"team-{k:04d}"
    store.create_run(RunRecord(name=name, dataset="digits", state="done", progress=1.0,
                               created_at=1_600_000_000.0 + k))
    store.create_search(SearchRecord(id=f"{name}.random.1", run=name, strategy="random",
                                     state="done"))
    store.add_candidates(make_candidates(name, f"{name}.random.1", 20, seed=k))
"""
TIME_ONE = (
    FILL_TEAM
    + """
renders = int(sys.argv[2])
times = []
for _ in range(renders):
    start = time.perf_counter()
    at = app_at("leaderboards")  # the runs page (the root), then a page that reads no run
    assert not at.exception, at.exception
    times.append(time.perf_counter() - start)
print(json.dumps({"s": times}))
"""
)


def time_one(root: Path, n: int, renders: int, scratch: Path) -> float:
    """The median seconds of `renders` renders with `n` extra runs, code in `root`."""
    home = tempfile.mkdtemp(dir=scratch)
    times = python_in(root, TIME_ONE, str(n), str(renders), env={"AUTOSPIKFORMER_HOME": home})
    return statistics.median(times["s"][1:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, nargs="+", default=[50, 400])
    p.add_argument("--repeats", type=int, default=4, help="renders per process (the first dropped)")
    p.add_argument("--before", default="daa754e", help="the commit to compare with")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(args.before, Path(tmp) / "before")
        print(f"| runs | product (s) | before {args.before} (s) | product / before |")
        print("| --- | --- | --- | --- |")
        for n in args.runs:
            a = time_one(ROOT, n, args.repeats, Path(tmp))
            b = time_one(before, n, args.repeats, Path(tmp))
            print(f"| {n + 2:,} | {a:.2f} | {b:.2f} | {a / b:.3f}x |", flush=True)


if __name__ == "__main__":
    main()
