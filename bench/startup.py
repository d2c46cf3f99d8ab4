"""What a fresh process pays before its first step: the digits loader and the search's imports.

Every training, evaluation, search and worker process of the product (and of the test suite) is
a new Python process, so seconds spent importing add up. Side by side, each in fresh processes,
alternating A B A B: reading scikit-learn's shipped digits CSV directly (`read_digits`, what
the product does) against `sklearn.datasets.load_digits` (what it did: it imports scikit-learn
and most of scipy; both sides import the digits family, hence torch), importing
`engine.search` (scipy now imported only when Kendall's tau is computed) against the same
import followed by `scipy.stats` (what the module used to pull in at import), and what the
recorder's worker imports against the same plus the model code it used to import (torch,
spikingjelly). Prints the median wall time of each and the ratio.

    OMP_NUM_THREADS=1 python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RECORDER = (
    "import tasks.jobs; from tasks import pipeline; from engine import data; "
    "pipeline.search_from_state, pipeline.checkpoint_history, pipeline.record_generation; "
    "data.dataset_spec('digits')"
)

PAIRS = {
    "digits loader": (
        "from engine.data.digits import read_digits; read_digits()",
        "import engine.data.digits; from sklearn.datasets import load_digits; load_digits()",
    ),
    "search imports": (
        "import engine.search",
        "import engine.search, scipy.stats",
    ),
    # What the cpu queue's worker (the recorder, the sweeper, `advance`) imports to record and
    # step a search, against the same plus the model code it used to import (eagerly through
    # `tasks.pipeline` and `engine.data`, and in its pool's warm-up): torch and spikingjelly.
    "recorder worker imports": (
        RECORDER,
        RECORDER + "; import engine.train, engine.evaluate, tasks.pipeline.exporting",
    ),
}


def wall(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    print(f"# fresh-process wall time, median of {args.runs} alternating runs (after one warm-up)")
    print("| what | product (s) | before (s) | ratio |")
    print("| --- | --- | --- | --- |")
    for name, (now, before) in PAIRS.items():
        wall(now), wall(before)  # warm the file cache
        a, b = [], []
        for _ in range(args.runs):
            a.append(wall(now))
            b.append(wall(before))
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {name} | {ma:.2f} | {mb:.2f} | {ma / mb:.2f} |")


if __name__ == "__main__":
    main()
