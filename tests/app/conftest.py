"""Fixtures for the app tests: a temporary home folder with a DuckDB store filled with real
`CandidateRecord`s (architectures drawn from the `digits-tiny` space, ids their real hashes)."""

from __future__ import annotations

import math
import re
import shutil
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.space import SearchSpace
from storage.duckdb_store import DuckDBStore
from storage.paths import store_path
from storage.records import CandidateRecord, GenerationRecord, RunRecord, SearchRecord

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"


def make_candidates(
    run: str,
    search: str,
    n: int,
    *,
    strategy: str = "evolution",
    seed: int = 0,
    generations: int = 3,
    created_at: float = 1_700_000_000.0,
) -> list[CandidateRecord]:
    """`n` distinct candidates with a realistic trade-off: bigger archs are more accurate and
    cost more energy, with noise, so the Pareto front and the F_AEB winner depend on alpha."""
    space = SearchSpace.preset("digits-tiny")
    rng = np.random.default_rng(seed)
    ops_rng = np.random.default_rng(seed + 10_000)
    seen: set[str] = set()
    out: list[CandidateRecord] = []
    for _ in range(n * 20):
        if len(out) == n:
            break
        arch = space.sample(rng)
        if arch.id in seen:
            continue
        seen.add(arch.id)
        mlp = float(np.mean(arch.mlp_ratios))
        size = (arch.embed_dim / 64) * (arch.depth / 2) * (arch.time_steps / 4) * (mlp / 4)
        energy = round(size * 2.0 * float(rng.lognormal(0.0, 0.3)) + 0.05, 5)
        accuracy = round(
            float(np.clip(0.55 + 0.4 * math.sqrt(size) + rng.normal(0, 0.03), 0, 1)), 4
        )
        rates = {
            f"blocks.{b}.mlp.fc1_lif": float(rng.uniform(0.02, 0.3)) for b in range(arch.depth)
        }
        rates["sps.rpe_lif"] = float(rng.uniform(0.02, 0.3))
        # Operation counts behind the energy (Eq. 3 at 4.6 pJ/MAC, 0.9 pJ/SOP): a share of it
        # in the first conv and the head (MACs), the rest in the blocks (SOPs); neuron updates
        # grow with the arch and T (free at 45 nm, priced on Loihi). The shares vary, so other
        # profiles rank differently. (Their own generator leaves the candidates as they were.)
        share = float(ops_rng.uniform(0.2, 0.9))
        macs = {
            "sps.proj_conv.0": energy * share * 0.9e6 / 4.6,
            "head": energy * share * 0.1e6 / 4.6,
        }
        sops = {
            f"blocks.{b}.mlp.fc1_linear": energy * (1 - share) * 1e6 / 0.9 / arch.depth
            for b in range(arch.depth)
        }
        updates = {
            f"blocks.{b}.mlp.fc1_lif": float(
                round(arch.embed_dim * 40 * arch.time_steps * ops_rng.lognormal(0.0, 0.5))
            )
            for b in range(arch.depth)
        }
        layers = {k: v * 4.6e-6 for k, v in macs.items()}
        layers.update({k: v * 0.9e-6 for k, v in sops.items()})
        out.append(
            CandidateRecord(
                run=run,
                search=search,
                id=arch.id,
                arch=arch.to_dict(),
                accuracy=accuracy,
                energy_uj=energy,
                params=int(arch.embed_dim**2 * arch.depth * 12),
                sops=sum(sops.values()),
                macs=sum(macs.values()),
                neuron_updates=sum(updates.values()),
                layer_ops={"macs": macs, "sops": sops, "neuron_updates": updates},
                firing_rate=float(np.mean(list(rates.values()))),
                firing_rates=rates,
                layer_energy_uj=layers,
                generation=len(out) % generations,
                strategy=strategy,
                worker="test",
                created_at=created_at + len(out),
            )
        )
    assert len(out) == n
    return out


@dataclass
class Filled:
    """What `filled` put in the store."""

    store: DuckDBStore
    home: Path
    run: str = "digits-demo"
    evolution: str = "digits-demo.evolution.1"
    random: str = "digits-demo.random.1"
    records: dict[str, list[CandidateRecord]] = field(default_factory=dict)


def fill_store(store: DuckDBStore, home: Path) -> Filled:
    """One finished run with an evolution search (60 candidates, 3 generations) and a random
    search (40 candidates), plus a second, empty run that is still training."""
    out = Filled(store=store, home=home)
    store.create_run(
        RunRecord(
            name=out.run,
            owner="alice",
            dataset="digits",
            space=SearchSpace.preset("digits-tiny").to_dict(),
            state="done",
            progress=1.0,
            created_at=1_700_000_000.0,
            updated_at=1_700_000_754.0,
        )
    )
    searches = ((out.evolution, "evolution", 60, 1), (out.random, "random", 40, 2))
    for sid, strategy, n, seed in searches:
        store.create_search(
            SearchRecord(
                id=sid,
                run=out.run,
                strategy=strategy,
                state="done",
                generation=3,
                settings={"generations": 3, "population": n // 3},
            )
        )
        records = make_candidates(out.run, sid, n, strategy=strategy, seed=seed)
        store.add_candidates(records)
        out.records[sid] = records
        for g in range(3):
            store.add_generation(
                GenerationRecord(
                    search=sid,
                    generation=g,
                    hypervolume=1.0 + g * 0.1 + (0.05 if strategy == "evolution" else 0.0),
                    best_id=records[g].id,
                    best_fitness=0.8,
                    evaluated=(g + 1) * n // 3,
                )
            )
    store.create_run(
        RunRecord(name="digits-live", dataset="digits", state="training", progress=0.4)
    )
    return out


@pytest.fixture(scope="session")
def _filled_template(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    """`fill_store` once per test process, into a folder of its own: filling takes about 0.25 s
    of store writes, and about 250 tests start from the same content."""
    folder = tmp_path_factory.mktemp("filled-template")
    store = DuckDBStore(folder / "store.duckdb")
    try:
        return fill_store(store, folder)
    finally:
        store.close()


@pytest.fixture
def filled(home: Path, _filled_template: Filled) -> Iterator[Filled]:
    """`fill_store`'s content in the test's home folder: a copy of the store file the template
    filled (the same bytes `fill_store` writes, without writing them again)."""
    path = store_path()
    shutil.copyfile(_filled_template.store.path, path)
    store = DuckDBStore(path)
    records = {search: list(rows) for search, rows in _filled_template.records.items()}
    yield Filled(store=store, home=home, records=records)
    store.close()


@dataclass
class FakeTasks:
    """Stands in for `tasks.api` (the queue): records launches and cancels, enqueues nothing."""

    launched: list[tuple[Any, Any, str]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


@pytest.fixture
def fake_tasks(monkeypatch: pytest.MonkeyPatch) -> FakeTasks:
    fake = FakeTasks()
    module = types.ModuleType("tasks.api")

    def launch(run_spec: Any, search_spec: Any, *, owner: str = "") -> str:
        fake.launched.append((run_spec, search_spec, owner))
        return run_spec.name

    def status(run: str) -> dict[str, Any]:
        return {"run": run, "state": "queued", "progress": 0.0}

    def cancel(run: str) -> None:
        fake.cancelled.append(run)

    module.launch, module.status, module.cancel = launch, status, cancel  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tasks.api", module)
    import tasks

    monkeypatch.setattr(tasks, "api", module, raising=False)
    return fake


def _scan_once() -> None:
    """Streamlit's `AppTest` scans every installed package's metadata for v2 components each
    time it starts a script (about 0.45 s of CPU for this venv's 380 packages, more than the
    page itself). The installed packages don't change during a test run: the first scan's result
    is kept and handed to the later ones."""
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    if getattr(scan, "scanned_once", False):
        return
    found: list = []

    def scan_once(max_workers: int | None = None) -> list:
        if not found:
            found.append(scan(max_workers))
        return list(found[0])

    scan_once.scanned_once = True  # type: ignore[attr-defined]
    manifest_scanner.scan_component_manifests = scan_once


def app_at(
    page: str,
    params: dict[str, str] | None = None,
    *,
    secrets: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    timeout: float = 30,
):
    """An `AppTest` of the whole app, switched to `page` ("explorer", ...) with `params` in the
    URL (and optional Streamlit `secrets` and `st.user`), after one run."""
    from streamlit.testing.v1 import AppTest

    _scan_once()
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if secrets:
        at.secrets.update(secrets)
    if user is not None:
        at.user = dict(user)
    at.run()
    at.query_params.clear()
    at.query_params.update(params or {})
    try:
        at.switch_page(f"web/pages/{page}.py")
    except ValueError as err:  # sign-in configured, nobody signed in: the gate is the only page
        if "Known pages: ['Sign in']" not in str(err):
            raise
    return at.run()


def shown(markdown: str) -> str:
    """What Markdown source written with `app.web.components.text.plain` shows: its characters,
    without the escapes and the invisible word joiners."""
    from app.web.components.text import JOINER

    return re.sub(r"\\(.)", r"\1", markdown).replace(JOINER, "")


@pytest.fixture(autouse=True)
def _whole_team(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everyone signed in is on the team (`AUTOSPIKFORMER_USERS=*`): the sign-in tests are about
    owners and admins; who is on the team at all is tests/app/test_team.py's, which sets its own."""
    monkeypatch.setenv("AUTOSPIKFORMER_USERS", "*")


@pytest.fixture
def make_records() -> Callable[..., list[CandidateRecord]]:
    """`make_candidates`, for tests that add more candidates."""
    return make_candidates


@pytest.fixture
def open_app() -> Callable[..., Any]:
    """`open_app(page, params)`: the app on `page` with `params` in the URL (see `app_at`)."""
    return app_at


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end browser test against `autospikformer up` (run alone: -m e2e)"
    )
