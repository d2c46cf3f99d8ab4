"""The command line face of the app: `autospikformer` (`main`), one small module per command under
`commands/`, and the generated reference `docs/cli.md` (`app.cli.docs`)."""

from app.cli.main import build_parser, emit, main

__all__ = ["build_parser", "emit", "main"]
