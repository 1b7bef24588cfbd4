"""Data-parallel training on MPI: ``mpirun -np N python train.py``.

    import tinygrad_edu.distributed as dist
    dist.init_process_group(backend="mpi")            # every rank; rank 0 of 1 without mpirun
    model = dist.DistributedDataParallel(model)       # same start on every rank
    sampler = tinygrad_edu.data.DistributedSampler(dataset, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=32, sampler=sampler)   # 32 per rank
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward()          # gradients averaged over the ranks
            model.synchronize()                       # no-op when backward's hooks did it
            opt.step()

Collectives (in place on Tensors): ``all_reduce(t, op=ReduceOp.SUM)``, ``broadcast(t, src=0)``,
``all_gather(tensor_list, t)``, ``barrier()``. See docs/distributed.md.
"""
from .process_group import (DistributedTimeoutError, ReduceOp, Work, all_gather, all_reduce, barrier, broadcast,
                            destroy_process_group, get_local_size, get_rank, get_world_size, init_process_group,
                            is_available, is_initialized, launched_with_mpirun)
from .ddp import DistributedDataParallel, GradientReducer, hooks_available

__all__ = ["init_process_group", "destroy_process_group", "is_available", "is_initialized", "launched_with_mpirun",
           "get_rank", "get_world_size", "get_local_size", "barrier", "all_reduce", "broadcast", "all_gather",
           "ReduceOp", "Work", "DistributedTimeoutError", "DistributedDataParallel", "GradientReducer",
           "hooks_available"]
