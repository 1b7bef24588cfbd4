"""Data-parallel training: every rank holds the whole model, sees its own part of the batch,
and the ranks average their gradients before each optimizer step.

Buckets
-------
All-reducing each parameter's gradient on its own costs one MPI call (and its latency) per
parameter; all-reducing everything at once can only start when the whole backward pass is
over. :class:`GradientReducer` takes the middle road of PyTorch's DDP: the parameters are cut
into *buckets* of about ``bucket_cap_mb`` megabytes, in the reverse of the model's order (the
order in which backward usually produces their gradients). When the last gradient of a bucket
has arrived, the bucket's gradients are copied into one flat buffer and a non-blocking
``MPI_Iallreduce`` starts on it, while backward goes on computing the gradients of earlier
layers. When the last bucket has been started the reducer waits for all of them, divides by
the world size and hands every parameter its averaged gradient.

Buckets are started in index order on every rank (a bucket that is ready early waits for the
ones before it), because MPI needs the collectives of a communicator to be called in the
same order everywhere.

Triggers
--------
With ``Tensor.register_post_accumulate_grad_hook`` (PyTorch's semantics: called with the
parameter after its ``.grad`` was accumulated during backward) the reducer marks each
parameter ready from that hook, and the averaging is complete when ``backward()`` returns.
``synchronize()`` is the explicit trigger: it finishes whatever backward left undone (all of
it when the autograd engine has no such hook, or with ``hooks=False``), and is a no-op when
the hooks already did the work, so a training loop may always call it before ``step()``.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from . import process_group as pg

__all__ = ["GradientReducer", "DistributedDataParallel", "hooks_available"]


def hooks_available() -> bool:
    """True when the autograd engine offers ``Tensor.register_post_accumulate_grad_hook``."""
    from ..tensor import Tensor

    return callable(getattr(Tensor, "register_post_accumulate_grad_hook", None))


class _Bucket:
    """Consecutive parameters of one dtype whose gradients travel in one flat buffer."""

    def __init__(self, indices, params, dtype):
        self.indices = list(indices)             # positions in the reducer's parameter list
        self.dtype = np.dtype(dtype)
        self.sizes = [int(params[i].data.size) for i in self.indices]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.numel = int(self.offsets[-1])
        self.waiting = set(self.indices)         # not yet ready in this iteration
        self.buffer = None
        self.request = None


class GradientReducer:
    """Average the gradients of ``params`` across ranks, bucket by bucket.

    params: the Tensors (requires_grad) whose ``.grad`` to average, the same list in the same
    order on every rank. bucket_cap_mb: about how many megabytes of gradients one all-reduce
    carries. hooks: register post-accumulate-grad hooks (None: when the engine has them).
    Needs an initialised process group. ``stats`` counts steps, all-reduce calls, bytes and
    the seconds spent copying and blocked waiting for the network.
    """

    def __init__(self, params, bucket_cap_mb: float = 25.0, hooks=None):
        self.group = pg._require("GradientReducer")
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("GradientReducer: no parameter requires a gradient")
        if not bucket_cap_mb > 0:
            raise ValueError(f"GradientReducer: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        self.bucket_cap_bytes = float(bucket_cap_mb) * 2 ** 20
        self.buckets = self._make_buckets()
        self.bucket_of = {}
        for b, bucket in enumerate(self.buckets):
            for i in bucket.indices:
                self.bucket_of[i] = b
        self.enabled = True           # False inside no_sync(): gradients only accumulate locally
        self.expecting = False        # a backward whose gradients must be averaged may come
        self.done_by_hooks = False    # the hooks finished this iteration's averaging
        self.next_bucket = 0          # the next bucket to start (they start in order)
        self.stats = {"steps": 0, "allreduce_calls": 0, "bytes": 0, "copy_s": 0.0, "wait_s": 0.0}
        self._handles = []
        use_hooks = hooks_available() if hooks is None else bool(hooks)
        if use_hooks and not hooks_available():
            raise RuntimeError("GradientReducer(hooks=True): Tensor.register_post_accumulate_grad_hook "
                               "is not available in this version of the autograd engine")
        self.uses_hooks = use_hooks
        if use_hooks:
            for i, p in enumerate(self.params):
                self._handles.append(p.register_post_accumulate_grad_hook(self._make_hook(i)))

    def _make_buckets(self):
        buckets, current, current_bytes, current_dtype = [], [], 0.0, None
        for i in reversed(range(len(self.params))):
            p = self.params[i]
            dtype = p.data.dtype
            if current and (dtype != current_dtype or current_bytes >= self.bucket_cap_bytes):
                buckets.append(_Bucket(current, self.params, current_dtype))
                current, current_bytes = [], 0.0
            current.append(i)
            current_dtype = dtype
            current_bytes += p.data.size * dtype.itemsize
        buckets.append(_Bucket(current, self.params, current_dtype))
        return buckets

    def _make_hook(self, index):
        def hook(param):
            if self.enabled and self.expecting:
                self.mark_ready(index)
        return hook

    def remove_hooks(self) -> None:
        """Unregister the hooks (the reducer then works through ``synchronize()`` only)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.uses_hooks = False

    # ------------------------------------------------------------------ one iteration
    def prepare_for_backward(self) -> None:
        """Called before each backward whose gradients are to be averaged (DDP's forward)."""
        self.check_previous_iteration()
        self.expecting = self.enabled
        self.done_by_hooks = False

    def check_previous_iteration(self) -> None:
        """Raise when the last backward left some buckets started and others not."""
        started = any(len(b.waiting) < len(b.indices) for b in self.buckets)
        if self.expecting and started:
            missing = [i for b in self.buckets for i in sorted(b.waiting)]
            raise RuntimeError(
                f"DistributedDataParallel: the previous backward produced no gradient for {len(missing)} "
                f"parameter(s) (positions {missing[:8]}), so their averaging never finished. Call "
                f"synchronize() before optimizer.step(), or pass find_unused_parameters=True")

    def mark_ready(self, index: int) -> None:
        """Parameter ``index`` has its final gradient of this backward."""
        bucket = self.buckets[self.bucket_of[index]]
        bucket.waiting.discard(index)
        while self.next_bucket < len(self.buckets) and not self.buckets[self.next_bucket].waiting:
            self._start(self.buckets[self.next_bucket])
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets):
            self._finish()
            self.done_by_hooks = True
        else:
            for b in self.buckets[:self.next_bucket]:   # let MPI progress the ones in flight
                if b.request is not None and b.request.Test():
                    pass

    def synchronize(self) -> None:
        """Finish this iteration's averaging (start what is left, wait, write ``.grad``).

        A no-op when the hooks have already finished it. A parameter that got no gradient
        on a rank counts as zeros there; every rank then holds the average in ``.grad``.
        Every rank must call it the same number of times (it is collective).
        """
        if not self.enabled:
            return
        if self.done_by_hooks:
            self.done_by_hooks = False
            self.expecting = False
            return
        for bucket in self.buckets[self.next_bucket:]:
            bucket.waiting.clear()
            self._start(bucket)
        self.next_bucket = len(self.buckets)
        self._finish()

    def _start(self, bucket: _Bucket) -> None:
        from ..device import move

        t0 = time.perf_counter()
        buffer = np.empty(bucket.numel, dtype=bucket.dtype)
        for i, lo, hi in zip(bucket.indices, bucket.offsets[:-1], bucket.offsets[1:]):
            grad = self.params[i].grad
            if grad is None:
                buffer[lo:hi] = 0
            else:
                buffer[lo:hi] = move(grad.data, "cpu").reshape(-1)
        bucket.buffer = buffer
        self.stats["copy_s"] += time.perf_counter() - t0
        bucket.request = self.group.comm.Iallreduce(self.group.MPI.IN_PLACE, buffer, op=self.group.MPI.SUM)
        self.stats["allreduce_calls"] += 1
        self.stats["bytes"] += buffer.nbytes

    def _finish(self) -> None:
        from ..device import move
        from ..tensor import Tensor

        t0 = time.perf_counter()
        for bucket in self.buckets:
            pg.wait_request(bucket.request, "gradient all-reduce", self.group)
        t1 = time.perf_counter()
        scale = 1.0 / self.group.size
        for bucket in self.buckets:
            buffer = bucket.buffer
            buffer *= buffer.dtype.type(scale)
            for i, lo, hi in zip(bucket.indices, bucket.offsets[:-1], bucket.offsets[1:]):
                p = self.params[i]
                avg = buffer[lo:hi].reshape(p.shape)      # a view: the buffer is new every iteration
                if p.device != "cpu":
                    avg = move(avg, p.device)
                if p.grad is None:
                    p.grad = Tensor._from_array(avg)
                else:
                    p.grad.data = avg
            bucket.buffer = bucket.request = None
            bucket.waiting = set(bucket.indices)
        self.next_bucket = 0
        self.expecting = False
        self.stats["steps"] += 1
        self.stats["wait_s"] += t1 - t0
        self.stats["copy_s"] += time.perf_counter() - t1


def _output_tensors(out):
    from ..tensor import Tensor

    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (list, tuple)):
        for o in out:
            yield from _output_tensors(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _output_tensors(o)
    elif hasattr(out, "__dict__"):             # output objects (e.g. ``.logits``)
        for o in vars(out).values():
            if isinstance(o, Tensor):
                yield o


def _reachable_leaves(outputs) -> set:
    """ids of the tensors that the graphs of ``outputs`` reach (explicit stack, no recursion)."""
    seen, stack = set(), list(outputs)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._ctx is not None:
            stack.extend(p for p in t._ctx.parents if p.requires_grad)
    return seen


def _module_base():
    from ..nn.module import Module
    return Module


class DistributedDataParallel(_module_base()):
    """Wrap a model for data-parallel training: ``ddp = DistributedDataParallel(model)``.

    At construction the parameters and buffers of rank 0 are broadcast to every rank, so all
    start alike. ``ddp(x)`` runs ``model(x)`` (buffers broadcast from rank 0 first when
    ``broadcast_buffers``); the following ``backward()`` leaves in every parameter's ``.grad``
    the average over the ranks of their gradients (see the module docstring for buckets),
    so an optimizer over ``model.parameters()`` then takes the same step on every rank.
    Each rank's loss should be a mean over its own equally large part of the global batch.

    module: an nn.Module (the same architecture on every rank). bucket_cap_mb: megabytes per
    all-reduce (25, PyTorch's default; smaller buckets start earlier). find_unused_parameters:
    after each forward, look for parameters the output does not depend on and count their
    gradients as zeros (otherwise a backward that skips a parameter needs ``synchronize()``).
    hooks: None uses the engine's post-accumulate-grad hooks when it has them; False averages
    in ``synchronize()`` only. Call ``ddp.synchronize()`` before ``optimizer.step()`` when
    ``ddp.uses_hooks`` is False (it is a cheap no-op otherwise). ``state_dict`` keys carry the
    ``module.`` prefix, as in PyTorch; save ``ddp.module`` for the bare model's keys.
    """

    def __init__(self, module, broadcast_buffers: bool = True, bucket_cap_mb: float = 25.0,
                 find_unused_parameters: bool = False, hooks=None):
        super().__init__()
        if not isinstance(module, _module_base()):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got {type(module).__name__}")
        group = pg._require("DistributedDataParallel")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.world_size = group.size
        self.rank = group.rank
        with _no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                pg.broadcast(t, src=0)
        object.__setattr__(self, "reducer", GradientReducer(list(module.parameters()), bucket_cap_mb, hooks))

    @property
    def uses_hooks(self) -> bool:
        return self.reducer.uses_hooks

    def forward(self, *args, **kwargs):
        from ..autograd import is_grad_enabled

        if self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers:
                with _no_grad():
                    for b in buffers:
                        pg.broadcast(b, src=0)
        grad_mode = is_grad_enabled()
        if grad_mode:
            self.reducer.prepare_for_backward()
        out = self.module(*args, **kwargs)
        if grad_mode and self.find_unused_parameters and self.reducer.enabled:
            reached = _reachable_leaves(_output_tensors(out))
            for i, p in enumerate(self.reducer.params):
                if id(p) not in reached and self.reducer.uses_hooks:
                    self.reducer.mark_ready(i)
        return out

    def synchronize(self) -> None:
        """Finish averaging the gradients (needed when ``uses_hooks`` is False); see GradientReducer."""
        self.reducer.synchronize()

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this block backward only accumulates gradients locally (gradient accumulation);
        the first backward after it averages the accumulated gradients."""
        previous = self.reducer.enabled
        self.reducer.enabled = False
        try:
            yield
        finally:
            self.reducer.enabled = previous

    def extra_repr(self) -> str:
        mode = "hooks" if self.uses_hooks else "synchronize()"
        return (f"world_size={self.world_size}, buckets={len(self.reducer.buckets)}, "
                f"averaging={mode}")


def _no_grad():
    from ..autograd import no_grad
    return no_grad()
