"""PyTorch-style custom Functions: ``forward(ctx, ...)`` and ``backward(ctx, grad)`` as
static methods that take and return Tensors, as users write them for ``torch.autograd.Function``:

    class Cube(tge.autograd.Function):
        @staticmethod
        def forward(ctx, x):                 # x: a Tensor
            ctx.save_for_backward(x)
            return x ** 3
        @staticmethod
        def backward(ctx, grad_output):      # grad_output: a Tensor shaped like the output
            x, = ctx.saved_tensors
            return grad_output * 3 * x ** 2  # one gradient (or None) per forward argument

    y = Cube.apply(x)

``Function.apply`` sends a class whose ``forward`` is a staticmethod here. The user's forward
runs with gradients off (its inside is not recorded); one graph node (:class:`CustomCall`)
stands for the whole call, and its backward calls the user's backward. The library's own
Functions (forward/backward on arrays, ``self`` as the context) are unaffected.
"""
from __future__ import annotations

from .autograd import Function, is_grad_enabled, no_grad

__all__ = ["FunctionCtx", "apply_ctx_style"]


class FunctionCtx:
    """The ``ctx`` of a PyTorch-style Function: ``save_for_backward``, ``saved_tensors``,
    ``needs_input_grad``; any other attribute may be set to carry values to backward."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        """Accepted for compatibility: outputs that are not differentiable get no gradient anyway."""

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for compatibility: grad_output is always a tensor here."""


class CustomCall(Function):
    """One call of a PyTorch-style Function in the graph. forward hands on the output the
    user's forward already computed; backward asks the user's backward for the gradients."""

    def forward(self, *arrays, result=None, user_cls=None, user_ctx=None, tensor_positions=(), n_args=0):
        self.user_cls, self.user_ctx = user_cls, user_ctx
        self.tensor_positions, self.n_args, self.result = tensor_positions, n_args, result
        return result.data

    def backward(self, g):
        grad_out = self.result._from_array(g)
        with no_grad():
            grads = self.user_cls.backward(self.user_ctx, grad_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        name = self.user_cls.__name__
        if len(grads) < self.n_args:
            raise RuntimeError(f"{name}.backward returned {len(grads)} gradients, but forward took {self.n_args} "
                               "arguments (return one per argument, None for those without a gradient)")
        out = []
        for i, pos in enumerate(self.tensor_positions):
            grad = grads[pos]
            if grad is None or not self.needs_input_grad[i]:
                out.append(None)
                continue
            array = grad.data if hasattr(grad, "data") and hasattr(grad, "shape") else grad
            shape = self.parents[i].shape
            if tuple(array.shape) != tuple(shape):
                raise RuntimeError(f"{name}.backward: gradient {i} has shape {tuple(array.shape)}, "
                                   f"expected {tuple(shape)} (the shape of that input)")
            out.append(array.astype(self.parents[i].dtype, copy=False))
        return tuple(out)


def apply_ctx_style(cls, *args, **kwargs):
    """Run ``cls.forward(ctx, *args)`` and record one graph node for it (see the module doc)."""
    positions = tuple(i for i, a in enumerate(args) if hasattr(a, "_ctx") and hasattr(a, "requires_grad"))
    tensors = [args[i] for i in positions]
    ctx = FunctionCtx()
    ctx.needs_input_grad = tuple(getattr(a, "requires_grad", False) for a in args)
    with no_grad():
        result = cls.forward(ctx, *args, **kwargs)
    if not (hasattr(result, "_ctx") and hasattr(result, "data")):
        raise TypeError(f"{cls.__name__}.forward must return one Tensor, got {type(result).__name__}")
    if not tensors or not is_grad_enabled() or not any(t.requires_grad for t in tensors):
        return result
    return CustomCall.apply(*tensors, result=result, user_cls=cls, user_ctx=ctx,
                            tensor_positions=positions, n_args=len(args))
