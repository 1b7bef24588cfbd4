"""Weight initialisers with Keras's names, defaults and fan rules.

An initialiser is called with a shape and returns a NumPy float32 array of that shape,
drawn from the library's generator (``tinygrad_edu.manual_seed`` makes it reproducible).

Fans follow Keras, which lays weights out (in, out) and convolution kernels
(kh, kw, in, out), unlike PyTorch:

    rank 2:   fan_in = shape[0], fan_out = shape[1]
    rank > 2: receptive = prod(shape[:-2]); fan_in = shape[-2] * receptive,
              fan_out = shape[-1] * receptive

    glorot_uniform  U(-l, l), l = sqrt(6 / (fan_in + fan_out))        (Keras's default kernel)
    glorot_normal   truncated N(0, s^2) (cut at 2 s), s = sqrt(2 / (fan_in + fan_out)) / 0.8796
    he_uniform      U(-l, l), l = sqrt(6 / fan_in);   he_normal: s = sqrt(2 / fan_in) / 0.8796
    lecun_uniform   U(-l, l), l = sqrt(3 / fan_in);   lecun_normal: s = sqrt(1 / fan_in) / 0.8796
    orthogonal      flatten to (prod(shape[:-1]), shape[-1]); QR of a Gaussian matrix, the
                    smaller side orthonormal (rows when there are fewer rows than columns)
    random_uniform  U(-0.05, 0.05) (the default of Embedding, called "uniform" there)
    random_normal   N(0, 0.05^2);  zeros, ones, constant(value)

0.8796 (0.87962566103423978) is the standard deviation of a unit normal truncated to
[-2, 2]: dividing by it keeps the variance of the truncated draw at s^2.
"""
from __future__ import annotations

import math

import numpy as np

from .. import rng

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal", "TruncatedNormal",
           "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
           "LecunNormal", "Orthogonal", "compute_fans", "get"]

_TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape) -> tuple:
    """(fan_in, fan_out) of a weight of ``shape`` in Keras's layout (see the module docstring)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(shape, mean, stddev):
    """N(mean, stddev^2) restricted to mean +- 2 stddev (values outside are drawn again)."""
    gen = rng.generator()
    values = gen.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = gen.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return mean + stddev * values


class Initializer:
    """Base class: ``init(shape, dtype="float32") -> np.ndarray``."""

    def __call__(self, shape, dtype="float32") -> np.ndarray:
        shape = tuple(int(s) for s in shape)
        return np.asarray(self._draw(shape), dtype=np.float64).astype(dtype)

    def _draw(self, shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Zeros(Initializer):
    def _draw(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    def _draw(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def _draw(self, shape):
        return np.full(shape, self.value)


class RandomUniform(Initializer):
    """U(minval, maxval); Keras's defaults are -0.05 and 0.05."""

    def __init__(self, minval=-0.05, maxval=0.05):
        if not minval <= maxval:
            raise ValueError(f"RandomUniform: need minval <= maxval, got {minval} and {maxval}")
        self.minval, self.maxval = float(minval), float(maxval)

    def _draw(self, shape):
        return rng.generator().uniform(self.minval, self.maxval, size=shape)


class RandomNormal(Initializer):
    """N(mean, stddev^2); Keras's defaults are 0 and 0.05."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def _draw(self, shape):
        return rng.generator().normal(self.mean, self.stddev, size=shape)


class TruncatedNormal(Initializer):
    """N(mean, stddev^2) cut at two standard deviations; defaults 0 and 0.05."""

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def _draw(self, shape):
        return _truncated_normal(shape, self.mean, self.stddev)


class VarianceScaling(Initializer):
    """Variance ``scale / n`` with n = fan_in, fan_out or their mean (``mode``);
    ``distribution`` "truncated_normal", "untruncated_normal" or "uniform"."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def _draw(self, shape):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.generator().uniform(-limit, limit, size=shape)
        if self.distribution == "untruncated_normal":
            return rng.generator().normal(0.0, math.sqrt(variance), size=shape)
        return _truncated_normal(shape, 0.0, math.sqrt(variance) / _TRUNCATED_STD)


class GlorotUniform(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_avg", "uniform")


class GlorotNormal(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_avg", "truncated_normal")


class HeUniform(VarianceScaling):
    def __init__(self):
        super().__init__(2.0, "fan_in", "uniform")


class HeNormal(VarianceScaling):
    def __init__(self):
        super().__init__(2.0, "fan_in", "truncated_normal")


class LecunUniform(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_in", "uniform")


class LecunNormal(VarianceScaling):
    def __init__(self):
        super().__init__(1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A matrix with orthonormal rows or columns, times ``gain``.

    The shape is flattened to (rows, cols) = (prod(shape[:-1]), shape[-1]). A Gaussian matrix
    of the taller orientation is QR-decomposed; Q (its columns' signs fixed by diag(R), which
    makes the result uniformly distributed) is transposed back when rows < cols. So an LSTM's
    recurrent kernel (U, 4U) has orthonormal rows: K @ K.T = I (U x U).
    """

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def _draw(self, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs a shape of rank >= 2, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        tall = (max(rows, cols), min(rows, cols))
        q, r = np.linalg.qr(rng.generator().standard_normal(tall))
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape)


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "uniform": RandomUniform, "random_uniform": RandomUniform,
    "normal": RandomNormal, "random_normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
}


def get(identifier) -> Initializer:
    """A name (``"glorot_uniform"``), an Initializer, or a callable ``(shape, dtype) -> array``."""
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]()
        except KeyError:
            raise ValueError(f"unknown initializer {identifier!r}; expected one of {sorted(_BY_NAME)}") from None
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer must be a name or a callable, got {type(identifier).__name__}")
