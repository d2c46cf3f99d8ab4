"""Benchmark: F_AEB ranking of 1,000,000 candidates in DuckDB vs. the same ranking in numpy.

Run: `.venv/bin/python bench/store.py [--candidates N] [--searches S] [--repeats R]`

Writes a DuckDB store in a temporary folder, bulk-inserts N synthetic candidates of one run
(spread over S searches) through Arrow, then times `DuckDBStore.rank(run, alpha=a, top=20)` (the
median of R calls, each attaching the file as a real caller would) next to a reference: the same
ranking (min-max over the run, first stored record per id, ties by id) done with numpy on the frame
loaded once into memory. It also times a few other calls on the big store and checks that both
rankings agree. Target: SQL rank <= 100 ms. The rows carry operation counts, so it also times the
same ranking re-priced under another hardware profile (Loihi) and the feasible-only filter.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.duckdb_store import DuckDBStore  # noqa: E402
from storage.records import CandidateRecord, RunRecord, SearchRecord  # noqa: E402

RUN = "bench"
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
TOP = 20


def synthetic(n: int, searches: int, rng: np.random.Generator) -> pa.Table:
    """N candidate rows shaped like real ones (16-hex ids, JSON arch and per-layer dicts)."""
    depth = rng.integers(2, 5, n)
    embed = rng.choice([192, 240, 336, 384], n)
    steps = rng.integers(1, 5, n)
    # Accuracy rises and energy grows with size, with noise: a realistic trade-off.
    size = (embed / 384) * (depth / 4) * (steps / 4)
    accuracy = np.clip(0.55 + 0.4 * size + rng.normal(0, 0.04, n), 0, 1).round(4)
    energy = (size * 900 * rng.lognormal(0, 0.25, n)).round(3)
    ids = [f"{x:016x}" for x in rng.integers(0, 2**63, n, dtype=np.int64)]
    shapes = {
        (d, e, t): json.dumps(
            {
                "depth": d,
                "embed_dim": e,
                "mlp_ratios": [4] * d,
                "num_heads": [12] * d,
                "taus": [2] * d,
                "thresholds": [1] * d,
                "time_steps": t,
            },
            separators=(",", ":"),
        )
        for d in range(2, 5)
        for e in (192, 240, 336, 384)
        for t in range(1, 5)
    }
    arch = [shapes[int(d), int(e), int(t)] for d, e, t in zip(depth, embed, steps, strict=True)]
    rates = json.dumps({f"block{i}.lif": 0.1 + 0.01 * i for i in range(4)}, separators=(",", ":"))
    return pa.table(
        {
            "run": [RUN] * n,
            "search": [f"s{i % searches}" for i in range(n)],
            "id": ids,
            "arch": arch,
            "accuracy": accuracy,
            "energy_uj": energy,
            "params": (embed * embed * depth * 12).astype(np.int64),
            # Operation counts: half of the energy in MACs, half in SOPs; neuron updates with size.
            "sops": energy * 0.5e6 / 0.9,
            "macs": energy * 0.5e6 / 4.6,
            "neuron_updates": (size * 2e5).round(),
            # One in ten over its search's energy budget.
            "feasible": np.arange(n) % 10 != 0,
            "violation": np.where(np.arange(n) % 10 != 0, "", "energy_budget"),
            "firing_rate": rng.uniform(0.05, 0.3, n),
            "firing_rates": [rates] * n,
            "layer_energy_uj": [rates] * n,
            "generation": (np.arange(n) // 1000).astype(np.int32),
            "strategy": ["evolution"] * n,
            "worker": ["bench"] * n,
            "created_at": 1.7e9 + np.arange(n, dtype=np.float64),
            # Ids are unique here, so every row is its id's first record in the run.
            "first_in_run": np.ones(n, dtype=bool),
            "silent": rng.random(n) < 0.01,  # a block never fires (the explorer ranks them last)
        }
    )


def reference_rank(frame: dict[str, np.ndarray], alpha: float, top: int) -> list[tuple[str, float]]:
    """F_AEB in numpy over arrays already reduced to one record per id (feasible ones)."""
    keep = frame["feasible"]
    acc, energy, ids = frame["accuracy"][keep], frame["energy_uj"][keep], frame["id"][keep]
    a_min, a_max = acc.min(), acc.max()
    e_min, e_max = energy.min(), energy.max()
    e_scaled = (energy - e_min) / (e_max - e_min) if e_max > e_min else np.zeros_like(energy)
    a_scaled = (acc - a_min) / (a_max - a_min) if a_max > a_min else np.zeros_like(acc)
    fitness = alpha * (1.0 - e_scaled) + (1.0 - alpha) * a_scaled
    # Candidates for the top: everything at least as good as the top-th best (keeps ties).
    kth = np.partition(fitness, len(fitness) - top)[len(fitness) - top]
    pick = np.flatnonzero(fitness >= kth)
    order = sorted(pick, key=lambda i: (-fitness[i], -acc[i], energy[i], ids[i]))[:top]
    return [(str(ids[i]), float(fitness[i])) for i in order]


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up (page cache, imports)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def fill(store: DuckDBStore, n: int, searches: int, rng: np.random.Generator) -> dict[str, float]:
    """Create the run and its searches, bulk-insert n candidates; seconds taken per step."""
    store.create_run(RunRecord(RUN, dataset="cifar10"))
    for s in range(searches):
        store.create_search(SearchRecord(f"s{s}", RUN, "evolution"))
    start = time.perf_counter()
    table = synthetic(n, searches, rng)
    made = time.perf_counter()
    store.load_candidates(table)
    return {"generate": made - start, "insert": time.perf_counter() - made}


def load_reference(store: DuckDBStore) -> dict[str, np.ndarray]:
    """The run's candidates in memory, one record per id (its first stored), for numpy."""
    columns = ("id", "accuracy", "energy_uj", "feasible")
    table = store.candidate_table(RUN, columns=columns, include_infeasible=True)
    df: pd.DataFrame = table.to_pandas()
    return {c: df[c].to_numpy() for c in columns}


def rank_table(store: DuckDBStore, frame: dict[str, np.ndarray], repeats: int) -> float:
    """Print SQL vs numpy rank timings per alpha; return the worst SQL median (ms)."""
    print(f"rank(top={TOP}), median of {repeats}:")
    print(f"{'alpha':>6} {'SQL ms':>9} {'numpy ms':>9} {'SQL/ref':>8}  same top-{TOP}")
    worst = 0.0
    for alpha in ALPHAS:
        sql_ms = median_ms(lambda a=alpha: store.rank(RUN, alpha=a, top=TOP), repeats)
        ref_ms = median_ms(lambda a=alpha: reference_rank(frame, a, TOP), repeats)
        got = [(c.id, f) for c, f in store.rank(RUN, alpha=alpha, top=TOP)]
        want = reference_rank(frame, alpha, TOP)
        same = [i for i, _ in got] == [i for i, _ in want] and all(
            abs(f - g) < 1e-12 for (_, f), (_, g) in zip(got, want, strict=True)
        )
        worst = max(worst, sql_ms)
        print(f"{alpha:>6.2f} {sql_ms:>9.1f} {ref_ms:>9.1f} {sql_ms / ref_ms:>8.2f}  {same}")
    return worst


def other_calls(store: DuckDBStore, some_id: str) -> None:
    """Print the median time of the other store calls on the big store."""
    fresh = iter(range(10**9))

    def new_batch() -> list[CandidateRecord]:
        b = next(fresh)
        return [
            CandidateRecord(RUN, "s0", f"new{b:06d}k{k:03d}", {"d": 2}, 0.5, 10.0, generation=9)
            for k in range(100)
        ]

    resent = new_batch()
    store.add_candidates(resent)
    from engine.profiles import PROFILES

    loihi = PROFILES["loihi-2018"]
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("rank under loihi-2018 (top 20)", lambda: store.rank(RUN, top=TOP, profile=loihi)),
        (
            "rank with infeasible (top 20)",
            lambda: store.rank(RUN, top=TOP, include_infeasible=True),
        ),
        ("rank one search (top 20)", lambda: store.rank(RUN, search="s0", top=TOP)),
        ("rank silent last (top 20)", lambda: store.rank(RUN, top=TOP, silent_last=True)),
        ("rank run, top=1000", lambda: store.rank(RUN, top=1000)),
        ("count_candidates(run)", lambda: store.count_candidates(RUN)),
        ("get_candidate(run, id)", lambda: store.get_candidate(RUN, some_id)),
        ("add_candidates(100 new)", lambda: store.add_candidates(new_batch())),
        ("add_candidates(100 resent)", lambda: store.add_candidates(resent)),
        ("get_run", lambda: store.get_run(RUN)),
        ("update_run", lambda: store.update_run(RUN, progress=0.5)),
    ]
    print("other calls on the same store, median of 5, ms:")
    for name, fn in calls:
        print(f"  {name:32s} {median_ms(fn, 5):9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.duckdb"
        store = DuckDBStore(path)
        took = fill(store, args.candidates, args.searches, np.random.default_rng(0))
        start = time.perf_counter()
        frame = load_reference(store)
        load_s = time.perf_counter() - start

        print(f"candidates            {args.candidates:>12,d}  ({args.searches} searches, 1 run)")
        print(f"generate (numpy)      {took['generate']:>12.2f} s")
        size_mib = path.stat().st_size / 2**20
        print(f"bulk insert (arrow)   {took['insert']:>12.2f} s   file {size_mib:.0f} MiB")
        print(f"load frame for ref    {load_s:>12.2f} s   (once, not in the timings below)")
        print()
        worst = rank_table(store, frame, args.repeats)
        print()
        other_calls(store, str(frame["id"][0]))
        print()
        print(
            f"target SQL rank <= 100 ms: {'met' if worst <= 100 else 'MISSED'} (worst {worst:.1f})"
        )
        store.close()


if __name__ == "__main__":
    main()
