"""The command line as outside scripts use it (CONTRACT.md): JSON outputs and bad inputs."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout
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
    "feasible",
    "ops",
    "silent",
}


SERVERS = {"worker", "up"}  # they run until stopped and print only their logs


def cli(
    home: Path,
    *args: str,
    ok: bool = True,
    env: dict[str, str] | None = None,
    process: bool = False,
) -> subprocess.CompletedProcess:
    """`autospikformer ARGS` with `home` as its home folder: by default in this process
    (`app.cli.main.main`, the console script's own function: same parser, commands, error lines
    and exit codes, without a new interpreter's seconds of imports); with `process`, as a user
    runs it, `python -m app.cli` in a subprocess. Commands that reach a broker always run in a
    subprocess: the Celery app keeps the first broker URL a process gives it."""
    env = {"AUTOSPIKFORMER_HOME": str(home), "PYTHONWARNINGS": "ignore", **(env or {})}
    broker = args[0] in SERVERS or "--remote" in args or "REDIS_URL" in env
    proc = _in_a_process(args, env) if process or broker else _in_this_process(args, env)
    if ok:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _in_a_process(args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess:
    outer = {k: v for k, v in os.environ.items() if k != "AUTOSPIKFORMER_APP_URL"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**outer, **env},
        text=True,
        capture_output=True,
        timeout=600,
    )


def _in_this_process(args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`main(args)` with `env` over this process's environment, stdout and stderr captured, and
    what a command changes in the process (environment, torch's threads, working folder) put
    back afterwards. A bug's traceback propagates, failing the test as it would fail a user."""
    from app.cli.main import main

    saved, threads, cwd = dict(os.environ), torch.get_num_threads(), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.pop("AUTOSPIKFORMER_APP_URL", None)
    os.environ.update(env)
    try:
        with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                code = main(list(args))
            except SystemExit as stop:  # argparse's errors and --help
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        torch.set_num_threads(threads)
        os.chdir(cwd)
    return subprocess.CompletedProcess(
        ["autospikformer", *args], code, out.getvalue(), err.getvalue()
    )


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
        process=True,  # the console script itself, as outside scripts run it (CONTRACT)
    )
    return home, last_json(out)


# Commands whose other arguments are good, for the bad-number cases below.
TRAIN = ["train", "--run", "t2", "--dataset", "digits", "--space", "digits-tiny"]
LAUNCH = ["launch", "--run", "l2", "--dataset", "digits", "--space", "digits-tiny", "--epochs", "1"]
EXPORT = ["export", "--run", "tiny", "--candidate", "0" * 16, "--out", "x.safetensors"]


def snapshot(home: Path) -> tuple:
    store = DuckDBStore(home / "store.duckdb")
    runs = [(r.name, r.state) for r in store.list_runs()]
    counts = [store.count_candidates(name) for name, _ in runs]
    searches = [
        (s.id, s.state, s.generation, s.settings)
        for name, _ in runs
        for s in store.list_searches(name)
    ]
    return runs, counts, searches, [b.id for b in store.list_leaderboards()]


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
    by_energy = energy_first["candidates"]  # silent ones last (they may be the cheapest)
    assert by_energy[0]["energy_uj"] == min(c["energy_uj"] for c in by_energy if not c["silent"])
    by_acc = accuracy_first["candidates"]
    assert by_acc[0]["accuracy"] == max(c["accuracy"] for c in by_acc if not c["silent"])
    top = last_json(cli(home, "candidates", "--run", "tiny", "--top", "2", "--json"))
    assert len(top["candidates"]) == 2 and set(top["candidates"][0]) == CANDIDATE_KEYS


def test_silent_candidates_are_flagged_and_listed_last_unless_included(searched, tmp_path) -> None:
    home = tmp_path / "home"
    shutil.copytree(searched[0], home)
    args = ("candidates", "--run", "tiny", "--alpha", "0", "--json")
    first = last_json(cli(home, *args, "--include-silent"))["candidates"][0]["id"]
    store = DuckDBStore(home / "store.duckdb")
    with store.connect(write=True) as con:  # the most accurate: as if a block had never fired
        con.execute("UPDATE candidates SET silent = true WHERE id = $id", {"id": first})
    silent = {c.id for c in store.candidates("tiny") if c.silent}
    store.close()
    shown = last_json(cli(home, *args, "--include-silent"))["candidates"]
    assert shown[0]["id"] == first and shown[0]["silent"] is True
    assert [c["fitness"] for c in shown] == sorted((c["fitness"] for c in shown), reverse=True)
    assert {c["id"] for c in shown if c["silent"]} == silent
    listed = last_json(cli(home, *args))["candidates"]  # by default, silent ones last
    order = [c["id"] for c in shown if not c["silent"]] + [c["id"] for c in shown if c["silent"]]
    assert [c["id"] for c in listed] == order and listed[0]["silent"] is False


def test_status_history_reports_the_normalized_hypervolume(searched) -> None:
    home, _ = searched
    generations = last_json(cli(home, "status", "--run", "tiny", "--json"))["history"][
        "generations"
    ]
    values = [g["hypervolume_normalized"] for g in generations]
    assert len(values) == 2 and all(0.0 < v < 1.0 for v in values)
    assert values == sorted(values)  # the front only grows


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
    # The CLI says how many torch threads it chose for the cores it shares (engine.threads).
    assert "torch threads: " in cli(home, "evaluate", "--checkpoint", str(out), "--dataset",
                                    "digits", "--json").stderr  # fmt: skip
    pinned = cli(home, "evaluate", "--checkpoint", str(out), "--dataset", "digits", "--json",
                 env={"AUTOSPIKFORMER_TORCH_THREADS": "1"})  # fmt: skip
    assert "torch threads: 1 (AUTOSPIKFORMER_TORCH_THREADS=1)" in pinned.stderr
    bad = cli(home, "evaluate", "--checkpoint", str(out), "--dataset", "digits", ok=False,
              env={"AUTOSPIKFORMER_TORCH_THREADS": "many"})  # fmt: skip
    assert "AUTOSPIKFORMER_TORCH_THREADS" in one_line_error(bad)


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
        # The documented maxima (docs/cli.md, Limits) and no NaN or infinity in any number.
        (["candidates", "--run", "tiny", "--top", "1" + "0" * 20], "top must be a whole number"),
        (["candidates", "--run", "tiny", "--top", "100001"], "from 1 to 100000"),
        (["candidates", "--run", "tiny", "--alpha", "inf"], "alpha"),
        (["share", "--run", "tiny", "--alpha", "0.5", "--top", "1" + "0" * 20], "top must be"),
        (["share", "--run", "tiny", "--alpha=-inf", "--top", "3"], "alpha must be"),
        (["search", "--run", "tiny", "--population", "1000000000"], "from 1 to 5000"),
        (["search", "--run", "tiny", "--generations", "5001"], "from 1 to 5000"),
        (["search", "--run", "tiny", "--generations", "5000", "--population", "5000"], "x pop"),
        (["search", "--run", "tiny", "--population", "10", "--parents", "30"], "must not exceed"),
        (["search", "--run", "tiny", "--energy-budget-uj", "nan"], "finite number > 0"),
        (["search", "--run", "tiny", "--energy-budget-uj", "inf"], "finite number > 0"),
        (["search", "--run", "tiny", "--alpha", "nan"], "alpha"),
        (["search", "--run", "tiny", "--seed", str(2**64)], "seed must be a whole number"),
        (["search", "--run", "tiny", "--param-limit", str(10**13)], "param_limit"),
        ([*EXPORT, "--remote", "--timeout", "nan"], "positive number"),
        ([*TRAIN, "--epochs", "-5"], "epochs must be a whole number from 1 to 5000, got -5"),
        ([*TRAIN, "--epochs", "5001"], "epochs must be a whole number from 1 to 5000"),
        ([*TRAIN, "--epochs", "1", "--lr", "nan"], "lr must be a number > 0 and <= 1, got nan"),
        ([*TRAIN, "--epochs", "1", "--lr", "inf"], "lr must be a number > 0 and <= 1, got inf"),
        ([*TRAIN, "--epochs", "1", "--batch-size", "1000000"], "batch_size must be a whole"),
        ([*LAUNCH, "--population", "1000000000"], "population must be a whole number"),
        ([*LAUNCH, "--population", "10", "--parents", "30"], "must not exceed the population"),
        ([*LAUNCH, "--energy-budget-uj=-inf"], "finite number > 0"),
        ([*LAUNCH, "--seed", "-1"], "seed must be a whole number from 0 to 4294967295"),
        (["search", "--run", "tiny", "--energy-profile", "tpu"], "unknown energy profile"),
        (["candidates", "--run", "tiny", "--energy-profile", "tpu"], "unknown energy profile"),
        (
            [
                "launch",
                "--run",
                "l1",
                "--dataset",
                "digits",
                "--space",
                "digits-tiny",
                "--epochs",
                "1",
                "--energy-profile",
                "tpu",
            ],
            "unknown energy profile",
        ),  # fmt: skip
        (["search", "--generations", "1"], "--run is required"),
        (["search", "--resume", "tiny.evolution.1"], "needs --generations"),
        (["search", "--resume", "tiny.nope.1", "--generations", "1"], "unknown search"),
        (["search", "--resume", "tiny.evolution.1", "--generations", "0"], "generations"),
        (
            ["search", "--resume", "tiny.evolution.1", "--generations", "4999"],
            "from 1 to 5000, got 5001",
        ),
        (
            ["search", "--resume", "tiny.evolution.1", "--run", "other", "--generations", "1"],
            "does not belong to run 'other'",
        ),
        (
            ["search", "--resume", "tiny.evolution.1", "--generations", "1", "--population", "3"],
            "drop --population",
        ),
        (
            [
                "search",
                "--resume",
                "tiny.evolution.1",
                "--generations",
                "1",
                "--strategy",
                "random",
                "--seed",
                "1",
            ],
            "drop --strategy, --seed",
        ),
        (
            ["search", "--resume", "tiny.evolution.1", "--generations", "1", "--no-anchors"],
            "drop --no-anchors",
        ),
        (["share", "--run", "nope", "--alpha", "0.5", "--top", "3"], "nope"),
        (["share", "--run", "tiny", "--search", "nope", "--alpha", "0.5", "--top", "3"], "nope"),
        (["share", "--run", "tiny", "--alpha", "1.5", "--top", "3"], "alpha"),
        (["share", "--run", "tiny", "--alpha", "0.5", "--top", "0"], "top"),
        (["share", "--run", "tiny", "--alpha", "0.5", "--top", "3", "--energy-profile", "x"], "x"),
        (["leaderboard", "--id", "0123456789ab"], "unknown leaderboard"),
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
    assert not (home / "store.duckdb").exists() or snapshot(home) == ([], [], [], [])


def test_a_space_or_arch_beyond_the_limits_creates_nothing(
    home: Path, tmp_path: Path, tiny_space_file: Path
) -> None:
    """An uploaded-size space or ARCH file beyond the documented maxima (embed_dim 8e6, depth
    1e6, T 1e5, 20,000 choices) is refused in one line by train and launch; no run exists."""
    good = tiny_space_file.read_text()
    files = {
        "wide.yaml": good.replace("embed_dim: [16, 32]", "embed_dim: [16, 8000000]"),
        "long.yaml": good.replace("time_steps: [1, 2]", "time_steps: [1, 100000]"),
        "many.yaml": good.replace("tau: [1.5, 2, 10]", "tau: [" + ", ".join(["2"] * 20_000) + "]"),
        "deep.json": json.dumps({"embed_dim": 16, "depth": 10**6, "mlp_ratios": [2],
                                 "num_heads": [2], "time_steps": 1, "thresholds": [1.0],
                                 "taus": [2.0]}),
    }  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    cases = [
        ("--space", "wide.yaml", "embed_dim choice must be a whole number from 8 to 1024"),
        ("--space", "long.yaml", "time_steps choice must be a whole number from 1 to 64"),
        ("--space", "many.yaml", "tau has 20,000 choices; at most 64"),
        ("--arch", "deep.json", "arch.depth must be a whole number from 1 to 24, got 1000000"),
    ]
    for option, name, match in cases:
        for command in ("train", "launch"):
            if command == "launch" and option == "--arch":
                continue
            args = [command, "--run", "r", "--dataset", "digits", "--epochs", "1"]
            proc = cli(home, *args, option, str(tmp_path / name), ok=False)
            assert match in one_line_error(proc), (command, name)
    assert not (home / "store.duckdb").exists() or snapshot(home) == ([], [], [], [])


def test_every_command_has_help(home: Path) -> None:
    from app.cli.commands import NAMES

    for name in NAMES:
        assert "usage" in cli(home, name, "--help", process=True).stdout


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
    assert out["best"] is None and out["pareto"] == []
    listed = last_json(cli(home, "candidates", "--run", "tiny", "--json"))["candidates"]
    assert listed == []


@pytest.mark.parametrize(
    ("strategy", "flag"),
    [
        ("evolution", []),
        ("evolution", ["--no-anchors"]),
        ("random", []),
        ("nsga2", ["--no-anchors"]),
    ],
)
def test_search_anchors_start_generation_0_with_the_spaces_two_ends(
    trained_home: Path, tmp_path: Path, strategy: str, flag: list[str]
) -> None:
    """Every strategy's generation 0 holds the space's largest and cheapest arch unless
    `--no-anchors`; the setting is stored with the search, and each generation's progress line
    says its normalized hypervolume."""
    from engine.space import SearchSpace

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    proc = cli(home, "search", "--run", "tiny", "--strategy", strategy, "--generations", "1",
               "--population", "3", "--parents", "2", *flag, "--json")  # fmt: skip
    out = last_json(proc)
    assert re.search(r"generation 1/1 hypervolume \S+ normalized hypervolume 0\.\d{4}", proc.stderr)
    store = DuckDBStore(home / "store.duckdb")
    search = store.get_search(out["search"])
    assert search.settings["anchors"] is (not flag)
    space = SearchSpace.from_dict(store.get_run("tiny").space)
    ids = {c.id for c in store.candidates("tiny", out["search"])}
    ends = {a.id for a in space.anchors()}
    assert (ends <= ids) is (not flag) and len(ids) == 3


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


def test_search_nsga2_json_stores_a_fixed_reference(
    trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`search --strategy nsga2 --json` (CONTRACT, second round): the contract's JSON, feasible
    best on the front (of the candidates that are not silent: they are ranked last), and the
    hypervolume reference fixed at the start and stored with the search: the space's energy
    bound, under which the recorded history never decreases."""
    from engine.pareto import hypervolume, pareto_front
    from engine.space import SearchSpace
    from tasks import pipeline

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    args = ["search", "--run", "tiny", "--strategy", "nsga2", "--generations", "3"]
    out = last_json(cli(home, *args, "--population", "4", "--json"))
    assert set(out) == {"run", "search", "evaluated", "pareto", "best"}
    assert out["search"] == "tiny.nsga2.1" and 4 <= out["evaluated"] <= 12
    assert set(out["best"]) == CANDIDATE_KEYS and out["best"]["silent"] is False
    store = DuckDBStore(home / "store.duckdb")
    loud = [c for c in store.candidates("tiny", search=out["search"]) if not c.silent]
    front = pareto_front([c.accuracy for c in loud], [c.energy_uj for c in loud])
    assert out["best"]["id"] in {loud[i].id for i in front}
    record = store.get_search(out["search"])
    assert record.strategy == "nsga2"
    space = SearchSpace.from_dict(store.get_run("tiny").space)
    ref = pipeline.search_reference("digits", space)
    assert record.settings["reference_energy_uj"] == ref
    history = [g.hypervolume for g in store.generations(out["search"])]
    assert len(history) == 3 and history == sorted(history) and history[0] > 0
    candidates = store.candidates("tiny", search=out["search"])
    acc = [c.accuracy for c in candidates]
    energy = [c.energy_uj for c in candidates]
    assert max(energy) < ref
    assert history[-1] == pytest.approx(hypervolume(acc, energy, ref, 0.0))
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(home))
    assert pipeline.reference_of(store, record) == ref


def test_searches_saved_before_the_fixed_reference_still_load(
    trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search recorded and saved before references were stored (state version 1, the old
    operators' settings, no reference in its record) resumes, takes the space's bound as its
    reference, and the report computes its hypervolume under it."""
    from dataclasses import asdict, replace

    from app.common.report import hypervolume_frame, search_points
    from engine.space import SearchSpace
    from storage.records import SearchRecord
    from tasks import pipeline

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    monkeypatch.setenv("AUTOSPIKFORMER_HOME", str(home))
    store = DuckDBStore(home / "store.duckdb")
    spec = pipeline.SearchSpec(strategy="evolution", generations=2, population=3, parents=2)
    evaluate = pipeline.make_evaluator("tiny", 0, "cpu", 4)
    search_id = pipeline.create_search(store, "tiny", spec)
    pipeline.search_step(store, "tiny", search_id, evaluate)
    # Make it look as it was saved before: version 1, old operator settings, no reference.
    path = pipeline.search_state_path("tiny", search_id)
    state = json.loads(path.read_text())
    state["version"] = 1
    del state["reference_energy_uj"]
    del state["config"]["reference_energy_uj"], state["config"]["structure_prob"]
    state["config"]["mutation_prob"] = 0.4
    path.write_text(json.dumps(state))
    legacy = {k: v for k, v in asdict(spec).items() if k != "reference_energy_uj"}
    old_id = "tiny.evolution.legacy"
    store.create_search(SearchRecord(id=old_id, run="tiny", strategy="evolution", settings=legacy))
    path.rename(pipeline.search_state_path("tiny", old_id))
    store.add_candidates(
        replace(c, search=old_id) for c in store.candidates("tiny", search=search_id)
    )

    ref = pipeline.search_reference("digits", SearchSpace.from_dict(store.get_run("tiny").space))
    assert pipeline.reference_of(store, store.get_search(old_id)) == ref
    summary = pipeline.search_step(store, "tiny", old_id, evaluate)  # resumes: generation 2 of 2
    assert summary is not None and summary.generation == 1
    assert summary.reference_energy_uj == ref
    saved = json.loads(pipeline.search_state_path("tiny", old_id).read_text())
    assert saved["version"] == 2 and saved["config"]["reference_energy_uj"] == ref
    frame = hypervolume_frame(store, "tiny", search_points(store, "tiny"))
    assert (frame[frame["search"] == old_id]["hypervolume"] > 0).all()


# ---- second round: constraints, energy profiles, shared leaderboards ----------------------------
def random_search(home: Path, *extra: str, population: int = 4) -> dict:
    """A 1 x 4 random search with seed 3: the same four archs, evaluated the same way, each time."""
    return last_json(
        cli(home, "search", "--run", "tiny", "--strategy", "random", "--generations", "1",
            "--population", str(population), "--seed", "3", *extra, "--json")
    )  # fmt: skip


def ops_energy(candidate: dict, profile: dict) -> float:
    ops = candidate["ops"]
    return (
        ops["macs"] * profile["pj_per_mac"]
        + ops["sops"] * profile["pj_per_sop"]
        + ops["neuron_updates"] * profile["pj_per_neuron_update"]
    ) * 1e-6


@pytest.fixture(scope="module")
def budgeted(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The same random search twice: without a budget, then with the median energy as budget."""
    home = tmp_path_factory.mktemp("budgeted")
    shutil.copytree(trained_home, home, dirs_exist_ok=True)
    free = random_search(home)
    energies = sorted(
        c["energy_uj"]
        for c in last_json(
            cli(home, "candidates", "--run", "tiny", "--search", free["search"], "--json")
        )["candidates"]
    )
    budget = (energies[1] + energies[2]) / 2
    capped = random_search(home, "--energy-budget-uj", repr(budget))
    return home, {"free": free, "capped": capped, "budget": budget}


def test_a_budget_keeps_best_front_and_candidates_within_it(budgeted) -> None:
    home, runs = budgeted
    capped, budget = runs["capped"], runs["budget"]
    assert capped["evaluated"] == 4
    assert capped["best"]["energy_uj"] <= budget and capped["best"]["feasible"] is True
    listed = last_json(
        cli(home, "candidates", "--run", "tiny", "--search", capped["search"], "--json")
    )["candidates"]
    assert len(listed) == 2 and all(c["energy_uj"] <= budget and c["feasible"] for c in listed)
    assert set(capped["pareto"]) <= {c["id"] for c in listed}
    assert capped["best"]["id"] == listed[0]["id"]
    every = last_json(
        cli(home, "candidates", "--run", "tiny", "--search", capped["search"],
            "--include-infeasible", "--json")
    )["candidates"]  # fmt: skip
    over = [c for c in every if not c["feasible"]]
    assert len(every) == 4 and len(over) == 2 and all(c["energy_uj"] > budget for c in over)
    # Without a budget the same four are all feasible.
    free = last_json(
        cli(home, "candidates", "--run", "tiny", "--search", runs["free"]["search"], "--json")
    )["candidates"]
    assert len(free) == 4 and all(c["feasible"] for c in free)


def test_profiles_json_is_the_contract(home: Path) -> None:
    out = last_json(cli(home, "profiles", "--json"))
    names = [p["name"] for p in out["profiles"]]
    assert names[0] == "45nm-fp32" and len(names) >= 3
    fp32 = out["profiles"][0]
    assert (fp32["pj_per_mac"], fp32["pj_per_sop"], fp32["pj_per_neuron_update"]) == (4.6, 0.9, 0)
    for p in out["profiles"]:
        assert set(p) == {"name", "pj_per_mac", "pj_per_sop", "pj_per_neuron_update", "source"}
        assert p["source"]


def test_candidates_under_every_profile_are_ops_dot_profile(budgeted) -> None:
    home, runs = budgeted
    profiles = last_json(cli(home, "profiles", "--json"))["profiles"]
    default = last_json(cli(home, "candidates", "--run", "tiny", "--json"))["candidates"]
    orders = {}
    for profile in profiles:
        listed = last_json(
            cli(home, "candidates", "--run", "tiny", "--alpha", "1", "--energy-profile",
                profile["name"], "--json")
        )["candidates"]  # fmt: skip
        assert {c["id"] for c in listed} == {c["id"] for c in default}
        for c in listed:
            assert c["energy_uj"] == ops_energy(c, profile)
            assert isinstance(c["ops"]["macs"], int) and isinstance(c["ops"]["neuron_updates"], int)
        orders[profile["name"]] = [c["id"] for c in listed]
    assert orders["45nm-fp32"] == [
        c["id"] for c in last_json(cli(home, "candidates", "--run", "tiny", "--alpha", "1",
                                       "--json"))["candidates"]
    ]  # fmt: skip


def test_a_search_optimises_under_its_profile(trained_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    out = random_search(home, "--energy-profile", "loihi-2018", population=2)
    loihi = next(
        p
        for p in last_json(cli(home, "profiles", "--json"))["profiles"]
        if p["name"] == "loihi-2018"
    )
    assert out["best"]["energy_uj"] == ops_energy(out["best"], loihi)
    store = DuckDBStore(home / "store.duckdb")
    assert store.get_search(out["search"]).settings["energy_profile"] == "loihi-2018"
    stored = store.candidates("tiny", out["search"])
    assert {c.energy_profile for c in stored} == {"loihi-2018"}
    assert all(c.neuron_updates and c.neuron_updates > 0 for c in stored)
    # The hypervolume reference is the space's bound priced under the same profile.
    from engine.space import SearchSpace
    from tasks.pipeline import search_reference

    space = SearchSpace.from_dict(store.get_run("tiny").space)
    ref = store.get_search(out["search"]).settings["reference_energy_uj"]
    assert ref == search_reference("digits", space, "loihi-2018")
    assert ref > search_reference("digits", space) and max(c.energy_uj for c in stored) < ref


def test_share_freezes_a_leaderboard_that_later_candidates_leave_alone(
    budgeted, tmp_path: Path
) -> None:
    from dataclasses import replace

    from storage.records import SearchRecord

    home = tmp_path / "home"
    shutil.copytree(budgeted[0], home)
    shared = last_json(
        cli(home, "share", "--run", "tiny", "--alpha", "0.3", "--top", "3",
            "--energy-profile", "45nm-int8", "--title", "int8 picks", "--json")
    )  # fmt: skip
    board_id = shared["leaderboard"]
    assert shared["id"] == board_id and shared["url"] == f"/leaderboard?id={board_id}"
    board = last_json(cli(home, "leaderboard", "--id", board_id, "--json"))
    assert {"id", "title", "run", "alpha", "energy_profile", "candidates"} <= set(board)
    assert (board["id"], board["title"], board["run"], board["alpha"]) == (
        board_id,
        "int8 picks",
        "tiny",
        0.3,
    )
    live = last_json(
        cli(home, "candidates", "--run", "tiny", "--alpha", "0.3", "--top", "3",
            "--energy-profile", "45nm-int8", "--json")
    )["candidates"]  # fmt: skip
    assert board["energy_profile"] == "45nm-int8" and board["candidates"] == live
    # A new search records a candidate that beats them all: the live ranking changes, not the
    # snapshot.
    store = DuckDBStore(home / "store.duckdb")
    store.create_search(SearchRecord(id="tiny.manual.1", run="tiny", strategy="manual"))
    template = store.candidates("tiny")[0]
    better = replace(
        template, search="tiny.manual.1", id="f" * 16, accuracy=1.0, energy_uj=0.0,
        macs=0.0, sops=0.0, neuron_updates=0.0, layer_ops={}, feasible=True, violation="",
    )  # fmt: skip
    store.add_candidates([better])
    now = last_json(
        cli(home, "candidates", "--run", "tiny", "--alpha", "0.3", "--top", "3",
            "--energy-profile", "45nm-int8", "--json")
    )["candidates"]  # fmt: skip
    assert now[0]["id"] == "f" * 16 != live[0]["id"]
    assert last_json(cli(home, "leaderboard", "--id", board_id, "--json")) == board


# ---- third round: extending a search, share's id and url ---------------------------------------
def search_rows(home: Path, search: str) -> list[tuple]:
    """(generation, id, accuracy, energy) of a search's candidates, and its generation records."""
    store = DuckDBStore(home / "store.duckdb")
    rows = sorted(
        (c.generation, c.id, round(c.accuracy, 6), round(c.energy_uj, 9))
        for c in store.candidates("tiny", search)
    )
    history = [
        (g.generation, g.evaluated, round(g.hypervolume, 9)) for g in store.generations(search)
    ]
    return [rows, history]


def test_resume_continues_a_search_as_if_it_had_been_longer(
    trained_home: Path, tmp_path: Path
) -> None:
    """`search --resume ID --generations 1` after 2 generations records, under the same id, what
    a 3-generation search with the same settings records: the state resumes deterministically.
    The fresh search runs in a copy of the home as it was, so that its predictor learns from
    the same (no) earlier searches of the run."""
    home, other = tmp_path / "home", tmp_path / "other"
    shutil.copytree(trained_home, home)
    shutil.copytree(trained_home, other)
    settings = ["--strategy", "evolution", "--population", "3", "--parents", "2", "--seed", "5"]
    first = last_json(
        cli(home, "search", "--run", "tiny", "--generations", "2", *settings, "--json")
    )
    resumed = last_json(
        cli(home, "search", "--resume", first["search"], "--generations", "1", "--json")
    )
    fresh = last_json(
        cli(other, "search", "--run", "tiny", "--generations", "3", *settings, "--json")
    )
    assert resumed["search"] == first["search"] == "tiny.evolution.1" == fresh["search"]
    assert set(resumed) == {"run", "search", "evaluated", "pareto", "best"}
    assert resumed["evaluated"] == fresh["evaluated"] > first["evaluated"]
    assert resumed["pareto"] == fresh["pareto"] and resumed["best"]["id"] == fresh["best"]["id"]
    assert search_rows(home, resumed["search"]) == search_rows(other, fresh["search"])
    store = DuckDBStore(home / "store.duckdb")
    record = store.get_search(resumed["search"])
    assert (record.state, record.generation, record.settings["generations"]) == ("done", 3, 3)
    assert store.get_run("tiny").state == "done"
    assert any(e.id == "extend:tiny.evolution.1:3" for e in store.events("tiny"))


def test_resume_refuses_a_running_search_and_changes_nothing(
    trained_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    out = random_search(home, population=2)
    store = DuckDBStore(home / "store.duckdb")
    store.update_search(out["search"], state="searching")
    store.update_run("tiny", state="searching")
    before = snapshot(home)
    proc = cli(home, "search", "--resume", out["search"], "--generations", "1", ok=False)
    assert "still running" in one_line_error(proc)
    assert snapshot(home) == before
    # Once its run is cancelled (what `cancel` does to an interrupted search), it continues.
    cli(home, "cancel", "--run", "tiny")
    assert store.get_search(out["search"]).state == "cancelled"
    resumed = last_json(
        cli(home, "search", "--resume", out["search"], "--generations", "1", "--json")
    )
    assert resumed["evaluated"] == 4 and store.get_search(out["search"]).generation == 2


def test_cancel_of_an_ended_run_says_so(trained_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    proc = cli(home, "cancel", "--run", "tiny")
    assert proc.stdout.strip() == "run tiny is already done" and not proc.stderr.strip()
    assert DuckDBStore(home / "store.duckdb").get_run("tiny").state == "done"


def test_share_url_is_absolute_when_the_apps_address_is_known(searched, tmp_path: Path) -> None:
    from app.common.address import ADDRESS_FILE

    home = tmp_path / "home"
    shutil.copytree(searched[0], home)
    args = ["share", "--run", "tiny", "--alpha", "0.5", "--top", "2", "--json"]
    relative = last_json(cli(home, *args))
    assert relative["url"] == f"/leaderboard?id={relative['id']}"
    (home / ADDRESS_FILE).write_text(json.dumps({"url": "http://localhost:8601"}))
    recorded = last_json(cli(home, *args, "--title", "b"))
    assert recorded["url"] == f"http://localhost:8601/leaderboard?id={recorded['id']}"
    env = {"AUTOSPIKFORMER_APP_URL": "https://nas.example.org/"}
    configured = last_json(cli(home, *args, "--title", "c", env=env))
    assert configured["url"] == f"https://nas.example.org/leaderboard?id={configured['id']}"
    assert configured["leaderboard"] == configured["id"]


# ---- every command, for people and for scripts ---------------------------------------------------
# Signs of a Python object or a raw Unix time printed to a person.
RAW = re.compile(r"\{'|\[\{|\['|\bNone\b|\b\d{10}(\.\d+)?\b")


@pytest.fixture(scope="module")
def every_command(
    trained_home: Path, tiny_space_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[tuple[list[str], subprocess.CompletedProcess]]]:
    """Each command run on a copy of the trained run, for people (key "NAME") and with --json
    ("NAME --json"); `launch`, `cancel` and `delete` against a private broker with no worker."""
    from tests.tasks.conftest import RedisServer

    home = tmp_path_factory.mktemp("every")
    shutil.copytree(trained_home, home, dirs_exist_ok=True)
    redis = RedisServer(tmp_path_factory.mktemp("every-redis"))
    redis.start()
    out = tmp_path_factory.mktemp("every-out")
    env = {"REDIS_URL": redis.url}
    runs: dict[str, list] = {}

    def run(name: str, *args: str, json_: bool = False) -> subprocess.CompletedProcess:
        argv = [name, *args, *(["--json"] if json_ else [])]
        proc = cli(home, *argv, env=env if name in {"launch", "cancel", "delete"} else None)
        runs.setdefault(f"{name} --json" if json_ else name, []).append((argv, proc))
        return proc

    try:
        train = ["--run", "tiny", "--dataset", "digits", "--space", str(tiny_space_file),
                 "--epochs", "2", "--lr", "5e-3", "--batch-size", "64"]  # fmt: skip
        run("train", *train)
        run("train", *train, json_=True)
        search = ["--run", "tiny", "--strategy", "random", "--generations", "1", "--population"]
        run("search", *search, "2", "--seed", "3")
        found = last_json(run("search", *search, "2", "--seed", "4", json_=True))
        run("search", "--resume", "tiny.random.1", "--generations", "1")
        run("search", "--resume", found["search"], "--generations", "1", json_=True)
        run("candidates", "--run", "tiny", "--top", "5")
        run("candidates", "--run", "tiny", "--include-infeasible", json_=True)
        best = found["best"]["id"]
        for k, json_ in enumerate((False, True)):
            subnet = str(out / f"best-{k}.safetensors")
            run("export", "--run", "tiny", "--candidate", best, "--out", subnet, json_=json_)
            run("evaluate", "--checkpoint", subnet, "--dataset", "digits", json_=json_)
            run("report", "--run", "tiny", "--out", str(out / f"report-{k}"), json_=json_)
            run("profiles", json_=json_)
            share = ["--run", "tiny", "--alpha", "0.4", "--top", "3", "--title", f"t{k}"]
            board = last_json(run("share", *share, json_=True))
            if not json_:
                run("share", *share)
            run("leaderboard", "--id", board["id"], json_=json_)
            run("status", "--run", "tiny", json_=json_)
        launch = ["--dataset", "digits", "--space", str(tiny_space_file), "--epochs", "1"]
        run("launch", "--run", "l1", *launch)
        run("launch", "--run", "l2", *launch, json_=True)
        run("status", "--run", "l1")  # queued: an ETA line
        run("cancel", "--run", "l1")
        run("cancel", "--run", "tiny")  # already done
        run("cancel", "--run", "l2", json_=True)
        run("delete", "--run", "l1")
        run("delete", "--run", "l2", json_=True)
    finally:
        redis.stop()
    return runs


def test_every_commands_human_output_has_no_python_objects_or_raw_times(every_command) -> None:
    from app.cli.commands import NAMES

    human = {name: runs for name, runs in every_command.items() if "--json" not in name}
    assert set(human) == set(NAMES) - SERVERS
    for runs in human.values():
        for argv, proc in runs:
            text = proc.stdout + proc.stderr
            assert proc.stdout.strip(), argv
            assert not RAW.search(text), f"{argv}: {RAW.search(text).group()!r} in\n{text}"
            assert not proc.stdout.lstrip().startswith("{"), argv


def test_human_output_reads_as_promised(every_command) -> None:
    [(_, candidates)] = every_command["candidates"]
    header = candidates.stdout.splitlines()[1]
    assert re.search(r"energy \((pJ|nJ|µJ|mJ)\)", header) and "F_AEB" in header
    assert len(candidates.stdout.splitlines()) == 2 + 5
    [(_, status), (_, queued)] = every_command["status"][-2:]
    assert "elapsed:" in status.stdout and "last generation:" in status.stdout
    assert "ETA:" in queued.stdout and re.search(r"state:\s+queued", queued.stdout)
    cancels = [proc.stdout.strip() for _, proc in every_command["cancel"]]
    assert cancels[0].startswith("cancelled run l1") and cancels[1] == "run tiny is already done"
    [(_, launch)] = every_command["launch"]
    assert launch.stdout.strip() == "l1"  # the name alone, for scripts (CONTRACT)
    for _, proc in every_command["evaluate"]:
        assert re.search(r"\d+(\.\d)? k SOPs", proc.stdout)


def documented_shapes() -> tuple[dict[str, set[str]], set[str]]:
    """From docs/cli.md: each command's top-level `--json` keys, and CANDIDATE's keys."""
    from app.cli.docs import TARGET

    text = TARGET.read_text()
    shapes = {}
    for section in text.split("\n## ")[1:]:
        name = section.split("\n", 1)[0].strip()
        note = re.search(r"With `--json`: (.*?)(?:\n\n|$)", section, re.S)
        if note is None:
            continue
        shape = re.search(r"`(\{.*?\})`", note.group(1).replace("\n", " "))
        shapes[name] = top_level_keys(shape.group(1)) if shape else None
    candidate = re.search(r"A CANDIDATE in the JSON outputs is `(\{.*?\})`", text, re.S)
    assert candidate, "docs/cli.md no longer documents CANDIDATE"
    return shapes, top_level_keys(candidate.group(1).replace("\n", " "))


def top_level_keys(shape: str) -> set[str]:
    """The quoted names directly inside the outer braces of `{"a", "b": {...}, "c": [...]}`."""
    keys, depth, k = set(), 0, 0
    while k < len(shape):
        char = shape[k]
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        elif char == '"':
            end = shape.index('"', k + 1)
            if depth == 1 and shape[end + 1 : end + 2] in (",", ":", "}"):
                keys.add(shape[k + 1 : end])
            k = end
        k += 1
    return keys


def test_every_json_shape_in_docs_cli_md_is_what_the_command_prints(every_command) -> None:
    shapes, candidate_keys = documented_shapes()
    assert {"id", "arch", "accuracy", "energy_uj", "fitness", "feasible", "ops"} <= candidate_keys
    shapes["cancel"] = shapes["status"]  # documented as "the run's status"
    with_json = {name.split()[0] for name in every_command if name.endswith("--json")}
    assert set(shapes) == with_json, "a command's --json output is not documented, or not run"
    for name in with_json:
        for argv, proc in every_command[f"{name} --json"]:
            printed = last_json(proc)
            assert set(printed) == shapes[name], (
                f"{argv}: {sorted(printed)} != {sorted(shapes[name])}"
            )
            listed = printed["candidates"] if isinstance(printed.get("candidates"), list) else []
            best = [printed["best"]] if isinstance(printed.get("best"), dict) else []
            for candidate in [*listed, *best]:
                assert candidate_keys <= set(candidate), argv


def test_leaderboard_title_and_notes_are_edited_from_the_command_line(home: Path) -> None:
    """`leaderboard --id ID --title T --notes N` changes the text, marks it edited, keeps the
    rows; bad input is one line and changes nothing."""
    from storage.paths import store_path
    from tests.app.conftest import fill_store

    store = DuckDBStore(store_path())
    filled = fill_store(store, home)
    board = store.share(filled.run, alpha=0.4, top=3, title="half-typed ti")
    store.close()
    edited = last_json(
        cli(home, "leaderboard", "--id", board.id, "--title", "weekly picks", "--notes", "n",
            "--json")
    )  # fmt: skip
    assert (edited["title"], edited["notes"]) == ("weekly picks", "n")
    assert edited["candidates"] == board.to_contract()["candidates"]
    assert edited["edited_at"] is not None
    human = cli(home, "leaderboard", "--id", board.id).stdout
    assert "weekly picks" in human and "title and notes edited 20" in human
    before = DuckDBStore(store_path()).get_leaderboard(board.id)
    error = one_line_error(
        cli(home, "leaderboard", "--id", board.id, "--title", "x" * 201, ok=False)
    )
    assert "longer than 200" in error
    assert DuckDBStore(store_path()).get_leaderboard(board.id) == before
