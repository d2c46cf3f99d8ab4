"""How long the explorer's parallel-coordinates chart takes to build for a scope of N candidates:
`app.common.parallel.parallel_chart` over every varying gene, accuracy and energy, with the
explorer's drawn sample (`drawn_ids`, at most 600 lines), then turned into the Vega-Lite spec
that Streamlit sends (its own converter, data as Arrow). This checkout's code ("product")
against another commit's ("before", default `daa754e`, whose tick labels rescanned the whole
column once per distinct value, so a scope of n candidates cost n^2), each side in its own
Python process on the same seeded frame, alternating A B A B. Prints the median of each, and
the ratio.

    OMP_NUM_THREADS=1 python bench/genes_chart.py [--sizes 1000 3000 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from trees import ROOT, checkout, python_in

# Run in each side's tree: a seeded frame shaped like `genes.gene_frame` of an mnist-small scope
# (per-block genes as their means, so they take many values), then the chart, timed.
TIME_ONE = """
import json, sys, time
import numpy as np, pandas as pd
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as to_spec
from app.common import genes, parallel
n, seed = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(seed)
depth = rng.integers(1, 5, n)
mean = lambda choices: [float(np.mean(rng.choice(choices, d))) for d in depth]
frame = pd.DataFrame({
    "id": [f"{k:016x}" for k in range(n)], "embed_dim": rng.choice([32.0, 48.0, 64.0], n),
    "depth": depth.astype(float), "T": rng.choice([1.0, 2.0, 4.0], n),
    "mlp_ratio": mean([2, 3, 4]), "num_heads": mean([1, 2, 4]),
    "threshold": mean([0.5, 1.0, 1.5]), "tau": mean([1.5, 2.0, 4.0]),
    "accuracy": rng.uniform(0.6, 0.98, n), "energy_uj": 10 ** rng.uniform(-0.5, 1.5, n),
})
axes = genes.varying(frame, list(genes.GENES)) + list(genes.OBJECTIVES)
start = time.perf_counter()
chart = parallel.parallel_chart(frame, axes, draw=parallel.drawn_ids(frame, []))
spec = to_spec(chart)  # what `st.altair_chart` sends: data as Arrow datasets
print(json.dumps({"s": time.perf_counter() - start, "layers": len(spec["layer"])}))
"""


def time_one(root: Path, n: int, seed: int) -> float:
    """Seconds to build the chart for `n` candidates with the code in `root` (a fresh process)."""
    return float(python_in(root, TIME_ONE, str(n), str(seed))["s"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--before", default="daa754e", help="the commit to compare with")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(args.before, Path(tmp) / "before")
        print(f"| candidates | product (s) | before {args.before} (s) | product / before |")
        print("| --- | --- | --- | --- |")
        for n in args.sizes:
            product_s, before_s = [], []
            for _ in range(args.repeats):  # A B A B: both sides see the same load
                product_s.append(time_one(ROOT, n, args.seed))
                before_s.append(time_one(before, n, args.seed))
            a, b = statistics.median(product_s), statistics.median(before_s)
            print(f"| {n:,} | {a:.3f} | {b:.3f} | {a / b:.3f}x |", flush=True)


if __name__ == "__main__":
    main()
