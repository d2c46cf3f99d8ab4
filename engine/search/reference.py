"""The hypervolume reference of a search: an analytic upper bound of the energy of any arch of the
space, computed from the arch and the dataset's shape alone (no weights, no data, no forward pass).

Why this reference. Hypervolume is comparable only under one fixed reference point. The bound is
- fixed when a search starts and the same for every search of a space and dataset, so recorded
  histories compare across generations, searches and runs;
- sound: no candidate's energy exceeds it, so no candidate is cut off and adding candidates never
  lowers the hypervolume;
- computable wherever a search is stepped: the Celery `advance` task runs on CPU hosts that load
  no model, and the head host only knows the run's dataset and space.
The measured energy of the largest arch (the issue's other suggestion) needs the trained supernet
and a forward pass, and is not a bound: lower thresholds fire more. The price of a bound is
looseness: firing rates are far below their maximum, so every front sits in a corner of the
reference box and hypervolumes of two searches differ by a small fraction of their size; compare
their difference, not their ratio.

The bound mirrors `engine.energy`'s operation counts with every input at its largest value, and
is priced under the search's energy profile (`engine.profiles`), as its candidates are:
- MACs: the first conv (once per sample for images, every step for events) and the head;
- SOPs: every other conv and linear, and the two SSA products, with the input's largest
  per-element value in place of its firing rate: 1 for a spike train, and for the residual stream
  (a sum of spike trains) its largest count: 2 after SPS (RPE spikes + features), one more after
  each SSA and each MLP, so block i's q/k/v read at most 2 + 2i and its fc1 3 + 2i;
- neuron updates: every LIF neuron at every step (exact, whatever the firing).
`tests/engine/test_reference.py` checks that a saturated network (every neuron firing at every
step) measures exactly the bound's counts, and that ordinary ones measure less.

The floor (`ops_floor`, `space_floor_energy_uj`) is the other end: what an arch spends whatever
its firing, i.e. with every neuron silent (zero SOPs): the first conv's MACs (once, or every step
for events), the head's MACs and every neuron update (priced only by profiles that price them,
such as Loihi's). The space's smallest arch has the least of each, so no arch of the space
measures less; a silent network measures exactly its arch's floor (tests/engine/test_reference.py).
The two ends make the box of the normalized hypervolume (`front_box`, `engine.pareto.FrontBox`).
"""

from __future__ import annotations

from engine.pareto import FrontBox
from engine.profiles import DEFAULT_PROFILE, EnergyProfile, get_profile
from engine.shape import ModelShape
from engine.space import Arch, SearchSpace


def _sps_ops(d: int, shape: ModelShape) -> tuple[float, float, float]:
    """Per time step: (first conv MACs, MACs of the other SPS convs including the RPE conv, SPS
    LIF neurons). Each stage pools before its LIF, as `engine.spikformer.SPS` does."""
    side = shape.image_size
    first, rest, neurons = 0.0, 0.0, 0.0
    c_in = shape.in_channels
    for s, c_out in enumerate((d // 8, d // 4, d // 2, d)):
        macs = side * side * c_in * c_out * 9
        if s == 0:
            first = macs
        else:
            rest += macs
        if s >= 4 - shape.n_pools:
            side = (side + 1) // 2  # MaxPool2d(3, 2, 1)
        neurons += side * side * c_out
        c_in = c_out
    rest += side * side * d * d * 9  # RPE conv at the token grid
    neurons += side * side * d  # RPE LIF
    return first, rest, neurons


def ops_bound(arch: Arch, shape: ModelShape, *, event_input: bool = False) -> dict[str, float]:
    """Upper bounds of `arch`'s measured operation counts per sample (`macs`, `sops`,
    `neuron_updates`; the last is exact): see the module docstring."""
    d, t, n = arch.embed_dim, arch.time_steps, shape.num_tokens
    first, sps, neurons = _sps_ops(d, shape)
    macs = first * (t if event_input else 1) + d * shape.num_classes  # + head, once
    sops = sps * t  # SPS convs read spikes (max 1)
    for i in range(arch.depth):
        h = arch.mlp_hidden(i)
        stream = 2 + 2 * i  # largest count of the residual stream entering block i
        per_step = (
            stream * n * d * 3 * d  # q, k, v
            + 2 * n * n * d  # q k^T and (q k^T) v, at q's and v's spikes
            + n * d * d  # proj, reading the attention LIF's spikes
            + (stream + 1) * n * d * h  # fc1 reads the stream after SSA
            + n * h * d  # fc2 reads fc1's spikes
        )
        sops += per_step * t
        neurons += n * (3 * d + d + d + h + d)  # q/k/v, attention, proj, fc1, fc2 LIFs
    return {"macs": macs, "sops": sops, "neuron_updates": neurons * t}


def energy_bound_uj(
    arch: Arch,
    shape: ModelShape,
    *,
    event_input: bool = False,
    profile: EnergyProfile | str = DEFAULT_PROFILE,
) -> float:
    """An upper bound of `arch`'s measured energy per sample (uJ) under `profile`."""
    prices = profile if isinstance(profile, EnergyProfile) else get_profile(profile)
    return prices.energy_uj(**ops_bound(arch, shape, event_input=event_input))


def space_reference_energy_uj(
    space: SearchSpace,
    shape: ModelShape,
    *,
    event_input: bool = False,
    profile: EnergyProfile | str = DEFAULT_PROFILE,
) -> float:
    """The reference energy of every search of `space` on a dataset of `shape` under `profile`:
    the bound of the space's largest arch. Every count grows with embed dim, depth, MLP ratio and
    T and none depends on heads, thresholds or taus, so no arch of the space has a larger one."""
    return energy_bound_uj(space.largest(), shape, event_input=event_input, profile=profile)


def _prices(profile: EnergyProfile | str) -> EnergyProfile:
    return profile if isinstance(profile, EnergyProfile) else get_profile(profile)


def ops_floor(arch: Arch, shape: ModelShape, *, event_input: bool = False) -> dict[str, float]:
    """`arch`'s operation counts per sample with no neuron firing: the first conv's and the
    head's MACs, zero SOPs, and every neuron update (exact whatever the firing). Lower bounds of
    what `engine.energy` measures for `arch`, and exactly what a silent network measures."""
    first, _, _ = _sps_ops(arch.embed_dim, shape)
    macs = first * (arch.time_steps if event_input else 1) + arch.embed_dim * shape.num_classes
    updates = ops_bound(arch, shape, event_input=event_input)["neuron_updates"]
    return {"macs": macs, "sops": 0.0, "neuron_updates": updates}


def space_floor_energy_uj(
    space: SearchSpace,
    shape: ModelShape,
    *,
    event_input: bool = False,
    profile: EnergyProfile | str = DEFAULT_PROFILE,
) -> float:
    """A lower bound of the measured energy (uJ per sample) of every arch of `space` under
    `profile`: the floor of the space's smallest arch, whose embed dim, depth, MLP ratios and T
    are the least, and every floor count grows with each of them."""
    counts = ops_floor(space.smallest(), shape, event_input=event_input)
    return _prices(profile).energy_uj(**counts)


def front_box(
    space: SearchSpace,
    shape: ModelShape,
    *,
    event_input: bool = False,
    profile: EnergyProfile | str = DEFAULT_PROFILE,
) -> FrontBox:
    """The normalized hypervolume's box of every search of `space` on a dataset of `shape` under
    `profile`: chance accuracy (1 / classes) and the space's energy floor and bound (uJ). No
    weights, data or forward pass: cheap enough to compute wherever a front is shown, always
    under the profile its energies are priced in."""
    kwargs = {"event_input": event_input, "profile": profile}
    return FrontBox(
        chance=1.0 / shape.num_classes,
        energy_low_uj=space_floor_energy_uj(space, shape, **kwargs),
        energy_high_uj=space_reference_energy_uj(space, shape, **kwargs),
    )


def dataset_front_box(
    dataset: str, space: SearchSpace, profile: EnergyProfile | str = DEFAULT_PROFILE
) -> FrontBox:
    """`front_box` for a registered dataset (its shape and whether it is event data)."""
    from engine import data

    spec = data.dataset_spec(dataset)
    shape = ModelShape(spec.in_channels, spec.num_classes, spec.image_size)
    return front_box(space, shape, event_input=spec.is_event, profile=profile)


def dataset_reference_energy_uj(
    dataset: str, space: SearchSpace, profile: EnergyProfile | str = DEFAULT_PROFILE
) -> float:
    """`space_reference_energy_uj` for a registered dataset: the raw hypervolume's reference
    (the same figure as `tasks.pipeline.search_reference`)."""
    return dataset_front_box(dataset, space, profile).energy_high_uj
