"""`autospikformer` command line. Each command lives in its own small module under app/commands.

Contract: every command takes --help; with --json the last line of stdout is one JSON object; a
bad argument or input exits non-zero with a one-line reason on stderr and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
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
        p.set_defaults(run_command=module.run)
    return parser


def emit(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=str))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


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
