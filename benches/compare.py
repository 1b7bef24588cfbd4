"""Side-by-side benchmark: tinygrad_edu (C and NumPy backends), NumPy and PyTorch.

A thin wrapper: the benchmark lives in the package as :mod:`tinygrad_edu.bench` (so
that ``python -m tinygrad_edu bench`` works from an installed copy as well).

    python benches/compare.py                        # all cases, 1 and 2 threads
    python benches/compare.py --quick                # a short smoke run
    python benches/compare.py --threads 1 --cases cnn,lstm100 --json results.json
    python benches/compare.py --memory               # also peak RSS of a CNN step

See docs/benchmarks.md for how to read the table.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinygrad_edu.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
