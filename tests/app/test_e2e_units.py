"""Share, units and the small things in a real browser (Playwright + Debian's chromium) against
`autospikformer up` on a filled store (`fill_store`: one searched run, one training run):

- Enter in "Leaderboard title" shares nothing; only the button does;
- every chart axis and table header of the explorer, the run page, the runs list, Compare and a
  shared leaderboard writes energy in one unit (`energy per sample (nJ)`, ticks plain numbers),
  µJ not uJ, counts with SI suffixes, and the leaderboards have a params column;
- an unknown page says so and lists the pages; nothing is fetched from outside localhost (the
  favicon included); the per-layer chart's labels do not overlap; no button label is cut off.

The tests share one app, in file order. Screenshots go to `artifacts/e2e/` (or
`$AUTOSPIKFORMER_ARTIFACTS`). Run it alone: `.venv/bin/pytest -m e2e tests/app/test_e2e_units.py`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.app.test_e2e_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_TIMEOUT_MS,
    idle,
    one,
    serve_up,
    shot,
)
from tests.app.test_e2e_cockpit import LAYOUT_PROBLEMS

REPO = Path(__file__).resolve().parents[2]
RUN = "digits-demo"
UNIT = r"(pJ|nJ|µJ|mJ|J)"
# Layer names as a depth-2 Spikformer records them: their labels must not overlap.
LAYERS = [f"sps.proj_lif.{i}" for i in range(4)] + ["sps.rpe_lif"]
LAYERS += [f"blocks.{b}.attn.{n}_lif" for b in range(2) for n in ("q", "k", "v", "attn", "proj")]
LAYERS += [f"blocks.{b}.mlp.{n}_lif" for b in range(2) for n in ("fc1", "fc2")]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(int(os.environ.get("E2E_TIMEOUT_S", "600"))),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


class World:
    """The module's home folder: what it holds, read by the tests."""

    def __init__(self, home: Path, candidate: str, board: str) -> None:
        self.home, self.candidate, self.board = home, candidate, board

    def store(self):
        from storage.duckdb_store import DuckDBStore

        return DuckDBStore(self.home / "store.duckdb")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The filled store; the best candidate at alpha 0.5 with a depth-2 Spikformer's 19 spiking
    layers and an exported subnet (a file and its record, as a worker leaves them); a shared
    leaderboard."""
    from storage import paths
    from storage.duckdb_store import DuckDBStore
    from storage.records import ArtefactRecord
    from tasks import remote
    from tests.app.conftest import fill_store

    folder = tmp_path_factory.mktemp("units-home")
    old = os.environ.get("AUTOSPIKFORMER_HOME")
    os.environ["AUTOSPIKFORMER_HOME"] = str(folder)
    try:
        store = DuckDBStore(paths.store_path())
        fill_store(store, folder)
        best = store.rank(RUN, alpha=0.5, top=1)[0][0]
        rates = {name: 0.05 + 0.01 * k for k, name in enumerate(LAYERS)}
        with store.connect(write=True) as con:
            con.execute(
                "UPDATE candidates SET firing_rates = $f WHERE id = $i",
                {"f": json.dumps(rates, sort_keys=True), "i": best.id},
            )
        (paths.checkpoint_dir(RUN) / "epoch-0001.safetensors").write_bytes(b"a supernet")
        subnet = remote.export_file(RUN, best.id)
        subnet.parent.mkdir(parents=True, exist_ok=True)
        subnet.write_bytes(b"a subnet")
        store.add_artefact(
            ArtefactRecord(RUN, "subnet", paths.relative_to_artefacts(subnet), best.id)
        )
        board = store.share(RUN, alpha=0.4, top=5, title="frozen picks")
        store.close()
    finally:
        if old is None:
            os.environ.pop("AUTOSPIKFORMER_HOME", None)
        else:
            os.environ["AUTOSPIKFORMER_HOME"] = old
    yield World(folder, best.id, board.id)


@pytest.fixture(scope="module")
def stack(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_up(world.home, tmp_path_factory.mktemp("units-logs") / "up.log") as url:
        yield url


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("AUTOSPIKFORMER_ARTIFACTS") or REPO / "artifacts" / "e2e")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browsed(stack: str) -> Iterator[tuple]:
    """(page, every URL the browser requested, from the first page on)."""
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.on("request", lambda r: requested.append(r.url))
        tab = context.new_page()
        tab.set_default_timeout(STEP_TIMEOUT_MS)
        yield tab, requested
        browser.close()


@pytest.fixture(scope="module")
def page(browsed):
    return browsed[0]


# ---- reading what the browser drew ------------------------------------------------------------
# Every axis of every (SVG) chart: its title and its tick labels.
AXES = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].flatMap(chart =>
  [...chart.querySelectorAll('g[aria-roledescription="axis"]')].map(axis => ({
    aria: axis.getAttribute('aria-label') || '',
    title: [...axis.querySelectorAll('.role-axis-title text')].map(t => t.textContent).join(' '),
    ticks: [...axis.querySelectorAll('.role-axis-label text')].map(t => t.textContent),
  })))"""
# The column headers of every table (st.dataframe's grid, st.table's head).
HEADERS = """() => [
  ...[...document.querySelectorAll('[data-testid="stDataFrame"]')].map(d =>
    [...d.querySelectorAll('[role="columnheader"]')].map(h => h.innerText.trim())),
  ...[...document.querySelectorAll('[data-testid="stTable"] thead')].map(t =>
    [...t.querySelectorAll('th')].map(h => h.innerText.trim())),
]"""
# The boxes of the y-axis labels of the chart under the heading `title`.
LABEL_BOXES = """title => {
  const heading = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
    .find(m => m.innerText.trim().startsWith(title));
  const column = heading.closest('[data-testid="stColumn"]');
  const axis = [...column.querySelectorAll('g[aria-roledescription="axis"]')]
    .find(a => (a.getAttribute('aria-label') || '').startsWith('Y-axis'));
  return [...axis.querySelectorAll('.role-axis-label text')].map(t => {
    const r = t.getBoundingClientRect();
    return [t.textContent, r.top, r.bottom, r.left, r.right];
  });
}"""


def text(page) -> str:
    return page.evaluate("document.body.innerText")


def settle(page, ready: str) -> None:
    """Wait until `ready` is on the page and the app has finished its rerun; charts drawn."""
    page.get_by_text(ready).first.wait_for()
    idle(page)
    page.wait_for_timeout(1500)


def energy_axes(page) -> list[dict]:
    """Every axis, checked: a unit only in an energy axis's title, once; ticks plain numbers."""
    axes = page.evaluate(AXES)
    assert axes, "no chart axis drawn"
    energy = []
    for axis in axes:
        for tick in axis["ticks"]:
            assert not re.search(r"J\b", tick), f"a unit in a tick label: {axis}"
        if axis["title"].startswith(("energy", "winner energy")):
            assert re.fullmatch(rf"[\w ]*energy[\w ]* \({UNIT}\)", axis["title"]), axis
            for tick in axis["ticks"]:
                float(tick.replace(",", ""))  # a plain number in the title's unit
            energy.append(axis)
    return energy


def energy_headers(page) -> list[str]:
    """Every table header naming energy, each with exactly one unit."""
    headers = [h for table in page.evaluate(HEADERS) for h in table if "energy" in h]
    for header in headers:
        assert re.fullmatch(rf"energy \({UNIT}\)", header), header
    return headers


def no_uj(page) -> None:
    body = text(page)
    assert not re.search(r"\buJ\b", body), re.search(r".{40}\buJ\b.{10}", body)


# ---- share ------------------------------------------------------------------------------------
def test_enter_in_the_share_title_shares_nothing(page, stack: str, world: World) -> None:
    page.goto(f"{stack}/explorer?run={RUN}&alpha=0.3&top=5")
    settle(page, "Best at alpha=0.30")
    page.get_by_text("Share this leaderboard").click()
    title = one(page.get_by_label("Leaderboard title", exact=True))
    title.fill("half-typed ti")
    title.press("Enter")
    idle(page)
    page.wait_for_timeout(2000)  # a share would have been stored by now
    assert [b.title for b in world.store().list_leaderboards()] == ["frozen picks"]
    assert "Shared as leaderboard" not in text(page)
    title.fill("weekly picks")
    idle(page)
    page.get_by_role("button", name="Share leaderboard").click()
    page.get_by_text("Shared as leaderboard").wait_for()
    titles = sorted(b.title for b in world.store().list_leaderboards())
    assert titles == ["frozen picks", "weekly picks"]  # the button still shares


# ---- one unit per axis and table ---------------------------------------------------------------
def test_one_energy_unit_per_axis_and_table(page, stack: str, world: World, artifacts) -> None:
    # The explorer: its scatter's x axis, the leaderboard's header and the best line agree.
    page.goto(f"{stack}/explorer?run={RUN}&alpha=0.5&selection={world.candidate}")
    settle(page, "Best at alpha=0.50")
    page.locator("[data-testid='stDataFrame'] [role='columnheader']").first.wait_for(
        state="attached"
    )
    [scatter, *_] = energy_axes(page)
    unit = re.search(UNIT + r"\)$", scatter["title"]).group(1)
    assert energy_headers(page)[0] == f"energy ({unit})"
    best = page.locator("strong", has_text="Best at alpha").first.inner_text()
    assert re.search(rf"· [0-9.]+ {unit}\b", text(page)), best
    headers = page.evaluate(HEADERS)[0]
    assert "params" in headers  # the leaderboard keeps its params column
    no_uj(page)
    shot(page, artifacts, "units-explorer", height=1400)

    # The run page and the runs list: one energy per line, in µJ-style units, never uJ.
    page.goto(f"{stack}/runs?run={RUN}")
    settle(page, "Supernet training")
    energy_axes(page)
    assert re.search(rf"best [0-9a-f]{{16}} · [0-9.]+% · [0-9.]+ {UNIT}", text(page))
    no_uj(page)
    page.goto(f"{stack}/runs")
    settle(page, "in progress")
    assert re.search(rf"· [0-9.]+ {UNIT} · F_AEB", text(page))
    no_uj(page)

    # Compare: the fronts' x axis, the knee's energy axis and its table, one unit each.
    page.goto(f"{stack}/compare?mode=runs&run={RUN}&run2={RUN}")
    settle(page, "The knee")
    page.locator("[data-testid='stDataFrame'] [role='columnheader']").first.wait_for(
        state="attached"
    )
    axes = energy_axes(page)
    assert len(axes) >= 2, axes
    knee_unit = re.search(UNIT + r"\)$", axes[-1]["title"]).group(1)
    assert f"energy ({knee_unit})" in energy_headers(page)
    no_uj(page)
    shot(page, artifacts, "units-compare", height=1400)

    # A shared leaderboard: chart and table in one unit; counts with SI suffixes.
    page.goto(f"{stack}/leaderboard?id={world.board}")
    settle(page, "frozen picks")
    page.locator("[data-testid='stDataFrame'] [role='columnheader']").first.wait_for(
        state="attached"
    )
    [axis] = energy_axes(page)
    unit = re.search(UNIT + r"\)$", axis["title"]).group(1)
    assert energy_headers(page) == [f"energy ({unit})"]
    headers = page.evaluate(HEADERS)[0]
    assert {"params", "MACs", "SOPs"} <= set(headers), headers
    cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']").all_inner_texts()
    assert any(re.fullmatch(r"[0-9.]+ [kM]", c.strip()) for c in cells), cells
    assert not any(re.fullmatch(r"\d{5,}(\.\d+)?", c.strip()) for c in cells), cells
    no_uj(page)
    shot(page, artifacts, "units-leaderboard", height=1300)


# The scatter's ticks on one axis: (value, centre on the page) of each label, `%` stripped.
TICKS = """axis => {
  const chart = document.querySelector('[data-testid="stVegaLiteChart"]');
  const g = [...chart.querySelectorAll('g[aria-roledescription="axis"]')]
    .find(a => (a.getAttribute('aria-label') || '').startsWith(axis));
  return [...g.querySelectorAll('.role-axis-label text')].map(t => {
    const r = t.getBoundingClientRect();
    return [parseFloat(t.textContent.replace(',', '')), r.left + r.width / 2, r.top + r.height / 2];
  });
}"""


def test_a_box_dragged_in_nanojoules_selects_in_microjoules(page, stack: str, world: World) -> None:
    """Under 45nm-int8 the run's energies are tens of nJ: the axis is in nJ, and the box the
    view keeps (and links) is in µJ, the store's unit, so it selects what was dragged over."""
    from engine.profiles import get_profile

    page.goto(f"{stack}/explorer?run={RUN}&alpha=0.5&profile=45nm-int8")
    settle(page, "Best at alpha=0.50")
    [scatter, *_] = energy_axes(page)
    assert scatter["title"] == "energy per sample (nJ)", scatter
    xs, ys = page.evaluate(TICKS, "X-axis"), page.evaluate(TICKS, "Y-axis")
    (v0, x0, _), (v1, x1, _) = xs[1], xs[-2]
    per_px = (v1 - v0) / (x1 - x0)
    top, bottom = min(y for _, _, y in ys), max(y for _, _, y in ys)
    page.mouse.move(x0, top)
    page.mouse.down()
    page.mouse.move(x1, bottom, steps=12)
    page.mouse.up()
    page.wait_for_function("() => location.search.includes('box=')")
    idle(page)
    query = dict(p.split("=", 1) for p in page.evaluate("location.search")[1:].split("&"))
    e_lo, e_hi, a_lo, a_hi = (float(v) for v in unquote(query["box"]).split(","))
    slack = 3 * abs(per_px)  # a few pixels of the drag
    assert e_lo * 1000 == pytest.approx(v0, abs=slack) and e_hi * 1000 == pytest.approx(
        v1, abs=slack
    )
    inside = [
        r.id
        for r, _ in world.store().rank(RUN, alpha=0.5, top=1000, profile=get_profile("45nm-int8"))
        if e_lo <= r.energy_uj <= e_hi and a_lo <= r.accuracy <= a_hi
    ]
    assert inside and f"{len(inside):,} candidates selected" in text(page)


# ---- the small things --------------------------------------------------------------------------
def test_an_unknown_page_says_so_and_lists_the_pages(page, stack: str) -> None:
    page.goto(f"{stack}/nope")
    page.get_by_role("heading", name="No page nope").wait_for()
    idle(page)
    body = text(page)
    assert "There is no page at /nope" in body
    for path in ("/runs", "/launch", "/explorer", "/compare", "/leaderboards", "/help"):
        assert path in body
    assert "Runs" not in [h.strip() for h in page.locator("h1").all_inner_texts()]


def test_the_candidate_panel_fits_and_its_layer_labels_do_not_overlap(
    page, stack: str, world: World, artifacts
) -> None:
    page.goto(f"{stack}/explorer?run={RUN}&alpha=0.5&selection={world.candidate}")
    settle(page, "Firing rate per spiking layer")
    page.get_by_role("button", name="Download subnet").wait_for()
    idle(page)
    page.wait_for_timeout(1500)
    labels = page.evaluate(LABEL_BOXES, "Firing rate per spiking layer")
    assert sorted(name for name, *_ in labels) == sorted(LAYERS)
    boxes = sorted(labels, key=lambda b: b[1])
    for (a, _, a_bottom, *_), (b, b_top, *_) in zip(boxes, boxes[1:], strict=False):
        assert a_bottom <= b_top + 0.5, f"{a!r} overlaps {b!r}"
    assert not [name for name, *_ in labels if "…" in name]  # none cut short by the label limit
    problems = [p for p in page.evaluate(LAYOUT_PROBLEMS) if "button" in p]
    assert problems == []
    shot(page, artifacts, "units-candidate-panel", height=3000)


def test_nothing_is_fetched_from_outside_localhost(browsed, stack: str) -> None:
    page, requested = browsed
    page.goto(f"{stack}/help")
    page.get_by_role("heading").first.wait_for()
    idle(page)
    page.wait_for_timeout(1500)
    assert requested, "the browser recorded no request"
    outside = sorted({u for u in requested if urlsplit(u).hostname not in ("127.0.0.1", None)})
    assert outside == [], outside
    icon = unquote(page.evaluate("document.querySelector(\"link[rel='shortcut icon']\").href"))
    assert icon.startswith("data:image/svg+xml") and "⚡" in icon
