"""``python -m tinygrad_edu bench``: the side-by-side benchmark, :mod:`tinygrad_edu.bench`.

``benches/compare.py`` of a source checkout is a thin wrapper around the same function. When
$TGE_BENCH_SCRIPT is set, that script is run instead (looked for at that path; the helpers
below also know ``./benches/`` and the folder beside the ``tinygrad_edu`` package).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["candidates", "find_script", "run_bench"]

SCRIPT = Path("benches") / "compare.py"


def candidates() -> list:
    """Where the script may be, in the order they are tried."""
    env = os.environ.get("TGE_BENCH_SCRIPT")
    if env:
        return [Path(env).expanduser()]
    package_root = Path(__file__).resolve().parents[2]      # the folder holding tinygrad_edu/
    found = []
    for path in (Path.cwd() / SCRIPT, package_root / SCRIPT):
        if path not in found:
            found.append(path)
    return found


def find_script():
    """The benchmark script's Path, or None."""
    for path in candidates():
        if path.is_file():
            return path
    return None


def run_bench(args=()) -> int:
    """Run the benchmark with ``args``; its exit status.

    The benchmark itself is :func:`tinygrad_edu.bench.main` (part of the package, so
    this works from an installed copy too; benches/compare.py is a thin wrapper around it).
    With $TGE_BENCH_SCRIPT set, that script is run instead (1, with a message, when it is
    missing)."""
    if not os.environ.get("TGE_BENCH_SCRIPT"):
        from tinygrad_edu import bench

        return bench.main(list(args))
    script = find_script()
    if script is None:
        looked = "\n".join(f"  {p}" for p in candidates())
        print("error: the benchmark script benches/compare.py was not found. Looked in:\n"
              f"{looked}\n"
              "It ships with the source checkout of tinygrad_edu, not with the installed package: run this "
              "command from the repository root, or set TGE_BENCH_SCRIPT to the script's path.",
              file=sys.stderr)
        return 1
    print(f"running {script}", flush=True)
    return subprocess.call([sys.executable, str(script), *args], cwd=str(script.parent.parent))
