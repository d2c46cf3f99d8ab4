"""Where the app is reached, so links printed elsewhere (`share --json`'s `url`) can be absolute.

Known from, in order:
1. `AUTOSPIKFORMER_APP_URL` (e.g. `https://spikformer.example.org`): set it where the app is
   reached under another name than the one it listens on (a proxy, a container, a team server);
2. `$AUTOSPIKFORMER_HOME/app.json`, written by `autospikformer up` when it starts the app:
   `{"url": "http://localhost:8501", "address": "127.0.0.1", "port": 8501, ...}`.
Otherwise it is not known, and links stay relative (`/leaderboard?id=ID`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from engine.files import atomic_write
from storage import paths

APP_URL_ENV = "AUTOSPIKFORMER_APP_URL"
ADDRESS_FILE = "app.json"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")


def _clean(url: object) -> str | None:
    """`url` without a trailing slash if it is an http(s) URL with a host, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def url_for(address: str, port: int) -> str:
    """The URL of an app listening on `address:port`: localhost for loopback, this host's name for
    every interface, else the address itself."""
    if address in LOOPBACK:
        host = "localhost"
    elif address in WILDCARD:
        host = socket.gethostname() or "localhost"
    else:
        host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


def record_app_address(address: str, port: int) -> Path:
    """Write `app.json` in the home folder (what `up` calls when it starts the app)."""
    path = paths.home() / ADDRESS_FILE
    record = {
        "url": url_for(address, port),
        "address": address,
        "port": port,
        "pid": os.getpid(),
        "started_at": time.time(),
    }
    atomic_write(path, json.dumps(record))
    return path


def app_url() -> str | None:
    """The app's base URL (no trailing slash), or None when it is not known."""
    from_env = _clean(os.environ.get(APP_URL_ENV))
    if from_env:
        return from_env
    raw = os.environ.get(paths.HOME_ENV) or paths.DEFAULT_HOME
    path = Path(raw).expanduser().absolute() / ADDRESS_FILE
    try:
        return _clean(json.loads(path.read_text()).get("url"))
    except (OSError, ValueError, AttributeError):
        return None


def link(path_and_query: str) -> str:
    """`path_and_query` (`/leaderboard?id=ID`) made absolute when the app's address is known."""
    base = app_url()
    return f"{base}{path_and_query}" if base else path_and_query
