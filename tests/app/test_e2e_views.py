"""The researcher's views in a real browser (Playwright + Debian's chromium) against
`autospikformer up` with its real worker: a finished tiny run's search extended by one generation
from its page; brushing an axis of the parallel coordinates selects candidates in the explorer;
the runs table filtered by tag and state, tags edited on a run's page. Each view fits its columns
at 1400 px.

The tests share one app and one tiny run, in file order. Screenshots go to `artifacts/e2e/` (or
`$AUTOSPIKFORMER_ARTIFACTS`); with `UPDATE_SCREENSHOTS=1` they are copied to `docs/screenshots/`
(VIEWS_EPOCHS=4 VIEWS_GENERATIONS=3 VIEWS_POPULATION=10 make a run with more to look at).
Run it alone: `.venv/bin/pytest -m e2e tests/app/test_e2e_views.py`.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.test_e2e_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_TIMEOUT_MS,
    TINY_SPACE,
    idle,
    one,
    serve_up,
)
from tests.app.test_e2e_cockpit import LAYOUT_PROBLEMS

REPO = Path(__file__).resolve().parents[2]
RUN = "views-e2e"
EPOCHS = int(os.environ.get("VIEWS_EPOCHS", "1"))
GENERATIONS = int(os.environ.get("VIEWS_GENERATIONS", "2"))
POPULATION = int(os.environ.get("VIEWS_POPULATION", "6"))
RUN_DONE_S = 420
SHOTS = {"genes-parallel": "genes-parallel", "genes-importance": "genes-importance"}
SHOTS["runs-table"] = "runs-table"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(int(os.environ.get("E2E_TIMEOUT_S", "900"))),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's home folder, with the tiny space saved as an accepted upload would be."""
    folder = tmp_path_factory.mktemp("views-home")
    old = os.environ.get("AUTOSPIKFORMER_HOME")
    os.environ["AUTOSPIKFORMER_HOME"] = str(folder)
    try:
        from app.web.components import forms

        forms.save_space(forms.parse_space_yaml(TINY_SPACE))
    finally:
        if old is None:
            os.environ.pop("AUTOSPIKFORMER_HOME", None)
        else:
            os.environ["AUTOSPIKFORMER_HOME"] = old
    return folder


@pytest.fixture(scope="module")
def stack(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_up(home, tmp_path_factory.mktemp("views-logs") / "up.log") as url:
        yield url


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("AUTOSPIKFORMER_ARTIFACTS") or REPO / "artifacts" / "e2e")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(stack: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(STEP_TIMEOUT_MS)
        yield tab
        browser.close()


def store(home: Path):
    from storage.duckdb_store import DuckDBStore

    return DuckDBStore(home / "store.duckdb")


def text(page) -> str:
    return page.evaluate("document.body.innerText")


def wait_state(home: Path, states: tuple[str, ...], timeout_s: float = RUN_DONE_S) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = store(home).get_run(RUN).state
        if state in states:
            return state
        time.sleep(1.0)
    raise AssertionError(f"run {RUN} still {store(home).get_run(RUN).state}")


def section_shot(page, folder: Path, keys: tuple[str, ...], name: str) -> None:
    """A screenshot of the containers `st-key-KEY` (their bounding box together), the window as
    tall as the page so nothing is scrolled away, and Streamlit's toolbar hidden."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2600})
    page.add_style_tag(content="header[data-testid='stHeader'] { display: none; }")
    idle(page)
    page.mouse.move(0, 0)  # no tooltip over the page
    page.wait_for_timeout(1500)  # charts size themselves to the new window
    boxes = [page.locator(f".st-key-{key}").first.bounding_box() for key in keys]
    top, left = min(b["y"] for b in boxes), min(b["x"] for b in boxes)
    bottom = max(b["y"] + b["height"] for b in boxes)
    right = max(b["x"] + b["width"] for b in boxes)
    clip = {"x": left - 16, "y": top - 16, "width": right - left + 32, "height": bottom - top + 32}
    page.screenshot(path=str(folder / f"{name}.png"), clip=clip)
    page.set_viewport_size(size)
    idle(page)


def test_a_finished_search_gets_one_more_generation_from_its_page(
    page, stack: str, home: Path
) -> None:
    saved = next(p.name for p in (home / "spaces").iterdir())
    params = {"space": saved, "name": RUN, "epochs": EPOCHS, "generations": GENERATIONS}
    params |= {"population": POPULATION, "parents": 2}
    page.goto(f"{stack}/launch?" + "&".join(f"{k}={v}" for k, v in params.items()))
    page.get_by_text(f"space {saved}").wait_for()
    idle(page)
    page.get_by_role("button", name="Launch").click()
    page.wait_for_function("r => location.search.includes('run=' + r)", arg=RUN)
    assert wait_state(home, ("done", "failed", "cancelled")) == "done"
    searches = store(home).list_searches(RUN)
    assert len(store(home).generations(searches[0].id)) == GENERATIONS

    page.goto(f"{stack}/runs?run={RUN}")
    page.get_by_text(f"generation {GENERATIONS} of {GENERATIONS}").first.wait_for()
    idle(page)
    field = one(page.get_by_label("More generations"))
    field.fill("1")
    field.press("Tab")
    idle(page)
    one(page.get_by_role("button", name="1 more generation")).click()
    page.get_by_text(f"generations {GENERATIONS + 1} to {GENERATIONS + 1} are queued").wait_for()
    assert wait_state(home, ("done", "failed", "cancelled")) == "done"
    # The page notices by itself: the new generation appears, under the same search id.
    target = GENERATIONS + 1
    page.get_by_text(f"generation {target} of {target}").first.wait_for(timeout=RUN_DONE_S * 1000)
    assert [s.id for s in store(home).list_searches(RUN)] == [searches[0].id]
    assert len(store(home).generations(searches[0].id)) == target


def test_brushing_an_axis_selects_candidates_in_the_explorer(
    page, stack: str, home: Path, artifacts: Path
) -> None:
    page.goto(f"{stack}/explorer?run={RUN}&alpha=0.5")
    page.get_by_text("What drives accuracy").wait_for()
    idle(page)
    assert "Nothing selected" in text(page)
    chart = page.locator("[data-testid='stVegaLiteChart']").filter(
        has=page.locator("text=energy (log)")
    )
    one(chart)
    chart.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(1000)
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert problems == [], problems
    section_shot(page, artifacts, ("genes_parallel",), "genes-parallel")
    section_shot(page, artifacts, ("genes_importance",), "genes-importance")

    # Drag over the upper half of the `embed dim` axis, its top value (32) included.
    chart.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(500)
    label = chart.locator("text", has_text=re.compile(r"^embed dim$")).first
    lab = label.bounding_box()
    box = chart.locator("svg").first.bounding_box()
    x = lab["x"] + lab["width"] / 2
    page.mouse.move(x - 15, box["y"] + 8)  # just above the axis' top value
    page.mouse.down()
    page.mouse.move(x + 15, box["y"] + box["height"] * 0.4, steps=10)
    page.mouse.up()
    page.wait_for_function("() => location.search.includes('brush=embed_dim')")
    idle(page)
    line = page.locator("p", has_text=re.compile(r"^Brushed:")).first.inner_text()
    matched = re.search(r"embed dim [0-9.]+ to 32: (\d+) of (\d+) candidates selected", line)
    assert matched, line
    n = int(matched.group(1))
    inside = [c for c in store(home).candidates(RUN) if c.arch["embed_dim"] == 32]
    assert n == len({c.id for c in inside}) > 0
    # The explorer's selection follows: the detail lists them (or opens the one).
    expected = f"{n:,} candidates selected" if n > 1 else "Candidate `"
    assert expected in text(page)
    assert "Nothing selected" not in text(page)
    # A copied link reproduces it.
    url = page.url
    page.goto(url)
    page.locator("p", has_text=re.compile(r"^Brushed:")).first.wait_for()
    assert expected in text(page)


def test_the_runs_table_filters_by_tag_and_state(
    page, stack: str, home: Path, artifacts: Path
) -> None:
    from storage.records import RunRecord

    store(home).create_run(RunRecord(name="views-other", dataset="digits", state="failed"))
    page.goto(f"{stack}/runs?run={RUN}")
    page.get_by_text("Tags and notes", exact=True).click()
    one(page.get_by_test_id("stMultiSelect").filter(has_text="Tags")).click()
    page.keyboard.type("tiny")
    page.keyboard.press("Enter")  # a new tag
    page.keyboard.press("Escape")
    page.get_by_label("Notes").fill("the e2e run")
    page.get_by_role("button", name="Save tags and notes").click()
    page.get_by_text(f"Saved the tags and notes of {RUN}").wait_for()
    assert store(home).get_run(RUN).tags == ["tiny"]

    page.goto(f"{stack}/runs")
    page.get_by_role("heading", name="views-other").wait_for()
    idle(page)
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert problems == [], problems
    section_shot(page, artifacts, ("runs_filters", "runs_table"), "runs-table")
    state = page.get_by_test_id("stMultiSelect").filter(has_text="State")
    state.click()
    page.get_by_role("option", name="done").click()
    page.keyboard.press("Escape")
    page.wait_for_function("() => location.search.includes('state=done')")
    idle(page)
    assert page.get_by_role("heading", name="views-other").count() == 0
    assert page.get_by_role("heading", name=RUN).count() == 1
    page.go_back()  # the browser's back button brings the view before the filter back
    page.wait_for_function("() => !location.search.includes('state=done')")
    page.get_by_role("heading", name="views-other").wait_for()
    page.goto(f"{stack}/runs?tag=tiny")  # a link filters as well
    page.get_by_role("heading", name=RUN).wait_for()
    idle(page)
    assert page.get_by_role("heading", name="views-other").count() == 0


def test_an_idle_runs_page_slows_down_and_wakes_for_a_new_run(page, stack: str, home: Path):
    """With nothing in progress the runs page redraws every 15 s (an idle tab's cost to the
    server); a teammate's run that starts shows within that, and brings back 2 s; when it ends,
    15 s again. No reload."""
    from storage.records import RunRecord

    page.goto(f"{stack}/runs")
    page.get_by_text("This list updates every 15 s.").wait_for()
    store(home).create_run(RunRecord(name="views-live", dataset="digits", state="training"))
    started = time.monotonic()
    page.get_by_role("heading", name="views-live").wait_for(timeout=30_000)
    page.get_by_text("This list updates every 2 s while a run is in progress.").wait_for()
    assert time.monotonic() - started < 25
    store(home).update_run("views-live", state="done", progress=1.0)
    page.get_by_text("This list updates every 15 s.").wait_for(timeout=15_000)


def test_copy_screenshots(artifacts: Path) -> None:
    """With UPDATE_SCREENSHOTS=1, the screenshots become the docs' (after the tests)."""
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    docs = REPO / "docs" / "screenshots"
    for source, target in SHOTS.items():
        if (artifacts / f"{source}.png").exists():
            shutil.copy(artifacts / f"{source}.png", docs / f"{target}.png")
