"""Paired-seed comparisons of search strategies, shared by bench/search_vs_random.py and
bench/front.py.

A comparison is a list of named `Strategy` rows; each is run once per seed, on the same supernet
and evaluation cache, with the same seed, so every row's generation 0 draws the same archs (the
anchors, then the same uniform draws). A row with `baselines` is compared with each of those
rows seed by seed: the median paired difference of the normalized hypervolume (the headline; the
raw one is kept as a column) with a bootstrap 95% interval, and the evaluations it needs to
reach the baseline's final normalized hypervolume (the sample-efficiency speed-up, baseline
evaluations / evaluations needed, with its interval). A new row, e.g. "evolution +
predictor", is one more `Strategy` in the list.

The speed-up is printed twice: to the baseline's final normalized hypervolume, and to what it
would be with the baseline's most accurate candidates one validation image less accurate
(`one_image_less`). Where every strategy finds a best accuracy within a few images (a saturated
front, e.g. `mnist-snn`), the first is decided by those few images, below what the validation
split resolves; the second shows whether a strategy gets there up to that one image.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from engine.pareto import FrontBox, hypervolume, kendall_tau, normalized_hypervolume
from engine.profiles import get_profile
from engine.results import EvalResult
from engine.search import Evaluate, Search, SearchConfig, make_search
from engine.search.reference import dataset_front_box
from engine.space import Arch, SearchSpace
from engine.stats import bootstrap_ci, evaluations_to_reach, finite, speedup

Build = Callable[[str, SearchSpace, SearchConfig, Evaluate], Search]


@dataclass(frozen=True)
class Strategy:
    """One row: `kind` is `make_search`'s strategy, `config(seed)` its settings, `build` how the
    search is made (e.g. with a predictor), `baselines` the rows it is compared with."""

    name: str
    kind: str
    config: Callable[[int], SearchConfig]
    baselines: tuple[str, ...] = ()
    build: Build = make_search


def pairs(rows: list[Strategy]) -> list[tuple[str, str]]:
    """(row, baseline) names of every comparison, in row order."""
    return [(row.name, base) for row in rows for base in row.baselines]


@dataclass
class Outcome:
    """One row's search at one seed: its final fronts' figures and its per-generation history
    of (candidates evaluated so far, normalized hypervolume)."""

    strategy: str
    seed: int
    hv_normalized: float
    hv_raw: float
    evaluated: int
    best_accuracy: float
    min_energy_uj: float
    tau: float
    history: list[tuple[int, float | None]] = field(default_factory=list)
    # Per generation: the predictor's Kendall tau on what it then evaluated (None: not screened).
    predictor_taus: list[float | None] = field(default_factory=list)
    # Seconds of the search outside evaluations (breeding, and the predictor's fit and screen).
    overhead_s: float = 0.0
    # The normalized hypervolume with the most accurate candidates one image less accurate
    # (`one_image_less`); None in files written before it.
    hv_one_image_less: float | None = None
    feasible: list[EvalResult] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class Setting:
    """What every row of one bench shares: the space, the box (and the raw reference, its
    energy bound) under the profile the evaluations are priced in, and the evaluator."""

    space: SearchSpace
    box: FrontBox
    evaluate: Evaluate
    profile: str

    @property
    def reference_energy_uj(self) -> float:
        return self.box.energy_high_uj


def setting(dataset: str, space: SearchSpace, evaluate: Evaluate, profile: str) -> Setting:
    """The box of `space` on `dataset` under `profile`, and `evaluate` priced under it."""
    prices = get_profile(profile)

    def priced(archs: list[Arch]) -> list[EvalResult]:
        return [r.priced(prices) for r in evaluate(archs)]

    return Setting(space, dataset_front_box(dataset, space, profile), priced, profile)


def one_image_less(accuracies: list[float], energies: list[float], box: FrontBox) -> float:
    """The normalized hypervolume of the candidates with the most accurate ones one validation
    image less accurate. The image is the smallest gap between distinct accuracies (1 / the
    validation split's size when, as here, every accuracy is a count over one split); with
    fewer than two distinct accuracies nothing is lowered."""
    acc = np.asarray(accuracies, dtype=float)
    rounded = np.round(acc, 9)  # equal counts compare equal despite float noise
    distinct = np.unique(rounded)
    if distinct.size < 2:
        return normalized_hypervolume(acc, energies, box)
    step = float(np.diff(distinct).min())
    lowered = np.where(rounded == distinct[-1], acc - step, acc)
    return normalized_hypervolume(lowered, energies, box)


def run(row: Strategy, seed: int, s: Setting) -> Outcome:
    """Run `row`'s search at `seed` to the end and summarize it."""
    spent = [0.0]

    def timed(archs: list[Arch]) -> list[EvalResult]:
        t = time.perf_counter()
        try:
            return s.evaluate(archs)
        finally:
            spent[0] += time.perf_counter() - t

    search = row.build(row.kind, s.space, row.config(seed), timed)
    t0 = time.perf_counter()
    summaries = search.run()
    overhead = time.perf_counter() - t0 - spent[0]
    raw = [x.hypervolume for x in summaries]
    assert raw == sorted(raw), f"{row.name}: the recorded hypervolume decreased"
    feasible = [r for r in search.evaluated if r.id not in search.infeasible_ids]
    acc, energy = [r.accuracy for r in feasible], [r.energy_uj for r in feasible]
    return Outcome(
        strategy=row.name,
        seed=seed,
        hv_normalized=normalized_hypervolume(acc, energy, s.box),
        hv_raw=hypervolume(acc, energy, s.reference_energy_uj, 0.0),
        evaluated=len(search.evaluated),
        best_accuracy=max(acc, default=float("nan")),
        min_energy_uj=min(energy, default=float("nan")),
        tau=kendall_tau(acc, energy),
        history=[(x.total_evaluated, x.hypervolume_normalized) for x in summaries],
        predictor_taus=[x.predictor_tau for x in summaries],
        overhead_s=overhead,
        hv_one_image_less=one_image_less(acc, energy, s.box) if acc else None,
        feasible=feasible,
    )


def run_all(rows: list[Strategy], seeds: list[int], s: Setting) -> dict[str, list[Outcome]]:
    """Every row at every seed, printing one table line per (seed, row) as it finishes."""
    print("| seed | strategy | HV normalized | HV raw | evaluated | best acc | min uJ | tau |")
    print("|---|---|---|---|---|---|---|---|")
    out: dict[str, list[Outcome]] = {row.name: [] for row in rows}
    for seed in seeds:
        for row in rows:
            o = run(row, seed, s)
            out[row.name].append(o)
            print(
                f"| {seed} | {row.name} | {o.hv_normalized:.4f} | {o.hv_raw:.4g} | "
                f"{o.evaluated} | {o.best_accuracy:.4f} | {o.min_energy_uj:.4g} | {o.tau:+.3f} |"
            )
    return out


def _differences(mine: list[Outcome], base: list[Outcome], key: str) -> list[float]:
    assert [o.seed for o in mine] == [o.seed for o in base], "rows must share their seeds"
    return [getattr(a, key) - getattr(b, key) for a, b in zip(mine, base, strict=True)]


Pairs = list[tuple[str, str]]
Results = dict[str, list[Outcome]]


def print_paired(comparisons: Pairs, results: Results, n_boot: int) -> dict:
    """The headline table: each (row, baseline) of `comparisons`, seed by seed. Returns the
    figures."""
    print(
        "\n| comparison | seeds | ahead / level | median diff HV normalized [95% CI] "
        "| median diff HV raw [95% CI] |"
    )
    print("|---|---|---|---|---|")
    figures = {}
    for name, baseline in comparisons:
        mine, base = results[name], results[baseline]
        norm = _differences(mine, base, "hv_normalized")
        raw = _differences(mine, base, "hv_raw")
        ci, ci_raw = bootstrap_ci(norm, n=n_boot), bootstrap_ci(raw, n=n_boot)
        ahead, level = sum(d > 0 for d in norm), sum(d == 0 for d in norm)
        label = f"{name} - {baseline}"
        print(f"| {label} | {len(norm)} | {ahead} / {level} | {ci} | {ci_raw} |")
        figures[label] = {"normalized": asdict(ci), "raw": asdict(ci_raw), "ahead": ahead}
    return figures


def gain_ratio(mine: Outcome, base: Outcome) -> float | None:
    """How much HVn `mine` gained after generation 0 as a multiple of what `base` gained: paired
    rows share generation 0 (the anchors and the same draws), which alone holds most of the HVn,
    so this divides out the part no strategy earned. None when the baseline gained nothing."""
    start = base.history[0][1] if base.history else None
    if start is None or not mine.history or mine.history[0][1] != start:
        return None  # no shared generation 0 to measure from
    base_gain = base.hv_normalized - start
    return None if base_gain <= 0 else (mine.hv_normalized - start) / base_gain


def print_gain_ratio(comparisons: Pairs, results: Results, n_boot: int) -> dict:
    """The proposed reading of the paired HVn: each row's gain over the shared generation 0 as a
    multiple of its baseline's (1 = as much as the baseline), median over seeds with its
    bootstrap interval."""
    print("\n| comparison | gain over generation 0 / baseline's, per seed | median [95% CI] |")
    print("|---|---|---|")
    figures = {}
    for name, baseline in comparisons:
        ratios = [gain_ratio(a, b) for a, b in zip(results[name], results[baseline], strict=True)]
        known = [r for r in ratios if r is not None]
        shown = ", ".join("-" if r is None else f"{r:.2f}" for r in ratios)
        label = f"{name} / {baseline}"
        if not known:
            print(f"| {label} | {shown} | - |")
            continue
        ci = bootstrap_ci(known, n=n_boot)
        print(f"| {label} | {shown} | {ci.estimate:.2f} [{ci.low:.2f}, {ci.high:.2f}] |")
        figures[label] = {"per_seed": ratios, "ratio": asdict(ci)}
    return figures


def print_speedup(
    comparisons: Pairs, results: Results, n_boot: int, target: str = "hv_normalized"
) -> dict:
    """Sample efficiency: the evaluations each row needs to reach its baseline's final
    normalized hypervolume (same seed; with `target="hv_one_image_less"`, that hypervolume
    with the baseline's most accurate candidates one validation image less accurate), and the
    speed-up = baseline evaluations / those."""
    what = "" if target == "hv_normalized" else ", within one validation image"
    print(
        f"\n| comparison{what} | baseline evaluations | evaluations needed per seed | not reached "
        "| speed-up median [95% CI] |"
    )
    print("|---|---|---|---|---|")
    figures = {}
    for name, baseline in comparisons:
        needed, ratios, budgets = [], [], []
        for mine, base in zip(results[name], results[baseline], strict=True):
            n = evaluations_to_reach(mine.history, getattr(base, target))
            needed.append(n)
            budgets.append(base.evaluated)
            ratios.append(speedup(base.evaluated, n))
        ci = bootstrap_ci(ratios, n=n_boot)
        missing = sum(n is None for n in needed)
        shown = ", ".join("-" if n is None else str(n) for n in needed)
        label = f"{name} vs {baseline}"
        print(
            f"| {label} | {statistics.median(budgets):g} | {shown} | {missing} "
            f"| {ci.estimate:.2f}x [{ci.low:.2f}, {ci.high:.2f}] |"
        )
        figures[label] = {"needed": needed, "speedup": asdict(ci), "not_reached": missing}
    return figures


def print_speedups(comparisons: Pairs, results: Results, n_boot: int) -> dict:
    """`print_speedup` to the baseline's normalized hypervolume ("speedup"), then within one
    validation image ("speedup_one_image"; where every outcome has that figure: files written
    before it have not)."""
    figures = {"speedup": print_speedup(comparisons, results, n_boot)}
    if all(o.hv_one_image_less is not None for rows in results.values() for o in rows):
        figures["speedup_one_image"] = print_speedup(
            comparisons, results, n_boot, "hv_one_image_less"
        )
    return figures


def print_generations(results: dict[str, list[Outcome]]) -> None:
    """Median normalized hypervolume after each generation, per row, over the seeds."""
    names = list(results)
    print("\n| generation | " + " | ".join(f"{n} (median HVn)" for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    depth = min(len(o.history) for outcomes in results.values() for o in outcomes)
    for g in range(depth):
        cells = []
        for name in names:
            values = finite([o.history[g][1] for o in results[name]])
            cells.append(f"{statistics.median(values):.4f}" if values else "-")
        print(f"| {g + 1} | " + " | ".join(cells) + " |")


def print_taus(results: dict[str, list[Outcome]]) -> None:
    """Mean Kendall tau between accuracy and energy over each row's candidates (the paper
    reports 0.63 for its evolution and 0.08 for random, STs)."""
    parts = []
    for name, outcomes in results.items():
        taus = finite([o.tau for o in outcomes])
        parts.append(f"{name} {statistics.fmean(taus):+.3f}" if taus else f"{name} -")
    print("mean Kendall tau (accuracy, energy): " + ", ".join(parts))


def print_predictor(results: Results) -> dict:
    """For rows with a predictor: its Kendall tau (predicted vs measured accuracy of what it
    then evaluated) per generation, median [min, max] over seeds, and the median over
    generations 3 on (0-based; issue 24's target: at least 0.6); and each row's overhead
    (seconds of a search outside evaluations: breeding, fitting, screening)."""
    screened = {
        n: o for n, o in results.items() if any(t is not None for x in o for t in x.predictor_taus)
    }
    overhead = {n: statistics.median(x.overhead_s for x in o) for n, o in results.items()}
    print(
        "\nmedian seconds per search outside evaluations: "
        + ", ".join(f"{n} {v:.2f} s" for n, v in overhead.items())
    )
    figures: dict = {"overhead_s": overhead}
    if not screened:
        return figures
    names = list(screened)
    print(
        "\n| generation | "
        + " | ".join(f"{n}: predictor tau median [min, max]" for n in names)
        + " |"
    )
    print("|---" * (len(names) + 1) + "|")
    depth = min(len(x.predictor_taus) for o in screened.values() for x in o)
    for g in range(depth):
        cells = []
        for name in names:
            values = finite([x.predictor_taus[g] for x in screened[name]])
            cells.append(
                f"{statistics.median(values):+.3f} [{min(values):+.3f}, {max(values):+.3f}]"
                if values
                else "-"
            )
        print(f"| {g} | " + " | ".join(cells) + " |")
    for name in names:
        late = finite([t for x in screened[name] for t in x.predictor_taus[3:]])
        if late:
            median = statistics.median(late)
            verdict = "met" if median >= 0.6 else "missed"
            print(
                f"{name}: predictor tau from generation 3 on, median {median:+.3f} over "
                f"{len(late)} generations (target >= 0.6: {verdict}); share >= 0.6: "
                f"{sum(t >= 0.6 for t in late) / len(late):.0%}"
            )
            figures[name] = {"tau_from_gen3_median": median, "n": len(late)}
    return figures


def print_wall_time(speed: dict, results: Results, seconds_per_evaluation: float) -> dict:
    """Search wall time to the baseline's final normalized hypervolume, per comparison: the
    median evaluations needed (a seed that never reaches it counts its whole budget, a lower
    bound) x the measured seconds per evaluation, plus the row's median seconds outside
    evaluations (the predictor's fit and screen). Evaluations are shared through the cache, so
    the time is rebuilt from the per-evaluation cost, not read from a clock."""
    figures = {}
    if not seconds_per_evaluation > 0:
        return figures
    print(f"\nseconds per evaluation (this run's real evaluations): {seconds_per_evaluation:.2f}")
    for label, f in speed.items():
        name = label.split(" vs ")[0]
        budget = [o.evaluated for o in results[name]]
        needed = [b if n is None else n for n, b in zip(f["needed"], budget, strict=True)]
        overhead = statistics.median(o.overhead_s for o in results[name])
        wall = statistics.median(needed) * seconds_per_evaluation + overhead
        print(f"{label}: wall time to the baseline's final HVn about {wall:.0f} s")
        figures[label] = wall
    return figures


def report(comparisons: Pairs, results: Results, n_boot: int) -> dict:
    """Every table after the per-seed one; returns the paired, speed-up and predictor
    figures."""
    figures = {
        "paired": print_paired(comparisons, results, n_boot),
        **print_speedups(comparisons, results, n_boot),
    }
    figures["gain_ratio"] = print_gain_ratio(comparisons, results, n_boot)
    print_generations(results)
    print_taus(results)
    figures["predictor"] = print_predictor(results)
    return figures


def write_json(path: str | None, payload: dict, comparisons: Pairs, results: Results) -> None:
    """The figures, the comparisons and every seed's outcome (without its candidates) as one
    JSON file, which `merge` reads back."""
    if not path:
        return
    keep = [f.name for f in fields(Outcome) if f.name != "feasible"]
    outcomes = {
        name: [{k: getattr(o, k) for k in keep} for o in rows] for name, rows in results.items()
    }
    body = {**payload, "comparisons": comparisons, "outcomes": outcomes}
    Path(path).write_text(json.dumps(body, indent=1))
    print(f"wrote {path}")


def merge(paths: list[str]) -> tuple[Pairs, Results, list[dict]]:
    """The comparisons and outcomes of several `write_json` files (e.g. seeds split over two
    processes sharing one evaluation cache), every row's outcomes sorted by seed; and the files'
    payloads. Files must compare the same rows; a seed run twice is refused."""
    payloads = [json.loads(Path(p).read_text()) for p in paths]
    comparisons = [tuple(c) for c in payloads[0]["comparisons"]]
    results: Results = {}
    for path, payload in zip(paths, payloads, strict=True):
        if [tuple(c) for c in payload["comparisons"]] != comparisons:
            raise SystemExit(f"error: {path} compares other rows than {paths[0]}")
        for name, rows in payload["outcomes"].items():
            for row in rows:
                row["history"] = [tuple(h) for h in row["history"]]
                results.setdefault(name, []).append(Outcome(**row))
    for name, outcomes in results.items():
        seeds = [o.seed for o in outcomes]
        if len(set(seeds)) != len(seeds):
            raise SystemExit(f"error: {name} has seed(s) run twice across {', '.join(paths)}")
        outcomes.sort(key=lambda o: o.seed)
    return comparisons, results, payloads
