"""The short fuzz run: every C entry point against the NumPy reference, with hypothesis.

The targets, what they generate and what they check are in tests/fuzz/harness/.  Here each
one runs as a hypothesis test (which shrinks a failure to a small case and prints it), with
``TGE_FUZZ_EXAMPLES`` cases in all (default 330, shared among the targets by weight: well
under a minute).  For the long run use ``tools/fuzz.py --cases 100000`` (much faster per
case); ``TGE_FUZZ_EXAMPLES=100000`` here works too, slowly.
"""
import os

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import contract

from . import harness

pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

TOTAL = int(os.environ.get("TGE_FUZZ_EXAMPLES", "330"))
_WEIGHTS = sum(t.weight for t in harness.TARGETS.values())


def examples(name: str) -> int:
    return max(5, round(TOTAL * harness.TARGETS[name].weight / _WEIGHTS))


@pytest.mark.parametrize("name", sorted(harness.TARGETS))
def test_fuzz_target(name):
    target = harness.TARGETS[name]

    @settings(max_examples=examples(name), deadline=None, database=None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        case = target.generate(harness.DrawSource(data.draw))
        note(f"case = {case!r}  (replay: tools/fuzz.py --replay on "
             f'{{"target": "{name}", "case": ...}})')
        harness.run_case(name, case)

    run()


def test_every_c_kernel_is_fuzzed():
    """A kernel of the contract (backends/contract.py) needs a target in tests/fuzz/harness/,
    through its wrapper and through the raw ffi, before this passes (an elementwise kernel
    has them from the contract)."""
    missing = set(contract.KERNELS) - harness.covered_kernels()
    assert not missing, f"kernels without a fuzz target in tests/fuzz/harness/: {sorted(missing)}"


def test_every_exported_function_is_called_raw():
    """Every function the compiled module exports is called directly by some target: 300
    cases of each target from fixed seeds, then a look at what harness.raw() handed out."""
    import numpy as np

    for index, (name, target) in enumerate(sorted(harness.TARGETS.items())):
        if name.startswith("raw") or name in ("threads", "measure", "malloc_tune"):
            for i in range(300):
                case = target.generate(harness.RandomSource(np.random.default_rng([index, i])))
                harness.run_case(name, case)
    exported = {name for name in dir(ck.lib) if name.startswith("tge_")}
    informational = {"tge_abi_version", "tge_simd_path", "tge_has_openmp"}
    missing = sorted(exported - informational - harness.RAW_CALLED)
    assert not missing, f"exported but never called raw by the fuzzer: {missing}"


def test_replayed_failure_format_round_trips(tmp_path):
    """tools/fuzz.py writes failing cases as JSON that --replay reads back."""
    import json
    import subprocess
    import sys

    case = harness.gen_threads(harness.RandomSource(__import__("numpy").random.default_rng(0)))
    path = tmp_path / "cases.json"
    path.write_text(json.dumps([{"target": "threads", "index": 0, "case": case}]))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, os.path.join(root, "tools", "fuzz.py"), "--replay",
                          str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "threads case 0" in out.stdout
