"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay.

The update of one parameter p with gradient g at step t = 1, 2, ... (PyTorch's rule, in the
form of its default single-tensor implementation)::

    g     <- -g                                   if maximize
    p     <- p * (1 - lr * wd)                    AdamW: decoupled weight decay
    g     <- g + wd * p                           Adam: L2 weight decay, if wd != 0
    m_t   <- beta1 * m_{t-1} + (1 - beta1) * g    first moment  (m_0 = 0)
    v_t   <- beta2 * v_{t-1} + (1 - beta2) * g^2  second moment (v_0 = 0)
    vmax  <- max(vmax, v_t)                       amsgrad only; used instead of v_t below
    step_size = lr / (1 - beta1^t)
    denom     = sqrt(v_t) / sqrt(1 - beta2^t) + eps
    p     <- p - step_size * m_t / denom

which is p - lr * mhat / (sqrt(vhat) + eps) with the bias-corrected moments
mhat = m_t / (1 - beta1^t), vhat = v_t / (1 - beta2^t), arranged so that eps is added after
the correction of v only, exactly as PyTorch does.
"""
from __future__ import annotations

from ._fused import adam_step_group
from .optimizer import Optimizer, check_number


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba), L2 weight decay added to the gradient.

    Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         maximize=False)
        params: iterable of Tensors (float32/float64, any shape) or of parameter-group dicts.
        lr >= 0, 0 <= beta < 1, eps >= 0, weight_decay >= 0; invalid values raise ValueError
        naming the value.

    State per parameter: "step" (int), "exp_avg" (m), "exp_avg_sq" (v) and, with amsgrad,
    "max_exp_avg_sq", the arrays shaped and typed like the parameter (PyTorch's names).
    """

    _state_names = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    #: AdamW sets this: decay the weights directly instead of adding wd * p to the gradient
    _decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(hp):
        check_number("learning rate", hp["lr"], low=0.0)
        check_number("epsilon value", hp["eps"], low=0.0)
        betas = hp["betas"]
        try:
            n_betas = len(betas)
        except TypeError:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
        if n_betas != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            check_number(f"beta parameter at index {i}", beta, low=0.0, high=1.0, high_open=True)
        check_number("weight_decay value", hp["weight_decay"], low=0.0)

    def _step_group(self, group, params, grads):
        """All parameters of the group in one kernel call (optim/_fused.py): ``adam_step``
        of the kernel table, csrc/optim.c or its twin backends/numpy_ref/optim.py."""
        adam_step_group(self, group, params, grads)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * wd`` first.

    AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
          maximize=False)
        Same arguments, checks and state as :class:`Adam`; only the default weight_decay and
        the place where it acts differ.
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
