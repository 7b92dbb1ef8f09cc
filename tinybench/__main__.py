"""``python -m tinybench``: the same as the ``tinybench`` command."""

from tinybench.cli import main

raise SystemExit(main())
