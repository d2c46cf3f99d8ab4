"""Argument helpers shared by the commands."""

from __future__ import annotations

import argparse
import math

from app.cli.arguments import DatasetOption
from engine import limits
from engine.errors import AutoSpikformerError
from engine.sampling import DEFAULT_SAMPLING, SAMPLING
from engine.search.config import PREDICTOR_DEFAULT, EvolutionConfig, NSGA2Config, OperatorConfig


def alpha(text: str) -> float:
    """`--alpha`: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"alpha must be a number in [0, 1], got {text!r}"
        ) from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"alpha must be in [0, 1], got {text}")
    return value


def _whole_number(text: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < lowest:
        raise argparse.ArgumentTypeError(f"expected a number >= {lowest}, got {value}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def setting(name: str):
    """An argparse type for run setting `name`: a number within its documented range
    (`engine.limits.SETTINGS`, listed in docs/cli.md); NaN and infinities never pass."""
    bound = limits.SETTINGS[name]

    def parse(text: str) -> int | float:
        try:
            value = int(text) if bound.whole else float(text)
        except ValueError:
            kind = "a whole number" if bound.whole else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        try:
            return bound.check(name, value)
        except limits.LimitError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def limited(name: str, what: str = "") -> str:
    """Help text naming run setting `name`'s documented range: `a whole number from 1 to 5000`."""
    return (what + "; " if what else "") + limits.SETTINGS[name].describe()


def top(text: str) -> int:
    """`--top`: how many candidates, within the store's bound (`storage.base.MAX_TOP`)."""
    from storage.base import check_top

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    try:
        return int(check_top(value))  # type: ignore[arg-type]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def energy_profile(text: str) -> str:
    """`--energy-profile`: a registered hardware profile (`autospikformer profiles`)."""
    from engine.profiles import EnergyProfileError, get_profile

    try:
        return get_profile(text).name
    except EnergyProfileError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_energy_profile(p: argparse.ArgumentParser, what: str) -> None:
    from engine.profiles import DEFAULT_PROFILE

    p.add_argument(
        "--energy-profile",
        type=energy_profile,
        default=DEFAULT_PROFILE,
        help=f"hardware profile {what} (see `autospikformer profiles`; default: %(default)s, "
        "the paper's 45 nm constants)",
    )


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")


def add_train_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Options of `train`, shared with `launch`."""
    p.add_argument("--run", required=True, help="run name (letters, digits, . _ -)")
    p.add_argument("--dataset", required=required, action=DatasetOption)
    what = p.add_mutually_exclusive_group(required=required)
    what.add_argument("--space", help="search-space preset name or YAML file")
    what.add_argument("--arch", help="ARCH.json: train this one architecture standalone")
    p.add_argument("--epochs", type=setting("epochs"), required=required, help=limited("epochs"))
    p.add_argument("--seed", type=setting("seed"), default=0, help=limited("seed"))
    p.add_argument(
        "--batch-size",
        type=setting("batch_size"),
        default=None,
        help="default: the dataset's recipe (digits and mnist-5k 32, CIFAR 128, DVS 16)",
    )
    p.add_argument(
        "--lr",
        type=setting("lr"),
        default=None,
        help=(
            "peak learning rate; default: the dataset's recipe "
            "(digits and mnist-5k 5e-3, CIFAR 5e-4, DVS 1e-3)"
        ),
    )
    p.add_argument(
        "--sampling",
        choices=SAMPLING,
        default=DEFAULT_SAMPLING,
        help="arch sampling per step (supernet training): one uniform arch, the sandwich "
        "rule (largest + smallest + random), or sandwich-dsps (the sandwich of the transformer "
        "genes, with the extremes' T, thresholds and taus drawn each step); default: %(default)s",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")


def add_search_options(p: argparse.ArgumentParser) -> None:
    """Options of `search`, shared with `launch`."""
    p.add_argument(
        "--strategy",
        choices=("evolution", "random", "nsga2"),
        default="evolution",
        help="evolution: F_AEB at --alpha; nsga2: the whole accuracy-energy front (--alpha then "
        "only ranks); random: the baseline",
    )
    p.add_argument(
        "--generations",
        type=setting("generations"),
        default=20,
        help=limited(
            "generations", f"default 20; generations x population <= {limits.MAX_CANDIDATES:,}"
        ),
    )
    p.add_argument(
        "--population", type=setting("population"), default=50, help=limited("population")
    )
    p.add_argument(
        "--parents",
        type=setting("parents"),
        default=None,
        help="evolution: at most the population (default: 20, or the population if smaller)",
    )
    p.add_argument(
        "--alpha",
        type=alpha,
        default=0.5,
        help="F_AEB energy weight in [0, 1] (for nsga2 and random: ranking only)",
    )
    p.add_argument(
        "--energy-budget-uj",
        type=setting("energy_budget_uj"),
        default=None,
        help=limited("energy_budget_uj", "the largest energy a candidate may have"),
    )
    p.add_argument(
        "--param-limit",
        type=setting("param_limit"),
        default=None,
        help=limited("param_limit", "the most parameters a candidate may have"),
    )
    p.add_argument(
        "--recalib-batches",
        type=setting("recalib_batches"),
        default=4,
        help="BN-recalibration batches of 128 training images per candidate (default 4)",
    )
    p.add_argument(
        "--no-anchors",
        dest="anchors",
        action="store_false",
        help="any strategy: draw all of generation 0 at random, as the paper does (default: "
        "start it with the space's largest and cheapest arch, the two ends of the front, for "
        "evolution, nsga2 and random alike)",
    )
    p.add_argument(
        "--predictor",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="evolution and nsga2: screen each generation's children with a model fitted on the "
        "candidates evaluated so far in the run (this search's and its earlier searches'): breed "
        f"{OperatorConfig.screen_factor} per candidate to evaluate and evaluate those it predicts "
        f"best ({EvolutionConfig.explore_share * 100:.0f}%% of them kept for exploration by "
        f"evolution, {NSGA2Config.explore_share * 100:.0f}%% by nsga2); the "
        "generation history reports its Kendall tau (predictor_tau). Not for random; "
        f"{'on' if PREDICTOR_DEFAULT else 'off'} by default",
    )
    add_energy_profile(p, "the search prices energy under (F_AEB and --energy-budget-uj use it)")


def predictor(strategy: str, given: bool | None) -> bool | None:
    """`--predictor` / `--no-predictor` for `strategy` (None: not given, the default); random
    search has none to turn on."""
    require(
        not (given and strategy == "random"),
        "--predictor screens evolution and nsga2 children; random search has none",
    )
    return given


def require(condition: bool, message: str) -> None:
    if not condition:
        raise AutoSpikformerError(message)
