"""Candidates/s of a search's evaluation: this code against a previous revision, in one run.

A candidate is one `SubnetEvaluator` evaluation as a search runs it: extract the subnet,
recalibrate its BN on 4 x 128 training images, measure accuracy and energy on the validation
split. The previous revision's `engine/` (`--baseline`, default the commit this work started
from) is loaded from git into the same process, on the same checkpoint and archs. Each repeat
evaluates every arch with both, alternating which goes first, so machine drift hits both; the
new evaluator starts each repeat with an empty stem cache (`engine.stems`), so its figure
includes building the stems, as a worker's first candidates do. Medians over repeats.

It then checks that both give the same results (accuracy, energy, op counts, to the bit), and
with `--noise` prints what "recalibration noise" is for comparison: the previous code at eval
seed 1 against seed 0 (mean |delta accuracy| and Kendall's tau of the two orderings).
`--profile` runs one more pass of each under cProfile and prints where the time goes;
`--one-pass` measures recalibrating BN in one pass of 512 images instead of 4 x 128.

    cd bench && OMP_NUM_THREADS=1 nice -n 5 python eval_speed.py --workdir /work/search-cache \\
        --dataset mnist-5k --space mnist-small --epochs 10 --sampling sandwich-dsps \\
        --archs 24 --repeats 3 --noise --profile
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from common import ROOT, cached_supernet
from scipy.stats import kendalltau

import engine
from engine import evaluate as current
from engine.stems import StemCache

BASELINE = "e5e50a8"  # the last commit before shared stems and the inference LIF


def previous_evaluate(rev: str) -> ModuleType:
    """`engine.evaluate` as it was at git revision `rev`, with that revision's whole `engine`
    package behind it, imported next to the current one (which stays `engine`)."""
    folder = tempfile.mkdtemp(prefix=f"engine-{rev}-")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "engine"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    ours = {k: v for k, v in sys.modules.items() if k == "engine" or k.startswith("engine.")}
    for k in ours:
        del sys.modules[k]
    sys.path.insert(0, folder)
    try:
        module = importlib.import_module("engine.evaluate")
    finally:
        sys.path.remove(folder)
        for k in [k for k in sys.modules if k == "engine" or k.startswith("engine.")]:
            del sys.modules[k]
        sys.modules.update(ours)
    assert module.__file__.startswith(folder)
    return module


def timed(evaluator, arch) -> tuple[float, object]:
    t = time.perf_counter()
    [result] = evaluator([arch])
    return time.perf_counter() - t, result


def fields(result) -> dict:
    """Everything a search stores of a result (accuracy, energy, params, rates, op counts)."""
    return result.to_dict()


def agreement(a: list, b: list) -> str:
    acc_a, acc_b = [r.accuracy for r in a], [r.accuracy for r in b]
    deltas = [abs(x - y) for x, y in zip(acc_a, acc_b, strict=True)]
    energy = max(abs(x.energy_uj - y.energy_uj) / y.energy_uj for x, y in zip(a, b, strict=True))
    tau = kendalltau(acc_a, acc_b).statistic
    return (
        f"mean |delta acc| {100 * statistics.mean(deltas):.3f} points, max "
        f"{100 * max(deltas):.3f}; Kendall tau of the accuracy orderings {tau:+.3f}; "
        f"max relative energy difference {energy:.2e}"
    )


PROFILE_ROWS = [  # (label, file suffix, function name): cumulative seconds
    ("extract (copy weights)", "engine/supernet.py", "extract"),
    ("stem build (SPS, new only)", "engine/stems.py", "build_stem"),
    ("BN recalibration (old: whole net)", "engine/evaluate.py", "recalibrate_bn"),
    ("BN recalibration (new: blocks)", "engine/evaluate.py", "_recalibrate_blocks"),
    ("validation pass (old)", "engine/evaluate.py", "evaluate_model"),
    ("validation pass (new: blocks)", "engine/evaluate.py", "_validate"),
    ("  LIF forward (spikingjelly)", "neuron/lif.py", "multi_step_forward"),
    ("  LIF forward (engine/lif.py)", "engine/lif.py", "multi_step_forward"),
    ("  energy hooks", "engine/energy.py", "hook"),
    ("  conv2d", "~", "<built-in method torch.conv2d>"),
    ("  max_pool2d", "~", "<built-in method torch.max_pool2d>"),
    ("  linear", "~", "<built-in method torch._C._nn.linear>"),
    ("  batch_norm", "~", "<built-in method torch.batch_norm>"),
]


def profile(evaluator, archs: list) -> dict[str, float]:
    """Cumulative seconds per candidate of `PROFILE_ROWS`, over one pass over `archs`."""
    prof = cProfile.Profile()
    prof.enable()
    evaluator(archs)
    prof.disable()
    stats = pstats.Stats(prof).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    total = sum(tt for _cc, _nc, tt, _ct, _callers in stats.values())
    out = {"total": total / len(archs)}
    for label, suffix, name in PROFILE_ROWS:
        out[label] = sum(
            ct for (file, _line, fn), (_cc, _nc, _tt, ct, _callers) in stats.items()
            if fn == name and (file.endswith(suffix) or suffix == "~" and file == "~")
        ) / len(archs)  # fmt: skip
    return out


def one_pass(net, dataset: str, archs: list) -> None:
    """The idea of recalibrating BN in one pass of 512 images instead of 4 x 128 (the same 512
    images: `fixed_batches` takes them from one seeded permutation), current code on both
    sides, interleaved: its speed and how far its results move."""
    four = current.SubnetEvaluator(net, dataset, seed=0)
    batches = four.recalib
    single = current.SubnetEvaluator(net, dataset, seed=0)
    single.recalib = [(torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches]))]
    single.stems = StemCache(single.recalib, single.val)
    seconds = {"four": 0.0, "single": 0.0}
    results: dict[str, list] = {"four": [], "single": []}
    for i, arch in enumerate(archs):
        order = [("four", four), ("single", single)]
        for name, ev in order if i % 2 == 0 else order[::-1]:
            t, result = timed(ev, arch)
            seconds[name] += t
            results[name].append(result)
    print(
        f"one BN recalibration pass of {len(single.recalib[0][1])} images instead of "
        f"{len(batches)} x {len(batches[0][1])} (current code, cold stems): "
        f"{len(archs) / seconds['single']:.3f} vs {len(archs) / seconds['four']:.3f} cand/s; "
        f"vs 4 x 128: {agreement(results['single'], results['four'])}"
    )


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", help="a supernet checkpoint (default: the cached one)")
    p.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "bench-eval-speed"))
    p.add_argument("--dataset", default="digits")
    p.add_argument("--space", default="digits-tiny")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--sampling", default="sandwich-dsps")
    p.add_argument("--archs", type=int, default=24)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0, help="arch sample")
    p.add_argument("--baseline", default=BASELINE, help="git revision of the previous code")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--noise", action="store_true", help="also: old code, eval seed 1 vs 0")
    p.add_argument("--profile", action="store_true", help="also: cProfile breakdown")
    p.add_argument("--profile-archs", type=int, help="profile the first N archs (default all)")
    p.add_argument(
        "--one-pass", action="store_true", help="also: BN recalibration as one 512-image pass"
    )
    return p.parse_args()


def main() -> None:
    args = parse()
    torch.set_num_threads(args.threads)
    ckpt = Path(args.checkpoint) if args.checkpoint else cached_supernet(
        args.workdir, dataset=args.dataset, space=args.space, epochs=args.epochs,
        sampling=args.sampling,
    )  # fmt: skip
    old = previous_evaluate(args.baseline)
    old_net, meta = old.load_supernet(ckpt)
    new_net, _ = current.load_supernet(ckpt)
    dataset = meta["config"]["dataset"]
    rng = np.random.default_rng(args.seed)
    archs = []
    while len(archs) < args.archs:  # distinct archs, as a search's result cache sees them
        arch = new_net.space.sample(rng)
        if arch.id not in {a.id for a in archs}:
            archs.append(arch)
    config = meta["config"]
    genes = {k: config["space"][k] for k in ("embed_dim", "time_steps") if k in config["space"]}
    print(
        f"# {dataset}, {config.get('sampling')} supernet of {config.get('epochs')} epochs, "
        f"stem genes {genes}: {ckpt}\n"
        f"# {args.archs} archs (seed {args.seed}), {args.repeats} repeats, torch "
        f"{torch.__version__}, {torch.get_num_threads()} thread(s), load average "
        f"{os.getloadavg()[0]:.2f} at start; previous code: {args.baseline} "
        f"({old.__file__}), current: {Path(engine.__file__).parent}"
    )
    old_eval = old.SubnetEvaluator(old_net, dataset, seed=0)
    rows, old_results, new_results = [], [], []
    for rep in range(args.repeats):
        new_eval = current.SubnetEvaluator(new_net, dataset, seed=0)  # cold stem cache
        t_old = t_new = 0.0
        olds, news = [], []
        for i, arch in enumerate(archs):
            order = [("old", old_eval), ("new", new_eval)]
            for name, ev in order if (i + rep) % 2 == 0 else order[::-1]:
                seconds, result = timed(ev, arch)
                if name == "old":
                    t_old += seconds
                    olds.append(result)
                else:
                    t_new += seconds
                    news.append(result)
        rows.append((len(archs) / t_old, len(archs) / t_new, t_old / t_new))
        old_results, new_results = olds, news
        stems = new_eval.stems
        print(
            f"repeat {rep}: old {t_old:.1f} s ({rows[-1][0]:.3f} cand/s), new {t_new:.1f} s "
            f"({rows[-1][1]:.3f} cand/s), ratio {rows[-1][2]:.2f}; stems built {stems.misses}, "
            f"reused {stems.hits}, kept {stems.nbytes / 1e6:.0f} MB; load {os.getloadavg()[0]:.2f}"
        )
    med = [statistics.median(col) for col in zip(*rows, strict=True)]
    ratios = [r[2] for r in rows]
    print(
        f"\ncandidates/s, median of {args.repeats}: previous {med[0]:.3f}, current {med[1]:.3f}; "
        f"ratio {med[2]:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})"
    )
    same = sum(fields(a) == fields(b) for a, b in zip(old_results, new_results, strict=True))
    print(f"identical results (every stored field): {same} / {len(archs)}")
    print(f"current vs previous: {agreement(new_results, old_results)}")
    if args.noise:
        seed1 = old.SubnetEvaluator(old_net, dataset, seed=1)(archs)
        print(f"recalibration noise, previous code seed 1 vs 0: {agreement(seed1, old_results)}")
    if args.one_pass:
        one_pass(new_net, dataset, archs)
    if args.profile:
        some = archs[: args.profile_archs or len(archs)]
        before = profile(old.SubnetEvaluator(old_net, dataset, seed=0), some)
        after = profile(current.SubnetEvaluator(new_net, dataset, seed=0), some)
        print(
            f"\n| seconds per candidate (cProfile, cumulative; {len(some)} archs, cold stems) "
            "| previous | current |"
        )
        print("|---|---|---|")
        for label in ["total", *[r[0] for r in PROFILE_ROWS]]:
            b, a = before[label], after[label]
            print(
                f"| {label} | {b:.3f} ({100 * b / before['total']:.0f}%) | "
                f"{a:.3f} ({100 * a / after['total']:.0f}%) |"
            )


if __name__ == "__main__":
    main()
