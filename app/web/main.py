"""The Streamlit app's navigation: every page, its URL and the sidebar (`app/streamlit_app.py` calls
`main()`; page paths are relative to that script).

Pages live at /launch, /runs, /explorer, /compare, /leaderboards (and /leaderboard?id=ID, one
shared leaderboard) and /help; each keeps its view in the URL's query parameters. The root address
opens the runs page.

With sign-in configured, a visitor who is not signed in gets the sign-in page at every address
and nothing else: no run, explorer or leaderboard page is even registered.
"""

from __future__ import annotations

import streamlit as st

from app.web.components import ui


def main() -> None:
    st.set_page_config(page_title="Auto-Spikformer", page_icon=":material/bolt:", layout="wide")
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
    home = st.Page(
        lambda: st.switch_page(ui.PAGES["runs"]), title="Home", default=True, visibility="hidden"
    )
    current = st.navigation([home, *pages], position="sidebar")
    ui.access_sidebar(acc)
    current.run()
