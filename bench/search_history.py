"""How long a run's page takes to read the history of a search recorded before searches stored
their normalized hypervolume (HVn): `tasks.history.history`, which the run page and `status
--json` call, recomputes each such generation's HVn from the candidates evaluated up to it. A
store holds one run with N candidates (`tests.app.conftest.make_candidates`) over G generations,
none with a stored HVn. This checkout ("product") against another commit ("before", default
`ae9153c`, which loaded every candidate record and swept all the points seen so far at every
generation), each side in its own process on a copy of the same store file. Prints each side's
median seconds (after the first call, which pays the imports), the ratio, and whether both
returned the same values.

    OMP_NUM_THREADS=1 python bench/search_history.py [--candidates 1000 10000] [--generations 200]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from trees import ROOT, checkout, python_in

# Run in the product's tree, with AUTOSPIKFORMER_HOME set: the store of one old search.
FILL = """
import json, sys
from engine.space import SearchSpace
from storage.duckdb_store import DuckDBStore
from storage.paths import store_path
from storage.records import GenerationRecord, RunRecord, SearchRecord
from tests.app.conftest import make_candidates
n, generations = int(sys.argv[1]), int(sys.argv[2])
store = DuckDBStore(store_path())
store.create_run(RunRecord(name="old", dataset="digits", state="done", progress=1.0,
                           space=SearchSpace.preset("digits-tiny").to_dict()))
search = "old.evolution.1"
store.create_search(SearchRecord(id=search, run="old", strategy="evolution", state="done",
                                 generation=generations, settings={"generations": generations}))
records = make_candidates("old", search, n, generations=generations)
store.add_candidates(records)
for g in range(generations):
    store.add_generation(GenerationRecord(search=search, generation=g, hypervolume=1.0,
                                          best_id=records[g].id, best_fitness=0.5,
                                          evaluated=(g + 1) * n // generations))
print(json.dumps({"path": str(store_path())}))
"""

# Run in each side's tree, with AUTOSPIKFORMER_HOME set to a copy of the filled home.
TIME_ONE = """
import json, sys, time
from storage.duckdb_store import DuckDBStore
from storage.paths import store_path
from tasks import history
store = DuckDBStore(store_path())
times, values = [], None
for _ in range(int(sys.argv[1])):
    start = time.perf_counter()
    values = [g["hypervolume_normalized"] for g in history.history(store, "old")["generations"]]
    times.append(time.perf_counter() - start)
print(json.dumps({"s": times, "values": values}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--generations", type=int, default=200)
    p.add_argument("--repeats", type=int, default=4, help="calls per process (the first dropped)")
    p.add_argument("--before", default="ae9153c", help="the commit to compare with")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(args.before, Path(tmp) / "before")
        print(
            f"| candidates | generations | product (s) | before {args.before} (s) "
            "| product / before | same values |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        for n in args.candidates:
            filled = Path(tempfile.mkdtemp(dir=tmp))
            python_in(
                ROOT, FILL, str(n), str(args.generations), env={"AUTOSPIKFORMER_HOME": str(filled)}
            )
            got = {}
            for side, root in (("product", ROOT), ("before", before)):
                home = Path(tmp) / f"{side}-{n}"
                shutil.copytree(filled, home)
                got[side] = python_in(
                    root, TIME_ONE, str(args.repeats), env={"AUTOSPIKFORMER_HOME": str(home)}
                )
            a, b = (statistics.median(got[s]["s"][1:]) for s in ("product", "before"))
            same = got["product"]["values"] == got["before"]["values"]
            print(
                f"| {n:,} | {args.generations} | {a:.3f} | {b:.3f} | {a / b:.3f}x | {same} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
