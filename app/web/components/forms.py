"""The launch form's values, checked all at once before anything is enqueued; their one-line
summary and run-time estimate; and their URL form (a copied or cloned link refills the form).
No Streamlit."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from engine import limits
from engine.errors import SpaceError
from engine.files import atomic_write
from engine.profiles import DEFAULT_PROFILE, PROFILES
from engine.sampling import DEFAULT_SAMPLING, SAMPLING
from engine.search.config import PREDICTOR_DEFAULT
from engine.space import SearchSpace, load_yaml, yaml_problem
from storage import paths
from storage.base import Store
from storage.errors import UnknownRun, one_line
from tasks import history

if TYPE_CHECKING:  # torch comes with them: imported when a run is built, not with every page
    from tasks.pipeline import RunSpec, SearchSpec

STRATEGIES: tuple[str, ...] = ("evolution", "nsga2", "random")


class FormError(ValueError):
    """A launch-form value that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class LaunchForm:
    """What the user filled in. `space` is a preset name or a YAML path under the home folder;
    `energy_budget_uj` 0 or None means no budget, in microjoules of `energy_profile`, the
    hardware profile the search prices energy under. `predictor` screens the children of the
    evolution and NSGA-II; random search ignores it."""

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
    sampling: str = DEFAULT_SAMPLING
    recalib_batches: int = 4
    energy_profile: str = DEFAULT_PROFILE
    anchors: bool = True
    predictor: bool = PREDICTOR_DEFAULT


def parse_space_yaml(text: bytes | str, name: str = "upload") -> SearchSpace:
    """A search space from YAML text; `SpaceError` with a one-line reason if it is not one."""
    limits.check_space_file_size(name, len(text), SpaceError)
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
    if not target.is_file():
        atomic_write(target, text)
    return target


# Run setting (engine.limits) -> its field's label on the launch page, for the messages.
LABELS: dict[str, str] = {
    "epochs": "Supernet epochs",
    "seed": "Seed",
    "recalib_batches": "Recalibration batches",
    "generations": "Generations",
    "population": "Population",
    "parents": "Parents (top K)",
    "alpha": "alpha",
    "energy_budget_uj": "Energy budget (µJ)",
}


def problem(form: LaunchForm) -> str | None:
    """Why the form's numbers cannot launch, on one line (the first field outside its documented
    range, `engine.limits`, by its label), or None. Cheap: reads nothing, so the page checks it
    on every rerun and keeps Launch disabled while it says something."""
    budget = form.energy_budget_uj
    try:
        limits.check_training(epochs=form.epochs, seed=form.seed, labels=LABELS)
        limits.check_search(
            strategy=form.strategy,
            generations=form.generations,
            population=form.population,
            parents=form.parents,
            alpha=form.alpha,
            seed=form.seed,
            energy_budget_uj=None if budget is None or budget == 0 else budget,
            recalib_batches=form.recalib_batches,
            labels=LABELS,
        )
    except limits.LimitError as err:
        return str(err)
    return None


def build_specs(form: LaunchForm, store: Store) -> tuple[RunSpec, SearchSpec]:
    """The run and search specs for `form`, every value checked; `FormError` (a ValueError)
    or the engine's one-line errors otherwise. Reads the dataset's files, writes nothing."""
    from tasks.pipeline import RunSpec, SearchSpec

    reason = problem(form)
    if reason is not None:
        raise FormError(reason)
    if form.strategy not in STRATEGIES:
        raise FormError(f"strategy must be one of {', '.join(STRATEGIES)}, got {form.strategy!r}")
    from tasks.plumbing.coordination import check_run_name

    check_run_name(paths.validate_name(form.name, "run"))
    try:
        store.get_run(form.name)
    except UnknownRun:
        pass
    else:
        raise FormError(f"a run called {form.name!r} already exists; pick another name")
    if form.sampling not in SAMPLING:
        raise FormError(f"sampling must be one of {', '.join(SAMPLING)}, got {form.sampling!r}")
    if form.energy_profile not in PROFILES:
        raise FormError(
            f"energy profile must be one of {', '.join(PROFILES)}, got {form.energy_profile!r}"
        )
    run_spec = RunSpec(
        name=form.name,
        dataset=form.dataset,
        space=form.space,
        epochs=int(form.epochs),
        seed=int(form.seed),
        owner=form.owner,
        sampling=form.sampling,
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
        recalib_batches=int(form.recalib_batches),
        energy_profile=form.energy_profile,
        anchors=bool(form.anchors),
        predictor=bool(form.predictor) and form.strategy != "random",
    )
    search_spec.validate()
    return run_spec, search_spec


# ---- summary and estimate -----------------------------------------------------------------------
def resolve_space(space: str) -> SearchSpace:
    """The form's space: a preset name, or the path of a YAML file."""
    return SearchSpace.resolve(space)


def space_label(space: str) -> str:
    """A preset's name, or the file name of a YAML space."""
    return space if space in SearchSpace.presets() else Path(space).name


def count(n: int, word: str) -> str:
    """`1 epoch`, `3 epochs`."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(form: LaunchForm) -> str:
    """The form's settings on one line."""
    budget = f"budget {form.energy_budget_uj:g} µJ" if form.energy_budget_uj else "no budget"
    search = f"{form.strategy}, {count(form.generations, 'generation')} x {form.population}"
    if form.strategy == "evolution":
        search += f", parents {form.parents}"
        search += "" if form.anchors else ", generation 0 all random"
    if form.predictor and form.strategy != "random":
        search += ", predictor screening"
    return (
        f"{form.dataset} · space {space_label(form.space)} · {count(form.epochs, 'epoch')} "
        f"({form.sampling}) · {search} · alpha {form.alpha:g} · {budget} · seed {form.seed} · "
        f"{count(form.recalib_batches, 'recalibration batch')}".replace("batchs", "batches")
        + f" · energy profile {form.energy_profile}"
    )


def estimate(store: Store, form: LaunchForm) -> str:
    """The estimated run time, from measured per-epoch and per-candidate times of earlier runs on
    the same dataset and space, or why there is none."""
    try:
        genes = resolve_space(form.space).to_dict()
    except SpaceError:
        return "No estimate: the search space is not valid."
    rates = history.measured_rates(store, form.dataset, genes)
    candidates = form.generations * form.population
    total = history.estimate_s(rates, form.epochs, candidates)
    where = f"{form.dataset} on this space"
    if rates.runs == 0:
        return f"Estimated run time: no earlier runs of {where} to estimate from."
    if total is None:
        missing = "training epochs" if rates.epoch_s is None else "search generations"
        return (
            f"Estimated run time: earlier runs of {where} recorded no {missing} to estimate from."
        )
    runs = f"{rates.runs} earlier run{'s' if rates.runs != 1 else ''}"
    return (
        f"Estimated run time: about {history.format_duration(total)} ({form.epochs} epochs x "
        f"{history.format_duration(rates.epoch_s)} + up to {candidates} candidates x "
        f"{rates.candidate_s:.2g} s, measured on {runs} of {where})."
    )


# ---- the form in the URL ------------------------------------------------------------------------
SAVED_SPACE_RE = re.compile(r"^space-[0-9a-f]{12}\.yaml$")
# URL parameter -> LaunchForm field.
PARAMS: dict[str, str] = {
    "name": "name",
    "dataset": "dataset",
    "space": "space",
    "epochs": "epochs",
    "sampling": "sampling",
    "strategy": "strategy",
    "generations": "generations",
    "population": "population",
    "parents": "parents",
    "alpha": "alpha",
    "budget": "energy_budget_uj",
    "seed": "seed",
    "recalib": "recalib_batches",
    "profile": "energy_profile",
    "anchors": "anchors",
    "predictor": "predictor",
}
# URL parameters that are true or false (also written 1 or 0: `predictor=1`).
SWITCHES: dict[str, bool] = {"true": True, "1": True, "false": False, "0": False}


# URL parameter -> the run setting (engine.limits) whose range it keeps.
SETTING_PARAMS: dict[str, str] = {
    "epochs": "epochs",
    "generations": "generations",
    "population": "population",
    "parents": "parents",
    "alpha": "alpha",
    "budget": "energy_budget_uj",
    "seed": "seed",
    "recalib": "recalib_batches",
}


def saved_spaces() -> list[str]:
    """File names of the spaces saved under `home()/spaces/` (accepted uploads, clones)."""
    folder = paths.home() / "spaces"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if SAVED_SPACE_RE.fullmatch(p.name))


def saved_space_path(file_name: str) -> Path:
    return paths.resolve_inside(paths.home(), "spaces", file_name)


def to_params(form: LaunchForm) -> dict[str, str]:
    """The form as URL query parameters (a saved space by its file name)."""
    out: dict[str, str] = {}
    for key, name in PARAMS.items():
        value = getattr(form, name)
        if name == "space" and value not in SearchSpace.presets():
            value = Path(value).name
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
            continue
        out[key] = f"{value:g}" if isinstance(value, float) else str(value)
    return out


def _parse_value(key: str, text: str, default: Any) -> Any:
    if key == "space":
        if text in SearchSpace.presets():
            return text
        if SAVED_SPACE_RE.fullmatch(text) and saved_space_path(text).is_file():
            return str(saved_space_path(text))
        raise ValueError("not a preset or a saved space")
    if key == "dataset":
        from engine.data import DATASETS  # torch: only when a link names a dataset

        if text not in DATASETS:
            raise ValueError(f"not one of {', '.join(DATASETS)}")
    if key == "strategy" and text not in STRATEGIES:
        raise ValueError(f"not one of {', '.join(STRATEGIES)}")
    if key == "sampling" and text not in SAMPLING:
        raise ValueError(f"not one of {', '.join(SAMPLING)}")
    if key == "profile" and text not in PROFILES:
        raise ValueError(f"not one of {', '.join(PROFILES)}")
    if key == "name":
        return paths.validate_name(text, "run")
    if key in ("anchors", "predictor"):
        if text.lower() not in SWITCHES:
            raise ValueError("not true or false")
        return SWITCHES[text.lower()]
    if key == "budget" and float(text) == 0:
        return 0.0  # no budget
    if key in SETTING_PARAMS:  # a number within its documented range (engine.limits)
        setting = SETTING_PARAMS[key]
        value = int(text) if limits.SETTINGS[setting].whole else float(text)
        return limits.check_setting(setting, value, LABELS.get(setting))
    return text


def from_params(params: Mapping[str, Any], base: LaunchForm) -> tuple[LaunchForm, list[str]]:
    """`base` with the values in `params` (a link, or a clone); a bad value is reported in one
    line and left at `base`'s."""
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for key, name in PARAMS.items():
        raw = params.get(key)
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else None
        if raw is None or raw == "":
            continue
        text = str(raw)
        try:
            changes[name] = _parse_value(key, text, getattr(base, name))
        except ValueError as err:
            shown = one_line(repr(text), 60)
            problems.append(f"{key}={shown} in the link: {one_line(err, 120)}; ignored")
    return replace(base, **changes), problems


def free_name(store: Store, base: str) -> str:
    """`base` if no run has that name, else `base-2`, `base-3`, ... (the first free one)."""
    stem = re.sub(r"-\d+$", "", base)[:58] or "run"
    taken = {r.name for r in store.list_runs()}
    if base not in taken:
        return base
    for i in range(2, 10_000):
        name = f"{stem}-{i}"
        if name not in taken:
            return name
    raise FormError(f"no free run name like {base!r}; pick one")


def clone(store: Store, run: str) -> LaunchForm:
    """A form with the settings of `run` (its space saved under `home()/spaces/` unless it is a
    preset) and a free name next to it. `UnknownRun`."""
    record = store.get_run(run)
    train = record.settings.get("train", {})
    search = history.search_settings(store, record)
    name = history.space_name(record.space)
    space = name if name != "custom" else str(save_space(SearchSpace.from_dict(record.space)))
    defaults = LaunchForm(name="", dataset=record.dataset, space=space, epochs=1)
    known = {f.name for f in fields(LaunchForm)}
    # Generation 0 as the search drew it (`history.anchors_applied`): random before anchors
    # existed, and for random and NSGA-II searches recorded before they took them; the predictor
    # as it screened (`history.predictor_applied`).
    if search:
        shown = history.settings(store, record)
        search = {**search, "anchors": shown["anchors"], "predictor": shown["predictor"]}
    values = {k: v for k, v in {**train, **search}.items() if k in known and v is not None}
    values.pop("space", None)
    form = replace(defaults, **{k: values[k] for k in values if k not in ("name", "dataset")})
    return replace(form, name=free_name(store, run), owner="")
