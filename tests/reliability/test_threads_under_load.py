"""The C thread pool adapts to a loaded machine (issue 15, item 9).

Timing is shown by benches/threads_under_load.py (a busy-loop on the other core, 1 vs 2
threads); these tests check the mechanism, not a speed: idle OpenMP workers are told to
sleep after a short spin (set before the C module loads, a user's setting kept), and a team
never gets more threads than there are CPUs free of other runnable threads.
"""
import os
import subprocess
import sys
import time

import pytest

from tinygrad_edu.backends import c as cb

pytestmark = pytest.mark.skipif(not cb.AVAILABLE, reason="C kernels not built")

SHOW_ENV = "import os, tinygrad_edu; print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))"


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(extra)
    return env


def test_idle_workers_spin_briefly_unless_the_user_chose():
    out = subprocess.run([sys.executable, "-c", SHOW_ENV], env=_env(), capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["10000", "None"], out.stderr
    out = subprocess.run([sys.executable, "-c", SHOW_ENV], env=_env(OMP_WAIT_POLICY="active"),
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["None", "active"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/loadavg")
def test_a_busy_machine_gets_one_thread_per_free_cpu():
    ncpu = os.cpu_count() or 1
    if ncpu > 8:
        pytest.skip("would need too many busy-loop processes")
    assert cb.lib.tge_get_adaptive_threads() == 1
    assert 1 <= cb.lib.tge_cpus_free() <= ncpu
    # one busy loop per CPU: no CPU is free of other runnable threads
    hogs = [subprocess.Popen([sys.executable, "-c", "import time\nt = time.time() + 20\nwhile time.time() < t: pass"])
            for _ in range(ncpu)]
    try:
        time.sleep(0.3)
        seen = [cb.lib.tge_cpus_free() for _ in range(20) if time.sleep(0.01) is None]
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert min(seen) == 1 and sorted(seen)[len(seen) // 2] == 1, seen


def test_adaptive_sizing_can_be_turned_off():
    lib = cb.lib
    assert lib.tge_set_adaptive_threads(2) == lib.TGE_EINVAL
    try:
        assert lib.tge_set_adaptive_threads(0) == lib.TGE_OK and lib.tge_get_adaptive_threads() == 0
    finally:
        lib.tge_set_adaptive_threads(1)
    out = subprocess.run([sys.executable, "-c", "from tinygrad_edu.backends import c; print(c.lib.tge_get_adaptive_threads())"],
                         env=_env(TGE_ADAPTIVE_THREADS="0"), capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "0", out.stderr
