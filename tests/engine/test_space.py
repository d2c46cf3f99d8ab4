"""Search space and Arch: presets, sampling, extremes, ids, validation of bad files."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import SpaceError
from engine.space import Arch, SearchSpace

PRESETS = ["digits-tiny", "cifar-small", "cifar-large", "cifar-snn"]


@pytest.mark.parametrize("name", PRESETS)
def test_presets_sample_valid_archs(name: str) -> None:
    space = SearchSpace.preset(name)
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = space.sample(rng)
        assert space.validate(arch) is arch
        assert len(arch.mlp_ratios) == len(arch.thresholds) == arch.depth
    assert space.validate(space.largest()) and space.validate(space.smallest())


def test_presets_follow_the_authors_configs() -> None:
    small = SearchSpace.preset("cifar-small")
    assert small.mlp_ratio == (3, 3.5, 4) and small.num_heads == (6, 12)
    assert small.depth == (2, 3, 4) and small.embed_dim == (192, 240, 336, 384)
    assert small.time_steps == (1, 2, 3, 4) and small.tau == (1.25, 2, 2.5, 10)
    assert small.threshold == tuple(round(0.6 + 0.2 * i, 1) for i in range(8))
    assert SearchSpace.preset("cifar-large").depth == (4, 5, 6, 7, 8)
    snn = SearchSpace.preset("cifar-snn")
    assert snn.mode == "snn" and snn.largest().embed_dim == 384 and snn.largest().depth == 4
    assert small.mode == "joint"


def test_largest_and_smallest() -> None:
    space = SearchSpace.preset("cifar-small")
    big, small = space.largest(), space.smallest()
    assert (big.embed_dim, big.depth, big.time_steps) == (384, 4, 4)
    assert big.mlp_ratios == (4.0,) * 4 and big.num_heads == (12,) * 4
    assert (small.embed_dim, small.depth, small.time_steps) == (192, 2, 1)
    assert big.thresholds == (1.0,) * 4 and big.taus == (2.0,) * 4  # Spikformer's own LIF


def test_cheapest_is_the_low_energy_end() -> None:
    space = SearchSpace.preset("cifar-small")
    cheap = space.validate(space.cheapest())
    assert (cheap.embed_dim, cheap.depth, cheap.time_steps) == (192, 2, 1)
    assert cheap.mlp_ratios == (3.0,) * 2 and cheap.num_heads == (6,) * 2
    assert cheap.thresholds == (2.0,) * 2 and cheap.taus == (10.0,) * 2  # fewest spikes
    assert space.anchors() == (space.largest(), cheap)


def test_with_sampled_snn_keeps_the_transformer_and_draws_every_snn_choice() -> None:
    space = SearchSpace.preset("cifar-small")
    big, rng = space.largest(), np.random.default_rng(0)
    drawn = [space.validate(space.with_sampled_snn(big, rng)) for _ in range(400)]
    for arch in drawn:
        assert (arch.embed_dim, arch.depth) == (big.embed_dim, big.depth)
        assert (arch.mlp_ratios, arch.num_heads) == (big.mlp_ratios, big.num_heads)
    assert {a.time_steps for a in drawn} == set(space.time_steps)
    assert {t for a in drawn for t in a.thresholds} == set(space.threshold)
    assert {t for a in drawn for t in a.taus} == set(space.tau)
    assert any(len(set(a.taus)) > 1 for a in drawn)  # per block, not one value for all


def test_arch_id_is_stable_and_roundtrips() -> None:
    arch = SearchSpace.preset("cifar-small").sample(np.random.default_rng(3))
    again = Arch.from_dict(arch.to_dict())
    assert again == arch and again.id == arch.id
    fixed = Arch(192, 2, (3.0, 3.5), (6, 12), 4, (0.6, 2.0), (1.25, 10.0))
    assert fixed.id == "36e0fcf1718592ec"  # the same arch has the same id in every run
    assert Arch(192, 2, (3.0, 3.5), (6, 12), 4, (0.6, 2.0), (1.25, 2.0)).id != fixed.id


def test_sampling_is_seeded() -> None:
    space = SearchSpace.preset("cifar-large")
    a = [space.sample(np.random.default_rng(7)).id for _ in range(3)]
    assert len(set(a)) == 1
    assert space.sample(np.random.default_rng(8)).id != a[0]


def test_size_counts_per_block_genes() -> None:
    space = SearchSpace.preset("digits-tiny")
    per_block = 3 * 2 * 4 * 3
    assert space.size == 3 * 4 * (per_block + per_block**2)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("embed_dim: [192\ndepth: [2]", "malformed YAML"),
        (
            "embed_dim: []\ndepth: [2]\nmlp_ratio: [4]\nnum_heads: [6]\ntime_steps: [4]\n"
            "threshold: [1]\ntau: [2]",
            "embed_dim",
        ),
        (
            "embed_dim: [192]\ndepth: [2]\nmlp_ratio: [4]\nnum_heads: [5]\ntime_steps: [4]\n"
            "threshold: [1]\ntau: [2]",
            "num_heads",
        ),
        (
            "embed_dim: [192]\ndepth: [2]\nmlp_ratio: [4]\nnum_heads: [6]\ntime_steps: [4]\n"
            "threshold: [1]\ntau: [2]\nwidth: [3]",
            "width",
        ),
        (
            "embed_dim: [192]\ndepth: [2]\nmlp_ratio: [4]\nnum_heads: [6]\ntime_steps: [4]\n"
            "threshold: [1]",
            "tau",
        ),
        (
            "embed_dim: [192]\ndepth: [two]\nmlp_ratio: [4]\nnum_heads: [6]\ntime_steps: [4]\n"
            "threshold: [1]\ntau: [2]",
            "depth",
        ),
        (
            "embed_dim: [192]\ndepth: [2]\nmlp_ratio: [4]\nnum_heads: [6]\ntime_steps: [4]\n"
            "threshold: [1]\ntau: [0.5]",
            "tau",
        ),
        ("- just a list", "mapping"),
    ],
)
def test_malformed_space_files_name_the_field(tmp_path, text: str, field: str) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(SpaceError, match=field) as err:
        SearchSpace.from_file(path)
    assert "\n" not in str(err.value)


def test_unknown_preset_and_missing_file() -> None:
    with pytest.raises(SpaceError, match="unknown space preset"):
        SearchSpace.preset("nope")
    with pytest.raises(SpaceError, match="not found"):
        SearchSpace.from_file("/nonexistent/space.yaml")


def test_validate_rejects_archs_outside_the_space() -> None:
    space = SearchSpace.preset("cifar-small")
    arch = Arch(200, 2, (4.0, 4.0), (4, 4), 4, (1.0, 1.0), (2.0, 2.0))
    with pytest.raises(SpaceError, match="embed_dim"):
        space.validate(arch)
    with pytest.raises(SpaceError, match="mlp_ratios"):
        Arch.from_dict({**space.largest().to_dict(), "mlp_ratios": [4]})
    with pytest.raises(SpaceError, match="unknown field"):
        Arch.from_dict({**space.largest().to_dict(), "colour": 1})
