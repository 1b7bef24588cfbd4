"""Check analytic gradients against central finite differences.

For a function f and a random cotangent vector r, backward computes  g = J^T r  (J the Jacobian
of f). The same quantity, one input element at a time, is

    g_i ~= (r . f(x + eps e_i) - r . f(x - eps e_i)) / (2 eps)

Comparing the two for two independent random r checks every column of J that matters, at the
cost of one backward and 2 * n forward passes. Use float64 inputs: in float32, round-off
swamps the difference quotient.
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients differ."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              n_vectors: int = 2, seed: int = 0, raise_exception: bool = True) -> bool:
    """True when ``fn``'s backward agrees with central differences (PyTorch's tolerances).

    fn: Tensors -> Tensor or tuple of Tensors. inputs: Tensors; those with requires_grad are
    checked (they should be float64). Passes when |analytic - numeric| <= atol + rtol |numeric|
    for every element. Raises GradcheckError naming the input and the worst element, unless
    ``raise_exception=False`` (then returns False).
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs")
    random = np.random.default_rng(seed)
    for _ in range(n_vectors):
        for i in checked:
            inputs[i].grad = None
        outs = _outputs(fn, inputs)
        cotangents = [random.standard_normal(o.shape) for o in outs]
        total = None
        for o, r in zip(outs, cotangents):
            if not o.requires_grad:
                continue
            term = (o * Tensor(r, dtype=np.float64, device=o.device)).sum()
            total = term if total is None else total + term
        if total is None:
            raise GradcheckError("gradcheck: no output requires grad")
        total.backward()

        def objective():
            with no_grad():
                return sum(float((o.numpy() * r).sum()) for o, r in zip(_outputs(fn, inputs), cotangents))

        for i in checked:
            t = inputs[i]
            analytic = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
            numeric = np.zeros(t.shape)
            flat = t.data.reshape(-1)  # a view: perturb in place
            for j in range(flat.size):
                saved = flat[j]
                flat[j] = saved + eps
                plus = objective()
                flat[j] = saved - eps
                minus = objective()
                flat[j] = saved
                numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
            bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
            if bad.any():
                worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), t.shape)
                message = (
                    f"gradcheck: input {i} of shape {t.shape}: {int(bad.sum())} of {t.data.size} gradient "
                    f"elements differ; worst at {worst}: analytic {analytic[worst]:.8g}, "
                    f"numerical {numeric[worst]:.8g}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    for i in checked:
        inputs[i].grad = None
    return True
