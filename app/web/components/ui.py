"""Streamlit helpers shared by the pages: the store, cached frames, access, URL sync, the
candidate detail panel. Per-session state lives in `st.session_state` only.

pandas, Altair and the frames and charts built on them are imported where they are used, not
with this module: the runs list (the first page most visits open) needs none of them, and they
cost seconds of a cold start's blank page (`bench/first_paint.py`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import streamlit as st

from app.common import signin, units
from app.web.components import permissions, text
from engine.profiles import DEFAULT_PROFILE, get_profile
from storage import paths
from storage.base import RunSummary, Store
from storage.duckdb_store import DuckDBStore
from storage.records import CandidateRecord, RunRecord
from tasks import estimates

if TYPE_CHECKING:
    import pandas as pd

LIVE_RUN_STATES: tuple[str, ...] = ("queued", "training", "searching")
LIVE_EVERY_S = 2.0
# The runs page while no run is in progress: a teammate's new run still shows within this, and an
# idle tab left open costs the server a redraw every 15 s instead of every 2 s (a 400-run store:
# 22% of a core per open tab at 2 s; bench/idle_tabs.py).
IDLE_EVERY_S = 15.0
PAGES = {
    "launch": "web/pages/launch.py",
    "runs": "web/pages/runs.py",
    "explorer": "web/pages/explorer.py",
    "compare": "web/pages/compare.py",
    "help": "web/pages/help.py",
    "leaderboards": "web/pages/leaderboards.py",
    "leaderboard": "web/pages/leaderboard.py",
}


# ---- the store and cached frames ----------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _open(path: str) -> DuckDBStore:
    return DuckDBStore(path)


def store() -> DuckDBStore:
    """The home folder's store (one per store file per server process; it is thread-safe)."""
    return _open(str(paths.store_path()))


def _scope_version(run: str, search: str | None) -> tuple[str, int]:
    """A cache key that changes whenever candidates are added to the scope."""
    return (str(paths.store_path()), store().count_candidates(run, search))


# Frames are cached as resources (shared, never copied: 100,000 rows stay cheap) and treated as
# read-only by every caller. The scope's candidate count is part of the key, so they refresh as a
# search records more; the energy profile too, since every energy is priced under it.
@st.cache_resource(max_entries=16, show_spinner=False)
def _points(
    path: str, run: str, search: str | None, version: int, profile: str = DEFAULT_PROFILE
) -> pd.DataFrame:
    from app.common import frames

    return frames.load_points(_open(path), run, search, profile=get_profile(profile))


@st.cache_resource(max_entries=16, show_spinner=False)
def _front(
    path: str, run: str, search: str | None, version: int, profile: str = DEFAULT_PROFILE
) -> pd.DataFrame:
    from app.common import frames

    return frames.front(_points(path, run, search, version, profile))


@st.cache_resource(max_entries=16, show_spinner=False)
def _cloud(
    path: str, run: str, search: str | None, version: int, log: bool, profile: str = DEFAULT_PROFILE
) -> pd.DataFrame:
    from app.common import frames

    points = _points(path, run, search, version, profile)
    keep = _front(path, run, search, version, profile)["id"]
    return frames.thin(points, keep, log_energy=log)


@st.cache_resource(max_entries=16, show_spinner=False)
def _knee(
    path: str, run: str, search: str | None, version: int, profile: str = DEFAULT_PROFILE
) -> pd.DataFrame:
    from app.common import frames

    return frames.knee(_points(path, run, search, version, profile))


@st.cache_resource(max_entries=8, show_spinner=False)
def _infeasible(
    path: str, run: str, search: str | None, version: int, profile: str
) -> pd.DataFrame:
    from app.common import frames

    every = frames.load_points(
        _open(path), run, search, profile=get_profile(profile), include_infeasible=True
    )
    out = every[~every["feasible"]]
    violations = {c.id: c.violation for c in _open(path).candidates(run, search) if not c.feasible}
    return out.assign(violation=out["id"].map(violations).fillna("")).reset_index(drop=True)


def points(run: str, search: str | None = None, profile: str = DEFAULT_PROFILE) -> pd.DataFrame:
    """Every feasible candidate in scope (see `app.common.frames.load_points`), energies under
    `profile`, cached until the scope grows."""
    path, version = _scope_version(run, search)
    return _points(path, run, search, version, profile)


def run_summaries(profile: str = DEFAULT_PROFILE) -> dict[str, RunSummary]:
    """Every run's count of feasible candidates, best accuracy and lowest energy under `profile`,
    in one store query (the runs table; one query per run made it O(runs) store calls)."""
    return store().run_summaries(get_profile(profile))


def scope_frames(
    run: str, search: str | None, *, log: bool = False, profile: str = DEFAULT_PROFILE
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(feasible points, exact Pareto front, points to draw), energies under `profile`, each
    cached until the scope grows."""
    path, version = _scope_version(run, search)
    return (
        _points(path, run, search, version, profile),
        _front(path, run, search, version, profile),
        _cloud(path, run, search, version, log, profile),
    )


def infeasible_points(run: str, search: str | None, profile: str) -> pd.DataFrame:
    """The candidates over their search's constraints, with the `violation` they commit."""
    path, version = _scope_version(run, search)
    return _infeasible(path, run, search, version, profile)


def knee(run: str, search: str | None, profile: str = DEFAULT_PROFILE) -> pd.DataFrame:
    path, version = _scope_version(run, search)
    return _knee(path, run, search, version, profile)


def ranked_frame(ranked: list[tuple[CandidateRecord, float]]) -> pd.DataFrame:
    """`Store.rank` output as a table (rank, id, fitness, metrics, T, embed dim, depth), energies
    in µJ (`energy_uj`: a table shows them in its view's one unit, `app.common.units`)."""
    import pandas as pd

    rows = [
        {
            "rank": i + 1,
            "id": r.id,
            "fitness": f,
            "accuracy": r.accuracy,
            "energy_uj": r.energy_uj,
            "params": r.params,
            "firing_rate": r.firing_rate,
            "T": r.arch.get("time_steps"),
            "embed_dim": r.arch.get("embed_dim"),
            "depth": r.arch.get("depth"),
            "generation": r.generation,
            "strategy": r.strategy,
            "search": r.search,
            "silent": r.silent,
        }
        for i, (r, f) in enumerate(ranked)
    ]
    columns = ["rank", "id", "fitness", "accuracy", "energy_uj", "params"]
    columns += ["firing_rate", "T", "embed_dim", "depth", "generation", "strategy", "search"]
    columns += ["silent"]
    return pd.DataFrame(rows, columns=columns)


RANKED_COLUMNS = {
    "fitness": st.column_config.NumberColumn("F_AEB", format="%.4f"),
    "accuracy": st.column_config.NumberColumn(format="percent"),
    "firing_rate": st.column_config.NumberColumn("firing rate", format="%.3f"),
    "silent": st.column_config.CheckboxColumn(
        "silent",
        help="A block never fires (firing rate 0) and is bypassed through the residual; ranked "
        "after the others by default",
    ),
}


# ---- access ------------------------------------------------------------------------------------
Access = permissions.Identity  # who is using the app; the rule is `permissions.may`


def auth_configured() -> bool:
    """An `[auth]` table in the secrets (the same rule `up` binds by: `app.common.signin`)."""
    return signin.configured(st.secrets)


def auth_providers() -> list[str]:
    """Named OIDC providers (`[auth.NAME]` sections); empty for a single unnamed provider."""
    try:
        section = st.secrets["auth"]
        return [k for k, v in section.items() if isinstance(v, Mapping)]
    except Exception:
        return []


def access() -> Access:
    """The signed-in user as `permissions.identity` reads `st.user` (issuer plus `sub`); read
    again by every callback that starts work or changes state."""
    if not auth_configured():
        return Access()
    return permissions.identity(st.user.to_dict(), auth=True)


def bind_address() -> str:
    """The address the server listens on (`server.address`; empty means every interface)."""
    return str(st.get_option("server.address") or "")


def is_loopback(address: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: only this machine reaches it."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def sign_in_buttons() -> None:
    for provider in auth_providers() or [None]:
        label = f"Sign in with {provider}" if provider else "Sign in"
        if st.button(label, key=f"auth_login_{provider}", type="primary"):
            st.login(provider)


def sign_in_page() -> None:
    """All a visitor sees when sign-in is configured and nobody is signed in."""
    st.title("Auto-Spikformer")
    outsider = access().outsider
    if outsider:  # signed in, but not on this server's team
        st.error(
            f"You are signed in as {text.plain(outsider)}, who is not on this server's team. "
            f"Ask an admin to add you to {signin.USERS_ENV}."
        )
        if st.button("Sign out", key="auth_logout"):
            st.logout()
        return
    if st.user.get("is_logged_in"):  # signed in, yet `permissions.identity` found nobody
        st.error("Your sign-in carries no issuer and subject (iss, sub), so it names nobody.")
        if st.button("Sign out", key="auth_logout"):
            st.logout()
        return
    st.info("Sign in to see and launch runs, the explorer and the shared leaderboards.")
    sign_in_buttons()


def access_sidebar(acc: Access) -> None:
    with st.sidebar:
        if not acc.auth:
            st.caption(
                "Single-user mode: no sign-in is configured, so whoever reaches this app may "
                "launch, cancel and delete runs."
            )
            address = bind_address()
            if is_loopback(address):
                st.caption(f"The app listens on localhost only ({text.plain(address)}).")
            else:
                where = text.plain(address) if address else "every network interface"
                st.warning(
                    f"The app listens on {where}, port {st.get_option('server.port')}: anyone "
                    "who reaches that port can launch, cancel and delete runs. Configure sign-in, "
                    "or serve it on 127.0.0.1."
                )
        elif acc.user:
            role = " (admin)" if acc.admin else ""
            st.caption(f"Signed in as **{text.plain(acc.label)}**{role}.")
            if st.button("Sign out", key="auth_logout"):
                st.logout()
        else:
            st.caption("Sign in to see and launch runs.")


def write_blocked(acc: Access, action: str) -> bool:
    """Show why `action` is not allowed and return True when the user may not write."""
    if acc.can_write:
        return False
    st.info(f"Sign in to {action}.")
    return True


# ---- URL state ---------------------------------------------------------------------------------
def current_params() -> dict[str, str]:
    return {k: str(v) for k, v in st.query_params.to_dict().items()}


ECHOES = 16  # the URLs a page remembers publishing (older echoes than these do not come back)
PAGE_NOW, PAGE_BEFORE = "_page_now", "_page_before"


def note_page(page: str) -> None:
    """Remember which page this run shows and which the last run showed (`main` calls it)."""
    ss = st.session_state
    ss[PAGE_BEFORE] = ss.get(PAGE_NOW)
    ss[PAGE_NOW] = page


def adopt_url(page: str, init: Callable[[], None]) -> bool:
    """Call `init` (which seeds the page's widgets from the URL) when the URL is new to this
    session: the first visit, a return from another page, or a link opened in place. Returns
    whether it did.

    A URL this page published itself, on a rerun of the same page, is an echo, not a link: the
    browser sends each rerun with the URL it holds, and a click right after an edit can leave
    before the edit's new URL arrives (a loaded server). Seeding from the echo would throw away
    what the user typed and act on the older values (the launch form once launched them). The
    browser's back and forward buttons do bring an older URL back on purpose: those reruns seed."""
    ss = st.session_state
    current = current_params()
    seen = ss.get(f"_url_{page}")
    echo = ss.get(PAGE_BEFORE, page) == page and current in ss.get(f"_urls_{page}", [])
    if seen is not None and (current == seen or (echo and not _history_navigation())):
        return False
    init()
    _remember(page, current)
    return True


def publish_url(page: str, params: Mapping[str, str]) -> None:
    """Make the URL's query parameters `params` (so a copied link reopens this view)."""
    wanted = {k: str(v) for k, v in params.items()}
    if current_params() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[f"_url_{page}"] = wanted
    _remember(page, wanted)


def _history_navigation() -> bool:
    """Whether this rerun comes from the browser's back or forward button."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    return bool(getattr(get_script_run_ctx(), "is_history_navigation", False))


def _remember(page: str, params: dict[str, str]) -> None:
    echoes = [p for p in st.session_state.get(f"_urls_{page}", []) if p != params]
    st.session_state[f"_urls_{page}"] = [*echoes, params][-ECHOES:]


def share_box(page: str, params: Mapping[str, str]) -> None:
    from app.web.components.viewstate import share_link

    url = getattr(st.context, "url", None)
    st.caption("Link to this view (copy and share):")
    st.code(share_link(url, page, params), language=None)


# ---- shared widgets ----------------------------------------------------------------------------
def elapsed(run: RunRecord, now: float | None = None) -> str:
    """Time since the run was created, up to now while it is live, else to its end (which
    archiving never moves; `tasks.estimates.elapsed_s`)."""
    seconds = int(estimates.elapsed_s(run, now))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def help_link(what: str = "What do F_AEB, SOPs and firing rate mean?") -> None:
    st.page_link(PAGES["help"], label=what, icon=":material/help:")


def candidate_panel(
    store_: Store,
    run: str,
    record: CandidateRecord,
    *,
    key: str,
    profile: str = DEFAULT_PROFILE,
    unit: str | None = None,
) -> None:
    """The detail of one candidate: arch per block, params, SOPs, energy under `profile` (in the
    view's `unit` when given), per-layer energy (under `profile` too) and firing rates, and
    downloads of its standalone subnet and config JSON."""
    from app.common import charts, frames
    from app.web.components import downloads, subnet_actions

    arch = record.arch
    priced = record.priced(get_profile(profile))
    st.markdown(
        f"**Candidate `{record.id}`** · search `{record.search}` · generation "
        f"{record.generation} · {record.strategy or 'unknown strategy'}"
    )
    if not record.feasible:
        st.warning(
            f"Infeasible: this candidate breaks its search's {record.violation.replace('_', ' ')}"
            " constraint, so it is never ranked nor on the front."
        )
    if priced is None:
        st.caption(
            f"Recorded before neuron updates were counted: it cannot be priced under {profile}; "
            f"shown under {record.energy_profile}."
        )
        priced = record
    cols = st.columns(4)
    cols[0].metric("validation accuracy", f"{record.accuracy:.2%}")
    cols[1].metric(
        "energy",
        units.format_energy(priced.energy_uj, unit=unit),
        help=f"Per sample, under the {priced.energy_profile} hardware profile",
    )
    cols[2].metric("params", units.format_ops(record.params), help=f"{record.params:,}")
    cols[3].metric("SOPs", units.format_ops(record.sops), help="Synaptic operations per sample")
    cols = st.columns(4)
    cols[0].metric("time steps T", arch.get("time_steps"))
    cols[1].metric("embed dim", arch.get("embed_dim"))
    cols[2].metric("blocks", arch.get("depth"))
    cols[3].metric("mean firing rate", f"{record.firing_rate:.3f}")
    blocks = frames.block_table(arch).set_index("block")
    st.table(blocks.style.format({"MLP ratio": "{:g}", "threshold": "{:g}", "tau": "{:g}"}))
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Energy per layer** ({priced.energy_profile})")
        if priced.layer_energy_uj:
            layer = frames.layer_frame(priced.layer_energy_uj, "energy_uj")
            chart = charts.layer_bars(layer, "energy_uj", "energy per sample", energy=True)
            st.altair_chart(chart, width="stretch")
        else:
            st.caption("Not recorded for this candidate.")
    with right:
        st.markdown("**Firing rate per spiking layer**")
        if record.firing_rates:
            rates = frames.layer_frame(record.firing_rates, "firing_rate")
            st.altair_chart(charts.layer_bars(rates, "firing_rate", "rate"), width="stretch")
        else:
            st.caption("Not recorded for this candidate.")
    help_link("What are SOPs and firing rates?")
    left, middle, right = st.columns(3)
    acc = access()  # who clicks, read again as the click arrives
    with left:  # both on a gpu worker, never in this process (app.web.components.subnet_actions)
        subnet_actions.export_button(store_, run, record, key=key, acc=acc)
    with middle:
        subnet_actions.test_button(store_, run, record, key=key, acc=acc)
    with right:
        st.download_button(
            "Download config (JSON)",
            data=downloads.config_json(record),
            file_name=f"{record.id}.json",
            mime="application/json",
            key=f"{key}_json",
            icon=":material/data_object:",
            on_click="ignore",
        )
