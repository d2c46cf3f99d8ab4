"""The task layer measured with real processes: the recorder, and one vs two workers on `gpu`.

    .venv/bin/python bench/workers.py [--space digits-tiny] [--generations 3] [--population 12]

1. Recorder: first a cost model (in this process: decoding an op list, one op list per
   transaction, 20 op lists per transaction); then one `worker --queues cpu` drains N op lists of
   candidates (each sent twice) from its op log while a reader polls the store every 100 ms:
   records/s, the reader's latency and errors, and whether every record is stored exactly once.
   `--recorder-only` stops there.
2. Search: the same search (same supernet checkpoint, same seed) run with one and with two workers
   on the gpu queue (plus the recorder), one after the other; wall time from launch to done as the
   store records it, the ratio, and a check that both found the same candidates.

Each worker uses one torch thread (one "accelerator" each). Every part runs on a private
redis-server and its own home folder under a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Plays the gpu hosts: builds every op list first (their CPU is not the recorder's), then pushes
# them onto the op log as fast as Redis takes them, each twice (the copy must change nothing).
SENDER = """
import json, sys, time
import redis
from storage.ops import AddCandidates, UpdateRun, encode
from storage.records import CandidateRecord
from tasks.plumbing.recorder import RECORDS

batches, size, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
client = redis.Redis.from_url(url)
wire = []
for b in range(batches):
    records = tuple(
        CandidateRecord("b", "b.s", f"b{b:04d}c{k:03d}", {"b": b, "k": k},
                        accuracy=(k + 1) / (size + 1), energy_uj=float(b * size + k + 1),
                        firing_rates={f"block{i}": 0.1 for i in range(8)}, generation=b)
        for k in range(size)
    )
    wire.append(json.dumps(encode([AddCandidates(records),
                                   UpdateRun("b", "searching", progress=(b + 1) / batches)])))
print(time.time(), flush=True)  # the first push
for ops in wire:
    client.rpush(RECORDS, ops, ops)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bench:
    """A private redis-server and a home folder, plus the workers started on them."""

    def __init__(self, root: Path, name: str) -> None:
        self.home = root / name
        self.home.mkdir(parents=True)
        self.port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.workers: list[subprocess.Popen] = []
        time.sleep(0.5)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AUTOSPIKFORMER_HOME": str(self.home),
            "REDIS_URL": f"redis://127.0.0.1:{self.port}/0",
            "AUTOSPIKFORMER_TORCH_THREADS": "1",
            "AUTOSPIKFORMER_SLICE_SIZE": "1",
        }

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"autospikformer {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def worker(self, queues: str, log: str) -> None:
        logs = self.home / "logs"
        logs.mkdir(exist_ok=True)
        with open(logs / f"{log}.log", "ab") as out:
            self.workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "worker", "--queues", queues],
                    cwd=REPO,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def wait_ready(self, timeout: float = 120) -> None:
        logs = self.home / "logs"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = sum(" ready." in p.read_text() for p in logs.glob("*.log"))
            if ready >= len(self.workers):
                return
            time.sleep(0.2)
        raise SystemExit("workers did not start")

    def store(self):
        from storage.duckdb_store import DuckDBStore

        return DuckDBStore(self.home / "store.duckdb")

    def close(self) -> None:
        for w in self.workers:
            try:
                os.killpg(w.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for w in self.workers:
            try:
                w.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
        self.redis.terminate()
        self.redis.wait()


def bench_recorder(root: Path, batches: int, size: int) -> dict:
    """One recorder drains `batches` op lists of `size` candidates, each sent twice, while a
    reader polls the store every 100 ms; checks that every record is stored exactly once."""
    from storage.records import RunRecord, SearchRecord

    bench = Bench(root, "recorder")
    try:
        store = bench.store()
        store.create_run(RunRecord(name="b", dataset="digits", state="searching"))
        store.create_search(SearchRecord(id="b.s", run="b", strategy="evolution"))
        bench.worker("cpu", "recorder")
        bench.wait_ready()
        total = batches * size
        url = bench.env["REDIS_URL"]
        sender = subprocess.Popen(
            [sys.executable, "-c", SENDER, str(batches), str(size), url],
            cwd=REPO,
            env=bench.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        pushed = float(sender.stdout.readline())  # the sender built its op lists; pushes now
        started = time.monotonic() - (time.time() - pushed)
        reader = bench.store()
        latencies, errors, count, first = [], 0, 0, None
        deadline = started + 600
        while count < total and time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                count = reader.count_candidates("b")
                reader.get_run("b")
            except Exception:  # noqa: BLE001 - counted: the app would have shown it
                errors += 1
            latencies.append(time.monotonic() - t0)
            if count and first is None:
                first = time.monotonic()
            time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
        done = time.monotonic()
        sender.wait()
        ids = [c.id for c in store.candidates("b")]
        expected = {f"b{b:04d}c{k:03d}" for b in range(batches) for k in range(size)}
        return {
            "op_lists": 2 * batches,
            "records": total,
            "stored": len(ids),
            "lost": len(expected - set(ids)),
            "duplicated": len(ids) - len(set(ids)),
            "seconds": done - started,
            "records_per_s": total / (done - first) if first and done > first else float("nan"),
            "records_per_s_from_send": total / (done - started),  # first push to all stored
            "reader_polls": len(latencies),
            "reader_errors": errors,
            "reader_ms_median": 1000 * statistics.median(latencies),
            "reader_ms_p95": 1000 * _p95(latencies),
            "reader_ms_max": 1000 * max(latencies),
        }
    finally:
        bench.close()


def cost_model(root: Path, size: int, repeats: int = 20) -> dict:
    """Per-op costs of the recorder's parts, in this process: decoding and checking an op list,
    one op list per transaction (attach, apply, commit, detach), and groups of op lists per
    transaction; from them the ceiling of one recorder in records/s."""
    import json as _json

    from storage.duckdb_store import DuckDBStore
    from storage.ops import AddCandidates, UpdateRun, decode, encode
    from storage.records import CandidateRecord, RunRecord, SearchRecord

    store = DuckDBStore(root / "cost" / "store.duckdb")
    store.create_run(RunRecord(name="c", dataset="digits", state="searching"))
    store.create_search(SearchRecord(id="c.s", run="c", strategy="evolution"))
    counter = iter(range(10**9))

    def op_list() -> str:
        b = next(counter)
        rates = {f"block{i}": 0.1 for i in range(8)}
        records = tuple(
            CandidateRecord("c", "c.s", f"c{b:05d}x{k:03d}", {"b": b, "k": k}, accuracy=0.5,
                            energy_uj=float(k + 1), firing_rates=rates)
            for k in range(size)
        )  # fmt: skip
        return _json.dumps(encode([AddCandidates(records), UpdateRun("c", progress=0.5)]))

    def timed(fn) -> float:
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    wire = [op_list() for _ in range(repeats)]
    decode_s = statistics.median([_time(lambda w=w: decode(_json.loads(w))) for w in wire])
    singles = iter([decode(_json.loads(op_list())) for _ in range(repeats)])
    one = timed(lambda: store.apply(next(singles)))
    group_of = 20
    groups = [[decode(_json.loads(op_list())) for _ in range(group_of)] for _ in range(repeats)]
    it = iter(groups)
    group = timed(lambda: store.apply([op for ops in next(it) for op in ops]))
    empty = timed(lambda: store.apply([UpdateRun("c", progress=0.5)]))
    per_record = (group - empty) / (group_of * size)
    ceiling = 1.0 / (decode_s / size + per_record + empty / 1000)
    return {
        "decode_ms_per_op_list": 1000 * decode_s,
        "transaction_ms_empty": 1000 * empty,
        "one_op_list_per_transaction_ms": 1000 * one,
        f"{group_of}_op_lists_per_transaction_ms": 1000 * group,
        "insert_us_per_record": 1e6 * per_record,
        "decode_us_per_record": 1e6 * decode_s / size,
        "ceiling_records_per_s_one_list_per_transaction": size / (decode_s + one),
        "ceiling_records_per_s_1000_records_per_transaction": ceiling,
    }


def _p95(values: list[float]) -> float:
    """The 95th percentile by nearest rank (never above the largest value)."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)]


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_search(root: Path, base: Path, args: argparse.Namespace, gpu_workers: int) -> dict:
    bench = Bench(root, f"search-{gpu_workers}")
    try:
        # The supernet is trained once; each run starts from a copy, so only the search runs.
        dest = bench.home / "runs" / "bench" / "checkpoints"
        dest.mkdir(parents=True)
        for path in (base / "runs" / "base" / "checkpoints").glob("epoch-*.safetensors"):
            shutil.copy2(path, dest / path.name)
        bench.worker("cpu", "recorder")
        for i in range(gpu_workers):
            bench.worker("gpu", f"gpu-{i}")
        bench.wait_ready()
        bench.cli("launch", "--run", "bench", *train_args(args), *search_args(args))
        store = bench.store()
        while (run := store.get_run("bench")).state not in ("done", "failed", "cancelled"):
            time.sleep(0.5)
        if run.state != "done":
            raise SystemExit(f"run with {gpu_workers} worker(s) ended {run.state}: {run.message}")
        candidates = {(c.id, c.accuracy, c.energy_uj) for c in store.candidates("bench")}
        return {
            "gpu_workers": gpu_workers,
            "wall_s": run.updated_at - run.created_at,
            "candidates": len(candidates),
            "set": candidates,
        }
    finally:
        bench.close()


def train_args(args: argparse.Namespace) -> list[str]:
    return ["--dataset", "digits", "--space", args.space, "--epochs", str(args.epochs),
            "--seed", "0", "--device", "cpu"]  # fmt: skip


def search_args(args: argparse.Namespace) -> list[str]:
    return ["--generations", str(args.generations), "--population", str(args.population),
            "--parents", str(max(2, args.population // 2))]  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="digits-tiny")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--generations", type=int, default=3)
    p.add_argument("--population", type=int, default=12)
    p.add_argument("--batches", type=int, default=100, help="recorder: op lists (each sent twice)")
    p.add_argument("--batch-size", type=int, default=50, help="recorder: candidates per op list")
    p.add_argument("--no-recorder", action="store_true", help="skip the recorder part")
    p.add_argument("--recorder-only", action="store_true", help="only the recorder part")
    p.add_argument("--keep", default=None, help="work in this (new) folder and keep it")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        root = Path(args.keep or tmp)
        rec = costs = None
        if not args.no_recorder:
            costs = cost_model(root, args.batch_size)
            print("cost model (this process, one DuckDB file):", flush=True)
            for k, v in costs.items():
                print(f"  {k:52s} {v:10.2f}", flush=True)
            rec = bench_recorder(root, args.batches, args.batch_size)
            print(
                f"recorder: {rec['records']} records in {rec['op_lists']} op lists of "
                f"{args.batch_size} (each sent twice): {rec['records_per_s']:.0f} records/s "
                f"({rec['records_per_s_from_send']:.0f} from the first send); stored "
                f"{rec['stored']}, lost {rec['lost']}, duplicated {rec['duplicated']}; reader "
                f"every 100 ms: {rec['reader_polls']} polls, {rec['reader_errors']} errors, "
                f"median {rec['reader_ms_median']:.0f} ms, p95 {rec['reader_ms_p95']:.0f} ms, "
                f"max {rec['reader_ms_max']:.0f} ms; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        if args.recorder_only:
            print(json.dumps({"recorder": rec, "costs": costs}))
            return
        base = Bench(root, "base")
        try:
            base.cli("train", "--run", "base", *train_args(args))
        finally:
            base.close()
        results = [bench_search(root, base.home, args, n) for n in (1, 2)]
    one, two = results
    print(
        f"search ({args.space}, {args.generations} generations x {args.population}, slices of 1 "
        "arch, 1 torch thread per worker):"
    )
    print(f"{'gpu workers':>12} {'wall s':>8} {'candidates':>11}")
    for r in results:
        print(f"{r['gpu_workers']:>12} {r['wall_s']:>8.1f} {r['candidates']:>11}")
    print(f"speed-up 2 vs 1 workers: {one['wall_s'] / two['wall_s']:.2f}x")
    print(f"same candidates with 1 and 2 workers: {one['set'] == two['set']}")
    print(json.dumps({"recorder": rec, "costs": costs,
                      "search": [{**r, "set": None} for r in results]}))  # fmt: skip


if __name__ == "__main__":
    main()
