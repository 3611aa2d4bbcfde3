"""``python -m mmlearn``: the command line."""

from .cli import main

raise SystemExit(main())
