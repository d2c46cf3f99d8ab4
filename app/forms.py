"""The launch form's values, checked all at once before anything is enqueued. No Streamlit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.errors import SpaceError
from engine.space import SearchSpace, load_yaml, yaml_problem
from storage import paths
from storage.base import Store
from storage.errors import UnknownRun, one_line
from tasks.pipeline import RunSpec, SearchSpec

STRATEGIES: tuple[str, ...] = ("evolution", "random")


class FormError(ValueError):
    """A launch-form value that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class LaunchForm:
    """What the user filled in. `space` is a preset name or a YAML path under the home folder;
    `energy_budget_uj` 0 or None means no budget."""

    name: str
    dataset: str
    space: str
    epochs: int
    strategy: str = "evolution"
    generations: int = 4
    population: int = 8
    parents: int = 4
    alpha: float = 0.5
    energy_budget_uj: float | None = None
    seed: int = 0
    owner: str = ""


def parse_space_yaml(text: bytes | str, name: str = "upload") -> SearchSpace:
    """A search space from YAML text; `SpaceError` with a one-line reason if it is not one."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as err:
        raise SpaceError(f"{name}: {yaml_problem(err)}") from None
    except UnicodeDecodeError:
        raise SpaceError(f"{name}: not a text file (it is not UTF-8)") from None
    try:
        return SearchSpace.from_dict(data, name=Path(name).stem)
    except SpaceError as err:
        raise SpaceError(f"{name}: {one_line(err, 200)}") from None


def save_space(space: SearchSpace) -> Path:
    """Write a validated uploaded space under `home()/spaces/`, named by its content."""
    text = yaml.safe_dump(space.to_dict(), sort_keys=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    target = paths.resolve_inside(paths.home(), "spaces", f"space-{digest}.yaml")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file():
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return target


def _number(name: str, value: object, lo: float, hi: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormError(f"{name} must be a number, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"in [{lo:g}, {hi:g}]" if hi is not None else f">= {lo:g}"
        raise FormError(f"{name} must be {bound}, got {value:g}")


def build_specs(form: LaunchForm, store: Store) -> tuple[RunSpec, SearchSpec]:
    """The run and search specs for `form`, every value checked; `FormError` (a ValueError)
    or the engine's one-line errors otherwise. Reads the dataset's files, writes nothing."""
    _number("epochs", form.epochs, 1)
    _number("generations", form.generations, 1)
    _number("population", form.population, 1)
    _number("parents", form.parents, 1)
    _number("alpha", form.alpha, 0.0, 1.0)
    _number("seed", form.seed, 0)
    if form.energy_budget_uj is not None:
        _number("energy budget (uJ)", form.energy_budget_uj, 0.0)
    if form.parents > form.population:
        raise FormError(
            f"parents ({form.parents}) must not exceed the population ({form.population})"
        )
    if form.strategy not in STRATEGIES:
        raise FormError(f"strategy must be one of {', '.join(STRATEGIES)}, got {form.strategy!r}")
    paths.validate_name(form.name, "run")
    try:
        store.get_run(form.name)
    except UnknownRun:
        pass
    else:
        raise FormError(f"a run called {form.name!r} already exists; pick another name")
    run_spec = RunSpec(
        name=form.name,
        dataset=form.dataset,
        space=form.space,
        epochs=int(form.epochs),
        seed=int(form.seed),
        owner=form.owner,
    )
    run_spec.validate()
    budget = form.energy_budget_uj or None
    search_spec = SearchSpec(
        strategy=form.strategy,
        generations=int(form.generations),
        population=int(form.population),
        parents=int(form.parents),
        alpha=float(form.alpha),
        seed=int(form.seed),
        energy_budget_uj=float(budget) if budget else None,
    )
    search_spec.config()
    return run_spec, search_spec
