"""The detail panel's worker buttons: export + download a candidate's subnet, evaluate on test.

Both run on a gpu worker (`tasks.remote`), never in the web process: a button asks for the work,
the panel shows where the request stands (refreshing itself while a worker has it) and then the
download, or the test accuracy, clearly labelled as measured on the test split. The test split is
never used by a search; this is the one place a candidate meets it. Both start GPU work, so
both re-check the signed-in user (`permissions`) when clicked: with sign-in, only someone
signed in may.
"""

from __future__ import annotations

import streamlit as st

from app.common import units
from app.web.components import downloads, permissions
from app.web.components.text import plain
from engine.errors import AutoSpikformerError
from storage.base import Store
from storage.errors import one_line
from storage.records import CandidateRecord
from tasks.remote import Request

REFRESH_S = 2.0
TEST_LABEL = "test accuracy (test split)"


ACTIONS = {"export": permissions.EXPORT, "test": permissions.EVALUATE}


def export_button(
    store: Store, run: str, record: CandidateRecord, *, key: str, acc: permissions.Identity
) -> None:
    """Export on a worker, then download (.safetensors). `acc`: who is signed in now."""
    _action(store, run, record, "export", key=key, acc=acc)


def test_button(
    store: Store, run: str, record: CandidateRecord, *, key: str, acc: permissions.Identity
) -> None:
    """Evaluate the exported subnet on the test split on a worker, then show the result."""
    _action(store, run, record, "test", key=key, acc=acc)


def _action(
    store: Store,
    run: str,
    record: CandidateRecord,
    kind: str,
    *,
    key: str,
    acc: permissions.Identity,
) -> None:
    if not downloads.has_supernet(run):
        st.caption("No supernet checkpoint in this run, so no subnet to export.")
        return
    try:
        current = downloads.request_state(store, run, record.id, kind)
    except AutoSpikformerError as err:
        st.caption(plain(one_line(err, 200)))
        return
    if current.state in ("queued", "running", "recording"):
        _waiting(store, run, record, kind, key)
    else:
        _show(store, run, record, current, key, acc)


def _waiting(store: Store, run: str, record: CandidateRecord, kind: str, key: str) -> None:
    @st.fragment(run_every=REFRESH_S)
    def poll() -> None:
        current = downloads.request_state(store, run, record.id, kind)
        if current.finished:
            st.rerun()  # the whole panel: show the download or the result
        what = "Export" if kind == "export" else "Test evaluation"
        stage = current.stage or "waiting for a gpu worker"
        st.caption(f"{what} on a gpu worker: {current.state} ({stage})")
        st.progress({"queued": 0.1, "running": 0.5, "recording": 0.9}.get(current.state, 0.0))

    poll()


def _show(
    store: Store,
    run: str,
    record: CandidateRecord,
    current: Request,
    key: str,
    acc: permissions.Identity,
) -> None:
    kind = current.kind
    if current.state == "done" and kind == "export":
        st.download_button(  # a short label: the panel's three columns are narrow
            "Download subnet",
            data=lambda: downloads.subnet_bytes(store, run, record.id),
            file_name=f"{run}-{record.id}.safetensors",
            mime="application/octet-stream",
            key=f"{key}_ckpt",
            icon=":material/download:",
            on_click="ignore",
            help="The standalone subnet as a .safetensors checkpoint",
        )
        st.caption(
            "A .safetensors checkpoint exported by a gpu worker: weights from the supernet, BN "
            "recalibrated."
        )
        return
    if current.state == "done" and current.test is not None:
        result = current.test
        st.metric(TEST_LABEL, f"{result.accuracy:.2%}")
        st.caption(
            f"{result.samples:,} test images, standalone subnet, energy "
            f"{units.format_energy(result.energy_uj)}. "
            "Searches rank by validation accuracy only; the test split is never used by them."
        )
        return
    label = "Export subnet on a worker" if kind == "export" else "Evaluate on test"
    if current.state == "failed":
        st.caption(plain(f"Failed: {current.message}"))
    why = permissions.refusal(acc, ACTIONS[kind])
    tip = "Exports a .safetensors checkpoint" if kind == "export" else "On the test split"
    disabled = why is not None
    if st.button(label, key=f"{key}_{kind}", icon=":material/memory:", disabled=disabled, help=tip):
        if why:  # `acc` is this run's: the user as the click arrives, not as the button was drawn
            st.error(plain(why))
            return
        try:
            downloads.request(store, run, record.id, kind)
        except AutoSpikformerError as err:
            st.error(plain(one_line(err, 200)))
            return
        st.rerun()
