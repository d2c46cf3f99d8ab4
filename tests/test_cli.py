"""The command line as outside scripts use it (CONTRACT.md): JSON outputs and bad inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from storage.duckdb_store import DuckDBStore

CANDIDATE_KEYS = {
    "id",
    "arch",
    "accuracy",
    "energy_uj",
    "params",
    "firing_rate",
    "fitness",
    "generation",
}


def cli(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOSPIKFORMER_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=600,
    )
    if ok:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def last_json(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def searched(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A copy of the trained home with one evolution search (2 x 4) recorded."""
    home = tmp_path_factory.mktemp("searched")
    shutil.copytree(trained_home, home, dirs_exist_ok=True)
    out = cli(
        home,
        "search",
        "--run",
        "tiny",
        "--strategy",
        "evolution",
        "--generations",
        "2",
        "--population",
        "4",
        "--parents",
        "2",
        "--seed",
        "1",
        "--json",
    )
    return home, last_json(out)


def snapshot(home: Path) -> tuple:
    store = DuckDBStore(home / "store.duckdb")
    runs = [(r.name, r.state) for r in store.list_runs()]
    counts = [store.count_candidates(name) for name, _ in runs]
    return runs, counts


def test_train_json_and_resume(home: Path, tiny_space_file: Path) -> None:
    args = [
        "train",
        "--run",
        "t1",
        "--dataset",
        "digits",
        "--space",
        str(tiny_space_file),
        "--batch-size",
        "128",
        "--json",
    ]
    first = last_json(cli(home, *args, "--epochs", "1"))
    assert first["run"] == "t1" and first["epochs"] == 1
    assert Path(first["checkpoint"]).is_file()
    assert 0 <= first["val_accuracy_smallest"] <= 1 and 0 <= first["val_accuracy_largest"] <= 1
    second = last_json(cli(home, *args, "--epochs", "2"))  # resumes from epoch 1
    assert second["epochs"] == 2 and second["checkpoint"].endswith("epoch-0002.safetensors")


def test_search_json(searched: tuple[Path, dict]) -> None:
    _, result = searched
    assert set(result) == {"run", "search", "evaluated", "pareto", "best"}
    assert result["run"] == "tiny" and 1 <= result["evaluated"] <= 8
    assert set(result["best"]) == CANDIDATE_KEYS
    assert result["pareto"] and result["best"]["id"] in result["pareto"] or result["pareto"]


def test_candidates_rerank_at_the_extremes(searched: tuple[Path, dict]) -> None:
    home, _ = searched
    energy_first = last_json(cli(home, "candidates", "--run", "tiny", "--alpha", "1", "--json"))
    accuracy_first = last_json(cli(home, "candidates", "--run", "tiny", "--alpha", "0", "--json"))
    by_energy = energy_first["candidates"]
    assert by_energy[0]["energy_uj"] == min(c["energy_uj"] for c in by_energy)
    by_acc = accuracy_first["candidates"]
    assert by_acc[0]["accuracy"] == max(c["accuracy"] for c in by_acc)
    top = last_json(cli(home, "candidates", "--run", "tiny", "--top", "2", "--json"))
    assert len(top["candidates"]) == 2 and set(top["candidates"][0]) == CANDIDATE_KEYS


def test_export_then_evaluate_reproduces_the_candidate(searched, tmp_path) -> None:
    home, result = searched
    best = result["best"]
    out = tmp_path / "best.safetensors"
    cli(home, "export", "--run", "tiny", "--candidate", best["id"], "--out", str(out), "--json")
    got = last_json(
        cli(home, "evaluate", "--checkpoint", str(out), "--dataset", "digits", "--json")
    )
    assert {"accuracy", "energy_uj", "params", "firing_rate"} <= set(got)
    assert got["accuracy"] == pytest.approx(best["accuracy"])
    assert got["energy_uj"] == pytest.approx(best["energy_uj"], rel=1e-5)
    assert got["params"] == best["params"]
    test = last_json(
        cli(
            home,
            "evaluate",
            "--checkpoint",
            str(out),
            "--dataset",
            "digits",
            "--split",
            "test",
            "--json",
        )
    )
    assert 0 <= test["accuracy"] <= 1


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["candidates", "--run", "tiny", "--alpha", "1.5", "--json"], "alpha"),
        (["candidates", "--run", "tiny", "--alpha", "nan", "--json"], "alpha"),
        (["candidates", "--run", "nope", "--json"], "nope"),
        (
            [
                "export",
                "--run",
                "tiny",
                "--candidate",
                "0000000000000000",
                "--out",
                "x.safetensors",
            ],
            "candidate",
        ),
        (["search", "--run", "nope", "--generations", "1", "--population", "2"], "nope"),
        (["search", "--run", "tiny", "--alpha", "-0.1"], "alpha"),
        (["search", "--run", "tiny", "--recalib-batches", "0"], "recalib-batches"),
        (["search", "--run", "tiny", "--recalib-batches", "1001"], "recalib_batches"),
        (
            [
                "train",
                "--run",
                "../x",
                "--dataset",
                "digits",
                "--space",
                "digits-tiny",
                "--epochs",
                "1",
            ],
            "run",
        ),
        (
            [
                "train",
                "--run",
                "c",
                "--dataset",
                "cifar10",
                "--space",
                "cifar-small",
                "--epochs",
                "1",
            ],
            "cifar",
        ),
        (
            [
                "train",
                "--run",
                "c",
                "--dataset",
                "imagenet",
                "--space",
                "cifar-small",
                "--epochs",
                "1",
            ],
            "imagenet",
        ),
        (  # an event dataset takes T dividing its 16 frames; cifar-small has T=3
            [
                "train",
                "--run",
                "c",
                "--dataset",
                "dvs128-gesture",
                "--space",
                "cifar-small",
                "--epochs",
                "1",
            ],
            "T=3 does not divide its 16 frames",
        ),
        (
            [
                "train",
                "--run",
                "c",
                "--dataset",
                "digits",
                "--space",
                "no-such-preset",
                "--epochs",
                "1",
            ],
            "preset",
        ),
        (
            [
                "train",
                "--run",
                "tiny",
                "--dataset",
                "digits",
                "--space",
                "digits-tiny",
                "--epochs",
                "1",
            ],
            "other settings",
        ),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(searched, args, match, tmp_path) -> None:
    home, _ = searched
    before = snapshot(home)
    env_data = tmp_path / "empty-data"
    env_data.mkdir()
    os.environ["AUTOSPIKFORMER_DATA"] = str(env_data)
    try:
        proc = cli(home, *args, ok=False)
    finally:
        os.environ.pop("AUTOSPIKFORMER_DATA")
    assert match.lower() in one_line_error(proc).lower()
    assert snapshot(home) == before


def test_malformed_space_file_and_corrupt_checkpoint(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("embed_dim: [32\n")
    proc = cli(
        home,
        "train",
        "--run",
        "b",
        "--dataset",
        "digits",
        "--space",
        str(bad),
        "--epochs",
        "1",
        ok=False,
    )
    assert "malformed YAML" in one_line_error(proc)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00" * 64)
    proc = cli(home, "evaluate", "--checkpoint", str(corrupt), "--dataset", "digits", ok=False)
    assert "corrupt" in one_line_error(proc)
    assert not (home / "store.duckdb").exists() or snapshot(home) == ([], [])


def test_every_command_has_help(home: Path) -> None:
    from app.commands import NAMES

    for name in NAMES:
        assert "usage" in cli(home, name, "--help").stdout


def test_search_with_an_unmeetable_energy_budget_records_infeasible_candidates(
    trained_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    out = last_json(
        cli(
            home,
            "search",
            "--run",
            "tiny",
            "--strategy",
            "random",
            "--generations",
            "1",
            "--population",
            "2",
            "--energy-budget-uj",
            "0.000001",
            "--json",
        )
    )
    assert out["evaluated"] == 2  # recorded, though none meets the budget


def test_search_recalib_batches_is_the_evaluation_the_export_repeats(
    trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search's `--recalib-batches` is stored with it, and its export recalibrates BN exactly
    as the search's evaluation did (10 batches here, not the default 4)."""
    from engine.checkpoint import load_tensors
    from engine.evaluate import SubnetEvaluator, load_supernet
    from engine.space import Arch
    from tasks import pipeline

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    out = last_json(
        cli(home, "search", "--run", "tiny", "--strategy", "random", "--generations", "1",
            "--population", "2", "--recalib-batches", "10", "--json")
    )  # fmt: skip
    store = DuckDBStore(home / "store.duckdb")
    assert store.get_search(out["search"]).settings["recalib_batches"] == 10
    best = out["best"]
    exported = tmp_path / "best.safetensors"
    cli(home, "export", "--run", "tiny", "--candidate", best["id"], "--out", str(exported))
    tensors, _ = load_tensors(exported)
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(home))
    net, _ = load_supernet(pipeline.supernet_checkpoint("tiny"))
    arch = Arch.from_dict(best["arch"])
    stats = {}
    for n in (4, 10):
        result, subnet = SubnetEvaluator(net, "digits", recalib_batches=n).evaluate_one(arch)
        stats[n] = {k: v for k, v in subnet.state_dict().items() if k.endswith("running_mean")}
        if n == 10:
            assert result.accuracy == pytest.approx(best["accuracy"])
    assert stats[10] and all(torch.equal(tensors[k], v) for k, v in stats[10].items())
    assert not all(torch.equal(tensors[k], v) for k, v in stats[4].items())


def test_searches_recorded_before_recalib_batches_existed_keep_four() -> None:
    from dataclasses import asdict

    from tasks.pipeline import SearchSpec

    legacy = {k: v for k, v in asdict(SearchSpec()).items() if k != "recalib_batches"}
    assert SearchSpec(**legacy).recalib_batches == 4
