"""Gene importance (app/common/importance.py): a random forest's out-of-bag permutation
importance finds the genes an objective depends on, says how well it fits, and is seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.common.importance import MIN_ROWS, gene_importance, importance

GENES = ("embed_dim", "depth", "T", "mlp_ratio", "num_heads", "threshold", "tau")


def synthetic(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Genes drawn at random; accuracy depends on depth only, energy on embed dim x T only."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "embed_dim": rng.choice([16.0, 32.0, 64.0], n),
            "depth": rng.choice([1.0, 2.0, 3.0, 4.0], n),
            "T": rng.choice([1.0, 2.0, 4.0], n),
            "mlp_ratio": rng.uniform(2, 4, n),
            "num_heads": rng.choice([1.0, 2.0], n),
            "threshold": rng.uniform(0.5, 1.5, n),
            "tau": rng.uniform(1.5, 2.5, n),
        }
    )
    frame["accuracy"] = 0.5 + 0.1 * frame["depth"] + rng.normal(0, 0.01, n)
    frame["energy_uj"] = 0.001 * frame["embed_dim"] * frame["T"] * rng.lognormal(0, 0.05, n)
    return frame


@pytest.fixture(scope="module")
def ranked() -> dict:
    return gene_importance(synthetic(), GENES, trees=60)


def test_accuracy_that_depends_only_on_depth_ranks_depth_first(ranked: dict) -> None:
    table = ranked["accuracy"].frame()
    assert table["gene"].iloc[0] == "depth"
    assert table["share"].iloc[0] > 0.8
    assert ranked["accuracy"].oob_r2 > 0.9  # the forest explains it: the ranking can be trusted


def test_energy_ranks_embed_dim_and_t_first(ranked: dict) -> None:
    table = ranked["energy"].frame()
    assert set(table["gene"].iloc[:2]) == {"embed_dim", "T"}
    assert table["drop"].iloc[2] < 0.05 < table["drop"].iloc[1]
    assert "log10" in ranked["energy"].method and "out-of-bag" in ranked["energy"].method


def test_a_target_of_pure_noise_has_a_low_out_of_bag_r2_and_no_important_gene() -> None:
    frame = synthetic()
    noise = np.random.default_rng(5).normal(size=len(frame))
    result = importance(frame[list(GENES)], noise, objective="accuracy", trees=60)
    assert result.oob_r2 < 0.15
    assert max(result.drop) < 0.1


def test_seeded_and_the_same_twice() -> None:
    frame = synthetic(120)
    first = importance(frame[list(GENES)], frame["accuracy"], objective="accuracy", trees=20)
    again = importance(frame[list(GENES)], frame["accuracy"], objective="accuracy", trees=20)
    assert first == again
    other = importance(
        frame[list(GENES)], frame["accuracy"], objective="accuracy", trees=20, seed=1
    )
    assert other != first


def test_too_few_candidates_or_no_gene_is_one_line() -> None:
    frame = synthetic(MIN_ROWS - 1)
    with pytest.raises(ValueError, match="too few") as err:
        importance(frame[list(GENES)], frame["accuracy"], objective="accuracy")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="fixed"):
        importance(frame[[]], frame["accuracy"], objective="accuracy")
