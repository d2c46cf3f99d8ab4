"""The navigation's address reading: which page a URL asks for (an unknown one gets a page that
says so; the browser test opens /nope), with or without the server's base path."""

from __future__ import annotations

import pytest

from app.web.main import requested_path


@pytest.mark.parametrize(
    ("url", "base", "path"),
    [
        ("http://127.0.0.1:8501", "", ""),
        ("http://127.0.0.1:8501/", "", ""),
        ("http://127.0.0.1:8501/nope", "", "nope"),
        ("http://127.0.0.1:8501/nope/", "", "nope"),
        ("http://host/a%20b", "", "a b"),
        ("http://host/spikes", "spikes", ""),
        ("http://host/spikes/nope", "/spikes/", "nope"),
        ("http://host/spikesnope", "spikes", "spikesnope"),
        (None, "", ""),
    ],
)
def test_the_requested_page_path(url, base, path) -> None:
    assert requested_path(url, base) == path


def test_the_root_opens_the_runs_page(filled) -> None:
    """AppTest has no browser URL: the default page is the root, which opens the runs page."""
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, _scan_once

    _scan_once()
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Runs"]
