"""Launch: pick a dataset and a search space (a preset, or a YAML upload checked and shown first),
set the schedule, and enqueue the run; a bad value gets an inline message and enqueues nothing."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from app import forms, ui
from engine.data import DATASETS
from engine.errors import SpaceError
from engine.space import SearchSpace
from storage.errors import one_line

PAGE = "launch"
K = "ln_"
DEFAULT_PRESET = "digits-tiny"


def _space_table(space: SearchSpace) -> None:
    rows = [
        {"gene": gene, "choices": ", ".join(f"{c:g}" for c in choices), "count": len(choices)}
        for gene, choices in space.to_dict().items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    fixed = ", ".join(space.fixed_genes) or "none"
    st.caption(f"{space.mode} space of {space.size:,} architectures; fixed genes: {fixed}.")


def _pick_space() -> str | None:
    """The space to launch with: a preset name, or the path of an accepted upload; None if the
    upload is missing, invalid or not accepted yet."""
    source = st.radio(
        "Search space", ("preset", "upload YAML"), horizontal=True, key=K + "space_source"
    )
    if source == "preset":
        presets = SearchSpace.presets()
        index = presets.index(DEFAULT_PRESET) if DEFAULT_PRESET in presets else 0
        name = st.selectbox("Preset", presets, index=index, key=K + "preset")
        _space_table(SearchSpace.preset(name))
        return name
    upload = st.file_uploader(
        "Search-space YAML: one list of choices per gene", type=["yaml", "yml"], key=K + "upload"
    )
    if upload is None:
        st.caption(
            "Keys: embed_dim, depth, mlp_ratio, num_heads, time_steps, threshold, tau. "
            "A gene with one choice is fixed."
        )
        return None
    try:
        space = forms.parse_space_yaml(upload.getvalue(), upload.name)
    except SpaceError as err:
        st.error(one_line(err))
        return None
    st.success(f"{upload.name} is a valid search space:")
    _space_table(space)
    if not st.checkbox("Use this search space", key=K + "accept"):
        st.caption("Tick to accept the uploaded space.")
        return None
    return str(forms.save_space(space))


def _form(space: str | None, owner: str) -> forms.LaunchForm | None:
    if K + "name" not in st.session_state:
        st.session_state[K + "name"] = time.strftime("run-%Y%m%d-%H%M%S")
    with st.form("launch"):
        cols = st.columns(2)
        name = cols[0].text_input("Run name", key=K + "name", max_chars=64)
        dataset = cols[1].selectbox("Dataset", DATASETS, key=K + "dataset")
        cols = st.columns(4)
        epochs = cols[0].number_input("Supernet epochs", min_value=1, value=1, key=K + "epochs")
        generations = cols[1].number_input("Generations", min_value=1, value=4, key=K + "gens")
        population = cols[2].number_input("Population", min_value=1, value=8, key=K + "pop")
        parents = cols[3].number_input("Parents (top K)", min_value=1, value=4, key=K + "parents")
        cols = st.columns(4)
        strategy = cols[0].selectbox("Strategy", forms.STRATEGIES, key=K + "strategy")
        alpha = cols[1].number_input(
            "alpha (energy weight)",
            min_value=0.0,
            max_value=1.0,
            value=0.5,
            step=0.05,
            key=K + "alpha",
        )
        budget = cols[2].number_input(
            "Energy budget (uJ, 0 = none)", min_value=0.0, value=0.0, step=0.1, key=K + "budget"
        )
        seed = cols[3].number_input("Seed", min_value=0, value=0, key=K + "seed")
        submitted = st.form_submit_button("Launch", type="primary", icon=":material/rocket_launch:")
    if not submitted:
        return None
    if space is None:
        st.error("Choose a search space: a preset, or an uploaded YAML that you accepted.")
        return None
    return forms.LaunchForm(
        name=name.strip(),
        dataset=dataset,
        space=space,
        epochs=int(epochs),
        strategy=strategy,
        generations=int(generations),
        population=int(population),
        parents=int(parents),
        alpha=float(alpha),
        energy_budget_uj=float(budget) or None,
        seed=int(seed),
        owner=owner,
    )


def main() -> None:
    st.title("Launch a run")
    ui.publish_url(PAGE, {})
    acc = ui.access()
    if ui.write_blocked(acc, "launch runs"):
        return
    st.caption(
        "Stage 1 trains the supernet for the given epochs; stage 2 searches it with the given "
        "generations and population. Progress shows on the Runs page."
    )
    space = _pick_space()
    form = _form(space, acc.user)
    if form is None:
        return
    try:
        run_spec, search_spec = forms.build_specs(form, ui.store())
    except ValueError as err:
        st.error(one_line(err))
        return
    try:
        from tasks import api
    except ImportError:
        st.error("The task queue is not running here: start the app with `autospikformer up`.")
        return
    try:
        name = api.launch(run_spec, search_spec, owner=acc.user)
    except Exception as err:  # the queue's reason, shown inline
        st.error(f"Launch failed: {one_line(err)}")
        return
    st.switch_page(ui.PAGES["runs"], query_params={"run": name})


main()
