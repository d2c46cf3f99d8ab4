"""`python -m app.cli ...` (and `torchrun --module app.cli train -- ...`)."""

from app.cli.main import main

raise SystemExit(main())
