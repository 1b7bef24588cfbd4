"""Layers that merge several inputs: Add, Multiply, Concatenate (functional API).

Each takes a list of tensors: ``layers.Add()([a, b])``. Add and Multiply need equal
shapes (batch axis aside; a size-1 axis broadcasts, as Keras); Concatenate needs equal
shapes except along ``axis``.
"""
from __future__ import annotations

from ...tensor import cat
from .base import Layer, _as_tensor

__all__ = ["Add", "Multiply", "Concatenate", "Average", "Subtract"]


class _Merge(Layer):
    supports_masking = True

    def _check_list(self, shapes):
        if not isinstance(shapes, (list, tuple)) or len(shapes) < 2:
            raise ValueError(f'layer "{self.name}" ({type(self).__name__}) needs a list of at least 2 inputs, '
                             f'got {shapes!r}')

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)

    def _check_input_shape(self, shapes):
        self.compute_output_shape(shapes)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        first = input_shape[0]
        out = list(first)
        for shape in input_shape[1:]:
            if len(shape) != len(first):
                raise ValueError(f'layer "{self.name}" ({type(self).__name__}): inputs of different ranks: '
                                 f'{list(input_shape)}')
            for i, (a, b) in enumerate(zip(out[1:], shape[1:]), start=1):
                if a is not None and b is not None and a != b and 1 not in (a, b):
                    raise ValueError(f'layer "{self.name}" ({type(self).__name__}): inputs must have the same '
                                     f'shape, got shapes {list(input_shape)}')
                out[i] = b if a in (None, 1) else a
        return tuple(out)

    def forward(self, inputs, training=False, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f'layer "{self.name}" ({type(self).__name__}) takes a list of tensors, '
                             f'got {type(inputs).__name__}')
        tensors = [_as_tensor(t) for t in inputs]
        shapes = [t.shape for t in tensors]
        if not self.built:
            self.build_for([(None,) + s[1:] for s in shapes])
        else:
            self._check_input_shape(shapes)
        return self.call(tensors, training=training)


class Add(_Merge):
    """Sum of the inputs, elementwise: [a (N, ...), b (N, ...), ...] -> a + b + ... of the same shape
    (a size-1 axis broadcasts)."""

    def call(self, inputs, training=False):
        out = inputs[0]
        for t in inputs[1:]:
            out = out + t
        return out


class Subtract(_Merge):
    """a - b for exactly two inputs of the same shape (N, ...)."""

    def _check_list(self, shapes):
        if not isinstance(shapes, (list, tuple)) or len(shapes) != 2:
            raise ValueError(f'layer "{self.name}" (Subtract) needs exactly 2 inputs, got {shapes!r}')

    def call(self, inputs, training=False):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Product of the inputs, elementwise: [a (N, ...), b (N, ...), ...] -> a * b * ..., same shape."""

    def call(self, inputs, training=False):
        out = inputs[0]
        for t in inputs[1:]:
            out = out * t
        return out


class Average(_Merge):
    """Mean of the inputs, elementwise: [a (N, ...), b (N, ...), ...] -> (a + b + ...) / n, same shape."""

    def call(self, inputs, training=False):
        return Add.call(self, inputs) * (1.0 / len(inputs))


class Concatenate(_Merge):
    """Join the inputs along ``axis`` (default -1, the features): shapes must agree elsewhere.

    Concatenate(axis=-1): [(N, 3), (N, 5)] -> (N, 8).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        rank = len(input_shape[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or axis == 0 or any(len(s) != rank for s in input_shape):
            raise ValueError(f'layer "{self.name}" (Concatenate): cannot join shapes {list(input_shape)} on axis '
                             f'{self.axis}')
        out = list(input_shape[0])
        for shape in input_shape[1:]:
            for i in range(1, rank):
                if i == axis:
                    out[i] = None if out[i] is None or shape[i] is None else out[i] + shape[i]
                elif out[i] is not None and shape[i] is not None and out[i] != shape[i]:
                    raise ValueError(f'layer "{self.name}" (Concatenate): shapes {list(input_shape)} differ off '
                                     f'the concatenation axis {self.axis}')
                elif out[i] is None:
                    out[i] = shape[i]
        return tuple(out)

    def call(self, inputs, training=False):
        return cat(list(inputs), axis=self.axis)


