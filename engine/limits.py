"""The documented maxima of everything a user asks for, in one place.

A launch, a search or an uploaded search space beyond them is refused with one line before
anything is created. The maxima are what a real GPU cluster needs and no more: they keep one run
from stalling the service (the recorder steps every run's search in one process) or asking the
model for a layer it cannot build. Every caller checks through this module: the search space
parser (`SearchSpace.from_dict`, so presets, YAML files, uploads and stored spaces alike), the
search settings (`SearchConfig`, `SearchSpec.validate`), the training settings (`TrainConfig`,
`RunSpec.validate`), the command line's option types, the launch form and its URL. docs/cli.md
lists them, generated from `settings_table()` and `space_table()`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real

from engine.errors import AutoSpikformerError


class LimitError(AutoSpikformerError):
    """A value outside its documented range; the message is one line."""


@dataclass(frozen=True)
class Bound:
    """The range a number must lie in: `lo` to `hi`, a whole number or not, `lo` itself excluded
    when `lo_open`. `hi` may be infinite (then only finite numbers pass)."""

    lo: float
    hi: float
    whole: bool = True
    lo_open: bool = False

    def describe(self) -> str:
        """`a whole number from 1 to 5000`, `a number > 0 and <= 1`, `a finite number > 0`."""
        kind = "a whole number" if self.whole else "a number"
        lo, hi = (str(int(x)) if self.whole else f"{x:g}" for x in (self.lo, self.hi))
        if math.isinf(self.hi):
            return f"a finite number {'>' if self.lo_open else '>='} {lo}"
        if self.lo_open:
            return f"{kind} > {lo} and <= {hi}"
        return f"{kind} from {lo} to {hi}"

    def holds(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, Integral if self.whole else Real):
            return False
        x = float(value) if not self.whole else value
        if not self.whole and not math.isfinite(x):
            return False
        above = x > self.lo if self.lo_open else x >= self.lo
        return above and x <= self.hi

    def check(self, name: str, value: object, error: type[Exception] = LimitError) -> int | float:
        """`value` (as int or float) if it lies in the range; `error` naming `name` otherwise."""
        if not self.holds(value):
            raise error(f"{name} must be {self.describe()}, got {_shown(value)}")
        return int(value) if self.whole else float(value)  # type: ignore[arg-type]


def _shown(value: object) -> str:
    """`value` for a one-line message: `0`, `1e+30`, `nan`, `'abc'`, cut at 40 characters."""
    if isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, Integral) and not isinstance(value, bool):
        text = str(value)
    else:
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---- a run's settings ---------------------------------------------------------------------------
MAX_EPOCHS = 5000
MAX_GENERATIONS = 5000
MAX_POPULATION = 5000
MAX_CANDIDATES = 10_000  # generations x population: what one search may evaluate (paper: 1,000)
MAX_BATCH_SIZE = 4096
MAX_RECALIB_BATCHES = 1000
MAX_SEED = 2**32 - 1  # numpy's and torch's seeds both take it
MAX_PARAM_LIMIT = 10**12
MAX_LR = 1.0

SETTINGS: dict[str, Bound] = {
    "epochs": Bound(1, MAX_EPOCHS),
    "generations": Bound(1, MAX_GENERATIONS),
    "population": Bound(1, MAX_POPULATION),
    "parents": Bound(1, MAX_POPULATION),
    "alpha": Bound(0.0, 1.0, whole=False),
    "energy_budget_uj": Bound(0.0, math.inf, whole=False, lo_open=True),
    "param_limit": Bound(1, MAX_PARAM_LIMIT),
    "recalib_batches": Bound(1, MAX_RECALIB_BATCHES),
    "seed": Bound(0, MAX_SEED),
    "batch_size": Bound(1, MAX_BATCH_SIZE),
    "lr": Bound(0.0, MAX_LR, whole=False, lo_open=True),
}
# What the table in docs/cli.md adds to a bound.
SETTING_NOTES: dict[str, str] = {
    "generations": f"generations x population at most {MAX_CANDIDATES:,}",
    "population": f"generations x population at most {MAX_CANDIDATES:,}",
    "parents": "at most the population (evolution)",
    "energy_budget_uj": "microjoules of the search's energy profile",
    "recalib_batches": "of 128 training images, per candidate",
}


def check_setting(name: str, value: object, label: str | None = None) -> int | float:
    """`value` if it lies in setting `name`'s range; `LimitError` naming `label` (default `name`,
    e.g. `--population` on the command line) otherwise."""
    return SETTINGS[name].check(label or name, value)


def check_search(
    *,
    strategy: str,
    generations: object,
    population: object,
    parents: object,
    alpha: object,
    seed: object = 0,
    energy_budget_uj: object = None,
    param_limit: object = None,
    recalib_batches: object = 4,
    labels: Mapping[str, str] | None = None,
) -> None:
    """A new search's settings, all at once; `LimitError` naming the first one out of range
    (by its name in `labels`, e.g. a form's field, else the setting's). `parents` counts only
    for the evolution, and must not exceed the population."""

    def check_setting(name: str, value: object) -> int | float:
        return SETTINGS[name].check((labels or {}).get(name, name), value)

    check_setting("generations", generations)
    check_setting("population", population)
    total = int(generations) * int(population)  # type: ignore[call-overload]
    if total > MAX_CANDIDATES:
        raise LimitError(
            f"generations x population must be at most {MAX_CANDIDATES:,}, got "
            f"{generations} x {population} = {total:,}"
        )
    check_setting("alpha", alpha)
    if energy_budget_uj is not None:
        check_setting("energy_budget_uj", energy_budget_uj)
    if param_limit is not None:
        check_setting("param_limit", param_limit)
    check_setting("recalib_batches", recalib_batches)
    check_setting("seed", seed)
    if strategy == "evolution":
        check_setting("parents", parents)
        if parents > population:  # type: ignore[operator]
            raise LimitError(f"parents ({parents}) must not exceed the population ({population})")


def check_training(
    *,
    epochs: object,
    batch_size: object = None,
    lr: object = None,
    seed: object = 0,
    labels: Mapping[str, str] | None = None,
) -> None:
    """A run's training settings; None for the batch size and lr means the dataset's recipe.
    `labels` as for `check_search`."""

    def check_setting(name: str, value: object) -> int | float:
        return SETTINGS[name].check((labels or {}).get(name, name), value)

    check_setting("epochs", epochs)
    if batch_size is not None:
        check_setting("batch_size", batch_size)
    if lr is not None:
        check_setting("lr", lr)
    check_setting("seed", seed)


# ---- a search space -----------------------------------------------------------------------------
MAX_CHOICES = 64  # per gene
# A space file: 64 choices for each of 7 genes is a few KB (the app's uploads stop at 1 MB).
MAX_SPACE_FILE_BYTES = 64 * 1024
MAX_EMBED_DIM = 1024
MAX_DEPTH = 24
MAX_MLP_RATIO = 16.0
MAX_NUM_HEADS = 64
MAX_TIME_STEPS = 64
MAX_THRESHOLD = 1000.0
MAX_TAU = 1000.0

GENES: dict[str, Bound] = {
    "embed_dim": Bound(8, MAX_EMBED_DIM),
    "depth": Bound(1, MAX_DEPTH),
    "mlp_ratio": Bound(0.0, MAX_MLP_RATIO, whole=False, lo_open=True),
    "num_heads": Bound(1, MAX_NUM_HEADS),
    "time_steps": Bound(1, MAX_TIME_STEPS),
    "threshold": Bound(0.0, MAX_THRESHOLD, whole=False, lo_open=True),
    "tau": Bound(1.0, MAX_TAU, whole=False, lo_open=True),
}
GENE_NOTES: dict[str, str] = {
    "embed_dim": "a multiple of 8 (the SPS stem's first width is D/8) and of every num_heads",
    "mlp_ratio": "mlp_ratio x embed_dim a whole width",
    "time_steps": "event datasets: a divisor of their 16 frames",
    "tau": "the LIF's H = V + (X - V) / tau needs tau > 1",
}


def check_space_file_size(name: str, size: int, error: type[Exception] = LimitError) -> None:
    """A search-space file of at most `MAX_SPACE_FILE_BYTES`, checked before it is parsed."""
    if size > MAX_SPACE_FILE_BYTES:
        raise error(
            f"{name} is {size / 1024:,.0f} KB; a search-space file may be at most "
            f"{MAX_SPACE_FILE_BYTES // 1024} KB"
        )


def check_choice_count(
    gene: str, n: int, error: type[Exception] = LimitError, where: str = ""
) -> None:
    """At most `MAX_CHOICES` choices for `gene` (checked before they are parsed one by one)."""
    if n > MAX_CHOICES:
        raise error(f"{where}{gene} has {n:,} choices; at most {MAX_CHOICES} are allowed per gene")


def check_choices(
    gene: str, choices: Iterable[object], error: type[Exception] = LimitError, where: str = ""
) -> None:
    """Every choice of `gene` within its range; `error` naming the first one outside."""
    bound = GENES[gene]
    for value in choices:
        bound.check(f"{where}{gene} choice", value, error)


# ---- the tables in docs/cli.md ------------------------------------------------------------------
def settings_table() -> list[tuple[str, str, str]]:
    """(setting, range, note) for every run setting."""
    return [(name, b.describe(), SETTING_NOTES.get(name, "")) for name, b in SETTINGS.items()]


def space_table() -> list[tuple[str, str, str]]:
    """(gene, range of each choice, note) for every gene, then the choices per gene."""
    rows = [(gene, b.describe(), GENE_NOTES.get(gene, "")) for gene, b in GENES.items()]
    return [
        *rows,
        ("choices per gene", f"1 to {MAX_CHOICES}", "a list of distinct values"),
        ("space file", f"at most {MAX_SPACE_FILE_BYTES // 1024} KB", "a YAML upload or --space"),
    ]
