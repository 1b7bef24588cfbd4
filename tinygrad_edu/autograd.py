"""The autograd engine: the Function base class, the backward graph walk, and grad mode.

How it fits together
--------------------
Every differentiable operation is a subclass of :class:`Function` with two methods side by side:

* ``forward(self, *arrays, **options) -> array`` computes the result from plain arrays and
  saves on ``self`` whatever the backward pass will need;
* ``backward(self, grad_out) -> tuple`` receives dL/d(output) and returns dL/d(input) for each
  tensor input, in order (``None`` for an input that needs no gradient).

``Function.apply(*tensors, **options)`` runs ``forward`` and, when any input requires a gradient
(and grad mode is on), records the function as the output tensor's ``_ctx``, together with its
input tensors (``ctx.parents``) and the Functions that made them (``ctx.next_fns``, None for a
leaf). That record is the computational graph: its nodes are Functions, its edges point from an
op to the ops (or leaves) that made its inputs, as they were when the op ran.

:func:`backward` orders the Functions topologically with an explicit stack (a chain of 100,000
ops does not hit Python's recursion limit), calls each ``backward`` exactly once, adds up the
gradients of values used several times, and finally accumulates into ``.grad`` of the leaves.
Afterwards the arrays the ops saved are dropped unless ``retain_graph=True``.

Safety nets, as in PyTorch:

* version counters: every in-place change of a tensor bumps ``t._version`` (and a global count
  of in-place changes); a Function records its inputs' versions, and when anything was changed
  in place since its forward, its backward refuses to use a saved array whose tensor changed
  (:func:`_run_with_saved_checked`). Without in-place changes that check costs one comparison;
* walking a freed graph a second time raises instead of silently adding again;
* gradient accumulation into ``.grad`` is atomic per tensor (two threads may share a leaf).

Hooks: ``forward_hooks`` / ``backward_hooks`` are called for every op (anomaly mode,
:mod:`tinygrad_edu.utils.anomaly`, is two such hooks, installed by ``TGE_DETECT_ANOMALY=1`` at
import of the package); tensors carry their own gradient hooks
(``Tensor.register_hook``, ``Tensor.register_post_accumulate_grad_hook``).
"""
from __future__ import annotations

import functools
import threading

import numpy as np

# ----------------------------------------------------------------------------------------------
# Grad mode: per thread, like PyTorch, so that two threads can train and evaluate independently.
# ----------------------------------------------------------------------------------------------
_grad_state = threading.local()


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
# Hooks: called for every op. forward_hooks: hook(ctx, out_array) after each forward;
# backward_hooks: hook(ctx, input_grads) after each backward (before the gradients move on).
# ----------------------------------------------------------------------------------------------
forward_hooks: list = []
backward_hooks: list = []
post_hooks_used = [False]  # set by the first Tensor.register_post_accumulate_grad_hook
inplace_changes = [0]  # how many in-place changes of any tensor so far (Tensor._bump_version)


class RemovableHandle:
    """Returned by the ``register_*hook`` methods: ``handle.remove()`` takes the hook away."""

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class AnomalyError(RuntimeError):
    """A NaN or infinity appeared; the message names the op and where it was created (anomaly
    mode, :mod:`tinygrad_edu.utils.anomaly`, is a pair of the hooks above)."""


# ----------------------------------------------------------------------------------------------
# Function: one differentiable operation
# ----------------------------------------------------------------------------------------------
class Function:
    """Base class of every differentiable operation. See the module docstring.

    What ``forward`` saves for backward lives in the instance's ``__dict__`` (with the output's
    gradient hooks); the graph's own fields are slots, set by :meth:`apply` when the op is
    recorded, so that freeing the saved arrays after backward is ``__dict__.clear()`` and the
    graph's structure stays."""

    __slots__ = ("parents",           # the input tensors
                 "next_fns",          # the Function that made each input (None: a leaf)
                 "needs_input_grad",  # for each input: does it require a gradient?
                 "versions",          # what backward needs to detect in-place changes (apply)
                 "__dict__")
    grad_hooks: tuple = ()  # Tensor.register_hook on the output: a list once one is registered
    freed = False           # set once backward has released the saved arrays
    ctx_style = False       # forward/backward written PyTorch's way (static, taking ctx): apply

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:  # decided once per class, not on every call
            cls.ctx_style = type(cls.__dict__["forward"]) is staticmethod

    def forward(self, *arrays, **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options):
        """Run the op on Tensors; record it in the graph when a gradient will be needed.

        The output is made by the inputs' own class (``inputs[0]._from_array``), so this module
        needs no import of the Tensor class. A subclass written PyTorch's way (``forward`` and
        ``backward`` as static methods taking ``ctx`` and Tensors) runs through
        :mod:`tinygrad_edu.custom_function` instead."""
        if cls.ctx_style:
            from .custom_function import apply_ctx_style

            return apply_ctx_style(cls, *inputs, **options)
        ctx = cls()
        out_data = ctx.forward(*[t.data for t in inputs], **options)
        if isinstance(out_data, np.generic):  # NumPy turns 0-d results into scalars
            out_data = np.asarray(out_data)
        for hook in forward_hooks:
            hook(ctx, out_data)
        requires_grad = False
        if getattr(_grad_state, "enabled", True):
            for t in inputs:  # a loop, not any(...): this runs once per op
                if t.requires_grad:
                    requires_grad = True
                    break
        out = inputs[0]._from_array(out_data, requires_grad)
        if requires_grad:
            ctx.parents = inputs
            ctx.next_fns = tuple([t._ctx for t in inputs])
            ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
            # enough to find, at backward, a saved array changed in place (_stale_saved_arrays)
            ctx.versions = (inplace_changes[0], [t._vc[0] for t in inputs], out._vc, id(out_data))
            out._ctx = ctx
        return out

    @property
    def name(self) -> str:
        return type(self).__name__

    def release(self) -> None:
        """Drop what ``forward`` saved for backward (after backward, unless the graph is
        retained). The graph's structure stays, as in PyTorch, so it can still be looked at
        and drawn; walking it again raises."""
        self.__dict__.clear()
        self.freed = True


def _stale_saved_arrays(fn) -> list:
    """(attribute, error) for every array that ``fn.forward`` saved and that was changed in place
    since: an array (or a view of the array) of an input or of the output whose version moved.
    Runs only when some tensor was changed in place after ``fn`` ran (see :func:`_call_backward`)."""
    _, input_versions, out_counter, out_id = fn.versions
    changed = {}  # id(array) -> (role, version now, version at forward)
    for i, (t, then) in enumerate(zip(fn.parents, input_versions)):
        if t._vc[0] != then:
            changed[id(t.data)] = (f"input {i}", t._vc[0], then)
    if out_counter[0] != 0:  # an output starts at version 0
        changed[out_id] = ("output 0", out_counter[0], 0)
    stale = []
    for attr, value in list(fn.__dict__.items()) if changed else ():
        base = getattr(value, "base", None)  # a saved view of the tensor's array counts too
        key = id(value) if id(value) in changed else id(base)
        if key in changed:
            role, now, then = changed[key]
            array = value if base is None else base
            what = (array.dtype, array.shape, role, fn.name)
            stale.append((attr, _version_error(_describe_saved(what), now, then)))
    return stale


def _describe_saved(what) -> str:
    """The error message's words for a saved tensor: (dtype, shape, role, op name)."""
    dtype, shape, role, op = what
    return f"[Tensor {dtype} {list(shape)}], which is {role} of {op},"


def _version_error(what, now, then) -> RuntimeError:
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {what} is at version {now}; expected version {then} instead. Hint: the "
        "in-place change came after this op used the value; change a copy (clone()) instead, "
        "or make the change before the forward pass."
    )


class _StaleArray:
    """Stands in, during one backward call, for a saved array that was changed in place since
    forward: using it raises. An op whose backward does not need that array (``x * 2`` saves
    ``x`` but needs it only for the gradient of the constant) runs as usual, as in PyTorch."""

    __array_ufunc__ = None  # NumPy hands every ufunc involving it back to its operators

    def __init__(self, array, error):
        # the metadata stays readable (an op may need only the shape of what it saved)
        self.shape, self.ndim, self.dtype, self.size = array.shape, array.ndim, array.dtype, array.size
        self._error = error

    def __getattr__(self, name):
        raise self._error

    def _refuse(self, *args, **kwargs):
        raise self._error


for _op in ("add radd sub rsub mul rmul truediv rtruediv pow rpow matmul rmatmul neg getitem "
            "array eq ne lt le gt ge and rand or ror invert abs len iter bool float").split():
    setattr(_StaleArray, f"__{_op}__", _StaleArray._refuse)


def _run_with_saved_checked(fn, grad):
    """``fn.backward(grad)``, with every saved array changed in place since forward replaced by
    a :class:`_StaleArray`; any failure that follows is reported as PyTorch's version error."""
    stale = _stale_saved_arrays(fn)
    if not stale:
        return fn.backward(grad)
    saved = {attr: fn.__dict__[attr] for attr, _ in stale}
    fn.__dict__.update({attr: _StaleArray(saved[attr], error) for attr, error in stale})
    try:
        return fn.backward(grad)
    except Exception:
        raise stale[0][1] from None
    finally:
        fn.__dict__.update(saved)


# ----------------------------------------------------------------------------------------------
# The backward walk
# ----------------------------------------------------------------------------------------------
_SECOND_TIME = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling backward."
)


def topological_order(roots) -> list:
    """The Functions below ``roots`` (Functions), each before the ops that made its inputs.

    Iterative depth-first search: a node is pushed once to expand it and once more (marked
    ``expanded``) to be emitted after its inputs, so no Python recursion is involved.
    """
    order, visited = [], set()
    stack = [(fn, False) for fn in roots]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
        elif fn not in visited:
            visited.add(fn)
            stack.append((fn, True))
            for p in fn.next_fns:
                if p is not None and p not in visited:
                    stack.append((p, False))
    order.reverse()
    return order


def backward(roots, root_grads, retain_graph=False, inputs=None, accumulate=True) -> dict:
    """Propagate ``root_grads`` (arrays shaped like the tensors ``roots``) through the graph.

    Returns {id(tensor): (tensor, gradient array)} for the leaves reached, or for ``inputs``
    (leaves or not) when given; accumulate=True also adds these into their ``.grad`` (only
    when the whole walk succeeded, so an error inside some op's backward leaves every ``.grad``
    as it was). The exception: a leaf with a post-accumulate hook is accumulated as soon as
    its gradient is complete, as in PyTorch, so the hook can start work (data-parallel
    training starts its all-reduce) while the rest of the walk goes on.
    The graph is freed afterwards unless ``retain_graph``.
    """
    pending = {}  # node -> summed gradient so far; a node is a Function or a leaf tensor
    for t, g in zip(roots, root_grads):
        _send(pending, t._ctx or t, g)
    order = topological_order([t._ctx for t in roots if t._ctx is not None])
    wanted = None if inputs is None else {t._ctx or t: t for t in inputs}
    early = _edges_into_hooked_leaves(order) if post_hooks_used[0] and accumulate and wanted is None else None
    found = {}
    for fn in order:
        grad = pending.pop(fn, None)
        if grad is not None:  # else no gradient reached fn: nothing to pass on
            if fn.grad_hooks:
                grad = _run_hooks(fn.grad_hooks, grad)
            if wanted is not None and fn in wanted:
                found[id(wanted[fn])] = (wanted[fn], grad)
            for parent, parent_fn, g in zip(fn.parents, fn.next_fns, _call_backward(fn, grad)):
                if g is not None and parent.requires_grad:
                    _send(pending, parent_fn or parent, g)
        if early:
            _accumulate_completed_leaves(fn, early, pending)
    for leaf, g in pending.items():  # only leaves are left
        if wanted is None or leaf in wanted:
            found[id(leaf)] = (leaf, _run_hooks(leaf._hooks["grad"], g) if leaf._hooks else g)
    if accumulate:
        _accumulate(found.values(), root_grads)
    if not retain_graph:
        for fn in order:
            fn.release()
    return found


def _edges_into_hooked_leaves(order) -> dict:
    """id(leaf) -> how many graph edges lead into it, for the leaves with post-accumulate hooks."""
    counts = {}
    for fn in order:
        for parent, parent_fn in zip(fn.parents, fn.next_fns):
            if parent_fn is None and parent._hooks and parent._hooks["post"]:
                counts[id(parent)] = counts.get(id(parent), 0) + 1
    return counts


def _accumulate_completed_leaves(fn, counts: dict, pending: dict) -> None:
    """After ``fn``'s backward: a hooked leaf that has now received all its gradient goes into
    its ``.grad`` at once (and its post-accumulate hooks run)."""
    for parent, parent_fn in zip(fn.parents, fn.next_fns):
        key = id(parent)
        if parent_fn is None and key in counts:
            counts[key] -= 1
            if counts[key] == 0:
                grad = pending.pop(parent, None)
                if grad is not None:
                    parent._accumulate_grad(_run_hooks(parent._hooks["grad"], grad), False)


def _send(pending: dict, node, grad) -> None:
    """Add ``grad`` to what ``node`` has received so far."""
    pending[node] = pending[node] + grad if node in pending else grad


def _call_backward(fn, grad) -> tuple:
    """``fn.backward(grad)``, checked: not freed, saved values unchanged, one gradient of the
    right shape per input; then the backward hooks."""
    if fn.freed:
        raise RuntimeError(_SECOND_TIME)
    if isinstance(grad, np.generic):  # NumPy turns 0-d results (g * b on 0-d arrays) into scalars
        grad = np.asarray(grad)
    if fn.versions[0] == inplace_changes[0]:  # nothing changed in place since forward
        grads = fn.backward(grad)
    else:
        grads = _run_with_saved_checked(fn, grad)
    if type(grads) is not tuple:
        grads = (grads,)
    if len(grads) != len(fn.parents):
        raise RuntimeError(f"{fn.name}.backward returned {len(grads)} gradients for {len(fn.parents)} inputs")
    for parent, g in zip(fn.parents, grads):
        if g is not None and g.shape != parent.data.shape:
            raise RuntimeError(  # a bug in that op's backward, not in the caller's code
                f"{fn.name}.backward produced a gradient of shape {g.shape} for an input of shape {parent.shape}"
            )
    if backward_hooks:
        for hook in backward_hooks:
            hook(fn, grads)
    return grads


def _run_hooks(hooks, grad):
    """``Tensor.register_hook`` hooks: each sees the gradient and may return a replacement."""
    if grad is None:
        return None
    for hook in tuple(hooks):
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _accumulate(leaf_grads, caller_arrays) -> None:
    """Add each gradient into its tensor's ``.grad``.

    A tensor may keep its gradient array without a copy when nothing else can see that array:
    the walk made it (not the caller), it owns its memory (not a view of another array) and no
    other tensor got the same array (Add hands one array to both of its inputs)."""
    handed_out = {id(a) for a in caller_arrays}
    for leaf, grad in leaf_grads:
        private = (type(grad) is np.ndarray and grad.base is None and grad.flags.writeable
                   and id(grad) not in handed_out)
        handed_out.add(id(grad))
        leaf._accumulate_grad(grad, private)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple of Tensors, without touching any ``.grad`` (PyTorch's
    ``torch.autograd.grad``).

    outputs: a Tensor or a sequence of them; grad_outputs: matching gradients (may be omitted
    for one-element outputs); inputs: the Tensors (leaves or not) to differentiate with respect
    to. An input that the outputs do not depend on is an error unless ``allow_unused=True``
    (then its entry is None). ``retain_graph`` defaults to ``create_graph`` (False): the graph
    is freed afterwards.
    """
    single = hasattr(inputs, "data") and hasattr(inputs, "_ctx")
    inputs = (inputs,) if single else tuple(inputs)
    outputs = (outputs,) if hasattr(outputs, "_ctx") else tuple(outputs)
    if grad_outputs is None or hasattr(grad_outputs, "_ctx"):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    arrays = [out._root_grad(g, "autograd.grad", create_graph) for out, g in zip(outputs, grad_outputs)]
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: an input of shape {t.shape} does not require grad")
    found = backward(outputs, arrays, retain_graph=bool(retain_graph), inputs=inputs, accumulate=False)
    result = []
    for t in inputs:
        g = found.get(id(t), (None, None))[1]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: one of the inputs (shape {t.shape}) was not used to compute the "
                "outputs; pass allow_unused=True to get None for it"
            )
        result.append(None if g is None else t._from_array(g))
    return tuple(result)


def Variable(data, requires_grad: bool = False, volatile: bool = False):
    """``autograd.Variable(tensor)``, the pre-2018 PyTorch wrapper: today a Variable is a
    Tensor, so this returns ``data`` itself (with ``requires_grad`` set when asked). As in
    PyTorch, ``data`` must be a Tensor: anything else raises TypeError (make one with
    ``tinygrad_edu.tensor(...)`` first)."""
    if not (hasattr(data, "_ctx") and hasattr(data, "requires_grad_")):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    if requires_grad:
        data.requires_grad_(True)
    return data
