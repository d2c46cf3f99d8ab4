"""`autospikformer` command line. Each command lives in its own small module under app/commands.

Contract: every command takes --help; with --json the last line of stdout is one JSON object; a
bad argument or input exits non-zero with a one-line reason on stderr and changes nothing.

Errors: a user-facing error (a `ValueError`), an `OSError` (a full disk, an unwritable path), a
DuckDB error (a store file that is not ours) and a safetensors error (a file that is not one) are
each printed as one line, exit code 2; so is an argument that is not UTF-8 text (it is refused
before any command runs). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
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


def not_utf8(argv: list[str]) -> str | None:
    """Why an argument is not UTF-8 text (Python keeps such bytes as lone surrogates), or None."""
    for i, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raw = os.fsencode(arg)
            if arg.startswith("--") and "=" in arg:
                where, _, value = arg.partition("=")
                raw = os.fsencode(value)
            elif i and argv[i - 1].startswith("-"):
                where = argv[i - 1]
            else:
                where = f"argument {i + 1}"
            return f"{where}: {raw!r} is not UTF-8 text"
    return None


def _flat(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:297] + "..."


def one_line(err: BaseException) -> str | None:
    """The one-line message for an error a user can cause, or None for a bug."""
    if isinstance(err, UnicodeError):
        return f"text that is not UTF-8: {_flat(err)}"
    if isinstance(err, (ValueError, KeyError)):  # every user-facing error is a ValueError
        text = str(err).strip()
        return text.splitlines()[0] if text else type(err).__name__
    if isinstance(err, OSError):
        what = err.strerror or _flat(err) or type(err).__name__
        return f"{err.filename}: {what}" if err.filename else what
    modules = {c.__module__.split(".")[0] for c in type(err).__mro__}
    if modules & {"duckdb", "_duckdb"}:
        return f"the store failed: {_flat(err)}"
    if "safetensors" in modules:
        return f"safetensors: {_flat(err)}"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    refused = not_utf8(argv)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    # `torchrun --module app.cli train -- --run ...` needs a `--` to keep torchrun's own parser
    # off our options; it carries no meaning here.
    args = build_parser().parse_args([a for a in argv if a != "--"])
    try:
        threads = _choose_threads(args)
        result = args.run_command(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        message = one_line(e)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    if threads:  # said once the work is done, so an error stays one line
        print(threads, file=sys.stderr)
    if result is not None:
        emit(result, getattr(args, "json", False))
    return 0


COMPUTING = ("train", "search", "evaluate", "export")  # commands that run the model here


def _choose_threads(args: argparse.Namespace) -> str | None:
    """Set torch's threads for a command that computes in this process, so it shares the host's
    cores with the processes already busy on them (`engine.threads`); returns the line that says
    the choice. Under torchrun the ranks of this host are the busy processes."""
    if args.command not in COMPUTING or getattr(args, "remote", False):
        return None
    from engine.threads import apply_threads, choose_threads, host_busy_processes

    ranks = os.environ.get("LOCAL_WORLD_SIZE", "")
    busy = int(ranks) if ranks.isdigit() and int(ranks) > 0 else host_busy_processes()
    return apply_threads(choose_threads(busy))


if __name__ == "__main__":
    raise SystemExit(main())
