"""The autograd engine: the Function base class, the backward graph walk, and grad mode.

How it fits together
--------------------
Every differentiable operation is a subclass of :class:`Function` with two methods side by side:

* ``forward(self, *arrays, **options) -> array`` computes the result from plain arrays and
  saves on ``self`` whatever the backward pass will need;
* ``backward(self, grad_out) -> tuple`` receives dL/d(output) and returns dL/d(input) for each
  tensor input, in order (``None`` for an input that needs no gradient).

``Function.apply(*tensors, **options)`` runs ``forward`` and, when any input requires a gradient
(and grad mode is on), records the function as the output tensor's ``_ctx`` together with its
input tensors (``ctx.parents``). That record is the computational graph.

``Tensor.backward()`` calls :func:`backward`, which orders the graph topologically with an
explicit stack (so a chain of 100,000 ops does not hit Python's recursion limit), then visits
the nodes from the output back to the leaves, calling each ``backward`` exactly once and adding
up the gradients of nodes that are used several times.
"""
from __future__ import annotations

import functools
import os
import re
import threading
import traceback

import numpy as np

# ----------------------------------------------------------------------------------------------
# Grad mode: per thread, like PyTorch, so that two threads can train and evaluate independently.
# ----------------------------------------------------------------------------------------------
_grad_state = threading.local()

# Anomaly mode (see tinygrad_edu/utils/anomaly.py): check every op's output and gradients for
# NaN/inf and remember where each op was created. Off by default: it costs a scan per op.
_anomaly = {"enabled": os.environ.get("TGE_DETECT_ANOMALY", "0") not in ("", "0")}


class AnomalyError(RuntimeError):
    """A NaN or infinity appeared; the message names the op and where it was created."""


def _check_finite(array, what: str, ctx) -> None:
    xp_isfinite = getattr(array, "dtype", None) is not None and array.dtype.kind == "f"
    if not xp_isfinite:
        return
    from .device import array_module

    xp = array_module(array)
    if not bool(xp.isfinite(array).all()):
        bad = "NaN" if bool(xp.isnan(array).any()) else "inf"
        frames = getattr(ctx, "trace", None) or ["    (no trace recorded)\n"]
        trace = "".join(frames)
        raise AnomalyError(
            f"anomaly: {ctx.name} produced {bad} in its {what} (shape {tuple(array.shape)}).\n"
            f"{_your_line(frames)}"
            f"The op was created here (forward trace):\n{trace}"
        )


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _your_line(frames) -> str:
    """A one-line summary of the innermost frame outside tinygrad_edu in a formatted forward
    trace (the line of the user's model that made the op), or "" when there is none."""
    for frame in reversed(frames):
        lines = frame.strip().splitlines()
        match = re.match(r'File "(.+)", line (\d+), in (.+)', lines[0]) if lines else None
        if match and not os.path.abspath(match[1]).startswith(_PACKAGE_DIR):
            code = lines[1].strip() if len(lines) > 1 else ""
            return f"Your code made it at {match[1]}:{match[2]} in {match[3]}: {code}\n"
    return ""


# Set by tensor.py once Tensor is defined (tensor.py imports this module, not the reverse).
_tensor_class = None


def is_grad_enabled() -> bool:
    """True when operations are being recorded for backward."""
    return getattr(_grad_state, "enabled", True)


def set_grad_enabled(mode: bool) -> None:
    _grad_state.enabled = bool(mode)


class _GradModeContext:
    """Base for ``no_grad`` / ``enable_grad``: usable as ``with`` block and as a decorator."""

    _mode = True

    def __enter__(self):
        self._previous = is_grad_enabled()
        set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._previous)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Context manager and decorator that turns graph recording off.

    Inside it, results never require grad and in-place updates of parameters are allowed::

        with tge.no_grad():
            p -= lr * p.grad
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Turn graph recording back on inside a ``no_grad`` block."""

    _mode = True


# ----------------------------------------------------------------------------------------------
# Function: one differentiable operation
# ----------------------------------------------------------------------------------------------
class Function:
    """Base class of every differentiable operation. See the module docstring."""

    parents: tuple = ()

    def forward(self, *arrays, **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options):
        """Run the op on Tensors; record it in the graph when a gradient will be needed."""
        ctx = cls()
        out_data = ctx.forward(*[t.data for t in inputs], **options)
        if isinstance(out_data, np.generic):  # NumPy turns 0-d results into scalars
            out_data = np.asarray(out_data)
        if _anomaly["enabled"]:
            ctx.trace = traceback.format_stack()[:-1]
            _check_finite(out_data, "forward output", ctx)
        requires_grad = False
        if _grad_state_enabled():
            for t in inputs:
                if t.requires_grad:
                    requires_grad = True
                    break
        out = _tensor_class._from_array(out_data, requires_grad)
        if requires_grad:
            ctx.parents = inputs
            ctx.needs_input_grad = tuple(t.requires_grad for t in inputs)
            out._ctx = ctx
        return out

    @property
    def name(self) -> str:
        return type(self).__name__


def _grad_state_enabled() -> bool:
    return getattr(_grad_state, "enabled", True)


# ----------------------------------------------------------------------------------------------
# The backward walk
# ----------------------------------------------------------------------------------------------
def topological_order(root) -> list:
    """Tensors of the graph below ``root`` that need grad, each after all of its inputs.

    Iterative depth-first search: a node is pushed once to expand it and once more (marked
    ``expanded``) to be emitted after its parents, so no Python recursion is involved.
    """
    order = []
    visited = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            for parent in ctx.parents:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def backward(root, grad_root) -> None:
    """Propagate ``grad_root`` (an array shaped like ``root``) to every leaf that needs grad.

    Gradients of the leaves are first collected and only added to ``.grad`` when the whole walk
    succeeded, so an exception inside some op's backward leaves every ``.grad`` as it was.
    """
    grads = {id(root): grad_root}
    leaf_grads = []  # (leaf tensor, gradient array)
    anomaly = _anomaly["enabled"]
    for node in reversed(topological_order(root)):
        grad = grads.pop(id(node), None)
        if grad is None:
            continue
        ctx = node._ctx
        if ctx is None:
            leaf_grads.append((node, grad))
            continue
        input_grads = ctx.backward(grad)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        parents = ctx.parents
        if len(input_grads) != len(parents):
            raise RuntimeError(
                f"{ctx.name}.backward returned {len(input_grads)} gradients "
                f"for {len(parents)} inputs"
            )
        for parent, g in zip(parents, input_grads):
            if g is None or not parent.requires_grad:
                continue
            if anomaly:
                _check_finite(g, "gradient (backward)", ctx)
            if g.shape != parent.data.shape:
                raise RuntimeError(
                    f"{ctx.name}.backward produced a gradient of shape {g.shape} "
                    f"for an input of shape {parent.shape}"
                )
            key = id(parent)
            if key in grads:
                grads[key] = grads[key] + g
            else:
                grads[key] = g
    # A leaf may keep its gradient array without a copy when nothing else can see that
    # array: the walk made it (not the caller: grad_root), it owns its memory (not a view
    # of another array) and no other leaf got the same array (Add hands one array to
    # both of its inputs).  Otherwise _accumulate_grad copies it.
    handed_out = {id(grad_root)}
    for leaf, grad in leaf_grads:
        private = (type(grad) is np.ndarray and grad.base is None and grad.flags.writeable
                   and id(grad) not in handed_out)
        handed_out.add(id(grad))
        leaf._accumulate_grad(grad, private)
