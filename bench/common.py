"""Helpers shared by the benchmarks: a trained supernet (digits by default), a cached evaluator."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.evaluate import SubnetEvaluator, load_supernet  # noqa: E402
from engine.results import EvalResult  # noqa: E402
from engine.space import Arch  # noqa: E402


def cli(home: Path, *args: str) -> dict:
    """Run `autospikformer ARGS --json` with its own home; return the JSON line."""
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", *args, "--json"],
        env=env,
        text=True,
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def supernet_checkpoint(
    checkpoint: str | None,
    epochs: int,
    seed: int = 0,
    *,
    dataset: str = "digits",
    space: str = "digits-tiny",
    sampling: str = "sandwich",
) -> Path:
    """The given checkpoint, or a supernet trained now with the dataset's recipe.

    Sandwich by default, not the default uniform rule: the search figures in BENCHMARKS.md were
    measured on a sandwich-trained digits-tiny supernet. For mnist-5k, trained supernets of
    `bench/ranking.py` can be passed as `checkpoint` (BENCHMARKS.md lists them).
    """
    if checkpoint:
        return Path(checkpoint)
    from engine.train_config import recipe

    home = Path(tempfile.mkdtemp(prefix="bench-"))
    res = cli(
        home, "train", "--run", "supernet", "--dataset", dataset, "--space", space,
        "--epochs", str(epochs), "--seed", str(seed), "--lr", str(recipe(dataset)["lr"]),
        "--batch-size", str(recipe(dataset)["batch_size"]), "--sampling", sampling,
        "--device", "cpu",
    )  # fmt: skip
    print(f"trained supernet: {res}")
    return Path(res["checkpoint"])


def cached_supernet(
    workdir: str | Path,
    *,
    dataset: str = "digits",
    space: str = "digits-tiny",
    epochs: int = 20,
    seed: int = 0,
    sampling: str = "sandwich",
) -> Path:
    """A supernet trained once under `workdir` and reused by later bench runs.

    The run lives in its own home, `workdir/<dataset>-<space>-<sampling>-e<epochs>-s<seed>`;
    `train` resumes from its checkpoint, so a finished run costs one process start. Digits uses
    the recipe of `supernet_checkpoint` (lr 5e-3, batch 32); other datasets use their recipe.
    """
    home = Path(workdir).resolve() / f"{dataset}-{space}-{sampling}-e{epochs}-s{seed}"
    home.mkdir(parents=True, exist_ok=True)
    extra = ["--lr", "5e-3", "--batch-size", "32"] if dataset == "digits" else []
    res = cli(
        home,
        "train",
        "--run",
        "supernet",
        "--dataset",
        dataset,
        "--space",
        space,
        "--epochs",
        str(epochs),
        "--seed",
        str(seed),
        "--sampling",
        sampling,
        "--device",
        "cpu",
        *extra,
    )
    print(f"supernet: {res}")
    return Path(res["checkpoint"])


class CachedEvaluator:
    """`evaluate(archs)` over inherited weights; results cached by arch id.

    Evaluation is a pure function of (checkpoint, arch, eval seed), so searches with different
    seeds may share results. `calls` counts real evaluations. With `cache_file`, results are
    also appended there as JSON lines and read back by the next bench run on the same
    checkpoint, so benches that repeat each other's searches evaluate each arch once.
    """

    def __init__(
        self, checkpoint: Path, eval_seed: int = 0, cache_file: Path | None = None
    ) -> None:
        net, meta = load_supernet(checkpoint)
        self.evaluator = SubnetEvaluator(net, meta["config"]["dataset"], seed=eval_seed)
        self.cache: dict[str, EvalResult] = {}
        self.calls = 0
        self.seconds = 0.0  # spent in real evaluations (`calls` of them)
        self.cache_file = cache_file
        self._read_upto = 0
        self._catch_up()

    def _catch_up(self) -> None:
        """Read the lines appended since the last read, by this process or a concurrent bench
        on the same checkpoint (each line is one `write` in append mode; a torn last line is
        left for the next read)."""
        if self.cache_file is None or not self.cache_file.exists():
            return
        with self.cache_file.open("rb") as f:
            f.seek(self._read_upto)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._read_upto += len(complete)
        for line in complete.decode().splitlines():
            result = EvalResult.from_dict(json.loads(line))
            self.cache.setdefault(result.id, result)

    def __call__(self, archs: list[Arch]) -> list[EvalResult]:
        for arch in archs:
            if arch.id not in self.cache:
                self._catch_up()  # one arch at a time: a concurrent bench may just have done it
            if arch.id in self.cache:
                continue
            t = time.perf_counter()
            [result] = self.evaluator([arch])
            self.seconds += time.perf_counter() - t
            self.cache[arch.id] = result
            self.calls += 1
            if self.cache_file is not None:
                with self.cache_file.open("a") as f:
                    f.write(json.dumps(result.to_dict()) + "\n")
        return [self.cache[a.id] for a in archs]


def bench_evaluator(
    workdir: str | Path, dataset: str, space: str, epochs: int, sampling: str = "sandwich"
) -> tuple[CachedEvaluator, Path]:
    """The cached supernet of (dataset, space, epochs, sampling) under `workdir`, and an
    evaluator whose results persist in the same folder (`evaluations-eval0.jsonl`)."""
    ckpt = cached_supernet(workdir, dataset=dataset, space=space, epochs=epochs, sampling=sampling)
    cache = ckpt.parents[3] / "evaluations-eval0.jsonl"  # <home>/runs/supernet/checkpoints/x
    return CachedEvaluator(ckpt, cache_file=cache), ckpt


def add_seed_list(p: argparse.ArgumentParser) -> None:
    """`--seed-list`: run only some seeds, e.g. to split them over two processes."""
    p.add_argument(
        "--seed-list",
        type=int,
        nargs="+",
        default=None,
        help="run only these seeds (default: 0 .. --seeds - 1), e.g. to split the seeds over two "
        "processes that share --workdir's evaluation cache",
    )


def chosen_seeds(args: argparse.Namespace) -> list[int]:
    return list(range(args.seeds)) if args.seed_list is None else list(args.seed_list)
