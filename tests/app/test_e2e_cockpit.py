"""The researcher's cockpit in a real browser (Playwright + Debian's chromium) against
`autospikformer up` with its real worker: Enter in a Launch field launches nothing; a launched
run's page shows its settings and curves that grow while it runs; the explorer and compare views
fit their columns at 1400 x 1000; clone and delete work.

The tests share one app and one tiny run, in file order. Screenshots go to `artifacts/e2e/` (or
`$AUTOSPIKFORMER_ARTIFACTS`); with `UPDATE_SCREENSHOTS=1` they are copied to `docs/screenshots/`.
Run it alone: `.venv/bin/pytest -m e2e tests/app/test_e2e_cockpit.py`.
"""

from __future__ import annotations

import os
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
    shot,
)

REPO = Path(__file__).resolve().parents[2]
RUN = "cockpit-e2e"
# The run's size; larger values (e.g. COCKPIT_EPOCHS=6) make nicer screenshots for the docs. The
# search must outlast a few of the page's refreshes (every 2 s) on a quiet machine, so that its
# curve is seen growing: 4 x 8 ended within one refresh; 5 x 16 takes about 10 s.
EPOCHS = int(os.environ.get("COCKPIT_EPOCHS", "2"))
GENERATIONS = int(os.environ.get("COCKPIT_GENERATIONS", "5"))
POPULATION = int(os.environ.get("COCKPIT_POPULATION", "16"))
RUN_DONE_S = 240

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(int(os.environ.get("E2E_TIMEOUT_S", "600"))),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's home folder, with the tiny space saved as an accepted upload would be."""
    folder = tmp_path_factory.mktemp("cockpit-home")
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
    """`autospikformer up` for the whole module."""
    with serve_up(home, tmp_path_factory.mktemp("cockpit-logs") / "up.log") as url:
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


def run_names(home: Path) -> list[str]:
    if not (home / "store.duckdb").exists():
        return []
    return [r.name for r in store(home).list_runs()]


# Points of each run-page chart, by its y-axis title (the charts are SVG).
CHART_POINTS = """() => Object.fromEntries(
  [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(chart => {
    const titles = [...chart.querySelectorAll('[aria-roledescription="axis"]')]
      .map(a => a.getAttribute('aria-label') || '');
    const y = titles.find(t => t.startsWith('Y-axis')) || '';
    const name = (y.match(/titled '([^']+)'/) || [null, y])[1];
    return [name, chart.querySelectorAll('[aria-roledescription="point"]').length];
  }))"""

# Every element of the main area that is wider than its column, or whose content is cut off.
LAYOUT_PROBLEMS = """() => {
  const out = [];
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const box = el => el.getBoundingClientRect();
  const column = el => el.parentElement.closest('[data-testid="stColumn"]') || main;
  const checks = [
    ['chart', '[data-testid="stVegaLiteChart"]'],
    ['drawing', '[data-testid="stVegaLiteChart"] :is(svg, canvas)'],
    ['table', '[data-testid="stDataFrame"], [data-testid="stTable"]'],
    ['button', '[data-testid="stButton"] button, [data-testid="stDownloadButton"] button'],
    ['metric', '[data-testid="stMetricValue"]'],
    ['tab', '[data-baseweb="tab"]'],
  ];
  for (const [kind, selector] of checks) {
    main.querySelectorAll(selector).forEach(el => {
      const r = box(el), c = box(column(el));
      const label = (el.innerText || el.getAttribute('aria-label') || '').slice(0, 40);
      if (r.width === 0) return;  // not shown (an inactive tab)
      if (r.left < c.left - 1 || r.right > c.right + 1)
        out.push(`${kind} "${label}" spans ${r.left|0}-${r.right|0} `
                 + `in a column ${c.left|0}-${c.right|0}`);
      if (el.scrollWidth > el.clientWidth + 1 && kind !== 'table')
        out.push(`${kind} "${label}" is cut off: ${el.scrollWidth} px in ${el.clientWidth}`);
    });
  }
  main.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller').forEach(el => {
    if (el.scrollWidth > el.clientWidth + 1)
      out.push(`a table scrolls sideways: ${el.scrollWidth} px of columns in ${el.clientWidth}`);
  });
  main.querySelectorAll('[data-testid="stMarkdownContainer"] p').forEach(el => {
    if (el.scrollWidth > el.clientWidth + 1) out.push(`text cut off: ${el.innerText.slice(0, 40)}`);
  });
  return out;
}"""


def test_enter_in_a_launch_field_launches_nothing(page, stack: str, home: Path) -> None:
    page.goto(f"{stack}/launch")
    page.get_by_text("Launch a run").first.wait_for()
    idle(page)
    name = one(page.get_by_label("Run name"))
    name.fill("enter-pressed")
    name.press("Enter")
    idle(page)
    # Parents first: at most the population (engine.limits), which then drops to 2.
    for label in ("Parents (top K)", "Supernet epochs", "Generations", "Population"):
        field = one(page.get_by_label(label))
        field.fill("2")
        field.press("Enter")
        idle(page)
    page.wait_for_timeout(2000)  # a launch would have created the run by now
    assert run_names(home) == []
    assert page.evaluate("location.pathname").endswith("/launch")
    assert one(page.get_by_label("Supernet epochs")).input_value() == "2"  # the value was taken
    assert "2 epochs" in page.evaluate("document.body.innerText")  # and the summary follows it


def test_a_run_page_shows_settings_and_curves_that_grow(
    page, stack: str, home: Path, artifacts: Path
) -> None:
    from app.web.components import forms

    saved = next(p.name for p in (home / "spaces").iterdir())
    params = {"space": saved, "name": RUN, "epochs": EPOCHS, "generations": GENERATIONS}
    params |= {"population": POPULATION, "parents": 2, "sampling": "sandwich"}
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page.goto(f"{stack}/launch?{query}")  # a link fills the form (as Clone does)
    page.get_by_text(f"space {saved}").wait_for()
    idle(page)
    assert one(page.get_by_label("Supernet epochs")).input_value() == str(EPOCHS)
    assert forms.SAVED_SPACE_RE.fullmatch(saved)
    page.get_by_role("button", name="Launch").click()
    page.wait_for_function(
        "r => location.pathname.endsWith('/runs') && location.search.includes('run=' + r)",
        arg=RUN,
    )
    page.get_by_text("just launched").wait_for()
    settings = ["Supernet training", "sampling", "sandwich", "recalibration batches", "parents"]
    page.wait_for_function(
        "words => words.every(w => document.body.innerText.includes(w))", arg=settings
    )

    seen: dict[str, list[int]] = {"training loss": [], "normalized hypervolume": []}
    live_shot = False
    deadline = time.monotonic() + RUN_DONE_S
    while time.monotonic() < deadline:
        points = page.evaluate(CHART_POINTS)
        for name, counts in seen.items():
            n = points.get(name, 0)
            if n and (not counts or n != counts[-1]):
                counts.append(n)
        state = store(home).get_run(RUN).state
        if state == "searching" and len(seen["normalized hypervolume"]) >= 1 and not live_shot:
            shot(page, artifacts, "run-page-live", height=2300)
            live_shot = True
        if state in ("done", "failed", "cancelled"):
            break
        page.wait_for_timeout(500)
    assert state == "done", store(home).get_run(RUN).message
    # The page notices by itself that the run ended: the mark goes, the Cancel button too.
    page.wait_for_function(
        "() => !document.body.innerText.includes('just launched')", timeout=STEP_TIMEOUT_MS
    )
    idle(page)
    assert page.get_by_role("button", name="Cancel").count() == 0
    points = page.evaluate(CHART_POINTS)
    seen["training loss"].append(points["training loss"])
    seen["normalized hypervolume"].append(points["normalized hypervolume"])
    # Seen growing in place, one point per epoch and per generation, to the end.
    assert seen["training loss"][-1] == EPOCHS and seen["normalized hypervolume"][-1] == GENERATIONS
    assert len(set(seen["training loss"])) >= 2, seen
    assert len(set(seen["normalized hypervolume"])) >= 2, seen
    assert seen["training loss"] == sorted(seen["training loss"]), seen
    assert seen["normalized hypervolume"] == sorted(seen["normalized hypervolume"]), seen
    epochs = store(home).epochs(RUN)
    assert [e.epoch for e in epochs] == list(range(1, EPOCHS + 1))
    assert all(e.worker for e in epochs)
    text = page.evaluate("document.body.innerText")
    assert f"generation {GENERATIONS} of {GENERATIONS}" in text
    shot(page, artifacts, "run-page", height=2300)


@pytest.mark.parametrize(
    "view",
    [
        "explorer?run={run}&alpha=0.5&selection={best}",
        "compare?mode=runs&run={run}&run2={run}&alpha=0.5",
        "compare?mode=candidates&run={run}&a={best}&b={other}&alpha=0.5",
    ],
)
def test_explorer_and_compare_fit_their_columns(
    page, stack: str, home: Path, artifacts: Path, view: str
) -> None:
    ranked = store(home).rank(RUN, alpha=0.5)
    assert len(ranked) > 2, "the run page test must have run first"
    url = view.format(run=RUN, best=ranked[0][0].id, other=ranked[-1][0].id)
    page.goto(f"{stack}/{url}")
    page.get_by_text("Link to this view").wait_for()
    page.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for()
    idle(page)
    page.wait_for_timeout(1000)  # charts size themselves to their columns
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert problems == [], problems
    name = url.split("?")[0] + ("-candidates" if "mode=candidates" in url else "")
    shot(page, artifacts, f"{name}-layout", height=2600)


def test_clone_then_delete(page, stack: str, home: Path) -> None:
    page.goto(f"{stack}/runs?run={RUN}")
    one(page.get_by_role("button", name="Clone")).click()
    page.wait_for_function("() => location.pathname.endsWith('/launch')")
    page.get_by_text("Launch a run").first.wait_for()
    idle(page)
    assert one(page.get_by_label("Run name")).input_value() == f"{RUN}-2"
    assert one(page.get_by_label("Supernet epochs")).input_value() == str(EPOCHS)
    assert one(page.get_by_label("Population")).input_value() == str(POPULATION)
    assert "sandwich" in page.evaluate("document.body.innerText")

    folder = home / "runs" / RUN
    assert folder.is_dir()
    page.goto(f"{stack}/runs?run={RUN}")
    one(page.get_by_role("button", name="Delete")).click()
    one(page.get_by_role("button", name="Yes, delete it")).click()
    page.get_by_text(f"Deleted {RUN}").wait_for()
    assert RUN not in run_names(home)
    assert not folder.exists()
    assert page.evaluate("location.search") == ""


def test_copy_screenshots(artifacts: Path) -> None:
    """With UPDATE_SCREENSHOTS=1, the good screenshots become the docs' (after the tests)."""
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    docs = REPO / "docs" / "screenshots"
    pairs = {
        "run-page": "run-page",
        "run-page-live": "run-page-live",
        "compare-layout": "compare",
        "compare-candidates-layout": "compare-candidates",
    }
    for source, target in pairs.items():
        if (artifacts / f"{source}.png").exists():
            shutil.copy(artifacts / f"{source}.png", docs / f"{target}.png")
