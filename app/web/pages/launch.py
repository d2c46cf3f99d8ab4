"""Launch: pick a dataset and a search space (a preset, a YAML upload checked and shown first, or a
space saved earlier), set the schedule, read the one-line summary and the estimated run time, and
press Launch. Only the button launches: Enter in a field just sets its value (no form). A bad
value gets an inline message and enqueues nothing. The values live in the URL (a Clone link from a
run's page fills them in) and are kept for the next visit, also after a launch."""

from __future__ import annotations

import time
from dataclasses import replace

import pandas as pd
import streamlit as st

from app.web.components import forms, permissions, ui
from app.web.components.text import plain
from app.web.pages import run as run_page
from engine.data import DATASETS
from engine.errors import SpaceError
from engine.profiles import PROFILES
from engine.sampling import SAMPLING
from engine.search.config import EvolutionConfig, NSGA2Config, OperatorConfig
from engine.space import SearchSpace
from storage.errors import one_line

PAGE = "launch"
K = "ln_"
DEFAULT_PRESET = "digits-tiny"
SOURCES = ("preset", "upload YAML", "saved space")
KEPT = K + "kept"  # the form's last values (URL parameters), kept across pages and launches


def _defaults() -> forms.LaunchForm:
    return forms.LaunchForm(
        name=time.strftime("run-%Y%m%d-%H%M%S"), dataset="digits", space=DEFAULT_PRESET, epochs=1
    )


def _seed() -> None:
    """Fill the widgets from the URL (a link or a clone), else from the values kept from the last
    visit, else the defaults."""
    ss = st.session_state
    params = ui.current_params() or ss.get(KEPT) or {}
    form, problems = forms.from_params(params, _defaults())
    ss[K + "problems"] = problems
    ss[K + "name"] = form.name
    ss[K + "dataset"] = form.dataset
    if form.space in SearchSpace.presets():
        ss[K + "space_source"], ss[K + "preset"] = SOURCES[0], form.space
    else:
        ss[K + "space_source"], ss[K + "saved"] = SOURCES[2], forms.space_label(form.space)
    for key, value in (
        ("epochs", form.epochs),
        ("sampling", form.sampling),
        ("gens", form.generations),
        ("pop", form.population),
        ("parents", form.parents),
        ("strategy", form.strategy),
        ("alpha", form.alpha),
        ("budget", form.energy_budget_uj or 0.0),
        ("seed", form.seed),
        ("recalib", form.recalib_batches),
        ("profile", form.energy_profile),
        ("anchors", form.anchors),
        ("predictor", form.predictor),
    ):
        ss[K + key] = value


def _space_table(space: SearchSpace) -> None:
    rows = [
        {"gene": gene, "choices": ", ".join(f"{c:g}" for c in choices), "count": len(choices)}
        for gene, choices in space.to_dict().items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    fixed = ", ".join(space.fixed_genes) or "none"
    st.caption(f"{space.mode} space of {space.size:,} architectures; fixed genes: {fixed}.")


def _pick_space() -> str | None:
    """The space to launch with: a preset name, or the path of an accepted upload or a saved
    space; None if the upload is missing, invalid or not accepted yet."""
    source = st.radio("Search space", SOURCES, horizontal=True, key=K + "space_source")
    if source == SOURCES[0]:
        name = st.selectbox("Preset", SearchSpace.presets(), key=K + "preset")
        _space_table(SearchSpace.preset(name))
        return name
    if source == SOURCES[2]:
        saved = forms.saved_spaces()
        if not saved:
            st.caption("No saved spaces yet: every accepted upload is saved here.")
            return None
        if st.session_state.get(K + "saved") not in saved:
            st.session_state[K + "saved"] = saved[0]
        name = st.selectbox("Saved space", saved, key=K + "saved")
        path = forms.saved_space_path(name)
        _space_table(SearchSpace.from_file(path))
        return str(path)
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
        st.error(plain(one_line(err)))
        return None
    st.success(plain(f"{upload.name} is a valid search space:"))
    _space_table(space)
    if not st.checkbox("Use this search space", key=K + "accept"):
        st.caption("Tick to accept the uploaded space.")
        return None
    return str(forms.save_space(space))


def _fields(space: str | None, owner: str) -> forms.LaunchForm:
    """The settings widgets (plain widgets, not a form: Enter must not launch)."""
    cols = st.columns(2)
    name = cols[0].text_input("Run name", key=K + "name", max_chars=64)
    dataset = cols[1].selectbox("Dataset", DATASETS, key=K + "dataset")
    cols = st.columns(4)
    # No min_value/max_value on the numbers: the browser would keep an out-of-range value to
    # itself (red) and the page would launch the last valid one. Every value reaches the server,
    # and `forms.problem` names the one out of range while Launch stays disabled. `step=1` makes
    # a field whole (Streamlit infers the type from the arguments, not from the value).
    epochs = cols[0].number_input("Supernet epochs", step=1, key=K + "epochs")
    sampling = cols[1].selectbox(
        "Sampling",
        SAMPLING,
        key=K + "sampling",
        help="Archs trained per step: one uniform draw; the sandwich rule (largest, smallest "
        "and random); or sandwich-dsps, the sandwich of the transformer genes with the "
        "extremes' T, thresholds and taus drawn each step (the paper's alternate choice).",
    )
    recalib = cols[2].number_input(
        "Recalibration batches",
        step=1,
        key=K + "recalib",
        help="BN-recalibration batches of 128 training images per candidate.",
    )
    seed = cols[3].number_input("Seed", step=1, key=K + "seed")
    cols = st.columns(4)
    strategy = cols[0].selectbox("Strategy", forms.STRATEGIES, key=K + "strategy")
    generations = cols[1].number_input("Generations", step=1, key=K + "gens")
    population = cols[2].number_input("Population", step=1, key=K + "pop")
    parents = cols[3].number_input("Parents (top K)", step=1, key=K + "parents")
    cols = st.columns(4)
    alpha = cols[0].number_input("alpha (energy weight)", step=0.05, key=K + "alpha")
    budget = cols[1].number_input("Energy budget (µJ, 0 = none)", step=0.1, key=K + "budget")
    profile = cols[2].selectbox(
        "Energy profile",
        list(PROFILES),
        key=K + "profile",
        help="The hardware whose pJ per MAC, SOP and neuron update price energy: F_AEB and the "
        "budget use it (docs/energy.md). The explorer can re-rank under any profile later.",
    )
    anchors = cols[3].checkbox(
        "Anchor generation 0",
        key=K + "anchors",
        help="Any strategy (evolution, NSGA-II, random): start generation 0 with the space's "
        "largest and cheapest arch, the two ends of the front, and draw the rest as the strategy "
        "does, so the random baseline starts where the others do. Untick for the paper's "
        "all-random start.",
    )
    predictor = st.columns(4)[0].checkbox(
        "Predictor",
        key=K + "predictor",
        disabled=strategy == "random",
        help=f"Evolution and NSGA-II: each generation breeds {OperatorConfig.screen_factor} "
        "children per candidate to evaluate, and a model fitted on the run's evaluated "
        "candidates (earlier searches' included) picks those to evaluate, "
        f"{EvolutionConfig.explore_share:.0%} (evolution) or {NSGA2Config.explore_share:.0%} "
        "(NSGA-II) of them for exploration. The run's page plots its "
        "Kendall tau per generation. Random search has none.",
    )
    return forms.LaunchForm(
        name=name.strip(),
        dataset=dataset,
        space=space or "",
        epochs=int(epochs),
        strategy=strategy,
        generations=int(generations),
        population=int(population),
        parents=int(parents),
        alpha=float(alpha),
        energy_budget_uj=float(budget) or None,
        seed=int(seed),
        owner=owner,
        sampling=sampling,
        recalib_batches=int(recalib),
        energy_profile=profile,
        anchors=bool(anchors),
        predictor=bool(predictor),
    )


def _launch(form: forms.LaunchForm) -> str | None:
    """Check who launches (again, now) and what, and enqueue; the run's name, or None after
    showing why not. The run's owner is the signed-in identity."""
    acc = ui.access()
    why = permissions.refusal(acc, permissions.LAUNCH)
    if why:
        st.error(plain(why))
        return None
    if not form.space:
        st.error("Choose a search space: a preset, a saved space or an accepted upload.")
        return None
    try:
        run_spec, search_spec = forms.build_specs(form, ui.store())
    except ValueError as err:
        st.error(plain(one_line(err)))
        return None
    try:
        from tasks import api
    except ImportError:
        st.error("The task queue is not running here: start the app with `autospikformer up`.")
        return None
    try:
        return api.launch(run_spec, search_spec, owner=acc.user)
    except Exception as err:  # the queue's reason, shown inline
        st.error(plain(f"Launch failed: {one_line(err)}"))
        return None


def main() -> None:
    st.title("Launch a run")
    ui.adopt_url(PAGE, _seed)
    for problem in st.session_state.pop(K + "problems", []):
        st.warning(plain(problem))
    acc = ui.access()
    if ui.write_blocked(acc, "launch runs"):
        return
    st.caption(
        "Stage 1 trains the supernet for the given epochs; stage 2 searches it with the given "
        "generations and population. Progress shows on the run's page."
    )
    space = _pick_space()
    form = _fields(space, acc.user)
    params = forms.to_params(form)
    st.session_state[KEPT] = params
    ui.publish_url(PAGE, {k: v for k, v in params.items() if k != "name"})
    reason = forms.problem(form)  # a value out of range: no summary, no estimate, no launch
    with st.container(border=True):
        if reason is not None:
            st.error(reason)
        elif form.space:
            st.markdown(forms.summary(form))  # choices and numbers only: no user text
            st.caption(forms.estimate(ui.store(), form))
        else:
            st.caption("Choose a search space to see the summary and the estimated run time.")
        clicked = st.button(
            "Launch",
            type="primary",
            icon=":material/rocket_launch:",
            disabled=reason is not None,
            help=reason,
        )
    if not clicked:
        return
    name = _launch(form)
    if name is None:
        return
    # Keep every value for the next visit, with the next free name.
    st.session_state[KEPT] = forms.to_params(replace(form, name=forms.free_name(ui.store(), name)))
    st.session_state[run_page.JUST_LAUNCHED] = name
    st.switch_page(ui.PAGES["runs"], query_params={"run": name})


main()
