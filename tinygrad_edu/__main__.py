"""``python -m tinygrad_edu``: the command line (train, info, bench); see tinygrad_edu/cli."""
from tinygrad_edu.cli import main

raise SystemExit(main())
