"""The Streamlit app's navigation: every page, its URL and the sidebar (`app/streamlit_app.py` calls
`main()`; page paths are relative to that script).

Pages live at /launch, /runs, /explorer, /compare, /leaderboards (and /leaderboard?id=ID, one
shared leaderboard) and /help; each keeps its view in the URL's query parameters. The root address
opens the runs page; any other address says there is no such page and lists the pages (Streamlit
would silently open the default page).

The favicon is an emoji, which the browser draws itself: a `:material/...:` page icon would be
fetched from Google's font host, which fails offline (the sidebar's Material icons are bundled
with Streamlit and load from the app's own server).

With sign-in configured, a visitor who is not signed in gets the sign-in page at every address
and nothing else: no run, explorer or leaderboard page is even registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import streamlit as st

from app.web.components import ui
from app.web.components.text import plain

FAVICON = "⚡"


def requested_path(url: str | None, base: str = "") -> str:
    """The page path of `url` (`st.context.url`), without the server's base path and slashes:
    `nope` for `http://host/nope`, `""` for the root (or when the URL is unknown)."""
    path = unquote(urlsplit(url or "").path).strip("/")
    base = base.strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :].strip("/")
    return path


def _home(pages: Sequence[st.Page]) -> None:
    """The default page: the root opens the runs page; an address that names no page says so
    and lists the pages."""
    wanted = requested_path(
        getattr(st.context, "url", None), str(st.get_option("server.baseUrlPath") or "")
    )
    if not wanted:
        st.switch_page(ui.PAGES["runs"])
    st.title(plain(f"No page {wanted}"))
    st.error(plain(f"There is no page at /{wanted}. The pages are:"))
    for page in pages:
        st.page_link(page, label=f"{page.title} (/{page.url_path})", icon=page.icon)


def main() -> None:
    st.set_page_config(page_title="Auto-Spikformer", page_icon=FAVICON, layout="wide")
    acc = ui.access()
    if acc.auth and not acc.user:
        gate = st.Page(ui.sign_in_page, title="Sign in", url_path="sign-in", default=True)
        st.navigation([gate], position="hidden").run()
        return

    pages = [
        st.Page(ui.PAGES["runs"], title="Runs", url_path="runs", icon=":material/monitoring:"),
        st.Page(
            ui.PAGES["launch"], title="Launch", url_path="launch", icon=":material/rocket_launch:"
        ),
        st.Page(
            ui.PAGES["explorer"],
            title="Explorer",
            url_path="explorer",
            icon=":material/scatter_plot:",
        ),
        st.Page(
            ui.PAGES["compare"], title="Compare", url_path="compare", icon=":material/compare:"
        ),
        st.Page(
            ui.PAGES["leaderboards"],
            title="Leaderboards",
            url_path="leaderboards",
            icon=":material/leaderboard:",
        ),
        st.Page(
            ui.PAGES["leaderboard"],
            title="Shared leaderboard",
            url_path="leaderboard",
            icon=":material/leaderboard:",
            visibility="hidden",
        ),
        st.Page(ui.PAGES["help"], title="Help", url_path="help", icon=":material/help:"),
    ]
    listed = [p for p in pages if p.url_path != "leaderboard"]  # that one needs an id
    home = st.Page(lambda: _home(listed), title="Home", default=True, visibility="hidden")
    current = st.navigation([home, *pages], position="sidebar")
    ui.note_page(current.url_path)
    ui.access_sidebar(acc)
    current.run()
