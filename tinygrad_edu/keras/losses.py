"""Keras's losses: ``model.compile(loss="sparse_categorical_crossentropy")``.

Names accepted by ``compile`` (and by :func:`get`):

    "sparse_categorical_crossentropy"   y_true int class ids (N,) or (N, 1); y_pred (N, C)
    "categorical_crossentropy"          y_true one-hot / probabilities (N, C); y_pred (N, C)
    "binary_crossentropy"               y_true 0/1 (N,) or (N, K); y_pred probabilities (N, K)
    "mse" / "mean_squared_error"        any shape
    "mae" / "mean_absolute_error"       any shape

or a Loss object (``SparseCategoricalCrossentropy(from_logits=True)``, ...) or a function
``(y_true, y_pred) -> per-sample Tensor``. As in Keras, a loss gives one value per sample
(the mean over the last axis where there is one) and the model trains on their batch mean.

Probabilities and logits
------------------------
Keras computes cross-entropy on probabilities by clipping them to [eps, 1 - eps]
(eps = 1e-7) and taking -log. That has two faults: the clip kills the gradient of
confidently wrong predictions, and float32 loses digits near 1. So Keras itself (its
TensorFlow backend) goes back to the logits whenever the probabilities come straight out of
a softmax or a sigmoid. We do the same, deliberately: when the model's last layer ends in
``softmax`` (with a categorical loss) or ``sigmoid`` (with binary_crossentropy), the model
hands the loss the layer's pre-activation values and the loss is computed as
``-log_softmax(z)[y]`` or ``max(z, 0) - z y + log(1 + exp(-|z|))``. The value equals the
clipped formula wherever the probabilities lie inside [eps, 1 - eps]. Everywhere else (a
probability output from any other layer, or a direct call such as
``losses.binary_crossentropy(y, p)``) the clipped formula on probabilities is used, as Keras.
``from_logits=True`` says that y_pred already holds logits.
"""
from __future__ import annotations

import numpy as np

from ..nn import functional as F
from ..tensor import Tensor
from . import activations
from .backend import epsilon

__all__ = ["Loss", "SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy",
           "MeanSquaredError", "MeanAbsoluteError", "LossFunctionWrapper",
           "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
           "mean_squared_error", "mean_absolute_error", "mse", "mae", "get"]


# ----------------------------------------------------------------------------- helpers
def _pred_tensor(y_pred) -> Tensor:
    t = y_pred if isinstance(y_pred, Tensor) else Tensor(np.asarray(y_pred, dtype=np.float32))
    if t.dtype.kind != "f":
        t = t.astype(np.float32)
    return t


def _true_array(y_true) -> np.ndarray:
    return y_true.numpy() if isinstance(y_true, Tensor) else np.asarray(y_true)


def _float_target(y_true, pred: Tensor, name: str) -> Tensor:
    """y_true as a float tensor shaped like pred: (N,) is accepted for (N, 1), as Keras."""
    y = _true_array(y_true)
    if y.dtype == object:
        raise TypeError(f"{name}: y_true must be numeric, got an object array of shape {y.shape}")
    if y.shape != pred.shape:
        if y.size != int(np.prod(pred.shape)) or (y.ndim and pred.ndim and y.shape[0] != pred.shape[0]):
            raise ValueError(f"{name}: y_true of shape {y.shape} does not match y_pred of shape {pred.shape}")
        y = y.reshape(pred.shape)
    return Tensor(y.astype(pred.dtype, copy=False))


def _sparse_target(y_true, pred: Tensor, name: str) -> np.ndarray:
    """Class ids as int64 of shape pred.shape[:-1] (a trailing axis of 1 is dropped)."""
    y = _true_array(y_true)
    want = pred.shape[:-1]
    if y.shape != want:
        if y.shape == want + (1,):
            y = y.reshape(want)
        else:
            raise ValueError(
                f"{name}: y_true of shape {y.shape} does not fit y_pred of shape {pred.shape} "
                f"(expected integer class ids of shape {want} or {want + (1,)})"
            )
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"{name}: y_true must hold integer class ids, got non-integer values")
    elif y.dtype.kind not in "iub":
        raise TypeError(f"{name}: y_true must hold integer class ids, got dtype {y.dtype}")
    y = y.astype(np.int64)
    classes = pred.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(
            f"{name}: class ids must lie in [0, {classes}) for y_pred of shape {pred.shape}, "
            f"got values in [{int(y.min())}, {int(y.max())}]"
        )
    return y


def _cross_entropy_on_ids(logits: Tensor, ids: np.ndarray, reduction: str) -> Tensor:
    """-log_softmax(logits)[id] through F.cross_entropy's fused kernel: per sample
    (reduction "none": logits (..., C), ids int (...) -> (...)) or their mean ("mean": a scalar)."""
    if logits.ndim == 2:
        # (N, C) with (N,) ids, F.cross_entropy's own layout: its "mean" (one graph node) is
        # the same float32 sum / N as Tensor.mean of its per-sample losses (two nodes)
        return F.cross_entropy(logits, Tensor(ids), reduction=reduction)
    flat = logits.reshape(-1, logits.shape[-1])
    per_sample = F.cross_entropy(flat, Tensor(ids.reshape(-1)), reduction="none").reshape(ids.shape)
    return per_sample.mean() if reduction == "mean" else per_sample


def _mean_last_axis(t: Tensor) -> Tensor:
    """Per-sample loss: the mean over the last axis (none for a 1-D tensor)."""
    return t.mean(axis=-1) if t.ndim > 1 else t


# ----------------------------------------------------------------------------- loss objects
class Loss:
    """Base class: ``loss(y_true, y_pred)`` returns the batch mean (a scalar Tensor).

    Subclasses implement ``call(y_true, y_pred) -> per-sample Tensor`` on probabilities (or
    logits when ``from_logits``) and may implement ``call_on_logits(y_true, logits)`` for the
    shortcut described in the module docstring, naming the output activation it applies to
    in ``logit_activation`` (wrapped in staticmethod, so that it stays a plain function).
    """

    logit_activation = None  # the activation function whose logits call_on_logits accepts

    def __init__(self, name=None, from_logits=False):
        self.name = name or self.default_name
        self.from_logits = bool(from_logits)

    default_name = "loss"

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        if sample_weight is not None:
            raise NotImplementedError(f"{self.name}: sample_weight is not supported")
        return self.call(y_true, _pred_tensor(y_pred)).mean()

    def call(self, y_true, y_pred: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def call_on_logits(self, y_true, logits: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def mean_on_logits(self, y_true, logits: Tensor) -> Tensor:
        """The batch mean of ``call_on_logits`` (a scalar Tensor); the cross-entropies take it
        from their fused kernel (one graph node fewer per batch, the same value)."""
        return self.call_on_logits(y_true, logits).mean()

    def uses_logits(self, activation) -> bool:
        """Whether the loss of an output made by ``activation`` is computed from its logits."""
        return (not self.from_logits and self.logit_activation is not None
                and activation is self.logit_activation)

    def model_loss(self, y_true, output: Tensor, logits: Tensor | None = None, activation=None) -> Tensor:
        """The scalar training loss of a batch. ``logits`` and ``activation`` are the last
        layer's pre-activation values and activation function, when it has one: the loss uses
        them instead of ``output`` when it can (see the module docstring)."""
        if logits is not None and self.uses_logits(activation):
            return self.mean_on_logits(y_true, logits)
        return self.call(y_true, output).mean()

    def __repr__(self):
        return f"{type(self).__name__}(from_logits={self.from_logits})"


class SparseCategoricalCrossentropy(Loss):
    """-log p[y] with integer class ids. y_true: (N,) or (N, 1) ints (or (N, T) for sequence
    outputs), y_pred: (N, C) probabilities (logits if from_logits) -> per-sample (N,)."""

    default_name = "sparse_categorical_crossentropy"
    logit_activation = staticmethod(activations.softmax)

    def call(self, y_true, y_pred):
        if y_pred.ndim < 1:
            raise ValueError(f"{self.name}: y_pred needs a class axis, got shape {y_pred.shape}")
        y = _sparse_target(y_true, y_pred, self.name)
        if self.from_logits:
            return self.call_on_logits(y, y_pred)
        eps = epsilon()
        probs = y_pred.clip(eps, 1.0 - eps)
        flat = probs.reshape(-1, probs.shape[-1])
        rows = np.arange(flat.shape[0])
        return -flat[rows, y.reshape(-1)].log().reshape(y.shape)

    def call_on_logits(self, y_true, logits):
        return _cross_entropy_on_ids(logits, _sparse_target(y_true, logits, self.name), "none")

    def mean_on_logits(self, y_true, logits):
        return _cross_entropy_on_ids(logits, _sparse_target(y_true, logits, self.name), "mean")


class CategoricalCrossentropy(Loss):
    """-sum(y * log p) over the class axis. y_true one-hot (N, C), y_pred (N, C) -> (N,).
    On probabilities, y_pred is first divided by its sum (as Keras) and clipped."""

    default_name = "categorical_crossentropy"
    logit_activation = staticmethod(activations.softmax)

    def call(self, y_true, y_pred):
        y = _float_target(y_true, y_pred, self.name)
        if self.from_logits:
            return self.call_on_logits(y, y_pred)
        eps = epsilon()
        probs = (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(eps, 1.0 - eps)
        return -(y * probs.log()).sum(axis=-1)

    def call_on_logits(self, y_true, logits):
        return self._on_logits(y_true, logits, "none")

    def mean_on_logits(self, y_true, logits):
        return self._on_logits(y_true, logits, "mean")

    def _on_logits(self, y_true, logits, reduction):
        y = _float_target(y_true, logits, self.name)
        values = y.numpy()
        if values.ndim >= 1 and np.all((values == 0) | (values == 1)) and np.all(values.sum(axis=-1) == 1):
            # one-hot targets (to_categorical's): the same value through the fused softmax-CE
            # kernel of F.cross_entropy, on the class ids
            return _cross_entropy_on_ids(logits, values.argmax(axis=-1), reduction)
        per_sample = -(y * logits.log_softmax(-1)).sum(axis=-1)
        return per_sample.mean() if reduction == "mean" else per_sample


class BinaryCrossentropy(Loss):
    """-(y log p + (1 - y) log(1 - p)), averaged over the last axis.
    y_true 0/1 of shape (N,) or (N, K), y_pred (N, K) (often (N, 1)) -> (N,)."""

    default_name = "binary_crossentropy"
    logit_activation = staticmethod(activations.sigmoid)

    def call(self, y_true, y_pred):
        y = _float_target(y_true, y_pred, self.name)
        if self.from_logits:
            return self.call_on_logits(y, y_pred)
        eps = epsilon()
        p = y_pred.clip(eps, 1.0 - eps)
        return _mean_last_axis(-(y * p.log() + (1.0 - y) * (1.0 - p).log()))

    def call_on_logits(self, y_true, logits):
        y = _float_target(y_true, logits, self.name)
        return _mean_last_axis(F.binary_cross_entropy_with_logits(logits, y, reduction="none"))


class MeanSquaredError(Loss):
    """(y - p)^2 averaged over the last axis. Any shape ((N,) targets fit (N, 1) outputs)."""

    default_name = "mean_squared_error"

    def call(self, y_true, y_pred):
        y = _float_target(y_true, y_pred, self.name)
        diff = y_pred - y
        return _mean_last_axis(diff * diff)


class MeanAbsoluteError(Loss):
    """|y - p| averaged over the last axis."""

    default_name = "mean_absolute_error"

    def call(self, y_true, y_pred):
        y = _float_target(y_true, y_pred, self.name)
        return _mean_last_axis((y_pred - y).abs())


class LossFunctionWrapper(Loss):
    """A user function ``fn(y_true, y_pred) -> Tensor`` (per sample or already reduced)."""

    def __init__(self, fn, name=None):
        super().__init__(name=name or getattr(fn, "__name__", "loss"))
        self.fn = fn

    def call(self, y_true, y_pred):
        y = y_true if isinstance(y_true, Tensor) else Tensor(np.asarray(y_true))
        out = self.fn(y, y_pred)
        if not isinstance(out, Tensor):
            raise TypeError(f"loss function {self.name!r} must return a Tensor, got {type(out).__name__}")
        return out


# ----------------------------------------------------------------------------- functions
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False) -> Tensor:
    """Per-sample sparse categorical cross-entropy (see SparseCategoricalCrossentropy)."""
    return SparseCategoricalCrossentropy(from_logits=from_logits).call(y_true, _pred_tensor(y_pred))


def categorical_crossentropy(y_true, y_pred, from_logits=False) -> Tensor:
    """Per-sample categorical cross-entropy (see CategoricalCrossentropy)."""
    return CategoricalCrossentropy(from_logits=from_logits).call(y_true, _pred_tensor(y_pred))


def binary_crossentropy(y_true, y_pred, from_logits=False) -> Tensor:
    """Per-sample binary cross-entropy (see BinaryCrossentropy)."""
    return BinaryCrossentropy(from_logits=from_logits).call(y_true, _pred_tensor(y_pred))


def mean_squared_error(y_true, y_pred) -> Tensor:
    return MeanSquaredError().call(y_true, _pred_tensor(y_pred))


def mean_absolute_error(y_true, y_pred) -> Tensor:
    return MeanAbsoluteError().call(y_true, _pred_tensor(y_pred))


mse = mean_squared_error
mae = mean_absolute_error

_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_FUNCTIONS = {
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    binary_crossentropy: BinaryCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
}


def get(identifier) -> Loss:
    """A loss name, a Loss object, or a function ``(y_true, y_pred) -> Tensor`` -> a Loss.

    Raises ValueError for an unknown name (listing the known ones).
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]()
        except KeyError:
            raise ValueError(f"unknown loss {identifier!r}; expected one of {sorted(_BY_NAME)}, "
                             f"a keras.losses.Loss or a function (y_true, y_pred)") from None
    if callable(identifier):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]()
        return LossFunctionWrapper(identifier)
    raise TypeError(f"loss must be a name, a Loss or a function, got {type(identifier).__name__}")
