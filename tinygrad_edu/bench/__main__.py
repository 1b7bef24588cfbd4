"""``python -m tinygrad_edu.bench``: the same as ``python -m tinygrad_edu bench``."""
import sys

from .main import main

sys.exit(main())
