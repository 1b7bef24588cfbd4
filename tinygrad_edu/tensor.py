"""Tensor: an array, the gradient that flows into it, and the Function that made it.

A Tensor holds

* ``data``  – the array (NumPy on the CPU, CuPy on the GPU); use ``.numpy()`` from outside;
* ``requires_grad`` – whether gradients should flow to it;
* ``grad``  – after ``backward()``, dL/d(this tensor) for leaves that require grad;
* ``_ctx``  – the :class:`~tinygrad_edu.autograd.Function` that produced it (None for leaves);
* ``_version`` – how many in-place changes its array has seen (shared with ``detach()``).

The maths methods (``+``, ``exp``, ``sum``, ``reshape``...) come from
:class:`~tinygrad_edu.maths.TensorMaths` and the class-level constructors (``Tensor.zeros``...)
from :class:`~tinygrad_edu.creation.TensorFactories`; this file keeps what a tensor is: its
data and conversions, its gradient (``backward``, hooks) and its in-place changes.
"""
from __future__ import annotations

import threading

import numpy as np

from . import autograd
from .autograd import RemovableHandle, is_grad_enabled
from .creation import TensorFactories, cat, stack, where
from .device import array_module, device_of, move, normalize_device
from .dtypes import DTYPE_NAMES, FLOATS, as_array, promote_types, to_dtype
from .maths import TensorMaths
from .torch_methods import TorchMethods
from .ops import elementwise as E
from .ops import inplace as I
from .ops.movement import ToDevice
from .shaping import _index_arg

__all__ = ["Tensor", "cat", "stack", "where", "to_dtype"]  # the last four for older imports

# Accumulation into .grad is atomic per tensor: a tensor always takes the same lock of this set.
_GRAD_LOCKS = [threading.Lock() for _ in range(64)]


class Tensor(TensorMaths, TorchMethods, TensorFactories):
    """An n-dimensional array that records the operations made on it for backward.

    Tensor(data, requires_grad=False, dtype=None, device=None)
        data: scalar, nested list, NumPy array or Tensor (copied). Python floats become
        float32; NumPy float32/float64 arrays keep their dtype; integers become int64.
    """

    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_vc", "_hooks", "__weakref__")
    # Make NumPy hand ``ndarray op Tensor`` to our reflected operators.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        array = as_array(data.data if isinstance(data, Tensor) else data, dtype)
        self._set_array(move(array, normalize_device(device)) if device is not None else array)
        if requires_grad:
            self.requires_grad_(True)

    def _set_array(self, array, requires_grad=False) -> None:
        """Initialise every field around ``array`` (a fresh leaf at version 0)."""
        self.data = array
        self.requires_grad = requires_grad
        self.grad = None
        self._ctx = None
        self._vc = [0]  # the version counter: a list, so that detach() can share it
        self._hooks = None

    @classmethod
    def _from_array(cls, array, requires_grad=False):
        """Wrap an array without copying or checking (used by Function.apply)."""
        t = object.__new__(Tensor)  # the fields of _set_array, written out: this runs once per op
        t.data, t.requires_grad, t.grad, t._ctx, t._vc, t._hooks = array, requires_grad, None, None, [0], None
        return t

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.data.dtype not in FLOATS:
            raise TypeError(
                f"only float32/float64 tensors can require gradients, got dtype {self.data.dtype}"
            )
        self.requires_grad = bool(flag)
        return self

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        """The size of each axis, as a tuple: ``(N, C, H, W)`` for a batch of images."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes (``len(self.shape)``)."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The element type, a NumPy dtype (``t.dtype == np.float32``)."""
        return self.data.dtype

    @property
    def device(self) -> str:
        """Where the data lives: "cpu" (NumPy) or "cuda" (CuPy)."""
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def _version(self) -> int:
        """The number of in-place changes made to this tensor's array (PyTorch's ``_version``)."""
        return self._vc[0]

    def size(self, axis=None):
        """The shape (as PyTorch's ``size()``), or the size of one axis."""
        return self.shape if axis is None else self.shape[axis]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array on the host (a view of the data on the CPU)."""
        return move(self.data, "cpu")

    def item(self):
        """The value of a one-element tensor (any shape with one element) as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a number, shape is {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``: the values as a NumPy array on the host."""
        array = self.numpy()
        if dtype is not None:
            array = array.astype(dtype, copy=False)
        return array.copy() if copy else array

    def __dlpack__(self, stream=None, **kwargs):
        """DLPack export of the data, so that other libraries can share it without a copy."""
        return self.data.__dlpack__(**({"stream": stream} if stream is not None else {}), **kwargs)

    def __dlpack_device__(self):
        """The DLPack (device type, device id) of the data."""
        return self.data.__dlpack_device__()

    def to(self, *args, device=None, dtype=None, non_blocking=False, copy=False) -> "Tensor":
        """``to("cuda")`` / ``to("cpu")`` / ``to(torch.device(...))`` moves; ``to(dtype)``
        converts (as ``astype``); ``to(device, dtype)``, ``to(other_tensor)`` (its device and
        dtype) and the keywords ``device=``, ``dtype=`` work as in PyTorch."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, str) and arg not in DTYPE_NAMES:
                device = arg
            else:
                dtype = arg
        out = self if dtype is None else self.astype(dtype)
        if device is None or normalize_device(device) == out.device:
            return out
        return ToDevice.apply(out, device=normalize_device(device))

    def cuda(self) -> "Tensor":
        """A copy on the GPU (``to("cuda")``); the gradient flows back to this tensor."""
        return self.to("cuda")

    def cpu(self) -> "Tensor":
        """A copy on the CPU (``to("cpu")``); the gradient flows back to this tensor."""
        return self.to("cpu")

    def astype(self, dtype) -> "Tensor":
        """Convert the dtype; float->float conversions pass gradients back."""
        target = to_dtype(dtype)
        if target == self.dtype:
            return self
        if self.dtype in FLOATS and target in FLOATS:
            return E.Cast.apply(self, dtype=target)
        return Tensor._from_array(self.data.astype(target))

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def long(self) -> "Tensor":
        return self.astype(np.int64)

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data and version counter, cut from the graph."""
        t = Tensor._from_array(self.data)
        t._vc = self._vc
        return t

    def clone(self) -> "Tensor":
        """A copy with its own array (the gradient flows back to this tensor)."""
        return self + 0 if self.requires_grad else Tensor._from_array(self.data.copy())

    # ------------------------------------------------------------------ autograd
    def backward(self, grad=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) * grad into ``.grad`` of every leaf that requires grad.

        grad: same shape as self; may be omitted for a one-element tensor (taken as 1).
        retain_graph: keep the graph (its saved arrays) for another backward; by default it is
            freed, and a second backward through it raises RuntimeError.
        create_graph: True is refused (NotImplementedError): backward functions work on arrays,
            so gradients cannot themselves be differentiated here.
        inputs: accumulate only into these tensors' ``.grad`` (leaves or not).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no graph "
                "(did you create it under no_grad, or from inputs without requires_grad=True?)"
            )
        if isinstance(inputs, Tensor):
            inputs = (inputs,)
        autograd.backward((self,), (self._root_grad(grad, "backward()", create_graph),),
                          retain_graph=bool(retain_graph), inputs=None if inputs is None else tuple(inputs))

    def _root_grad(self, grad, caller: str, create_graph=False):
        """The array that starts a backward walk from this tensor (``grad`` checked, or 1)."""
        if create_graph:
            raise NotImplementedError(
                f"{caller}: create_graph=True (gradients of gradients) is not supported: each op's "
                "backward works on arrays, not on recorded tensors; use finite differences "
                "(tinygrad_edu.utils.gradcheck) to check second derivatives"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"{caller}: grad can be omitted only for a one-element output, "
                    f"this one has shape {self.shape}; pass grad= of that shape"
                )
            if type(self.data) is np.ndarray and self.data.ndim == 0:
                return np.array(1, dtype=self.data.dtype)  # a scalar loss: the common case
            return array_module(self.data).ones(self.shape, dtype=self.dtype)
        if isinstance(grad, Tensor):
            if grad.device != self.device:
                raise ValueError(
                    f"{caller}: grad is on {grad.device} but the output {self.shape} is on "
                    f"{self.device}; move it with .to()"
                )
            grad_array = grad.data
        else:
            grad_array = move(np.asarray(grad), self.device)
        if grad_array.shape != self.shape:
            raise ValueError(
                f"{caller}: grad of shape {grad_array.shape} does not match the output's shape {self.shape}"
            )
        return grad_array.astype(self.dtype, copy=False)

    def _accumulate_grad(self, grad, private: bool = False) -> None:
        """Add ``grad`` into ``.grad`` (atomically: several threads may share this tensor);
        ``private``: no one else holds this array, so it may become ``.grad`` without a copy.
        Then call the post-accumulate hooks."""
        dtype = self.data.dtype
        if grad.dtype is not dtype and grad.dtype != dtype:
            grad = grad.astype(dtype)
            private = True
        with _GRAD_LOCKS[id(self) & 63]:  # one of 64 locks, picked by the tensor's identity
            if self.grad is None:
                self.grad = Tensor._from_array(grad if private else array_module(grad).array(grad, copy=True))
            else:
                self.grad.data = self.grad.data + grad
        if self._hooks:
            for hook in tuple(self._hooks["post"]):
                hook(self)

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` with the gradient of this tensor (an array shaped like it) each
        time backward computes it; a hook that returns an array replaces the gradient."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._ctx is None:
            hooks = self._hook_lists()["grad"]
        else:
            if not isinstance(self._ctx.grad_hooks, list):
                self._ctx.grad_hooks = []
            hooks = self._ctx.grad_hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
        """Call ``hook(tensor)`` on this leaf each time backward has added into its ``.grad``."""
        if self._ctx is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = self._hook_lists()["post"]
        hooks.append(hook)
        autograd.post_hooks_used[0] = True  # from now on backward looks for hooked leaves
        return RemovableHandle(hooks, hook)

    def _hook_lists(self) -> dict:
        if self._hooks is None:
            self._hooks = {"grad": [], "post": []}
        return self._hooks

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    # ------------------------------------------------------------------ in place
    def _bump_version(self) -> None:
        """Record an in-place change of ``data`` (code that writes into ``data`` calls this)."""
        self._vc[0] += 1
        autograd.inplace_changes[0] += 1

    def _inplace(self, name, op, other=None, copy_old=False, fast=None):
        """Write ``op(old value)`` (a Tensor) into this tensor's array and bump its version.

        With a graph (grad mode on and this tensor or ``other`` requiring grad), the op becomes
        a node of the graph and this tensor's history moves on to it, as in PyTorch; the old
        value is copied first when the op keeps it for backward (``copy_old``). A leaf that
        requires grad may only be changed under ``no_grad``. Without a graph, ``fast()`` (when
        given) writes into the array directly."""
        graph = is_grad_enabled() and (self.requires_grad or getattr(other, "requires_grad", False))
        if graph and self.requires_grad and self._ctx is None:
            raise RuntimeError(
                f"a leaf Variable that requires grad is being used in an in-place operation ({name}); "
                "wrap it in `with tge.no_grad():`"
            )
        if not getattr(self.data.flags, "writeable", True):  # CuPy arrays have no such flag
            self.data = self.data.copy()
        if graph or fast is None:
            old = self
            if graph:
                old = Tensor._from_array(self.data.copy() if copy_old else self.data, self.requires_grad)
                old._ctx, old._vc = self._ctx, (old._vc if copy_old else self._vc)
            result = op(old)
            self._check_inplace(name, result.shape, result.dtype)
            array_module(self.data).copyto(self.data, result.data, casting="unsafe")
            if graph:
                self._ctx, self.requires_grad = result._ctx, True
        else:
            fast()
        self._bump_version()
        return self

    def _check_inplace(self, name, shape, dtype) -> None:
        if shape != self.shape:
            raise ValueError(f"in-place {name}: the result has shape {shape}, the tensor {self.shape}")
        if not np.can_cast(dtype, self.dtype, casting="same_kind"):
            raise RuntimeError(f"in-place {name}: result type {dtype} can't be cast to the "
                               f"desired output type {self.dtype}")

    def _arith_inplace(self, other, fn, ufunc, name):
        other = self._operand(other)
        if self.dtype.kind != "f" and fn is E.Div:
            other = other.astype(np.float32)  # true division of integers gives floats

        def fast():
            try:
                shape = np.broadcast_shapes(self.shape, other.shape)
            except ValueError:
                raise ValueError(f"in-place {name}: shapes {self.shape} and {other.shape} do not broadcast") from None
            self._check_inplace(name, shape, promote_types(self.dtype, other.dtype))
            ufunc(array_module(self.data))(self.data, other.data, out=self.data, casting="unsafe")

        return self._inplace(name, lambda old: old._binary(other, fn), other,
                             copy_old=fn in (E.Mul, E.Div), fast=fast)

    def __iadd__(self, other):
        """``t += other`` in place (other broadcast to t's shape); bumps the version."""
        return self._arith_inplace(other, E.Add, lambda xp: xp.add, "+=")

    def __isub__(self, other):
        """``t -= other`` in place (other broadcast to t's shape); bumps the version."""
        return self._arith_inplace(other, E.Sub, lambda xp: xp.subtract, "-=")

    def __imul__(self, other):
        """``t *= other`` in place (other broadcast to t's shape); bumps the version."""
        return self._arith_inplace(other, E.Mul, lambda xp: xp.multiply, "*=")

    def __itruediv__(self, other):
        """``t /= other`` in place (other broadcast to t's shape); bumps the version."""
        return self._arith_inplace(other, E.Div, lambda xp: xp.true_divide, "/=")

    add_ = __iadd__
    sub_ = __isub__
    mul_ = __imul__
    div_ = __itruediv__

    def __setitem__(self, index, value) -> None:
        """``t[index] = value`` (value broadcast to ``t[index]``'s shape); differentiable."""
        index = _index_arg(index)
        value = self._operand(value)

        def fast():
            self.data[index] = value.data

        self._inplace("index assignment", lambda old: I.SetItem.apply(old, value.astype(old.dtype), index=index),
                      value, fast=fast)

    def _mask_array(self, mask, op):
        mask = mask.data if isinstance(mask, Tensor) else move(np.asarray(mask), self.device)
        if mask.dtype != np.bool_:
            raise TypeError(f"{op}: the mask must be bool, got dtype {mask.dtype}")
        if np.broadcast_shapes(mask.shape, self.shape) != self.shape:
            raise ValueError(f"{op}: mask of shape {mask.shape} does not broadcast to {self.shape}")
        return mask

    def masked_fill_(self, mask, value) -> "Tensor":
        """Set the elements where ``mask`` (bool, broadcastable to this shape) is True to ``value``."""
        mask = self._mask_array(mask, "masked_fill_")
        return self._inplace("masked_fill_", lambda old: I.MaskedFill.apply(old, mask=mask, value=value))

    def masked_fill(self, mask, value) -> "Tensor":
        """A new tensor: ``value`` where ``mask`` is True, this tensor's values elsewhere."""
        return I.MaskedFill.apply(self, mask=self._mask_array(mask, "masked_fill"), value=value)

    def fill_(self, value) -> "Tensor":
        """Set every element to ``value``."""
        return self._inplace("fill_", lambda old: I.Fill.apply(old, value=value))

    def zero_(self) -> "Tensor":
        """Set every element to 0."""
        return self.fill_(0)

    def clamp_(self, min=None, max=None) -> "Tensor":
        """Clamp every element into [min, max] in place (see ``clip``)."""
        if min is None and max is None:
            raise ValueError("clamp_: give at least one of min and max")
        return self._inplace("clamp_", lambda old: E.Clip.apply(old, lo=min, hi=max), copy_old=True)

    clip_ = clamp_

    def copy_(self, src) -> "Tensor":
        """Copy ``src`` (broadcast to this shape, converted to this dtype) into this tensor."""
        src = src if isinstance(src, Tensor) else Tensor(src, device=self.device)
        if src.device != self.device:
            src = src.to(self.device)
        if np.broadcast_shapes(src.shape, self.shape) != self.shape:
            raise ValueError(f"copy_: source of shape {src.shape} does not broadcast to {self.shape}")
        return self._inplace("copy_", lambda old: I.Copy.apply(old, src), src)

    # ------------------------------------------------------------------ representation
    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extras = ""
        if self.dtype != np.float32 and self.dtype != np.int64 and self.dtype != np.bool_:
            extras += f", dtype={self.dtype}"
        if self.device != "cpu":
            extras += f", device='{self.device}'"
        if self._ctx is not None:
            extras += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"
