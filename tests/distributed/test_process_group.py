"""What tinygrad_edu.distributed says before a process group exists (no MPI is started here)."""
import datetime

import pytest

import tinygrad_edu.distributed as dist
from tinygrad_edu.distributed import process_group as pg


@pytest.fixture(autouse=True)
def _no_group():
    if dist.is_initialized():
        pytest.skip("a process group is initialised in this process")


@pytest.mark.parametrize("call", [dist.get_rank, dist.get_world_size, dist.barrier])
def test_calls_before_init_process_group_say_so(call):
    with pytest.raises(RuntimeError, match="init_process_group"):
        call()


def test_collectives_and_ddp_before_init_say_so():
    from tinygrad_edu import Tensor, nn

    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(Tensor([1.0]))
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.DistributedDataParallel(nn.Linear(2, 2))


def test_bad_backend_and_timeout_are_refused_before_mpi_starts():
    with pytest.raises(ValueError, match="backend 'nccl' is not supported"):
        dist.init_process_group(backend="nccl")
    with pytest.raises(ValueError, match="timeout must be > 0"):
        dist.init_process_group(timeout=0)
    with pytest.raises(ValueError, match="timeout must be seconds"):
        dist.init_process_group(timeout="soon")
    assert not dist.is_initialized()


def test_timeout_forms():
    assert pg._seconds(datetime.timedelta(minutes=2)) == 120.0
    assert pg._seconds(5) == 5.0


def test_launcher_environment(monkeypatch):
    for name in pg._ENV_SIZE:
        monkeypatch.delenv(name, raising=False)
    assert not dist.launched_with_mpirun()
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "1")
    assert not dist.launched_with_mpirun()
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert dist.launched_with_mpirun()
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2")
    assert dist.get_local_size() == 2


def test_reduce_ops():
    assert set(dist.ReduceOp.ALL) == {"sum", "avg", "max", "min", "product"}
