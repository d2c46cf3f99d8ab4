"""`--predictor` / `--no-predictor` on `search` and `launch`: parsed into the search's settings,
refused for random in one line, and a real search that screens its children records each
generation's predictor tau, which `status --json` reports as docs/cli.md says."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from engine.search import PREDICTOR_DEFAULT
from storage.duckdb_store import DuckDBStore
from tests.test_cli import LAUNCH, cli, last_json, one_line_error


def parsed_spec(*argv: str):
    """The `SearchSpec` that `search` or `launch` builds from `argv`."""
    from app.cli import build_parser
    from app.cli.commands.search import _given, search_spec

    args = build_parser().parse_args(list(argv))
    _given(args)  # `search` marks its defaults; they get their values back
    return search_spec(args)


@pytest.mark.parametrize("command", [["search", "--run", "tiny"], LAUNCH])
def test_the_flag_reaches_the_search_settings(command: list[str]) -> None:
    assert parsed_spec(*command).predictor is PREDICTOR_DEFAULT
    assert parsed_spec(*command, "--predictor").predictor is True
    assert parsed_spec(*command, "--no-predictor").predictor is False
    on = parsed_spec(*command, "--strategy", "nsga2", "--predictor")
    assert on.config().predictor is True
    assert parsed_spec(*command, "--strategy", "random").predictor is False
    assert parsed_spec(*command, "--strategy", "random", "--no-predictor").config()


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["search", "--run", "tiny", "--strategy", "random", "--predictor"], "random search has"),
        ([*LAUNCH, "--strategy", "random", "--predictor"], "random search has none"),
        (
            ["search", "--resume", "tiny.evolution.1", "--generations", "1", "--no-predictor"],
            "drop --predictor/--no-predictor",
        ),
    ],
)
def test_random_search_with_the_predictor_is_refused_in_one_line(home: Path, argv, match) -> None:
    proc = cli(home, *argv, ok=False)
    assert proc.returncode == 2 and match in one_line_error(proc)
    assert not (home / "runs").exists()  # nothing created


def documented_generation_keys() -> set[str]:
    """The keys of a generation in `status --json`'s history, as docs/cli.md lists them."""
    from app.cli.docs import TARGET

    found = re.search(r'"generations": \[\{([^}]*)\}, \.\.\.\]', TARGET.read_text())
    assert found, "docs/cli.md no longer lists a generation's keys"
    return set(re.findall(r'"(\w+)"', found.group(1)))


def test_a_screened_search_records_its_tau_and_the_next_one_learns_from_it(
    trained_home: Path, tmp_path: Path
) -> None:
    """Population 8 fits the predictor (on by default) after generation 0, so generations 2 and
    3 are screened; a later search of 4 (too few alone) is screened from its second generation
    on, learning from the first search's candidates, and so is its extension. History and
    status say so."""
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    # No flag: the predictor screens by default.
    first = cli(home, "search", "--run", "tiny", "--generations", "3", "--population", "8",
                "--parents", "4", "--json")  # fmt: skip
    assert re.search(r"generation 3/3 hypervolume .* predictor tau -?\d\.\d{3}", first.stderr)
    store = DuckDBStore(home / "store.duckdb")
    sid = last_json(first)["search"]
    assert store.get_search(sid).settings["predictor"] is True
    taus = [g.predictor_tau for g in store.generations(sid)]
    assert taus[0] is None and all(t is not None and -1 <= t <= 1 for t in taus[1:])
    store.close()

    second = last_json(cli(home, "search", "--run", "tiny", "--strategy", "nsga2", "--predictor",
                           "--generations", "2", "--population", "4", "--json"))  # fmt: skip
    cli(home, "search", "--resume", second["search"], "--generations", "1")
    store = DuckDBStore(home / "store.duckdb")
    later = [g.predictor_tau for g in store.generations(second["search"])]
    assert later[0] is None and all(t is not None for t in later[1:]) and len(later) == 3
    store.close()

    status = last_json(cli(home, "status", "--run", "tiny", "--json"))
    generations = status["history"]["generations"]
    assert set(generations[0]) == documented_generation_keys()
    assert [g["predictor_tau"] for g in generations] == later
    assert status["settings"]["predictor"] is True
    shown = cli(home, "status", "--run", "tiny").stdout
    assert "nsga2, 3 generations x 4" in shown and ", predictor" in shown
    assert re.search(r"last generation: .*predictor tau -?\d", shown)
