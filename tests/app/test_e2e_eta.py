"""The ETA from the first second, in a real browser (Playwright + Debian's chromium) against
`autospikformer up` and its real worker: a launched run's page shows an ETA with a number, what
the worker is doing ("epoch 1 of 2: batch N/629") and the per-step loss curve while epoch 1 is
still running; once the run is cancelled its elapsed time is frozen, and archiving it does not
change it.

Epoch 1 is made long by its batch count, not by sleeping: digits with batches of 2 (629 batches,
three archs per batch with sandwich sampling: about a minute on 2 busy CPU cores).
Run it alone: `.venv/bin/pytest -m e2e tests/app/test_e2e_eta.py`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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
    serve_up,
    shot,
)

REPO = Path(__file__).resolve().parents[2]
RUN = "eta-e2e"
LAUNCH = (
    "--dataset", "digits", "--epochs", "2", "--batch-size", "2", "--sampling", "sandwich",
    "--generations", "1", "--population", "2", "--parents", "1", "--seed", "1",
    "--device", "cpu",
)  # fmt: skip
# What the run's heading says while it is active: "ETA 3 min 05 s" or "ETA at least 1 min 20 s".
ETA = re.compile(r"ETA (at least )?(\d+ h \d+ min|\d+ min \d+ s|\d+ s)")
ELAPSED = re.compile(r"elapsed (\d+:\d\d(?::\d\d)?)")
NOW = re.compile(r"Now: epoch 1 of 2: batch (\d+)/(\d+) · \S+:\d+")
# The text of the run card's heading and its first line (state, dataset, elapsed, ETA).
CARD = """run => {
  const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes(run));
  return h ? h.closest('[data-testid="stMarkdownContainer"]').innerText : '';
}"""

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(int(os.environ.get("E2E_TIMEOUT_S", "600"))),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("eta-home")
    (folder / "tiny.yaml").write_text(TINY_SPACE)
    return folder


@pytest.fixture(scope="module")
def stack(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_up(home, tmp_path_factory.mktemp("eta-logs") / "up.log") as url:
        yield url


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


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("AUTOSPIKFORMER_ARTIFACTS") or REPO / "artifacts" / "e2e")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cli(home: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["AUTOSPIKFORMER_HOME"] = str(home)
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *args, "--json"],
        cwd=REPO,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def heading(page) -> str:
    """The run card's first line (state, dataset, elapsed, ETA)."""
    return page.evaluate(CARD, RUN)


def epochs_recorded(home: Path) -> int:
    from storage.duckdb_store import DuckDBStore

    return len(DuckDBStore(home / "store.duckdb").epochs(RUN))


def test_eta_worker_and_step_loss_are_shown_during_epoch_1(
    page, stack: str, home: Path, artifacts: Path
) -> None:
    launched = time.monotonic()
    cli(home, "launch", "--run", RUN, "--space", str(home / "tiny.yaml"), *LAUNCH)
    page.goto(f"{stack}/runs?run={RUN}")
    page.get_by_text("Supernet training").first.wait_for()
    # The page's live part reruns every 2 s: wait for an ETA with a number in the run's heading
    # and for the worker's progress line (the ETA can come a rerun before the first batch's
    # progress does).
    from playwright.sync_api import TimeoutError as PageTimeout

    try:
        page.wait_for_function(
            f"""([run, pattern, now]) => new RegExp(pattern).test(({CARD})(run))
                && new RegExp(now).test(document.body.innerText)""",
            arg=[RUN, ETA.pattern, NOW.pattern],
            timeout=180_000,
        )
    except PageTimeout:
        text = page.evaluate("document.body.innerText")[:1500]
        pytest.fail(f"no ETA with a number and progress line: {text}")
    seen_after = time.monotonic() - launched
    text = page.evaluate("document.body.innerText")
    # Still epoch 1: nothing recorded for an epoch yet, and the page says what the worker does.
    assert epochs_recorded(home) == 0, f"epoch 1 ended before the ETA showed ({seen_after:.0f} s)"
    assert ETA.search(heading(page)), heading(page)
    now = NOW.search(text)
    assert now, text[:2000]
    assert 1 <= int(now.group(1)) <= int(now.group(2)) == 629
    # The per-step loss curve, drawn before any epoch is recorded.
    page.wait_for_function(
        """() => [...document.querySelectorAll('[aria-roledescription="axis"]')]
            .some(a => (a.getAttribute('aria-label') || '').includes('training loss per step'))"""
    )
    shot(page, artifacts, "run-eta-epoch-1", height=1800)
    status = cli(home, "status", "--run", RUN)
    assert status["state"] == "training" and status["eta_s"] > 0
    assert status["doing"].startswith("epoch 1 of 2: batch ")
    assert status["elapsed_s"] > 0 and status["finished_at"] is None
    print(f"ETA shown {seen_after:.0f} s after launch: {heading(page)!r}; {status['eta_basis']}")


def test_elapsed_time_is_frozen_at_the_end_and_archiving_keeps_it(page, home: Path) -> None:
    cli(home, "cancel", "--run", RUN)
    page.wait_for_function(f"run => ({CARD})(run).includes('cancelled')", arg=RUN, timeout=60_000)
    idle(page)
    before = ELAPSED.search(heading(page)).group(1)
    status = cli(home, "status", "--run", RUN)
    assert status["state"] == "cancelled" and status["finished_at"] is not None
    page.wait_for_timeout(3000)  # seconds pass: an ended run's elapsed time does not move
    page.get_by_role("button", name="Archive").click()
    page.get_by_text("archived", exact=True).first.wait_for()
    idle(page)
    assert ELAPSED.search(heading(page)).group(1) == before
    after = cli(home, "status", "--run", RUN)
    assert after["archived"] is True
    assert (after["elapsed_s"], after["finished_at"]) == (
        status["elapsed_s"],
        status["finished_at"],
    )
