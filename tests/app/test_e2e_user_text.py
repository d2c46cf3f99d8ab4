"""User text is text, in a real browser (Playwright + Debian's chromium) against the app served by
`streamlit run` on 127.0.0.1: a leaderboard whose title, notes and author are Markdown, LaTeX, a
link and an image, a run whose owner is a link, and a link whose `?run=` is one all show their
characters, with no link, image, heading or formula made of them. The sidebar says the app
listens on localhost only.

Run it alone: `.venv/bin/pytest -m e2e tests/app/test_e2e_user_text.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.web.components.text import JOINER
from storage.duckdb_store import DuckDBStore
from storage.records import RunRecord
from tests.app.conftest import fill_store
from tests.app.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, REPO, free_port, wait_healthy
from tests.app.test_user_text import EVIL, NOTES, TITLE

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(int(os.environ.get("E2E_TIMEOUT_S", "600"))),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed"),
]
OWNER = "**boss** [me](https://evil.example) $x$"
# What the user text would have made: links, the image, a formula.
MADE = "a[href*='e.com'], a[href*='evil'], img[src*='a.png'], .katex"


@pytest.fixture
def served(home: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The app on 127.0.0.1 over a store with the leaderboard and the run; (URL, board id)."""
    store = DuckDBStore(home / "store.duckdb")
    filled = fill_store(store, home)
    board = store.share(filled.run, alpha=0.5, top=3, title=TITLE, notes=NOTES, author=EVIL)
    store.create_run(RunRecord(name="odd-owner", dataset="digits", owner=OWNER))
    store.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["AUTOSPIKFORMER_HOME"] = str(home)
    log = tmp_path / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app/streamlit_app.py",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_healthy(port, proc, log)
        yield f"http://127.0.0.1:{port}", board.id
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def text_of(locator) -> str:
    return locator.inner_text().replace(JOINER, "")


def test_user_text_renders_as_its_characters(served) -> None:
    from playwright.sync_api import sync_playwright

    url, board = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)

        page.goto(f"{url}/leaderboard?id={board}")
        heading = page.locator("[data-testid='stHeading']").filter(has_text="# x").first
        heading.wait_for()
        assert text_of(heading) == TITLE
        notes = page.locator("[data-testid='stText']").first
        assert text_of(notes) == NOTES
        line = page.locator("[data-testid='stMarkdownContainer']").filter(has_text="top 3 by F_AEB")
        assert text_of(line.first).endswith(f"by {EVIL}")
        assert page.locator(MADE).count() == 0
        headings = [text_of(h) for h in page.locator("h1, h2, h3, h4").all()]
        assert headings == ["Shared leaderboard", TITLE]  # `# x` made no heading of its own

        page.goto(f"{url}/runs?run={urllib.parse.quote(EVIL)}")
        warning = page.locator("[data-testid='stAlertContentWarning']").first
        warning.wait_for()
        assert EVIL in text_of(warning)
        page.locator("[data-testid='stMarkdownContainer']").filter(
            has_text="odd-owner"
        ).first.wait_for()
        card = page.locator("[data-testid='stMarkdownContainer']").filter(has_text="boss").first
        assert "owner **boss** [me](https://evil.example) $x$" in text_of(card)
        assert page.locator(MADE).count() == 0
        side = page.locator("[data-testid='stSidebar']")
        assert "The app listens on localhost only (127.0.0.1)." in text_of(side)
        browser.close()
