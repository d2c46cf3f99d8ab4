"""Ranking fidelity of the one-shot supernet, and what BN recalibration does to it.

For N archs sampled from `digits-tiny`, compare the validation accuracy each one gets with
weights inherited from the supernet against the accuracy of the same arch trained standalone
from scratch (`autospikformer train --arch`) for the same number of epochs. Kendall's tau
between the two rankings is the figure that makes one-shot NAS trustworthy (target >= 0.5).

Both arch-sampling rules are trained and scored side by side (sandwich vs uniform), and the
inherited accuracies are measured with and without BN recalibration.

    cd bench && python ranking.py --epochs 20 --archs 8 [--seed 1] [--rules uniform]
        [--recalib 4 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from common import cli
from scipy.stats import kendalltau

from engine.evaluate import SubnetEvaluator, load_supernet
from engine.space import SearchSpace


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--archs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--space", default="digits-tiny")
    p.add_argument("--jobs", type=int, default=2, help="standalone trainings run in parallel")
    p.add_argument(
        "--rules", nargs="+", choices=("sandwich", "uniform"), default=["sandwich", "uniform"]
    )
    p.add_argument(
        "--recalib", nargs="+", type=int, default=[4], help="BN recalibration batch counts"
    )
    args = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ranking-"))
    common = [
        "--dataset",
        "digits",
        "--epochs",
        str(args.epochs),
        "--seed",
        str(args.seed),
        "--lr",
        str(args.lr),
        "--batch-size",
        str(args.batch_size),
        "--device",
        "cpu",
    ]
    space = SearchSpace.preset(args.space)
    rng = np.random.default_rng(args.seed + 1000)
    archs = []
    while len(archs) < args.archs:
        a = space.sample(rng)
        if a.id not in {b.id for b in archs}:
            archs.append(a)

    print(
        f"# ranking fidelity on digits / {args.space}: {args.archs} archs, {args.epochs} "
        f"epochs, lr {args.lr}, batch {args.batch_size}, seed {args.seed}"
    )
    counts = [  # (label, BN recalibration batches); the first is the one the gain line uses
        (f"recalibrated x{n}" if len(args.recalib) > 1 else "recalibrated", n) for n in args.recalib
    ]
    timings: dict[str, float] = {}
    inherited: dict[str, dict[str, list[float]]] = {}
    for sampling in args.rules:
        t = time.time()
        res = cli(
            home,
            "train",
            "--run",
            f"supernet-{sampling}",
            "--space",
            args.space,
            "--sampling",
            sampling,
            *common,
        )
        timings[f"supernet {sampling}"] = time.time() - t
        print(
            f"supernet {sampling}: {timings[f'supernet {sampling}']:.0f} s, val acc largest "
            f"{res['val_accuracy_largest']:.4f} smallest {res['val_accuracy_smallest']:.4f}"
        )
        net, _ = load_supernet(Path(res["checkpoint"]))
        inherited[sampling] = {}
        for label, n_recal in (*counts, ("shared BN", 0)):
            ev = SubnetEvaluator(net, "digits", seed=0, recalib_batches=n_recal)
            inherited[sampling][label] = [r.accuracy for r in ev(archs)]

    t = time.time()

    def train_standalone(i: int) -> float:
        arch_file = home / f"arch-{i}.json"
        arch_file.write_text(json.dumps(archs[i].to_dict()))
        res = cli(home, "train", "--run", f"standalone-{i}", "--arch", str(arch_file), *common)
        return res["val_accuracy_largest"]

    with ThreadPoolExecutor(args.jobs) as pool:  # each is its own process
        standalone = list(pool.map(train_standalone, range(len(archs))))
    timings["standalone (all)"] = time.time() - t

    print(
        "\n| arch | params | T | standalone | "
        + " | ".join(f"{s} {lab}" for s in inherited for lab in inherited[s])
        + " |"
    )
    print("|---" * (4 + sum(len(v) for v in inherited.values())) + "|")
    from engine.spikformer import ModelShape, count_params

    shape = ModelShape(1, 10, 16)
    for i, arch in enumerate(archs):
        cells = [f"{inherited[s][lab][i]:.4f}" for s in inherited for lab in inherited[s]]
        print(
            f"| {arch.id[:8]} d{arch.depth}-{arch.embed_dim} | {count_params(arch, shape)} | "
            f"{arch.time_steps} | {standalone[i]:.4f} | " + " | ".join(cells) + " |"
        )
    print("\nKendall's tau (inherited vs standalone):")
    for s in inherited:
        for lab, accs in inherited[s].items():
            tau = kendalltau(accs, standalone).statistic
            print(f"  {s:9s} {lab:13s} tau = {tau:+.3f}   mean inherited acc {np.mean(accs):.4f}")
    for s in inherited:
        gain = np.mean(inherited[s][counts[0][0]]) - np.mean(inherited[s]["shared BN"])
        print(f"BN recalibration changes mean inherited accuracy by {gain * 100:+.2f} points ({s})")
    print("\ntimings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))


if __name__ == "__main__":
    main()
