"""Which genes drive accuracy and which drive energy: permutation importance from a random forest
fitted on a run's evaluated candidates (Optuna Dashboard's hyperparameter importance, done the
way Breiman measured it, on out-of-bag candidates).

A `RandomForestRegressor` (seeded) learns the objective (accuracy, or log10 of energy) from the
genes of `app.common.genes.gene_frame`. A gene's importance is how much the forest's out-of-bag
R² drops when that gene's values are shuffled among the candidates each tree did not see:
the share of the objective's variance the forest can explain through that gene and no other.
The out-of-bag R² itself says how far to trust it: near 0, the genes explain little (or the
forest has too few candidates to learn from). Genes the space fixes are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

METHOD = (
    "Permutation importance: the drop in a random forest's out-of-bag R² when one gene's "
    "values are shuffled (scikit-learn RandomForestRegressor, {trees} trees, seed {seed}; "
    "energy as log10)."
)
TREES = 100
REPEATS = 3  # shuffles per gene and tree; the spread over them is reported
MAX_ROWS = 2000  # candidates the forest learns from at most (a seeded sample beyond)
MIN_ROWS = 12  # fewer candidates than this: no forest


@dataclass(frozen=True)
class Importance:
    """Importance of each gene for one objective. `drop[i]` is the mean drop in out-of-bag R²
    when `genes[i]` is shuffled, `spread[i]` its standard deviation over `REPEATS` shuffles;
    `oob_r2` the forest's own out-of-bag R²; `rows` the candidates it learned from."""

    objective: str
    genes: tuple[str, ...]
    drop: tuple[float, ...]
    spread: tuple[float, ...]
    oob_r2: float
    rows: int
    method: str

    def frame(self) -> pd.DataFrame:
        """`gene`, `drop`, `spread`, `share` (of the summed positive drops), most important
        first."""
        out = pd.DataFrame({"gene": self.genes, "drop": self.drop, "spread": self.spread})
        total = out["drop"].clip(lower=0).sum()
        out["share"] = out["drop"].clip(lower=0) / total if total > 0 else 0.0
        return out.sort_values(["drop", "gene"], ascending=[False, True]).reset_index(drop=True)


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0.0:
        return 0.0
    return 1.0 - float(((y - pred) ** 2).sum()) / total


def importance(
    features: pd.DataFrame,
    target: Sequence[float] | np.ndarray,
    *,
    objective: str,
    seed: int = 0,
    trees: int = TREES,
    repeats: int = REPEATS,
    max_rows: int = MAX_ROWS,
) -> Importance:
    """Permutation importance of every column of `features` (numbers; NaN read as -1, "absent")
    for `target`. Raises `ValueError` (one line) for fewer than `MIN_ROWS` rows or no feature."""
    from sklearn.ensemble import RandomForestRegressor

    y_all = np.asarray(target, dtype=float)
    if len(features) != len(y_all):
        raise ValueError(f"{len(features)} rows of genes but {len(y_all)} values of {objective}")
    if features.shape[1] == 0:
        raise ValueError("every gene is fixed in this space: nothing to rank")
    if len(y_all) < MIN_ROWS:
        raise ValueError(
            f"{len(y_all)} candidates are too few to fit a forest (at least {MIN_ROWS})"
        )
    rng = np.random.default_rng(seed)
    rows = np.arange(len(y_all))
    if len(rows) > max_rows:
        rows = np.sort(rng.choice(len(rows), size=max_rows, replace=False))
    x = features.to_numpy(dtype=np.float32)[rows]
    x = np.where(np.isnan(x), np.float32(-1.0), x)
    y = y_all[rows]
    forest = RandomForestRegressor(
        n_estimators=trees, min_samples_leaf=2, oob_score=True, random_state=seed, n_jobs=1
    ).fit(x, y)
    n, p = x.shape
    base = np.zeros(n)
    shuffled = np.zeros((repeats, p, n))
    seen = np.zeros(n)
    for tree, sampled in zip(forest.estimators_, forest.estimators_samples_, strict=True):
        oob = np.setdiff1d(np.arange(n), sampled)
        if len(oob) < 2:
            continue
        part = x[oob]
        # Every shuffle of every gene stacked, so each tree predicts once: (repeats x p x oob, p).
        moved = np.repeat(part[None], repeats * p, axis=0)
        for r in range(repeats):
            for j in range(p):
                moved[r * p + j, :, j] = part[rng.permutation(len(oob)), j]
        predicted = tree.predict(moved.reshape(-1, p), check_input=False)
        shuffled[:, :, oob] += predicted.reshape(repeats, p, len(oob))
        base[oob] += tree.predict(part, check_input=False)
        seen[oob] += 1
    used = seen > 0
    base_r2 = _r2(y[used], base[used] / seen[used])
    drops = np.array(
        [
            [base_r2 - _r2(y[used], shuffled[r, j, used] / seen[used]) for j in range(p)]
            for r in range(repeats)
        ]
    )
    return Importance(
        objective=objective,
        genes=tuple(features.columns),
        drop=tuple(float(v) for v in drops.mean(axis=0)),
        spread=tuple(float(v) for v in drops.std(axis=0)),
        oob_r2=float(forest.oob_score_),
        rows=n,
        method=METHOD.format(trees=trees, seed=seed),
    )


def gene_importance(
    frame: pd.DataFrame, genes: Sequence[str], *, seed: int = 0, trees: int = TREES
) -> dict[str, Importance]:
    """Importance of `genes` (columns of `app.common.genes.gene_frame`) for `accuracy` and for
    `energy` (log10 of `energy_uj`)."""
    features = frame[list(genes)]
    energy = np.log10(frame["energy_uj"].clip(lower=1e-12).to_numpy(dtype=float))
    return {
        "accuracy": importance(
            features,
            frame["accuracy"].to_numpy(dtype=float),
            objective="accuracy",
            seed=seed,
            trees=trees,
        ),
        "energy": importance(features, energy, objective="energy", seed=seed, trees=trees),
    }
