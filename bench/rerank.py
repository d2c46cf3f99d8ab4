"""Benchmark: re-ranking 100,000 candidates at a new alpha, as the explorer does, on the server.

Run: `.venv/bin/python bench/rerank.py [--candidates N] [--alphas A] [--top K] [--no-app]`

Fills a DuckDB store in a temporary home folder with N real `CandidateRecord`s of one run (archs
drawn from the `cifar-small` space, split 80/20 between an evolution and a random search), then
times, for A fresh alphas each:

- `store.rank(run, alpha=a, top=K)`: the explorer's re-rank (one SQL query, file attached per
  call as a real caller does), plus building the leaderboard frame from it;
- the reference: `storage.base.rank_records` (pure Python) over the same records already in memory;
- unless `--no-app`: a whole explorer rerun after moving the alpha slider (`AppTest`, the chart
  with its thinned cloud and the exact front, the leaderboard and the top-K rings).

Prints the median, p95 and max of each and the ratio reference / store. Target: re-rank <= 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.space import SearchSpace  # noqa: E402
from storage.base import rank_records  # noqa: E402
from storage.duckdb_store import DuckDBStore  # noqa: E402
from storage.records import CandidateRecord, RunRecord, SearchRecord  # noqa: E402

RUN = "bench"
TARGET_MS = 100.0


def make_records(n: int, seed: int = 0) -> list[CandidateRecord]:
    """N distinct candidates with a size/accuracy/energy trade-off and per-layer dicts."""
    space = SearchSpace.preset("cifar-small")
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[CandidateRecord] = []
    n_evolution = int(n * 0.8)
    while len(out) < n:
        arch = space.sample(rng)
        if arch.id in seen:
            continue
        seen.add(arch.id)
        size = (arch.embed_dim / 384) * (arch.depth / 4) * (arch.time_steps / 4)
        energy = float(size * 900 * rng.lognormal(0, 0.25)) + 1.0
        accuracy = float(np.clip(0.55 + 0.4 * size + rng.normal(0, 0.04), 0, 1))
        evolution = len(out) < n_evolution
        rates = {f"blocks.{b}.mlp.fc1_lif": 0.1 + 0.01 * b for b in range(arch.depth)}
        out.append(
            CandidateRecord(
                run=RUN,
                search=f"{RUN}.evolution.1" if evolution else f"{RUN}.random.1",
                id=arch.id,
                arch=arch.to_dict(),
                accuracy=accuracy,
                energy_uj=energy,
                params=int(arch.embed_dim**2 * arch.depth * 12),
                sops=energy * 1e6 / 0.9,
                firing_rate=0.15,
                firing_rates=rates,
                layer_energy_uj={k.replace("lif", "linear"): energy / 10 for k in rates},
                generation=len(out) // 5000,
                strategy="evolution" if evolution else "random",
                worker="bench",
                created_at=1_700_000_000.0 + len(out),
            )
        )
    return out


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def summary(name: str, ms: list[float]) -> tuple[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    median = statistics.median(ordered)
    line = f"{name:<44} median {median:9.1f} ms   p95 {p95:9.1f} ms   max {ordered[-1]:9.1f} ms"
    return line, median


def bench_app(alphas: list[float]) -> list[float]:
    """Wall time of explorer reruns after moving the alpha slider (server side, AppTest)."""
    from streamlit.testing.v1 import AppTest

    app = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.run()
    at.query_params.update({"run": RUN, "alpha": "0.5"})
    at.switch_page("web/pages/explorer.py").run()  # first run: loads and caches the frames
    if at.exception:
        raise SystemExit(f"explorer failed: {at.exception[0].message}")
    out = []
    for a in alphas:
        slider = at.slider(key="ex_alpha")
        out.append(timed(lambda a=a, s=slider: s.set_value(round(a, 2)).run()))
        if at.exception:
            raise SystemExit(f"explorer failed: {at.exception[0].message}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--alphas", type=int, default=15, help="fresh alphas timed per method")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--no-app", action="store_true", help="skip the AppTest explorer rerun")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AUTOSPIKFORMER_HOME"] = tmp
        store = DuckDBStore(Path(tmp) / "store.duckdb")
        t0 = time.perf_counter()
        records = make_records(args.candidates)
        store.create_run(RunRecord(name=RUN, dataset="cifar10", state="done", progress=1.0))
        for strategy in ("evolution", "random"):
            store.create_search(
                SearchRecord(id=f"{RUN}.{strategy}.1", run=RUN, strategy=strategy, state="done")
            )
        for i in range(0, len(records), 20_000):
            store.add_candidates(records[i : i + 20_000])
        print(
            f"store: {store.count_candidates(RUN):,} candidates in run {RUN!r} "
            f"(built in {time.perf_counter() - t0:.1f} s)"
        )
        rng = np.random.default_rng(1)
        alphas = [float(a) for a in rng.uniform(0, 1, args.alphas)]

        from app.web.components.ui import ranked_frame

        store.rank(RUN, alpha=0.5, top=args.top)  # warm the connection once
        sql = [timed(lambda a=a: store.rank(RUN, alpha=a, top=args.top)) for a in alphas]
        sql_frame = [
            timed(lambda a=a: ranked_frame(store.rank(RUN, alpha=a, top=args.top))) for a in alphas
        ]
        reference = [timed(lambda a=a: rank_records(records, a, args.top)) for a in alphas]

        # Same winners, same order.
        for a in alphas[:3]:
            ours = [r.id for r, _ in store.rank(RUN, alpha=a, top=args.top)]
            theirs = [r.id for r, _ in rank_records(records, a, args.top)]
            assert ours == theirs, f"rankings differ at alpha={a}"

        n, k = args.candidates, args.top
        print(f"re-ranking {n:,} candidates at {len(alphas)} new alphas, top {k}:")
        lines = [
            summary("store.rank (DuckDB, one SQL query)", sql),
            summary("store.rank + leaderboard frame (explorer)", sql_frame),
            summary("reference: rank_records (pure Python)", reference),
        ]
        for line, _ in lines:
            print("  " + line)
        ratio = lines[2][1] / lines[0][1]
        print(f"  ratio reference / store.rank: {ratio:.1f}x faster")
        if not args.no_app:
            app = bench_app(alphas[:5])
            line, _ = summary("explorer rerun after an alpha move (AppTest)", app)
            print("  " + line)
        verdict = "PASS" if lines[1][1] <= TARGET_MS else "FAIL"
        print(f"target: re-rank <= {TARGET_MS:.0f} ms on the server: {verdict}")
        store.close()


if __name__ == "__main__":
    main()
