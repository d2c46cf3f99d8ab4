"""app.common.address: where the app is reached, for absolute links (`share --json`'s url)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from app.common.address import ADDRESS_FILE, APP_URL_ENV, app_url, link, record_app_address, url_for


@pytest.fixture(autouse=True)
def _no_configured_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(APP_URL_ENV, raising=False)


def test_unknown_address_keeps_links_relative(home: Path) -> None:
    assert app_url() is None
    assert link("/leaderboard?id=abc") == "/leaderboard?id=abc"


def test_the_address_up_records_makes_links_absolute(home: Path) -> None:
    path = record_app_address("127.0.0.1", 8601)
    assert path == home / ADDRESS_FILE
    assert json.loads(path.read_text())["port"] == 8601
    assert link("/leaderboard?id=abc") == "http://localhost:8601/leaderboard?id=abc"


def test_the_environment_wins_over_the_recorded_address(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_app_address("127.0.0.1", 8601)
    monkeypatch.setenv(APP_URL_ENV, "https://nas.example.org/")
    assert link("/leaderboard?id=abc") == "https://nas.example.org/leaderboard?id=abc"


@pytest.mark.parametrize("bad", ["", "nas.example.org", "ftp://x", "http://", "javascript:x"])
def test_a_url_that_is_not_http_is_ignored(
    home: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv(APP_URL_ENV, bad)
    assert app_url() is None
    (home / ADDRESS_FILE).write_text(json.dumps({"url": bad}))
    assert app_url() is None


def test_a_broken_address_file_is_ignored(home: Path) -> None:
    (home / ADDRESS_FILE).write_text("{not json")
    assert app_url() is None
    (home / ADDRESS_FILE).write_text("[1, 2]")
    assert app_url() is None


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("127.0.0.1", "http://localhost:8501"),
        ("::1", "http://localhost:8501"),
        ("10.0.0.7", "http://10.0.0.7:8501"),
        ("fd00::7", "http://[fd00::7]:8501"),
        ("0.0.0.0", f"http://{socket.gethostname()}:8501"),
    ],
)
def test_url_for_an_address(address: str, url: str) -> None:
    assert url_for(address, 8501) == url
