"""End to end in a real browser (Playwright + Debian's chromium) against `autospikformer up`.

One test walks the whole product: launch a tiny digits run from the form (uploading a tiny space
YAML), watch it reach `done` on the runs page, open the explorer, read the chart, move alpha until
the top-ranked candidate changes, select that candidate on the chart and download its subnet,
evaluate the file with `autospikformer evaluate`, and open the share link in a second page.
Screenshots of every page go to `artifacts/e2e/` (or `$AUTOSPIKFORMER_ARTIFACTS`); with
`UPDATE_SCREENSHOTS=1` the good ones are copied to `docs/screenshots/`.

Run it alone: `.venv/bin/pytest -m e2e`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
RUN = "e2e-digits"
# A tiny joint space: the supernet trains in seconds on 2 CPU cores.
TINY_SPACE = """\
embed_dim: [16, 32]
depth: [1, 2]
mlp_ratio: [2, 4]
num_heads: [2]
time_steps: [1, 2]
threshold: [0.6, 1.0, 1.4]
tau: [1.5, 2]
"""
BEST = re.compile(r"Best at alpha=([0-9.]+): ([0-9a-f]{16})")
STARTUP_S = 90
RUN_DONE_S = 240
# The run's size; larger values (e.g. E2E_EPOCHS=3) make nicer screenshots for the docs.
EPOCHS = os.environ.get("E2E_EPOCHS", "1")
GENERATIONS = os.environ.get("E2E_GENERATIONS", "2")
POPULATION = os.environ.get("E2E_POPULATION", "6")
# How long one browser step may wait for the app. `make test` runs a second test process on the
# same two cores, so a step that takes a few seconds alone can take tens of seconds there (a
# launch once took over 30 s, and a step under CI once over 90 s).
STEP_TIMEOUT_MS = 180_000

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(int(os.environ.get("E2E_TIMEOUT_S", "600"))),
]


@pytest.fixture(autouse=True)
def _chromium() -> None:
    """Never skipped: without Debian's chromium the test fails and says how to get it (`make
    test` installs it when it can)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does it as root)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, log: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"autospikformer up exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the app did not answer on port {port} within {STARTUP_S} s")


@contextmanager
def serve_up(home: Path, log: Path) -> Iterator[str]:
    """`autospikformer up` on a free port with `home` as its home folder, logging to `log`;
    yields its URL and stops it as Ctrl-C does."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["AUTOSPIKFORMER_HOME"] = str(home)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(port, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does: `up` stops its children
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this fixture started
                proc.wait(timeout=10)


@pytest.fixture
def stack(home: Path, tmp_path: Path) -> Iterator[str]:
    """`autospikformer up` with the test's home folder."""
    with serve_up(home, tmp_path / "up.log") as url:
        yield url


@pytest.fixture
def artifacts() -> Path:
    folder = Path(os.environ.get("AUTOSPIKFORMER_ARTIFACTS") or REPO / "artifacts" / "e2e")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def text(page) -> str:
    return page.evaluate("document.body.innerText")


def best_on(page) -> tuple[str, str]:
    line = page.locator("strong", has_text="Best at alpha").first.inner_text()
    m = BEST.search(line)
    assert m, line
    return m.group(1), m.group(2)


def wait_best(page, alpha: str, timeout_s: float = STEP_TIMEOUT_MS / 1000) -> str:
    page.wait_for_function(
        "a => document.body.innerText.includes('Best at alpha=' + a + ':')",
        arg=alpha,
        timeout=timeout_s * 1000,
    )
    return best_on(page)[1]


def chart_marks(page) -> dict[str, str]:
    """Candidate id -> aria label of every drawn candidate on the explorer scatter (SVG)."""
    circles = page.locator(
        "[data-testid='stVegaLiteChart'] svg path[aria-roledescription='circle']"
    )
    circles.first.wait_for()
    labels = circles.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    out = {}
    for label in labels:
        m = re.search(r"candidate: ([0-9a-f]{16})", label or "")
        if m:
            out[m.group(1)] = label
    return out


def clickable_mark(page, prefer: str) -> tuple[str, tuple[float, float]]:
    """A candidate whose point no other point overlaps (`prefer` if it qualifies), and the
    centre of its point on the page: a click there selects exactly that candidate."""
    boxes = page.locator(
        "[data-testid='stVegaLiteChart'] svg path[aria-roledescription='circle']"
    ).evaluate_all(
        """els => els.map(e => {
            const r = e.getBoundingClientRect();
            return [e.getAttribute('aria-label'), r.x, r.y, r.width, r.height];
        })"""
    )
    marks = []
    for label, x, y, w, h in boxes:
        m = re.search(r"candidate: ([0-9a-f]{16})", label or "")
        if m:
            marks.append((m.group(1), x, y, w, h))

    def free(i: int) -> bool:
        _, x, y, w, h = marks[i]
        cx, cy = x + w / 2, y + h / 2
        return not any(
            j != i and ox - 1 <= cx <= ox + ow + 1 and oy - 1 <= cy <= oy + oh + 1
            for j, (_, ox, oy, ow, oh) in enumerate(marks)
        )

    order = sorted(range(len(marks)), key=lambda i: marks[i][0] != prefer)
    for i in order:
        if free(i):
            cid, x, y, w, h = marks[i]
            return cid, (x + w / 2, y + h / 2)
    raise AssertionError("every point on the chart is covered by another one")


def idle(page) -> None:
    """Wait until the app has finished its rerun (no running icon, no stale elements)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
                 && !document.querySelector('[data-stale="true"]')""",
        timeout=60_000,
    )


def one(locator):
    """`locator` once the page has settled on exactly one match (a rerun briefly shows the old
    and the new elements together)."""
    from playwright.sync_api import expect

    expect(locator).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    return locator


def shot(page, folder: Path, name: str, height: int = 1000) -> None:
    """Screenshot of the page's top `height` pixels (Streamlit scrolls inside its own
    container, so a taller viewport is how to get more of the page)."""
    size = page.viewport_size
    if height != size["height"]:
        page.set_viewport_size({"width": size["width"], "height": height})
    idle(page)
    page.mouse.move(0, 0)  # no tooltip over the page
    page.wait_for_timeout(800)  # let charts finish drawing
    page.screenshot(path=str(folder / f"{name}.png"))
    if height != size["height"]:
        page.set_viewport_size(size)
        idle(page)  # a resize redraws the charts; let any rerun that starts finish


class Clock:
    """Prints how long each step took (shown with `pytest -s`)."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def __call__(self, step: str) -> None:
        now = time.monotonic()
        print(f"[e2e] {step}: {now - self.last:.1f} s (total {now - self.start:.1f} s)")
        self.last = now


def test_launch_watch_explore_download_share(stack: str, home: Path, tmp_path: Path, artifacts):
    from playwright.sync_api import sync_playwright

    clock = Clock()
    space = tmp_path / "tiny-space.yaml"
    space.write_text(TINY_SPACE)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)

        # 1. Launch a tiny digits run from the form, with an uploaded (checked, shown) space.
        page.goto(f"{stack}/launch")
        page.get_by_text("Launch a run").first.wait_for()
        # The whole form drawn first: a click during the first run loses its seeded values.
        page.locator("[data-testid='stNumberInput']", has_text="Recalibration batches").wait_for()
        idle(page)
        page.get_by_text("upload YAML").click()
        page.locator("input[type=file]").set_input_files(str(space))
        page.get_by_text("is a valid search space").wait_for()
        idle(page)
        page.get_by_text("Use this search space").click()
        idle(page)
        fields = (
            ("Run name", RUN),
            ("Supernet epochs", EPOCHS),
            ("Generations", GENERATIONS),
            ("Population", POPULATION),
            ("Parents (top K)", "3"),
        )
        for label, value in fields:  # each left with Tab, as a user leaves a field
            field = one(page.get_by_label(label))
            field.fill(value)
            field.press("Tab")
        idle(page)
        # What was typed stays (a rerun that carried an older URL once re-seeded the form).
        assert [one(page.get_by_label(label)).input_value() for label, _ in fields] == [
            value for _, value in fields
        ]
        shot(page, artifacts, "launch", height=1500)
        page.get_by_role("button", name="Launch").click()

        clock("launch form")
        # 2. The run's page; watch it reach `done` (updates in place, no reload).
        page.wait_for_function(
            "r => location.pathname.endsWith('/runs') && location.search.includes('run=' + r)",
            arg=RUN,
        )
        page.get_by_text("just launched").wait_for()
        from storage.duckdb_store import DuckDBStore

        store = DuckDBStore(home / "store.duckdb")
        settings = store.get_run(RUN).settings
        assert settings["train"]["epochs"] == int(EPOCHS)
        search = settings["search"]
        assert (search["generations"], search["population"]) == (int(GENERATIONS), int(POPULATION))
        navigations = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        deadline = time.monotonic() + RUN_DONE_S * int(EPOCHS) * int(GENERATIONS) / 2
        live_shot = False
        while time.monotonic() < deadline:
            body = text(page)
            state = re.search(rf"{RUN}\s+(queued|training|searching|done|failed|cancelled)", body)
            searching = state and state.group(1) == "searching"
            if searching and not live_shot and re.search(r"generation \d+ of .*: best", body):
                shot(page, artifacts, "runs-live")
                live_shot = True
            if state and state.group(1) in ("done", "failed", "cancelled"):
                break
            time.sleep(1)
        assert state and state.group(1) == "done", body[-1500:]
        assert not navigations, f"the runs page reloaded: {navigations}"
        assert re.search(r"generation \d+ of .*: best", text(page))
        shot(page, artifacts, "runs")

        clock("run done")
        # 3. The explorer: read the chart, move alpha until the top-ranked candidate changes.
        page.get_by_text(f"Open {RUN} in the explorer").click()
        page.wait_for_function("() => location.pathname.endsWith('/explorer')")
        best_mid = wait_best(page, "0.50")
        marks = chart_marks(page)
        evaluated = store.count_candidates(RUN)
        assert len(marks) == evaluated > 1
        assert best_mid in marks
        slider = page.get_by_role("slider")
        slider.focus()
        slider.press("Home")
        by_accuracy = wait_best(page, "0.00")
        slider.press("End")
        by_energy = wait_best(page, "1.00")
        assert by_accuracy != by_energy, "one candidate dominates all others: no alpha changes it"
        assert "alpha=1" in page.evaluate("location.search")
        # Silent candidates last, as the explorer ranks by default (the cheapest may be silent).
        assert by_energy == store.rank(RUN, alpha=1.0, top=1, silent_last=True)[0][0].id

        clock("explorer and alpha")
        # 4. Select a point on the chart (the new winner unless another point covers it), have a
        # worker export its standalone subnet and download it; have a worker measure it on test.
        page.wait_for_timeout(1000)  # the chart redraws after the alpha move
        page.locator("[data-testid='stVegaLiteChart']").first.scroll_into_view_if_needed()
        target, (x, y) = clickable_mark(page, prefer=by_energy)
        page.mouse.click(x, y)
        page.wait_for_function(
            "c => location.search.includes('selection=' + c)", arg=target, timeout=STEP_TIMEOUT_MS
        )
        picked = target
        page.get_by_text(f"Candidate {picked}").wait_for()
        shot(page, artifacts, "explorer", height=2300)
        page.get_by_role("button", name="Export subnet on a worker").click()
        page.get_by_role("button", name="Download subnet").wait_for(timeout=180_000)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download subnet").click()
        checkpoint = tmp_path / "subnet.safetensors"
        download.value.save_as(checkpoint)
        assert checkpoint.stat().st_size > 1000
        page.get_by_role("button", name="Evaluate on test").click()
        page.get_by_text("test accuracy (test split)").wait_for(timeout=180_000)
        tested = store.test_results(RUN, picked)
        assert len(tested) == 1 and tested[0].split == "test"

        clock("select, export on a worker, download, evaluate on test")
        # 5. The file loads on its own with `autospikformer evaluate`.
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "app.cli",
                "evaluate",
                "--checkpoint",
                str(checkpoint),
                "--dataset",
                "digits",
                "--json",
            ],
            cwd=REPO,
            env={**os.environ, "AUTOSPIKFORMER_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        evaluated_file = json.loads(result.stdout.strip().splitlines()[-1])
        record = store.get_candidate(RUN, picked)
        assert evaluated_file["accuracy"] == pytest.approx(record.accuracy, abs=0.02)
        assert evaluated_file["energy_uj"] == pytest.approx(record.energy_uj, rel=0.25)

        clock("evaluate")
        # 6. The share link opens the same view in a second page.
        link = page.locator("[data-testid='stCode'] code").last.inner_text().strip()
        assert link.startswith(stack) and "/explorer?" in link
        second = context.new_page()
        second.goto(link)
        assert wait_best(second, "1.00") == by_energy
        second.get_by_text(f"Candidate {picked}").wait_for()
        assert second.evaluate("location.search") == page.evaluate("location.search")
        assert chart_marks(second).keys() == marks.keys()

        clock("share link")
        # The other pages, for the record (and the explorer at the default alpha).
        second.goto(f"{stack}/explorer?run={RUN}&alpha=0.5&selection={best_mid}")
        second.get_by_text(f"Candidate {best_mid}").wait_for()
        shot(second, artifacts, "explorer-alpha-0.5", height=2300)
        second.goto(f"{stack}/compare?run={RUN}&run2={RUN}&alpha=1")
        second.get_by_text("The knee").wait_for()
        shot(second, artifacts, "compare")
        second.goto(f"{stack}/help")
        second.get_by_text("synaptic operations").wait_for()
        shot(second, artifacts, "help")
        store.close()
        browser.close()
        clock("other pages")

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        docs = REPO / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        names = ("launch", "runs-live", "runs", "explorer", "explorer-alpha-0.5", "compare", "help")
        for name in names:
            if (artifacts / f"{name}.png").exists():
                shutil.copy(artifacts / f"{name}.png", docs / f"{name}.png")
