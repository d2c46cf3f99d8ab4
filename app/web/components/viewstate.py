"""Each page's view as a frozen dataclass that lives in the URL's query parameters.

`parse_*` reads a query-parameter mapping (values may be strings or lists of strings, as
`st.query_params` and `AppTest.query_params` give them) into a view and a list of one-line
problems (a bad alpha in a shared link is reported and replaced by the default, never fatal).
`to_params()` writes the view back, leaving out defaults, so a copied link reopens the same view.
Nothing here imports Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.common import genes
from engine.profiles import DEFAULT_PROFILE, PROFILES
from storage.errors import one_line
from storage.paths import NAME_RE
from storage.records import RUN_STATES

DEFAULT_ALPHA = 0.5
DEFAULT_TOP = 10
MAX_TOP = 200
COLOR_BY: tuple[str, ...] = ("generation", "strategy")
COMPARE_MODES: tuple[str, ...] = ("runs", "candidates")
MAX_SELECTION = 50  # ids kept in a link; a box selection beyond that is not shared
MAX_FILTER_VALUES = 50  # values of one runs-table filter kept from a link
MAX_MORE = 7  # runs overlaid in Compare beyond A and B (nine colours in all)


def first(params: Mapping[str, Any], key: str) -> str | None:
    """The value of `key` (the last one if repeated), or None if absent."""
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    return None if value is None else str(value)


def format_alpha(alpha: float) -> str:
    """Alpha as it appears in a link: `0.5`, `0.37`, `1`."""
    return f"{alpha:.4g}"


def parse_alpha(text: str | None) -> tuple[float, str | None]:
    """(alpha, problem): the default and a one-line reason when `text` is not in [0, 1]."""
    if text is None or text == "":
        return DEFAULT_ALPHA, None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        shown = one_line(repr(text), 40)
        return DEFAULT_ALPHA, (
            f"alpha={shown} in the link is not a number in [0, 1]; "
            f"showing alpha={format_alpha(DEFAULT_ALPHA)} instead"
        )
    return value, None


def _name(params: Mapping[str, Any], key: str, problems: list[str]) -> str | None:
    text = first(params, key)
    if text is None or text == "":
        return None
    if not NAME_RE.fullmatch(text) or ".." in text:
        problems.append(f"{key}={one_line(repr(text), 60)} in the link is not a valid name")
        return None
    return text


def _int(
    params: Mapping[str, Any], key: str, default: int, lo: int, hi: int, problems: list[str]
) -> int:
    text = first(params, key)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        problems.append(
            f"{key}={one_line(repr(text), 40)} in the link is not a whole number in "
            f"[{lo}, {hi}]; using {default}"
        )
        return default
    return value


def _choice(
    params: Mapping[str, Any],
    key: str,
    choices: tuple[str, ...],
    problems: list[str],
    default: str | None = None,
) -> str:
    fallback = choices[0] if default is None else default
    text = first(params, key)
    if text is None or text == "":
        return fallback
    if text not in choices:
        problems.append(
            f"{key}={one_line(repr(text), 40)} in the link is not one of {', '.join(choices)}"
        )
        return fallback
    return text


def _ids(params: Mapping[str, Any], key: str, problems: list[str]) -> tuple[str, ...]:
    text = first(params, key)
    if not text:
        return ()
    out: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not NAME_RE.fullmatch(part):
            problems.append(f"candidate id {one_line(repr(part), 40)} in the link is malformed")
            continue
        if part not in out:
            out.append(part)
    return tuple(out[:MAX_SELECTION])


def _flag(params: Mapping[str, Any], key: str) -> bool:
    return first(params, key) in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class ExplorerView:
    """The explorer: which run (or search), alpha, the selected candidates and how to draw."""

    run: str | None = None
    search: str | None = None
    alpha: float = DEFAULT_ALPHA
    selection: tuple[str, ...] = ()
    page: int = 1  # page of the leaderboard table
    top: int = DEFAULT_TOP
    color: str = COLOR_BY[0]
    log: bool = False
    box: tuple[float, float, float, float] | None = None  # energy lo, hi, accuracy lo, hi
    profile: str = DEFAULT_PROFILE  # hardware energy profile every energy is priced under
    infeasible: bool = False  # also draw the candidates over their search's constraints
    silent: bool = False  # rank silent candidates in F_AEB order (by default: after the others)

    brush: tuple[tuple[str, float, float], ...] = ()  # parallel coordinates: (axis, lo, hi)
    blocks: bool = False  # parallel coordinates: an axis per block for the MLP ratio

    def to_params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.run:
            out["run"] = self.run
        if self.search:
            out["search"] = self.search
        out["alpha"] = format_alpha(self.alpha)
        if self.selection:
            out["selection"] = ",".join(self.selection[:MAX_SELECTION])
        if self.box:
            out["box"] = ",".join(f"{v:.6g}" for v in self.box)
        if self.page != 1:
            out["page"] = str(self.page)
        if self.top != DEFAULT_TOP:
            out["top"] = str(self.top)
        if self.color != COLOR_BY[0]:
            out["color"] = self.color
        if self.log:
            out["log"] = "1"
        if self.profile != DEFAULT_PROFILE:
            out["profile"] = self.profile
        if self.infeasible:
            out["infeasible"] = "1"
        if self.silent:
            out["silent"] = "1"

        if self.brush:
            out["brush"] = genes.format_brush(self.brush)
        if self.blocks:
            out["blocks"] = "1"
        return out

    def with_(self, **changes: Any) -> ExplorerView:
        return replace(self, **changes)


def parse_explorer(params: Mapping[str, Any]) -> tuple[ExplorerView, list[str]]:
    """The explorer view in `params`, and what was wrong with it."""
    problems: list[str] = []
    alpha, alpha_problem = parse_alpha(first(params, "alpha"))
    if alpha_problem:
        problems.append(alpha_problem)
    view = ExplorerView(
        run=_name(params, "run", problems),
        search=_name(params, "search", problems),
        alpha=alpha,
        selection=_ids(params, "selection", problems),
        page=_int(params, "page", 1, 1, 1_000_000, problems),
        top=_int(params, "top", DEFAULT_TOP, 1, MAX_TOP, problems),
        color=_choice(params, "color", COLOR_BY, problems),
        log=_flag(params, "log"),
        box=_box(params, "box", problems),
        profile=_choice(params, "profile", tuple(PROFILES), problems, default=DEFAULT_PROFILE),
        infeasible=_flag(params, "infeasible"),
        silent=_flag(params, "silent"),
        brush=_brush(params, "brush", problems),
        blocks=_flag(params, "blocks"),
    )
    return view, problems


def _brush(
    params: Mapping[str, Any], key: str, problems: list[str]
) -> tuple[tuple[str, float, float], ...]:
    ranges, problem = genes.parse_brush(first(params, key))
    if problem:
        problems.append(problem)
    return ranges


def _box(
    params: Mapping[str, Any], key: str, problems: list[str]
) -> tuple[float, float, float, float] | None:
    text = first(params, key)
    if not text:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        problems.append(
            f"{key}={one_line(repr(text), 60)} in the link is not "
            "energy_lo,energy_hi,accuracy_lo,accuracy_hi"
        )
        return None
    e_lo, e_hi = sorted(values[:2])
    a_lo, a_hi = sorted(values[2:])
    return (e_lo, e_hi, a_lo, a_hi)


@dataclass(frozen=True)
class CompareView:
    """Compare: two scopes' fronts (`runs`), or two candidates side by side (`candidates`)."""

    mode: str = COMPARE_MODES[0]
    run: str | None = None
    search: str | None = None
    run2: str | None = None
    search2: str | None = None
    a: str | None = None  # candidate ids, in `run`
    b: str | None = None
    alpha: float = DEFAULT_ALPHA
    more: tuple[str, ...] = ()  # runs overlaid with A and B (`runs` mode), whole-run scopes

    def to_params(self) -> dict[str, str]:
        out: dict[str, str] = {"mode": self.mode}
        for key in ("run", "search", "run2", "search2", "a", "b"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out["alpha"] = format_alpha(self.alpha)
        if self.more:
            out["more"] = ",".join(self.more[:MAX_MORE])
        return out


def parse_compare(params: Mapping[str, Any]) -> tuple[CompareView, list[str]]:
    problems: list[str] = []
    alpha, alpha_problem = parse_alpha(first(params, "alpha"))
    if alpha_problem:
        problems.append(alpha_problem)
    view = CompareView(
        mode=_choice(params, "mode", COMPARE_MODES, problems),
        run=_name(params, "run", problems),
        search=_name(params, "search", problems),
        run2=_name(params, "run2", problems),
        search2=_name(params, "search2", problems),
        a=_name(params, "a", problems),
        b=_name(params, "b", problems),
        alpha=alpha,
        more=_run_names(params, "more", problems),
    )
    return view, problems


def _run_names(params: Mapping[str, Any], key: str, problems: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for part in (first(params, key) or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not NAME_RE.fullmatch(part) or ".." in part:
            problems.append(f"{key}: {one_line(repr(part), 60)} in the link is not a valid name")
        elif part not in out:
            out.append(part)
    return tuple(out[:MAX_MORE])


@dataclass(frozen=True)
class RunsView:
    """The runs page; `run` is the run to show first (where a launch lands); the runs table's
    filters (a run passes with one of the values picked for each)."""

    run: str | None = None
    states: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def to_params(self) -> dict[str, str]:
        out = {"run": self.run} if self.run else {}
        for key, values in (
            ("state", self.states),
            ("dataset", self.datasets),
            ("owner", self.owners),
            ("tag", self.tags),
        ):
            if values:
                out[key] = ",".join(values)
        return out


def _values(params: Mapping[str, Any], key: str, problems: list[str]) -> tuple[str, ...]:
    """Comma-separated values of a filter (each printable, at most 200 characters)."""
    text = first(params, key)
    out: list[str] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if len(part) > 200 or not part.isprintable():
            problems.append(f"{key}={one_line(repr(part), 40)} in the link is not a valid value")
            continue
        if part not in out:
            out.append(part)
    return tuple(out[:MAX_FILTER_VALUES])


def parse_runs(params: Mapping[str, Any]) -> tuple[RunsView, list[str]]:
    problems: list[str] = []
    states = _values(params, "state", problems)
    for state in states:
        if state not in RUN_STATES:
            problems.append(
                f"state={one_line(repr(state), 40)} in the link is not one of "
                f"{', '.join(RUN_STATES)}"
            )
    view = RunsView(
        run=_name(params, "run", problems),
        states=tuple(s for s in states if s in RUN_STATES),
        datasets=_values(params, "dataset", problems),
        owners=_values(params, "owner", problems),
        tags=_values(params, "tag", problems),
    )
    return view, problems


@dataclass(frozen=True)
class LeaderboardView:
    """A shared leaderboard: `/leaderboard?id=ID`."""

    id: str | None = None

    def to_params(self) -> dict[str, str]:
        return {"id": self.id} if self.id else {}


def parse_leaderboard(params: Mapping[str, Any]) -> tuple[LeaderboardView, list[str]]:
    problems: list[str] = []
    return LeaderboardView(id=_name(params, "id", problems)), problems


def share_link(
    base_url: str | None, page: str, params: Mapping[str, str], *, current: str | None = None
) -> str:
    """`BASE/page?k=v&...` (a relative `page?...` without a base), query values URL-encoded.
    `base_url` is the URL of the page the link is made on: of `page` itself, or of `current`
    (a link from one page to another, e.g. from the explorer to a shared leaderboard)."""
    from urllib.parse import urlencode

    query = urlencode(dict(params))
    root = (base_url or "").split("?")[0].rstrip("/")
    for name in (page, current):
        if name and root.endswith(f"/{name}"):
            root = root[: -len(name) - 1]
            break
    path = f"{root}/{page}" if root else page
    return f"{path}?{query}" if query else path
