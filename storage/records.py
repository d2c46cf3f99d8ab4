"""Plain records that the store keeps: runs, searches, candidates, generations, artefacts.

Every record is a frozen dataclass that checks and normalises its fields on construction (numbers
become `float`/`int`, dict fields are deep-copied through JSON), so a bad value fails before it
reaches a store. `to_row()` gives the flat row a store writes (dict fields as JSON text) and
`from_row()` reads it back; `to_dict()`/`from_dict()` are the same with dicts left as dicts.
Times are seconds since the epoch (UTC), as `float`.
"""

from __future__ import annotations

import json
import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import PurePosixPath
from typing import Any, TypeVar

from storage.errors import BadName, BadRecord, one_line
from storage.paths import validate_name

RUN_STATES: tuple[str, ...] = ("queued", "training", "searching", "done", "failed", "cancelled")
SEARCH_STATES: tuple[str, ...] = ("queued", "searching", "done", "failed", "cancelled")
ARTEFACT_KINDS: tuple[str, ...] = ("supernet", "subnet")
ACTIVE_RUN_STATES: tuple[str, ...] = ("queued", "training", "searching")
# What a run's log can say happened (see `EventRecord`).
EVENT_KINDS: tuple[str, ...] = (
    "info",  # a stage began or ended, a search was created, ...
    "error",  # a step raised; the run failed or the step will be retried
    "retry",  # a step is run again (redelivered, re-enqueued)
    "worker_lost",  # the worker running a step died under it
    "lease_expired",  # a step's lease lapsed and the step was re-enqueued
    "cancelled",  # someone cancelled the run
)
# Constraints a candidate can break (`CandidateRecord.violation`): over the search's energy budget,
# over its parameter limit, or not a finite evaluation at all.
VIOLATIONS: tuple[str, ...] = ("energy_budget", "param_limit", "invalid")
# Kinds of operation counted per candidate (see `engine.energy`), the terms of an energy profile.
OP_KINDS: tuple[str, ...] = ("macs", "sops", "neuron_updates")
# The hardware profile every energy was priced under before profiles existed (the paper's Eq. 3).
DEFAULT_ENERGY_PROFILE = "45nm-fp32"
PJ_TO_UJ = 1e-6
# Fields stored as JSON text in a row.
_JSON_FIELDS = frozenset(
    {"space", "settings", "arch", "firing_rates", "layer_energy_uj", "layer_ops", "candidates"}
    | {"tags"}
)
# A run's tags and notes (`RunRecord.tags`, `.notes`): what people write to find runs again.
MAX_TAGS = 20
TAG_LIMIT = 40
NOTES_LIMIT = 5000

R = TypeVar("R", bound="_Record")


def now() -> float:
    """Current time in seconds since the epoch."""
    return time.time()


# ---- field checks (each returns the normalised value or raises BadRecord) --------------------
def check_float(
    where: str, value: Any, *, lo: float | None = None, hi: float | None = None
) -> float:
    """A finite real number in [lo, hi], as `float`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BadRecord(f"{where} must be a number, got {one_line(repr(value), 60)}")
    out = float(value)
    if not math.isfinite(out):
        raise BadRecord(f"{where} must be finite, got {out}")
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        raise BadRecord(f"{where} must be in [{lo}, {hi}], got {out}")
    return out


def check_int(where: str, value: Any, *, lo: int | None = 0) -> int:
    """A whole number >= lo, as `int` (integral floats such as 3.0 are accepted)."""
    if isinstance(value, bool):
        raise BadRecord(f"{where} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        out = int(value)
    else:
        raise BadRecord(f"{where} must be an integer, got {one_line(repr(value), 60)}")
    if lo is not None and out < lo:
        raise BadRecord(f"{where} must be >= {lo}, got {out}")
    return out


def check_text(where: str, value: Any, *, empty: bool = True, limit: int = 10_000) -> str:
    if not isinstance(value, str):
        raise BadRecord(f"{where} must be a string, got {type(value).__name__}")
    if not empty and not value:
        raise BadRecord(f"{where} must not be empty")
    if len(value) > limit:
        raise BadRecord(f"{where} is longer than {limit} characters")
    return value


def check_tags(where: str, value: Any) -> list[str]:
    """A list of at most `MAX_TAGS` tags, each a non-empty string of at most `TAG_LIMIT`
    printable characters without a comma; stripped, repeats dropped, order kept."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise BadRecord(f"{where} must be a list of strings, got {type(value).__name__}")
    out: list[str] = []
    for tag in value:
        if not isinstance(tag, str):
            raise BadRecord(f"{where} must hold strings, got {one_line(repr(tag), 60)}")
        text = tag.strip()
        if not text:
            raise BadRecord(f"{where} must not hold an empty tag")
        if len(text) > TAG_LIMIT:
            raise BadRecord(f"{where}: tag {one_line(repr(text), 50)} is longer than {TAG_LIMIT}")
        if "," in text or not text.isprintable():
            raise BadRecord(
                f"{where}: tag {one_line(repr(text), 50)} must be printable, without commas"
            )
        if text not in out:
            out.append(text)
    if len(out) > MAX_TAGS:
        raise BadRecord(f"{where} holds {len(out)} tags; at most {MAX_TAGS}")
    return out


def check_bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRecord(f"{where} must be true or false, got {one_line(repr(value), 60)}")
    return value


def check_violation(where: str, value: Any) -> str:
    """ "" or a comma-separated set of `VIOLATIONS`, normalised to their order there."""
    text = check_text(where, value, limit=200)
    parts = {p.strip() for p in text.split(",") if p.strip()}
    unknown = sorted(parts - set(VIOLATIONS))
    if unknown:
        raise BadRecord(
            f"{where} must name constraints among {'|'.join(VIOLATIONS)}, got "
            f"{one_line(repr(unknown[0]), 60)}"
        )
    return ",".join(v for v in VIOLATIONS if v in parts)


def check_layer_ops(where: str, value: Any) -> dict[str, dict[str, float]]:
    """`{kind: {layer: count}}` with kinds among `OP_KINDS` and counts >= 0."""
    if not isinstance(value, Mapping):
        raise BadRecord(f"{where} must be a dict, got {type(value).__name__}")
    out: dict[str, dict[str, float]] = {}
    for kind, layers in value.items():
        if kind not in OP_KINDS:
            raise BadRecord(f"{where} has unknown kind {one_line(repr(kind), 60)}")
        counts = check_float_dict(f"{where}[{kind!r}]", layers)
        for layer, count in counts.items():
            if count < 0:
                raise BadRecord(f"{where}[{kind!r}][{layer!r}] must be >= 0, got {count}")
        out[kind] = counts
    return out


def check_choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise BadRecord(
            f"{where} must be one of {'|'.join(choices)}, got {one_line(repr(value), 60)}"
        )
    return value


def check_name(where: str, value: Any, kind: str) -> str:
    try:
        return validate_name(value, kind=kind)
    except BadName as err:
        raise BadRecord(f"{where}: {err}") from None


def check_json_dict(where: str, value: Any) -> dict[str, Any]:
    """A JSON-serialisable mapping with string keys, deep-copied (tuples become lists)."""
    if not isinstance(value, Mapping):
        raise BadRecord(f"{where} must be a dict, got {type(value).__name__}")
    try:
        out = json.loads(dump_json(value))
    except (TypeError, ValueError) as err:
        raise BadRecord(f"{where} is not plain JSON: {one_line(err, 120)}") from None
    if not all(isinstance(k, str) for k in value):
        raise BadRecord(f"{where} must have string keys")
    return out


def check_float_dict(where: str, value: Any) -> dict[str, float]:
    """A mapping of layer name -> finite number."""
    if not isinstance(value, Mapping):
        raise BadRecord(f"{where} must be a dict, got {type(value).__name__}")
    out: dict[str, float] = {}
    for key, v in value.items():
        if not isinstance(key, str):
            raise BadRecord(f"{where} must have string keys, got {one_line(repr(key), 60)}")
        out[key] = check_float(f"{where}[{key!r}]", v)
    return out


def dump_json(value: Any) -> str:
    """Canonical JSON text (sorted keys, no NaN) for a stored dict."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def check_relative_path(where: str, value: Any) -> str:
    """A relative POSIX path with no '..' part, normalised (`a//b/./c` -> `a/b/c`)."""
    text = check_text(where, value, empty=False, limit=1000)
    if "\0" in text or "\\" in text:
        raise BadRecord(f"{where} must be a plain POSIX path, got {one_line(repr(text), 80)}")
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.as_posix() == ".":
        raise BadRecord(f"{where} must be relative to the home folder, got {one_line(text, 80)}")
    return path.as_posix()


# ---- records ---------------------------------------------------------------------------------
class _Record:
    """Shared row/dict conversions for the frozen record dataclasses below."""

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """Field name -> value, dict fields deep-copied."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        for key in _JSON_FIELDS.intersection(out):
            out[key] = json.loads(dump_json(out[key]))
        return out

    def to_row(self) -> dict[str, Any]:
        """Field name -> column value; dict fields as canonical JSON text."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        for key in _JSON_FIELDS.intersection(out):
            out[key] = dump_json(out[key])
        return out

    @classmethod
    def from_dict(cls: type[R], d: Mapping[str, Any]) -> R:
        """Build from a mapping with exactly this record's field names (missing ones default)."""
        if not isinstance(d, Mapping):
            raise BadRecord(f"{cls.__name__}: expected a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - names)
        if unknown:
            raise BadRecord(f"{cls.__name__}: unknown field(s) {', '.join(map(str, unknown))}")
        try:
            return cls(**d)
        except TypeError as err:
            raise BadRecord(f"{cls.__name__}: {one_line(err, 160)}") from None

    @classmethod
    def from_row(cls: type[R], row: Mapping[str, Any]) -> R:
        """Inverse of `to_row()`: JSON text columns are parsed back into dicts."""
        d = dict(row)
        for key in _JSON_FIELDS.intersection(d):
            if isinstance(d[key], str):
                d[key] = json.loads(d[key])
        return cls.from_dict(d)


@dataclass(frozen=True)
class RunRecord(_Record):
    """One run: a supernet trained on `dataset` over the search space `space` (a YAML-like dict).

    `state` is one of `RUN_STATES`; `progress` is in [0, 1]; `settings` holds the launch options
    (epochs, seed, ...). `updated_at` defaults to `created_at`. `finished_at` is when the run
    ended (done, failed or cancelled), set by the store when its state first becomes terminal and
    never changed by later updates (archiving, notes); None while it is active.

    (epochs, seed, ...). `updated_at` defaults to `created_at`. `tags` and `notes` are what
    people write about the run (see `Store.annotate_run`).
    """

    name: str
    owner: str = ""
    dataset: str = ""
    space: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    state: str = "queued"
    progress: float = 0.0
    message: str = ""
    created_at: float = field(default_factory=now)
    updated_at: float | None = None
    archived: bool = False
    finished_at: float | None = None

    tags: list[str] = field(default_factory=list)
    notes: str = ""

    def __post_init__(self) -> None:
        self._set("name", check_name("run.name", self.name, "run"))
        self._set("owner", check_text("run.owner", self.owner, limit=200))
        self._set("dataset", check_text("run.dataset", self.dataset, limit=200))
        self._set("space", check_json_dict("run.space", self.space))
        self._set("settings", check_json_dict("run.settings", self.settings))
        self._set("state", check_choice("run.state", self.state, RUN_STATES))
        self._set("progress", check_float("run.progress", self.progress, lo=0.0, hi=1.0))
        self._set("message", check_text("run.message", self.message))
        self._set("created_at", check_float("run.created_at", self.created_at))
        updated = self.created_at if self.updated_at is None else self.updated_at
        self._set("updated_at", check_float("run.updated_at", updated))
        self._set("archived", check_bool("run.archived", self.archived))
        if self.finished_at is not None:
            self._set("finished_at", check_float("run.finished_at", self.finished_at))

        self._set("tags", check_tags("run.tags", self.tags))
        self._set("notes", check_text("run.notes", self.notes, limit=NOTES_LIMIT))

    @property
    def active(self) -> bool:
        """Queued, training or searching: work for it may still be running."""
        return self.state in ACTIVE_RUN_STATES


@dataclass(frozen=True)
class SearchRecord(_Record):
    """One search of a run. `id` is unique across the store; `generation` is the last one done."""

    id: str
    run: str
    strategy: str
    settings: dict[str, Any] = field(default_factory=dict)
    state: str = "queued"
    generation: int = 0
    created_at: float = field(default_factory=now)
    updated_at: float | None = None

    def __post_init__(self) -> None:
        self._set("id", check_name("search.id", self.id, "search"))
        self._set("run", check_name("search.run", self.run, "run"))
        self._set("strategy", check_text("search.strategy", self.strategy, empty=False, limit=100))
        self._set("settings", check_json_dict("search.settings", self.settings))
        self._set("state", check_choice("search.state", self.state, SEARCH_STATES))
        self._set("generation", check_int("search.generation", self.generation))
        self._set("created_at", check_float("search.created_at", self.created_at))
        updated = self.created_at if self.updated_at is None else self.updated_at
        self._set("updated_at", check_float("search.updated_at", updated))


@dataclass(frozen=True)
class CandidateRecord(_Record):
    """One subnet evaluated in a search, with weights inherited from the run's supernet.

    `id` is the stable hash of `arch` (computed by the engine); `accuracy` is top-1 in [0, 1] on the
    validation split; `energy_uj` is the paper's Eq. 3 in microjoules; `sops` are synaptic
    operations; `firing_rate` is the mean rate and `firing_rates` / `layer_energy_uj` are per layer.
    `silent`: a block of the subnet never fires (all its layers at firing rate 0, so the residual
    stream bypasses it), as the engine judged it when the candidate was recorded
    (`engine.results.EvalResult.silent`); tables rank silent candidates last by default.
    """

    run: str
    search: str
    id: str
    arch: dict[str, Any]
    accuracy: float
    energy_uj: float
    params: int = 0
    sops: float = 0.0
    firing_rate: float = 0.0
    firing_rates: dict[str, float] = field(default_factory=dict)
    layer_energy_uj: dict[str, float] = field(default_factory=dict)
    generation: int = 0
    strategy: str = ""
    worker: str = ""
    created_at: float = field(default_factory=now)
    feasible: bool = True
    violation: str = ""
    macs: float | None = None
    neuron_updates: float | None = None
    layer_ops: dict[str, dict[str, float]] = field(default_factory=dict)
    energy_profile: str = DEFAULT_ENERGY_PROFILE
    silent: bool = False

    def __post_init__(self) -> None:
        self._set("run", check_name("candidate.run", self.run, "run"))
        self._set("search", check_name("candidate.search", self.search, "search"))
        self._set("id", check_name("candidate.id", self.id, "candidate id"))
        arch = check_json_dict("candidate.arch", self.arch)
        if not arch:
            raise BadRecord("candidate.arch must not be empty")
        self._set("arch", arch)
        self._set("accuracy", check_float("candidate.accuracy", self.accuracy, lo=0.0, hi=1.0))
        self._set("energy_uj", check_float("candidate.energy_uj", self.energy_uj, lo=0.0))
        self._set("params", check_int("candidate.params", self.params))
        self._set("sops", check_float("candidate.sops", self.sops, lo=0.0))
        self._set("firing_rate", check_float("candidate.firing_rate", self.firing_rate, lo=0.0))
        self._set("firing_rates", check_float_dict("candidate.firing_rates", self.firing_rates))
        self._set(
            "layer_energy_uj", check_float_dict("candidate.layer_energy_uj", self.layer_energy_uj)
        )
        self._set("generation", check_int("candidate.generation", self.generation))
        self._set("strategy", check_text("candidate.strategy", self.strategy, limit=100))
        self._set("worker", check_text("candidate.worker", self.worker, limit=200))
        self._set("created_at", check_float("candidate.created_at", self.created_at))
        self._set("feasible", check_bool("candidate.feasible", self.feasible))
        self._set("violation", check_violation("candidate.violation", self.violation))
        if self.feasible == bool(self.violation):
            raise BadRecord(
                "candidate.violation must name the constraint an infeasible candidate breaks, "
                "and only then"
            )
        for name in ("macs", "neuron_updates"):
            value = getattr(self, name)
            if value is not None:
                self._set(name, check_float(f"candidate.{name}", value, lo=0.0))
        self._set("layer_ops", check_layer_ops("candidate.layer_ops", self.layer_ops))
        self._set(
            "energy_profile",
            check_text("candidate.energy_profile", self.energy_profile, empty=False, limit=100),
        )
        self._set("silent", check_bool("candidate.silent", self.silent))

    @property
    def key(self) -> tuple[str, str]:
        """The store's identity for this record: (search, id)."""
        return (self.search, self.id)

    def priced_energy_uj(self, profile: Any) -> float | None:
        """Energy (uJ) under `profile` (anything with `name`, `pj_per_mac`, `pj_per_sop` and
        `pj_per_neuron_update`), or None when the stored counts cannot price it.

        Under the profile it was recorded with, the stored `energy_uj`; else
        (MACs x pJ/MAC + SOPs x pJ/SOP + neuron updates x pJ/update) x 1e-6, which needs the
        MACs, and the neuron updates unless the profile prices them at 0.
        """
        if profile.name == self.energy_profile:
            return self.energy_uj
        if self.macs is None or (self.neuron_updates is None and profile.pj_per_neuron_update != 0):
            return None
        updates = 0.0 if self.neuron_updates is None else self.neuron_updates
        return price_uj(self.macs, self.sops, updates, profile)

    def priced(self, profile: Any) -> CandidateRecord | None:
        """This record with `energy_uj` and `layer_energy_uj` under `profile` (None when it
        cannot be priced; see `priced_energy_uj`)."""
        energy = self.priced_energy_uj(profile)
        if energy is None:
            return None
        if profile.name == self.energy_profile:
            return self
        layers: dict[str, float] = {}
        prices = (profile.pj_per_mac, profile.pj_per_sop, profile.pj_per_neuron_update)
        for kind, price in zip(OP_KINDS, prices, strict=True):
            if kind == "neuron_updates" and not price:
                continue
            for layer, count in self.layer_ops.get(kind, {}).items():
                layers[layer] = layers.get(layer, 0.0) + count * price * PJ_TO_UJ
        return replace(self, energy_uj=energy, layer_energy_uj=layers, energy_profile=profile.name)

    @property
    def ops(self) -> dict[str, Any]:
        """The contract's `ops` object: MACs and neuron updates as whole numbers when they are
        (None when not recorded), SOPs as stored."""

        def whole(value: float | None) -> float | int | None:
            return int(value) if value is not None and float(value).is_integer() else value

        return {
            "macs": whole(self.macs),
            "sops": self.sops,
            "neuron_updates": whole(self.neuron_updates),
        }

    def to_contract(self, fitness: float) -> dict[str, Any]:
        """The public CANDIDATE object (see CONTRACT.md) with `fitness` = F_AEB."""
        return {
            "id": self.id,
            "arch": json.loads(dump_json(self.arch)),
            "accuracy": self.accuracy,
            "energy_uj": self.energy_uj,
            "params": self.params,
            "firing_rate": self.firing_rate,
            "fitness": float(fitness),
            "generation": self.generation,
            "feasible": self.feasible,
            "ops": self.ops,
            "silent": self.silent,
        }

    @classmethod
    def from_eval(
        cls,
        result: Mapping[str, Any],
        *,
        run: str,
        search: str,
        generation: int = 0,
        strategy: str = "",
        worker: str = "",
        created_at: float | None = None,
        violation: str = "",
    ) -> CandidateRecord:
        """Build from an evaluation result as a plain dict (e.g. `engine`'s `EvalResult.to_dict()`).

        `result` must hold `id`, `arch`, `accuracy`, `energy_uj` and may hold `params`, `sops`,
        `firing_rate`, `firing_rates`, `layer_energy_uj`, `macs`, `neuron_updates`, `layer_ops`,
        `energy_profile` and `silent`; other keys are ignored. `violation` names the search
        constraints the candidate breaks ("" when it is feasible).
        """
        keys = (
            "id",
            "arch",
            "accuracy",
            "energy_uj",
            "params",
            "sops",
            "firing_rate",
            "firing_rates",
            "layer_energy_uj",
            "macs",
            "neuron_updates",
            "layer_ops",
            "energy_profile",
            "silent",
        )
        missing = [k for k in keys[:4] if k not in result]
        if missing:
            raise BadRecord(f"evaluation result lacks {', '.join(missing)}")
        d: dict[str, Any] = {k: result[k] for k in keys if k in result}
        d.update(run=run, search=search, generation=generation, strategy=strategy, worker=worker)
        d.update(feasible=not violation, violation=violation)
        if created_at is not None:
            d["created_at"] = created_at
        return cls.from_dict(d)


@dataclass(frozen=True)
class GenerationRecord(_Record):
    """Summary of one generation of a search: Pareto hypervolume and the best candidate so far.

    `hypervolume_normalized` is the same front's normalized hypervolume (accuracy above chance x
    log10 energy, unitless, in [0, 1]); None for generations recorded before it was kept.
    `predictor_tau` is Kendall's tau, in [-1, 1], between the accuracy the search's predictor gave
    the generation's candidates before they were evaluated and the accuracy they measured; None
    when the generation was not screened (no predictor, generation 0, too few candidates to fit
    one) and for generations recorded before it was kept.
    """

    search: str
    generation: int
    hypervolume: float = 0.0
    best_id: str | None = None
    best_fitness: float | None = None
    evaluated: int = 0
    created_at: float = field(default_factory=now)
    hypervolume_normalized: float | None = None
    predictor_tau: float | None = None

    def __post_init__(self) -> None:
        self._set("search", check_name("generation.search", self.search, "search"))
        self._set("generation", check_int("generation.generation", self.generation))
        self._set("hypervolume", check_float("generation.hypervolume", self.hypervolume))
        if self.best_id is not None:
            self._set("best_id", check_name("generation.best_id", self.best_id, "candidate id"))
        if self.best_fitness is not None:
            self._set("best_fitness", check_float("generation.best_fitness", self.best_fitness))
        self._set("evaluated", check_int("generation.evaluated", self.evaluated))
        self._set("created_at", check_float("generation.created_at", self.created_at))
        if self.hypervolume_normalized is not None:
            value = check_float(
                "generation.hypervolume_normalized", self.hypervolume_normalized, lo=0.0, hi=1.0
            )
            self._set("hypervolume_normalized", value)
        if self.predictor_tau is not None:
            tau = check_float("generation.predictor_tau", self.predictor_tau, lo=-1.0, hi=1.0)
            self._set("predictor_tau", tau)

    @property
    def key(self) -> tuple[str, int]:
        return (self.search, self.generation)


@dataclass(frozen=True)
class ArtefactRecord(_Record):
    """A file written for a run: a `supernet` checkpoint or an exported `subnet`.

    `path` is relative to the home folder (POSIX, no '..'); a `subnet` names its `candidate_id`,
    a `supernet` has none.
    """

    run: str
    kind: str
    path: str
    candidate_id: str | None = None
    created_at: float = field(default_factory=now)

    def __post_init__(self) -> None:
        self._set("run", check_name("artefact.run", self.run, "run"))
        self._set("kind", check_choice("artefact.kind", self.kind, ARTEFACT_KINDS))
        self._set("path", check_relative_path("artefact.path", self.path))
        if self.kind == "subnet" and self.candidate_id is None:
            raise BadRecord("artefact.candidate_id is required for a subnet")
        if self.kind == "supernet" and self.candidate_id is not None:
            raise BadRecord("artefact.candidate_id must be empty for a supernet")
        if self.candidate_id is not None:
            cid = check_name("artefact.candidate_id", self.candidate_id, "candidate id")
            self._set("candidate_id", cid)
        self._set("created_at", check_float("artefact.created_at", self.created_at))

    @property
    def key(self) -> tuple[str, str]:
        return (self.run, self.path)


@dataclass(frozen=True)
class EpochRecord(_Record):
    """One epoch of a run's training: the mean training loss, the validation accuracy of the
    space's largest and smallest subnet after BN recalibration (None when not measured), and the
    epoch's wall time in seconds. `epoch` counts from 1."""

    run: str
    epoch: int
    loss: float
    val_accuracy_largest: float | None = None
    val_accuracy_smallest: float | None = None
    seconds: float = 0.0
    worker: str = ""
    created_at: float = field(default_factory=now)

    def __post_init__(self) -> None:
        self._set("run", check_name("epoch.run", self.run, "run"))
        self._set("epoch", check_int("epoch.epoch", self.epoch, lo=1))
        self._set("loss", check_float("epoch.loss", self.loss))
        for name in ("val_accuracy_largest", "val_accuracy_smallest"):
            value = getattr(self, name)
            if value is not None:
                self._set(name, check_float(f"epoch.{name}", value, lo=0.0, hi=1.0))
        self._set("seconds", check_float("epoch.seconds", self.seconds, lo=0.0))
        self._set("worker", check_text("epoch.worker", self.worker, limit=200))
        self._set("created_at", check_float("epoch.created_at", self.created_at))

    @property
    def key(self) -> tuple[str, int]:
        return (self.run, self.epoch)


@dataclass(frozen=True)
class EventRecord(_Record):
    """One line of a run's log: what happened (`kind`, one of `EVENT_KINDS`), a one-line
    `message`, and the worker it happened on. `id` is chosen by the sender (e.g. the task's
    delivery and what happened), so a resent event is stored once."""

    run: str
    id: str
    kind: str
    message: str
    worker: str = ""
    created_at: float = field(default_factory=now)

    def __post_init__(self) -> None:
        self._set("run", check_name("event.run", self.run, "run"))
        self._set("id", check_text("event.id", self.id, empty=False, limit=200))
        self._set("kind", check_choice("event.kind", self.kind, EVENT_KINDS))
        self._set("message", one_line(check_text("event.message", self.message), 500))
        self._set("worker", check_text("event.worker", self.worker, limit=200))
        self._set("created_at", check_float("event.created_at", self.created_at))

    @property
    def key(self) -> tuple[str, str]:
        return (self.run, self.id)


# What a progress record measures (see `ProgressRecord`).
PROGRESS_STAGES: tuple[str, ...] = ("training", "search")


@dataclass(frozen=True)
class ProgressRecord(_Record):
    """A point of work in flight, sent by the worker doing it at a throttled rate (every few
    seconds, not every batch): how far it got and how long that took, for the run's ETA, its
    per-step training loss and what its workers are doing now.

    stage "training": batch `done` of the `total` batches of epoch `unit` (counted from 1, as
    `EpochRecord.epoch`); `loss` is the mean training loss of the batches since the epoch's
    previous record; `seconds` the time since the epoch's first batch began.
    stage "search": `done` of the `total` archs of slice `part` of generation `unit` (counted from
    0, as `GenerationRecord.generation`) of search `search` evaluated; `seconds` the time since the
    slice's evaluation began; no `loss`.
    Keyed by (run, stage, search, unit, part, done), so a resent record is stored once.
    """

    run: str
    stage: str
    unit: int
    done: int
    total: int
    seconds: float
    loss: float | None = None
    search: str = ""
    part: int = 0
    worker: str = ""
    created_at: float = field(default_factory=now)

    def __post_init__(self) -> None:
        self._set("run", check_name("progress.run", self.run, "run"))
        self._set("stage", check_choice("progress.stage", self.stage, PROGRESS_STAGES))
        self._set("unit", check_int("progress.unit", self.unit))
        self._set("total", check_int("progress.total", self.total, lo=1))
        self._set("done", check_int("progress.done", self.done))
        if self.done > self.total:
            raise BadRecord(f"progress.done must be <= total ({self.total}), got {self.done}")
        self._set("seconds", check_float("progress.seconds", self.seconds, lo=0.0))
        if self.loss is not None:
            self._set("loss", check_float("progress.loss", self.loss))
        self._set("search", check_text("progress.search", self.search, limit=200))
        self._set("part", check_int("progress.part", self.part))
        self._set("worker", check_text("progress.worker", self.worker, limit=200))
        self._set("created_at", check_float("progress.created_at", self.created_at))
        if self.stage == "training" and (self.unit < 1 or self.search or self.part):
            raise BadRecord("a training progress record names an epoch >= 1 and no search/slice")
        if self.stage == "search" and (not self.search or self.loss is not None):
            raise BadRecord("a search progress record names its search and has no loss")

    @property
    def key(self) -> tuple[str, str, str, int, int, int]:
        return (self.run, self.stage, self.search, self.unit, self.part, self.done)


def price_uj(macs: float, sops: float, neuron_updates: float, profile: Any) -> float:
    """(MACs x pJ/MAC + SOPs x pJ/SOP + neuron updates x pJ/update) x 1e-6: the contract's
    energy of stored operation counts under a profile (same arithmetic as `engine.profiles`)."""
    return (
        macs * profile.pj_per_mac
        + sops * profile.pj_per_sop
        + neuron_updates * profile.pj_per_neuron_update
    ) * PJ_TO_UJ


LEADERBOARD_ID_CHARS = 12


def new_leaderboard_id() -> str:
    """A fresh, unguessable leaderboard id (12 hex digits)."""
    import secrets

    return secrets.token_hex(LEADERBOARD_ID_CHARS // 2)


@dataclass(frozen=True)
class LeaderboardRecord(_Record):
    """A shared leaderboard, frozen: the top `top` candidates of a run (or of one of its
    searches) ranked by F_AEB at `alpha` under the energy profile `energy_profile`, stored as the
    contract's CANDIDATE objects as they were when it was shared. `author` is the signed-in user
    who shared it ("" in single-user mode or from the command line). Its title and notes may be
    edited later (`Store.edit_leaderboard`), never its rows; `edited_at` is the last edit's time
    (None while never edited)."""

    id: str
    run: str
    alpha: float
    top: int
    candidates: list[dict[str, Any]]
    search: str | None = None
    energy_profile: str = DEFAULT_ENERGY_PROFILE
    title: str = ""
    notes: str = ""
    author: str = ""
    created_at: float = field(default_factory=now)
    edited_at: float | None = None

    def __post_init__(self) -> None:
        self._set("id", check_name("leaderboard.id", self.id, "leaderboard id"))
        self._set("run", check_name("leaderboard.run", self.run, "run"))
        if self.search is not None:
            self._set("search", check_name("leaderboard.search", self.search, "search"))
        self._set("alpha", check_float("leaderboard.alpha", self.alpha, lo=0.0, hi=1.0))
        self._set("top", check_int("leaderboard.top", self.top, lo=1))
        if not isinstance(self.candidates, (list, tuple)):
            raise BadRecord(
                f"leaderboard.candidates must be a list, got {type(self.candidates).__name__}"
            )
        rows = [
            check_json_dict(f"leaderboard.candidates[{i}]", r)
            for i, r in enumerate(self.candidates)
        ]
        if any("id" not in r for r in rows):
            raise BadRecord("leaderboard.candidates must each have an id")
        if len(rows) > self.top:
            raise BadRecord(f"leaderboard holds {len(rows)} candidates, more than top={self.top}")
        self._set("candidates", rows)
        self._set(
            "energy_profile",
            check_text("leaderboard.energy_profile", self.energy_profile, empty=False, limit=100),
        )
        self._set("title", one_line(check_text("leaderboard.title", self.title, limit=200)))
        self._set("notes", check_text("leaderboard.notes", self.notes, limit=5000))
        self._set("author", check_text("leaderboard.author", self.author, limit=200))
        self._set("created_at", check_float("leaderboard.created_at", self.created_at))
        if self.edited_at is not None:
            self._set("edited_at", check_float("leaderboard.edited_at", self.edited_at))

    def to_contract(self) -> dict[str, Any]:
        """The contract's `leaderboard --json` object (plus scope, top, notes, author, time)."""
        return {
            "id": self.id,
            "title": self.title,
            "run": self.run,
            "alpha": self.alpha,
            "energy_profile": self.energy_profile,
            # Rows frozen before `silent` was recorded whose run was gone when the store was
            # upgraded (`storage.duckdb_schema`) say null: not known.
            "candidates": [{**r, "silent": r.get("silent")} for r in self.to_dict()["candidates"]],
            "search": self.search,
            "top": self.top,
            "notes": self.notes,
            "author": self.author,
            "created_at": self.created_at,
            "edited_at": self.edited_at,
        }


# ---- held-out evaluation (added with "Evaluate on test") -----------------------------------------
@dataclass(frozen=True)
class TestResultRecord(_Record):
    """A candidate's standalone subnet measured on the dataset's TEST split, on request, after the
    search. Never a search's fitness (searches only ever see the validation split).

    `artefact` is the exported subnet file that was evaluated (relative to the artefact folder),
    `samples` the number of test images, `search` the search whose evaluation settings (seed,
    recalibration batches) the export reproduced. Keyed by (run, candidate_id): the first result
    is kept, since a standalone subnet evaluates the same every time.
    """

    __test__ = False  # not a pytest test class, whatever its name

    run: str
    candidate_id: str
    search: str
    accuracy: float
    energy_uj: float
    samples: int
    artefact: str
    sops: float = 0.0
    firing_rate: float = 0.0
    params: int = 0
    split: str = "test"
    worker: str = ""
    created_at: float = field(default_factory=now)

    def __post_init__(self) -> None:
        self._set("run", check_name("test_result.run", self.run, "run"))
        cid = check_name("test_result.candidate_id", self.candidate_id, "candidate id")
        self._set("candidate_id", cid)
        self._set("search", check_name("test_result.search", self.search, "search"))
        self._set("accuracy", check_float("test_result.accuracy", self.accuracy, lo=0.0, hi=1.0))
        self._set("energy_uj", check_float("test_result.energy_uj", self.energy_uj, lo=0.0))
        self._set("samples", check_int("test_result.samples", self.samples, lo=1))
        self._set("artefact", check_relative_path("test_result.artefact", self.artefact))
        self._set("sops", check_float("test_result.sops", self.sops, lo=0.0))
        self._set("firing_rate", check_float("test_result.firing_rate", self.firing_rate, lo=0.0))
        self._set("params", check_int("test_result.params", self.params))
        self._set("split", check_choice("test_result.split", self.split, ("test",)))
        self._set("worker", check_text("test_result.worker", self.worker, limit=200))
        self._set("created_at", check_float("test_result.created_at", self.created_at))

    @property
    def key(self) -> tuple[str, str]:
        return (self.run, self.candidate_id)
