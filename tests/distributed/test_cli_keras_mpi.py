"""The train command and Keras fit under ``mpirun -np 2``: data-parallel, printed and saved once,
and the same result as one process on the whole batches. Skipped without mpi4py / mpirun."""
import os

import numpy as np

from tests.distributed import _mpi_worker as worker
from tests.distributed.mpi_helpers import run_mpi

WORKER = os.path.abspath(worker.__file__)


def _check(proc):
    assert proc.returncode == 0, f"mpirun failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def test_train_command_data_parallel(tmp_path):
    from tinygrad_edu.cli.train import train
    from tinygrad_edu.models import load

    saved = tmp_path / "mlp.safetensors"
    args = ["--model", "mlp", "--limit", "200", "--epochs", "1", "--batch-size", "50", "--verbose", "2"]
    proc = run_mpi(["-m", "tinygrad_edu", "train"] + args + ["--save", str(saved)], cwd=tmp_path)
    _check(proc)
    out = proc.stdout
    assert out.count("test accuracy:") == 1 and out.count("Epoch 1/1") == 1, out     # rank 0 alone prints
    assert "data-parallel: 2 ranks, global batch 50" in out
    assert sorted(os.listdir(tmp_path)) == ["mlp.safetensors"]                       # saved once
    # one process on the same global batches reaches the same weights
    reference = train("mlp", limit=200, epochs=1, batch_size=50, verbose=0, log=lambda line: None)
    got = load(str(saved)).state_dict()
    for name, want in reference.model.state_dict().items():
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-5, err_msg=name)


def test_keras_fit_data_parallel(tmp_path):
    _check(proc := run_mpi([WORKER, "keras", str(tmp_path)]))
    assert proc.stdout.count("Epoch 1/2") == 1, proc.stdout                        # rank 0 alone prints
    model, history = worker.keras_fit()                                             # one process
    ranks = [np.load(tmp_path / f"keras_{r}.npz") for r in (0, 1)]
    for r, got in enumerate(ranks):
        weights = [got[f"arr_{i}"] for i in range(len(model.get_weights()))]
        for w_got, w_want in zip(weights, model.get_weights()):
            np.testing.assert_allclose(w_got, w_want, rtol=0, atol=1e-5, err_msg=f"rank {r}")
        # the logged figures are those of the whole data set, not of one rank's share
        np.testing.assert_allclose(got["loss"], history.history["loss"], rtol=1e-5)
        np.testing.assert_allclose(got["accuracy"], history.history["accuracy"], rtol=1e-6)
