"""`autospikformer` command line. Each command lives in its own small module under app/commands.

Contract: every command takes --help; with --json the last line of stdout is one JSON object; a
bad argument or input exits non-zero with a one-line reason on stderr and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from app.cli.commands import load_commands


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autospikformer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, module in load_commands().items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(run_command=_for_people(module))
    return parser


def _for_people(module: ModuleType) -> Callable[[argparse.Namespace], dict[str, Any] | None]:
    """`module.run`, printing `module.human(result, args)` itself when `--json` is not given."""
    human = getattr(module, "human", None)

    def run(args: argparse.Namespace) -> dict[str, Any] | None:
        result = module.run(args)
        if result is None or human is None or getattr(args, "json", False):
            return result
        emit(result, False, lambda r: human(r, args))
        return None

    return run


def emit(
    result: dict[str, Any],
    as_json: bool,
    human: Callable[[dict[str, Any]], str] | None = None,
) -> None:
    """Print a command's result: one JSON line, or for people `human(result)` (by default
    `label: value` lines, nested objects indented, lists as comma-separated values)."""
    if as_json:
        print(json.dumps(result, default=str))
        return
    text = human(result) if human is not None else _plain(result)
    try:
        print(text)
    except UnicodeEncodeError:  # a terminal that cannot show µ
        print(text.replace("µ", "u"))


def _plain(value: Any, indent: str = "") -> str:
    lines = []
    for key, item in value.items():
        label = str(key).replace("_", " ")
        if isinstance(item, dict):
            lines.append(f"{indent}{label}:")
            lines.append(_plain(item, indent + "  "))
        elif isinstance(item, list | tuple) and any(isinstance(v, dict) for v in item):
            lines.append(f"{indent}{label}:")
            lines += [
                _plain(v, indent + "  ") if isinstance(v, dict) else f"{indent}  {v}" for v in item
            ]
        elif isinstance(item, list | tuple):
            lines.append(f"{indent}{label}: {', '.join(str(v) for v in item) or '-'}")
        else:
            lines.append(f"{indent}{label}: {'-' if item is None else item}")
    return "\n".join(line for line in lines if line)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `torchrun --module app.cli train -- --run ...` needs a `--` to keep torchrun's own parser
    # off our options; it carries no meaning here.
    args = build_parser().parse_args([a for a in argv if a != "--"])
    try:
        result = args.run_command(args)
    except (ValueError, KeyError) as e:  # every user-facing error is a ValueError subclass
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if result is not None:
        emit(result, getattr(args, "json", False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
