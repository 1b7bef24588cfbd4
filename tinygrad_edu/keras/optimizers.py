"""Keras's optimizers: ``compile(optimizer="adam")`` or ``compile(optimizer=Adam(learning_rate=1e-3))``.

A Keras optimizer is made before the model has weights, so the objects here only hold the
hyper-parameters; the model binds one to its parameters on the first ``fit`` (``bind``),
which creates the optimizer of ``tinygrad_edu.optim`` that does the updates.

The update rules are Keras's (they differ from PyTorch's where noted):

    SGD       v = momentum * v - lr * g;  p += v    (nesterov: p += momentum * v - lr * g)
              the same updates as optim.SGD, which is used underneath
    Adam      m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
              p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
              eps (default 1e-7) is added to sqrt(v) before the bias correction, unlike
              PyTorch, which adds its eps (1e-8) to sqrt(v / (1 - b2^t)); so Keras's step is
              PyTorch's with eps / sqrt(1 - b2^t), and runs on the same fused kernel
    RMSprop   ms = rho ms + (1 - rho) g^2 (centered: minus the square of the running mean of g)
              p -= lr * g / sqrt(ms + eps)   (with momentum: a velocity of those steps)
    Adagrad   acc += g^2 (acc starts at initial_accumulator_value = 0.1)
              p -= lr * g / sqrt(acc + eps)

``learning_rate`` can be read and set at any time (also after binding).
"""
from __future__ import annotations

import math

from .. import optim
from ..optim import _fused
from ..device import array_module
from ..optim.optimizer import Optimizer as _TorchStyleOptimizer
from ..optim.optimizer import check_number

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "get"]


# ------------------------------------------------------------------ the update rules
class KerasAdamRule(_TorchStyleOptimizer):
    """Adam with Keras's placement of epsilon (see the module docstring).

    KerasAdamRule(params, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)
    State per parameter: "step", "exp_avg" (m), "exp_avg_sq" (v) (and "vhat" with amsgrad).
    """

    _state_names = ("step", "exp_avg", "exp_avg_sq", "vhat")    # m and v, in PyTorch's names
    _decoupled_weight_decay = False                             # read by optim._fused.adam_step_group

    def __init__(self, params, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
        super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad))

    @staticmethod
    def _check_hyperparameters(hp):
        check_number("learning rate", hp["lr"], low=0.0)
        check_number("beta_1", hp["beta_1"], low=0.0, high=1.0, high_open=True)
        check_number("beta_2", hp["beta_2"], low=0.0, high=1.0, high_open=True)
        check_number("epsilon", hp["epsilon"], low=0.0)

    def _step_group(self, group, params, grads):
        """All parameters in one call of optim.Adam's fused step (``optim._fused.adam_step_group``:
        csrc/optim.c or its NumPy twin) when they are at the same step t: Keras's rule is
        PyTorch's with epsilon eps / sqrt(1 - b2^t), so the same kernel computes it. Falls back
        to :meth:`_update` (the reference) for amsgrad or parameters at different steps."""
        steps = {self.state[p]["step"] if p in self.state else 0 for p in params}
        if group["amsgrad"] or len(steps) != 1:
            return super()._step_group(group, params, grads)
        b2 = float(group["beta_2"])
        t = steps.pop() + 1
        torch_group = {"lr": float(group["lr"]), "betas": (float(group["beta_1"]), b2),
                       "eps": float(group["epsilon"]) / math.sqrt(1.0 - b2 ** t), "weight_decay": 0.0,
                       "amsgrad": False, "maximize": False}
        _fused.adam_step_group(self, torch_group, params, grads)

    def _update(self, p, g, state, group):
        xp = array_module(p)
        lr, b1, b2 = float(group["lr"]), float(group["beta_1"]), float(group["beta_2"])
        eps = float(group["epsilon"])
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p), exp_avg_sq=xp.zeros_like(p))
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (g - m)                         # m = b1 m + (1 - b1) g
        v += (1 - b2) * (g * g - v)                     # v = b2 v + (1 - b2) g^2
        if group["amsgrad"]:
            vhat = state.setdefault("vhat", xp.zeros_like(p))
            xp.maximum(vhat, v, out=vhat)
            v = vhat
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        p -= alpha * m / (xp.sqrt(v) + eps)


class KerasRMSpropRule(_TorchStyleOptimizer):
    """RMSprop as Keras: p -= lr g / sqrt(ms + eps), optional momentum and centering.

    State per parameter: "ms" (and "mg" when centered, "velocity" with momentum).
    """

    _state_names = ("ms", "mg", "velocity")

    def __init__(self, params, lr=1e-3, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
        super().__init__(params, dict(lr=lr, rho=rho, momentum=momentum, epsilon=epsilon, centered=centered))

    @staticmethod
    def _check_hyperparameters(hp):
        check_number("learning rate", hp["lr"], low=0.0)
        check_number("rho", hp["rho"], low=0.0, high=1.0)
        check_number("momentum", hp["momentum"], low=0.0, high=1.0)
        check_number("epsilon", hp["epsilon"], low=0.0)

    def _update(self, p, g, state, group):
        xp = array_module(p)
        lr, rho, mu, eps = (float(group[k]) for k in ("lr", "rho", "momentum", "epsilon"))
        ms = state.setdefault("ms", xp.zeros_like(p))
        ms += (1 - rho) * (g * g - ms)                  # ms = rho ms + (1 - rho) g^2
        denominator = ms
        if group["centered"]:
            mg = state.setdefault("mg", xp.zeros_like(p))
            mg += (1 - rho) * (g - mg)
            denominator = ms - mg * mg
        step = lr * g / xp.sqrt(denominator + eps)
        if mu > 0:
            velocity = state.setdefault("velocity", xp.zeros_like(p))
            velocity *= mu
            velocity += step
            step = velocity
        p -= step


class KerasAdagradRule(_TorchStyleOptimizer):
    """Adagrad as Keras: acc += g^2 (from initial_accumulator_value); p -= lr g / sqrt(acc + eps)."""

    _state_names = ("accumulator",)

    def __init__(self, params, lr=1e-3, initial_accumulator_value=0.1, epsilon=1e-7):
        super().__init__(params, dict(lr=lr, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon))

    @staticmethod
    def _check_hyperparameters(hp):
        check_number("learning rate", hp["lr"], low=0.0)
        check_number("initial_accumulator_value", hp["initial_accumulator_value"], low=0.0)
        check_number("epsilon", hp["epsilon"], low=0.0)

    def _update(self, p, g, state, group):
        xp = array_module(p)
        acc = state.get("accumulator")
        if acc is None:
            acc = state["accumulator"] = xp.full_like(p, float(group["initial_accumulator_value"]))
        acc += g * g
        p -= float(group["lr"]) * g / xp.sqrt(acc + float(group["epsilon"]))


# ------------------------------------------------------------------ the Keras-facing objects
class Optimizer:
    """Hyper-parameters now, parameters later: ``bind(params)`` makes the working optimizer.

    Accepts ``lr=`` as an old alias of ``learning_rate=`` (as Keras 2 did).
    """

    def __init__(self, learning_rate, name, lr=None):
        if lr is not None:
            learning_rate = lr
        check_number("learning_rate", learning_rate, low=0.0)
        self._learning_rate = float(learning_rate)
        self.name = name
        self._bound = None  # the tinygrad_edu.optim optimizer, once bound

    # -- the learning rate, live
    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        check_number("learning_rate", value, low=0.0)
        self._learning_rate = float(value)
        if self._bound is not None:
            for group in self._bound.param_groups:
                group["lr"] = self._learning_rate

    lr = learning_rate

    @property
    def iterations(self) -> int:
        """Number of update steps taken since the last bind."""
        return self._steps

    def bind(self, params) -> _TorchStyleOptimizer:
        """Create (and remember) the optimizer that updates ``params`` (a list of Tensors)."""
        self._bound = self._make(list(params))
        self._steps = 0
        return self._bound

    def step(self) -> None:
        if self._bound is None:
            raise RuntimeError(f"{type(self).__name__}: not bound to any parameters yet (compile and fit a model)")
        self._bound.step()
        self._steps += 1

    def zero_grad(self) -> None:
        if self._bound is not None:
            self._bound.zero_grad()

    _steps = 0

    def _make(self, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self._learning_rate}

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({fields})"


class SGD(Optimizer):
    """SGD(learning_rate=0.01, momentum=0.0, nesterov=False)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", lr=None):
        super().__init__(learning_rate, name, lr)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")

    def _make(self, params):
        return optim.SGD(params, lr=self._learning_rate, momentum=self.momentum, nesterov=self.nesterov)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 name="Adam", lr=None):
        super().__init__(learning_rate, name, lr)
        self.beta_1 = check_number("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.amsgrad = bool(amsgrad)

    def _make(self, params):
        return KerasAdamRule(params, lr=self._learning_rate, beta_1=self.beta_1, beta_2=self.beta_2,
                             epsilon=self.epsilon, amsgrad=self.amsgrad)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name="RMSprop", lr=None):
        super().__init__(learning_rate, name, lr)
        self.rho = check_number("rho", rho, low=0.0, high=1.0)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.centered = bool(centered)

    def _make(self, params):
        return KerasRMSpropRule(params, lr=self._learning_rate, rho=self.rho, momentum=self.momentum,
                                epsilon=self.epsilon, centered=self.centered)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="Adagrad", lr=None):
        super().__init__(learning_rate, name, lr)
        self.initial_accumulator_value = check_number("initial_accumulator_value", initial_accumulator_value, low=0.0)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)

    def _make(self, params):
        return KerasAdagradRule(params, lr=self._learning_rate,
                                initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier) -> Optimizer:
    """"adam" / "sgd" / "rmsprop" / "adagrad" (any case, Keras's defaults) or an Optimizer."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier.lower()]()
        except KeyError:
            raise ValueError(f"unknown optimizer {identifier!r}; expected one of {sorted(_BY_NAME)} "
                             f"or a keras.optimizers object") from None
    if isinstance(identifier, _TorchStyleOptimizer):
        raise TypeError("compile() takes a Keras optimizer (tinygrad_edu.keras.optimizers.Adam(...) or a name); "
                        f"got a {type(identifier).__name__} from tinygrad_edu.optim, which is already "
                        "bound to parameters")
    raise TypeError(f"optimizer must be a name or a keras.optimizers object, got {type(identifier).__name__}")
