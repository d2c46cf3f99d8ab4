"""The search space (paper Table 1) and its architectures.

An `Arch` is one subnet: the transformer genes (embed dim, depth, per-block MLP ratio and head
count) and the SNN genes (time steps T, per-block LIF threshold and tau). A `SearchSpace` holds the
choices for every gene; a gene with a single choice is fixed, so the same class describes the
joint space, the transformer-only space and the SNN-only (DSPS) space.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from engine import limits
from engine.errors import SpaceError

PRESET_DIR = Path(__file__).parent / "presets"

# Gene name in the YAML file -> whether it is drawn per block.
GENES: dict[str, bool] = {
    "embed_dim": False,
    "depth": False,
    "mlp_ratio": True,
    "num_heads": True,
    "time_steps": False,
    "threshold": True,
    "tau": True,
}
# Arch field -> gene, whose range (`engine.limits.GENES`) every value of the field keeps.
ARCH_GENES: dict[str, str] = {
    "embed_dim": "embed_dim",
    "depth": "depth",
    "mlp_ratios": "mlp_ratio",
    "num_heads": "num_heads",
    "time_steps": "time_steps",
    "thresholds": "threshold",
    "taus": "tau",
}
# Spikformer's own LIF settings; `largest()` / `smallest()` use the choice nearest to them.
DEFAULT_THRESHOLD = 1.0
DEFAULT_TAU = 2.0


def _num(x: float) -> float | int:
    """Canonical number for hashing/JSON: 4.0 -> 4, 3.5 -> 3.5."""
    f = float(x)
    return int(f) if f.is_integer() else f


def _pick(choices: tuple, rng: np.random.Generator) -> Any:
    """One of `choices`, uniformly."""
    return choices[int(rng.integers(len(choices)))]


def _what(value: Any) -> str:
    """A short description of a YAML value for an error message: `a list`, `3`, `'abc'`."""
    if value is None:
        return "an empty document"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def yaml_problem(err: Exception) -> str:
    """What is wrong with a YAML text and where, on one line: `malformed YAML at line 2,
    column 7: mapping values are not allowed here`."""
    if isinstance(err, yaml.reader.ReaderError):
        return f"not a text file ({err.reason} at byte {err.position})"
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = " ".join(str(getattr(err, "problem", "") or "").split())
    context = " ".join(str(getattr(err, "context", "") or "").split())
    started = getattr(err, "context_mark", None)
    if context and started is not None:
        context += f" that starts at line {started.line + 1}"
    detail = problem + (f" ({context})" if context and problem else context)
    return f"malformed YAML{where}" + (f": {detail}" if detail else "")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice is an error (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str | bytes) -> Any:
    """`yaml.safe_load`, refusing a key given twice in a mapping."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True)
class Arch:
    """One subnet of the supernet. Per-block tuples have length `depth`."""

    embed_dim: int
    depth: int
    mlp_ratios: tuple[float, ...]
    num_heads: tuple[int, ...]
    time_steps: int
    thresholds: tuple[float, ...]
    taus: tuple[float, ...]

    def __post_init__(self) -> None:
        for name in ("mlp_ratios", "num_heads", "thresholds", "taus"):
            value = getattr(self, name)
            if len(value) != self.depth:
                raise SpaceError(
                    f"arch.{name}: expected {self.depth} values (depth), got {len(value)}"
                )
        if self.embed_dim <= 0 or self.depth <= 0 or self.time_steps <= 0:
            raise SpaceError("arch: embed_dim, depth and time_steps must be positive")
        for h in self.num_heads:
            if h <= 0 or self.embed_dim % h:
                raise SpaceError(f"arch.num_heads: {h} does not divide embed_dim {self.embed_dim}")
        for r in self.mlp_ratios:
            if r <= 0 or not float(r * self.embed_dim).is_integer():
                raise SpaceError(f"arch.mlp_ratios: {r} x {self.embed_dim} is not a whole width")
        for t in self.thresholds:
            if not (math.isfinite(t) and t > 0):
                raise SpaceError(f"arch.thresholds: {t} is not a positive number")
        for t in self.taus:
            if not (math.isfinite(t) and t > 1):
                raise SpaceError(f"arch.taus: {t} must be a number > 1")

    def mlp_hidden(self, block: int) -> int:
        return int(self.mlp_ratios[block] * self.embed_dim)

    def to_dict(self) -> dict[str, Any]:
        return {
            "embed_dim": self.embed_dim,
            "depth": self.depth,
            "mlp_ratios": [_num(r) for r in self.mlp_ratios],
            "num_heads": list(self.num_heads),
            "time_steps": self.time_steps,
            "thresholds": [_num(t) for t in self.thresholds],
            "taus": [_num(t) for t in self.taus],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Arch:
        keys = {"embed_dim", "depth", "mlp_ratios", "num_heads", "time_steps", "thresholds", "taus"}
        if not isinstance(d, dict):
            raise SpaceError("arch: expected a JSON object")
        missing, unknown = keys - d.keys(), d.keys() - keys
        if missing:
            raise SpaceError(f"arch: missing field(s) {sorted(missing)}")
        if unknown:
            raise SpaceError(f"arch: unknown field(s) {sorted(unknown)}")
        try:
            depth = limits.GENES["depth"].check("arch.depth", int(d["depth"]), SpaceError)
            arch = cls(
                embed_dim=int(d["embed_dim"]),
                depth=int(depth),
                mlp_ratios=tuple(float(x) for x in d["mlp_ratios"]),
                num_heads=tuple(int(x) for x in d["num_heads"]),
                time_steps=int(d["time_steps"]),
                thresholds=tuple(float(x) for x in d["thresholds"]),
                taus=tuple(float(x) for x in d["taus"]),
            )
        except SpaceError:
            raise
        except (TypeError, ValueError, OverflowError) as e:
            raise SpaceError(f"arch: bad value ({e})") from None
        for field_name, gene in ARCH_GENES.items():
            value = getattr(arch, field_name)
            for v in value if isinstance(value, tuple) else (value,):
                limits.GENES[gene].check(f"arch.{field_name}", v, SpaceError)
        return arch

    @cached_property  # an arch is frozen; a search asks for its id ~8 times per candidate
    def id(self) -> str:
        """Stable hash of the architecture: the same arch has the same id in every run."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SearchSpace:
    """Choices for each gene. Per-block genes are drawn independently for every block."""

    embed_dim: tuple[int, ...]
    depth: tuple[int, ...]
    mlp_ratio: tuple[float, ...]
    num_heads: tuple[int, ...]
    time_steps: tuple[int, ...]
    threshold: tuple[float, ...]
    tau: tuple[float, ...]
    name: str = field(default="custom", compare=False)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Any, name: str = "custom") -> SearchSpace:
        if not isinstance(d, dict):
            raise SpaceError(
                f"search space: expected a mapping of gene -> list of choices, got {_what(d)}"
            )
        unknown = set(d) - set(GENES)
        if unknown:
            raise SpaceError(
                f"search space: unknown key(s) {sorted(unknown)}; known: {list(GENES)}"
            )
        missing = set(GENES) - set(d)
        if missing:
            raise SpaceError(f"search space: missing key(s) {sorted(missing)}")
        kinds = {"embed_dim": int, "depth": int, "num_heads": int, "time_steps": int}
        values: dict[str, tuple] = {}
        for gene in GENES:
            raw = d[gene]
            if not isinstance(raw, list) or not raw:
                hint = f" (write [{raw}])" if isinstance(raw, (int, float)) else ""
                raise SpaceError(
                    f"search space: {gene} must be a non-empty list of choices, got "
                    f"{_what(raw)}{hint}"
                )
            limits.check_choice_count(gene, len(raw), SpaceError, "search space: ")
            kind = kinds.get(gene, float)
            try:
                parsed = []
                for x in raw:
                    if isinstance(x, bool) or not isinstance(x, (int, float)):
                        raise ValueError(repr(x))
                    if kind is int and not float(x).is_integer():
                        raise ValueError(repr(x))
                    parsed.append(kind(x))
            except ValueError as e:
                raise SpaceError(
                    f"search space: {gene} has a non-{kind.__name__} choice {e}"
                ) from None
            ordered = sorted(parsed)  # O(n log n): the smallest value listed twice is adjacent
            twice = next((a for a, b in zip(ordered, ordered[1:], strict=False) if a == b), None)
            if twice is not None:
                raise SpaceError(f"search space: {gene} lists {_num(twice)} twice")
            limits.check_choices(gene, ordered, SpaceError, "search space: ")
            values[gene] = tuple(ordered)
        space = cls(**values, name=name)
        space._check()
        return space

    @classmethod
    def from_file(cls, path: str | Path) -> SearchSpace:
        path = Path(path)
        if not path.is_file():
            raise SpaceError(f"search space file not found: {path}")
        limits.check_space_file_size(
            f"search space file {path.name}", path.stat().st_size, SpaceError
        )
        try:
            data = load_yaml(path.read_text())
        except yaml.YAMLError as e:
            raise SpaceError(f"search space file {path.name}: {yaml_problem(e)}") from None
        return cls.from_dict(data, name=path.stem)

    @classmethod
    def preset(cls, name: str) -> SearchSpace:
        path = PRESET_DIR / f"{name}.yaml"
        if not path.is_file():
            raise SpaceError(f"unknown space preset {name!r}; presets: {cls.presets()}")
        return cls.from_file(path)

    @staticmethod
    def presets() -> list[str]:
        return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))

    @classmethod
    def resolve(cls, space: str) -> SearchSpace:
        """A preset name or a YAML path, as the CLI's `--space` takes it."""
        if space.endswith((".yaml", ".yml")) or Path(space).is_file():
            return cls.from_file(space)
        return cls.preset(space)

    def _check(self) -> None:
        """The rules between genes (each choice's own range is `engine.limits`')."""
        for d in self.embed_dim:
            for h in self.num_heads:
                if d % h:
                    raise SpaceError(f"search space: num_heads {h} does not divide embed_dim {d}")
            if d % 8:
                raise SpaceError(
                    f"search space: embed_dim {d} must be a multiple of 8 (SPS uses D/8)"
                )
            for r in self.mlp_ratio:
                if not float(r * d).is_integer():
                    raise SpaceError(f"search space: mlp_ratio {r} x embed_dim {d} is not whole")

    def to_dict(self) -> dict[str, list]:
        return {g: [_num(x) for x in getattr(self, g)] for g in GENES}

    # ---- queries ------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of distinct architectures in the space."""
        per_block = len(self.mlp_ratio) * len(self.num_heads) * len(self.threshold) * len(self.tau)
        return len(self.embed_dim) * len(self.time_steps) * sum(per_block**d for d in self.depth)

    @property
    def fixed_genes(self) -> list[str]:
        return [g for g in GENES if len(getattr(self, g)) == 1]

    @property
    def mode(self) -> str:
        """'snn' (DSPS only), 'transformer' or 'joint', from which genes have choices."""
        transformer = any(
            len(getattr(self, g)) > 1 for g in ("embed_dim", "depth", "mlp_ratio", "num_heads")
        )
        snn = any(len(getattr(self, g)) > 1 for g in ("time_steps", "threshold", "tau"))
        return "joint" if transformer and snn else "transformer" if transformer else "snn"

    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly drawn arch; per-block genes are drawn for every block."""
        depth = int(rng.choice(self.depth))

        def pick(choices: tuple) -> Any:
            return _pick(choices, rng)

        return Arch(
            embed_dim=pick(self.embed_dim),
            depth=depth,
            mlp_ratios=tuple(pick(self.mlp_ratio) for _ in range(depth)),
            num_heads=tuple(pick(self.num_heads) for _ in range(depth)),
            time_steps=pick(self.time_steps),
            thresholds=tuple(pick(self.threshold) for _ in range(depth)),
            taus=tuple(pick(self.tau) for _ in range(depth)),
        )

    def _snn_default(self, choices: tuple[float, ...], default: float) -> float:
        return min(choices, key=lambda c: (abs(c - default), c))

    def _extreme(self, pick, threshold: float | None = None, tau: float | None = None) -> Arch:
        """`pick` (min or max) of every transformer gene and T, the same in every block; the
        threshold and tau given, else the choices nearest Spikformer's (1.0, 2.0)."""
        depth = pick(self.depth)
        th = (
            self._snn_default(self.threshold, DEFAULT_THRESHOLD) if threshold is None else threshold
        )
        tau = self._snn_default(self.tau, DEFAULT_TAU) if tau is None else tau
        return Arch(
            embed_dim=pick(self.embed_dim),
            depth=depth,
            mlp_ratios=(pick(self.mlp_ratio),) * depth,
            num_heads=(pick(self.num_heads),) * depth,
            time_steps=pick(self.time_steps),
            thresholds=(th,) * depth,
            taus=(tau,) * depth,
        )

    def largest(self) -> Arch:
        """Largest transformer genes and T; SNN genes nearest Spikformer's (1.0, 2.0)."""
        return self._extreme(max)

    def smallest(self) -> Arch:
        """Smallest transformer genes and T; SNN genes nearest Spikformer's (1.0, 2.0)."""
        return self._extreme(min)

    def with_sampled_snn(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """`arch`'s transformer genes with its SNN genes (T, every block's threshold and tau)
        drawn uniformly, in the order `sample` draws them."""
        return replace(
            arch,
            time_steps=_pick(self.time_steps, rng),
            thresholds=tuple(_pick(self.threshold, rng) for _ in range(arch.depth)),
            taus=tuple(_pick(self.tau, rng) for _ in range(arch.depth)),
        )

    def cheapest(self) -> Arch:
        """The low-energy end of the space: smallest transformer genes and T, and in every block
        the highest threshold and the largest tau. With the LIF of `engine.spikformer`
        (H = V + (X - V) / tau, spike when H >= threshold) both delay a neuron's spikes, so this
        arch fires least; `largest()` is the other end, the most capable arch."""
        return self._extreme(min, threshold=max(self.threshold), tau=max(self.tau))

    def anchors(self) -> tuple[Arch, ...]:
        """The two ends of the space's front, most capable first: `largest()`, `cheapest()`
        (one arch when they coincide)."""
        big, cheap = self.largest(), self.cheapest()
        return (big,) if big.id == cheap.id else (big, cheap)

    def validate(self, arch: Arch) -> Arch:
        """Raise `SpaceError` naming the first gene of `arch` outside this space."""
        checks = [
            ("embed_dim", [arch.embed_dim], self.embed_dim),
            ("depth", [arch.depth], self.depth),
            ("mlp_ratios", arch.mlp_ratios, self.mlp_ratio),
            ("num_heads", arch.num_heads, self.num_heads),
            ("time_steps", [arch.time_steps], self.time_steps),
            ("thresholds", arch.thresholds, self.threshold),
            ("taus", arch.taus, self.tau),
        ]
        for name, values, choices in checks:
            for v in values:
                if not any(math.isclose(v, c) for c in choices):
                    raise SpaceError(
                        f"arch.{name}: {_num(v)} is not in the space's choices {list(choices)}"
                    )
        return arch
