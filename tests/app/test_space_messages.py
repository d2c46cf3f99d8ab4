"""Messages of the search-space YAML upload: one line that names the gene breaking a rule, or says
what is malformed and where (not only the line)."""

from __future__ import annotations

import pytest

from app.web.components.forms import parse_space_yaml
from engine.errors import SpaceError

GOOD = """\
embed_dim: [16, 32]
depth: [1]
mlp_ratio: [2, 4]
num_heads: [2]
time_steps: [1, 2]
threshold: [0.6, 1.0]
tau: [1.5, 2]
"""


def message(text: str | bytes) -> str:
    with pytest.raises(SpaceError) as err:
        parse_space_yaml(text, "space.yaml")
    out = str(err.value)
    assert "\n" not in out and out.startswith("space.yaml: ")
    return out


def test_a_good_file_is_accepted() -> None:
    assert parse_space_yaml(GOOD, "space.yaml").depth == (1,)


WHOLE = "must be a whole number from"
POSITIVE = "must be a number > 0 and <= 1000"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("depth: [1]", "depth: [0]", f"depth choice {WHOLE} 1 to 24, got 0"),
        ("num_heads: [2]", "num_heads: [0]", f"num_heads choice {WHOLE} 1 to 64, got 0"),
        ("time_steps: [1, 2]", "time_steps: [-1, 2]", f"time_steps choice {WHOLE} 1 to 64, got -1"),
        ("depth: [1]", "depth: 2", "depth must be a non-empty list of choices, got 2 (write [2])"),
        ("depth: [1]", "depth: []", "depth must be a non-empty list of choices, got an empty list"),
        ("tau: [1.5, 2]", "tau: [1.5, 2, 2.0]", "tau lists 2 twice"),
        ("tau: [1.5, 2]", "tau: [0.5, 2]", "tau choice must be a number > 1 and <= 1000, got 0.5"),
        ("threshold: [0.6, 1.0]", "threshold: [0, 1]", f"threshold choice {POSITIVE}, got 0"),
        ("embed_dim: [16, 32]", "embed_dim: [a, 16]", "embed_dim has a non-int choice 'a'"),
        ("num_heads: [2]", "num_heads: [3]", "num_heads 3 does not divide embed_dim 16"),
        # The documented maxima (engine.limits): what the model can build, and no more.
        ("embed_dim: [16, 32]", "embed_dim: [16, 8000000]", f"embed_dim choice {WHOLE} 8 to 1024"),
        ("depth: [1]", "depth: [1000000]", f"depth choice {WHOLE} 1 to 24, got 1000000"),
        ("time_steps: [1, 2]", "time_steps: [100000]", f"time_steps choice {WHOLE} 1 to 64"),
        ("num_heads: [2]", "num_heads: [128]", f"num_heads choice {WHOLE} 1 to 64, got 128"),
        ("mlp_ratio: [2, 4]", "mlp_ratio: [2, 17]", "mlp_ratio choice must be a number > 0 and"),
        ("threshold: [0.6, 1.0]", "threshold: [.nan]", f"threshold choice {POSITIVE}, got nan"),
        ("tau: [1.5, 2]", "tau: [.inf]", "tau choice must be a number > 1 and <= 1000, got inf"),
        (
            "tau: [1.5, 2]",
            "tau: [1.0e+400]",
            "tau choice must be a number > 1 and <= 1000, got inf",
        ),
        ("depth: [1]", f"depth: {list(range(1, 66))}", "depth has 65 choices; at most 64"),
    ],
)
def test_the_gene_that_breaks_a_rule_is_named(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    assert expected in message(GOOD.replace(old, new))


def test_only_the_offending_gene_is_named() -> None:
    text = message(GOOD.replace("time_steps: [1, 2]", "time_steps: [0]"))
    assert "time_steps" in text and "depth" not in text and "embed_dim" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "embed_dim: [16\n",
            "malformed YAML at line 2, column 1: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence that starts at line 1)",
        ),
        ("a: b: c\n", "malformed YAML at line 1, column 5: mapping values are not allowed here"),
        (GOOD + "depth: [2]\n", "malformed YAML at line 8, column 1: depth is given twice"),
        ("", "expected a mapping of gene -> list of choices, got an empty document"),
        ("- 16\n- 32\n", "expected a mapping of gene -> list of choices, got a list"),
        (b"\xff\x00\xfe", "not a text file"),
    ],
)
def test_what_is_malformed_is_said(text: str | bytes, expected: str) -> None:
    assert expected in message(text)


def test_a_space_file_on_disk_gets_the_same_messages(tmp_path) -> None:
    from engine.space import SearchSpace

    path = tmp_path / "s.yaml"
    path.write_text(GOOD + "tau: [2]\n")
    with pytest.raises(SpaceError, match="line 8, column 1: tau is given twice"):
        SearchSpace.from_file(path)
