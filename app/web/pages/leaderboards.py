"""Shared leaderboards: every snapshot of the team, newest first, each linking to its permalink
`/leaderboard?id=ID`. Share one from the explorer ("Share this leaderboard") or with
`autospikformer share`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.web.components import ui, viewstate
from app.web.components.text import board_title

PAGE = "leaderboards"


def listing(base_url: str | None) -> pd.DataFrame:
    """One row per leaderboard, newest first, with the link to it."""
    rows = [
        {
            "title": board_title(b.title),  # a dataframe cell: plain text, as on the permalink
            "link": viewstate.share_link(base_url, "leaderboard", {"id": b.id}, current=PAGE),
            "run": b.run,
            "scope": b.search or "whole run",
            "alpha": b.alpha,
            "energy profile": b.energy_profile,
            "top": b.top,
            "rows": len(b.candidates),
            "author": b.author,
            "shared": pd.Timestamp(b.created_at, unit="s"),
            "edited": None if b.edited_at is None else pd.Timestamp(b.edited_at, unit="s"),
            "id": b.id,
        }
        for b in ui.store().list_leaderboards()
    ]
    columns = ["title", "link", "run", "scope", "alpha", "energy profile", "top", "rows"]
    return pd.DataFrame(rows, columns=[*columns, "author", "shared", "edited", "id"])


def main() -> None:
    st.title("Shared leaderboards")
    ui.publish_url(PAGE, {})
    acc = ui.access()
    if acc.auth and not acc.user:
        st.info("Sign in to read shared leaderboards.")
        return
    table = listing(getattr(st.context, "url", None))
    if table.empty:
        st.info(
            "Nothing shared yet. Open a run in the explorer and use 'Share this leaderboard', "
            "or run `autospikformer share --run NAME --alpha A --top K`."
        )
        return
    st.caption(
        f"{len(table)} leaderboards, newest first. Each is frozen: its rows stay as they were "
        "when it was shared."
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "link": st.column_config.LinkColumn("open", display_text="open"),
            "alpha": st.column_config.NumberColumn(format="%.2f"),
            "shared": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "edited": st.column_config.DatetimeColumn(
                format="YYYY-MM-DD HH:mm", help="When its title or notes last changed"
            ),
        },
    )


main()
