"""The Layer base class, symbolic tensors of the functional API, and shared argument helpers.

A layer is called two ways:

* on data (a NumPy array or a Tensor, batch first): it builds itself on first use and
  returns a Tensor;
* on a ``KerasTensor`` (what ``keras.Input(shape=...)`` returns, or what a layer called on
  one returns): nothing is computed; the layer is built for the symbolic shape and returns
  new KerasTensors, recording a ``Node`` (layer, inputs, outputs). ``keras.Model(inputs,
  outputs)`` later walks these nodes to run the graph.

Masks (``Embedding(mask_zero=True)``) travel beside the data: a layer with
``supports_masking`` passes the mask on; ``compute_mask(inputs, mask)`` makes or changes
it; layers whose ``call`` takes ``mask=`` (the recurrent layers, global pooling) use it.
"""
from __future__ import annotations

import functools
import inspect
import numbers

import numpy as np

from ...nn.module import Module
from ...nn.parameter import Parameter
from ...tensor import Tensor
from .. import activations, initializers
from ..backend import snake_case, unique_name

__all__ = ["Layer", "InputLayer", "Input", "KerasTensor", "Node"]


# ------------------------------------------------------------------------------ helpers
def _as_tensor(x) -> Tensor:
    """Layer input as a Tensor: floats become float32, integers int64 (Keras's floatx)."""
    if isinstance(x, Tensor):
        if x.dtype == np.float64:
            return x.astype(np.float32)
        return x
    if isinstance(x, KerasTensor):
        raise TypeError(f"{x!r} is symbolic: call a layer on it, or keras.Model(inputs, outputs)")
    array = np.asarray(x)
    if array.dtype == object or array.dtype.kind in "US":
        raise TypeError(f"layer input must be numeric, got an array of dtype {array.dtype} and shape {array.shape}")
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return Tensor(array)


def _as_float(x: Tensor) -> Tensor:
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _positive_int(value, what: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{layer}: {what} must be a positive int, got {value!r}")
    return int(value)


def _int_tuple(value, n: int, what: str, layer: str) -> tuple:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        values = tuple(value)
    except TypeError:
        raise TypeError(f"{layer}: {what} must be an int or {n} ints, got {value!r}") from None
    if len(values) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                                   for v in values):
        raise ValueError(f"{layer}: {what} must be {n} positive ints, got {value!r}")
    return tuple(int(v) for v in values)


def _int_pair(value, what: str, layer: str) -> tuple:
    return _int_tuple(value, 2, what, layer)


def _padding_mode(padding, layer: str) -> str:
    mode = str(padding).lower()
    if mode not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    return mode


def _window_output(size, kernel, stride, mode):
    """Output length of a sliding window: 'valid' (H - k) // s + 1, 'same' ceil(H / s)."""
    if size is None:
        return None
    if mode == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1


def _same_padding(size, kernel, stride):
    """(before, after) zeros so that 'same' gives ceil(size / stride) outputs; the odd one goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _shape_tuple(shape, what: str) -> tuple:
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    try:
        return tuple(None if s is None else int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of ints (None for unknown), got {shape!r}") from None


def _check_data_format(data_format, layer: str) -> None:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' (N, H, W, C) is supported, got {data_format!r}")


def _serializable(value):
    """A constructor argument as JSON: activations by name, layers as their config."""
    if isinstance(value, Layer):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [_serializable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _serializable(v) for k, v in value.items()}
    if callable(value):
        name = activations.serialize(value)
        if name in activations._BY_NAME:
            return name
    raise TypeError(f"cannot save the argument {value!r} in a layer config (give a name instead)")


def _flatten(structure) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in _flatten(item)]
    return [structure]


def _map(structure, fn):
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map(item, fn) for item in structure)
    if isinstance(structure, dict):
        return {k: _map(v, fn) for k, v in structure.items()}
    return fn(structure)


# ------------------------------------------------------------------------------ symbolic tensors
class KerasTensor:
    """A placeholder of the functional API: a shape (batch axis None), a dtype, and where it
    comes from (``node``: the call that made it, ``index``: which of that call's outputs)."""

    def __init__(self, shape, dtype="float32", node=None, index=0, has_mask=False, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node, self.index = node, index
        self.has_mask = has_mask
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        origin = f", name={self.name!r}" if self.name else (
            f", made by {self.node.layer.name!r}" if self.node is not None else "")
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}{origin}>"

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is symbolic and holds no values; feed data through keras.Model(inputs, outputs)")


class Node:
    """One call of a layer in a functional graph: ``outputs = layer(*args, **kwargs)``
    where args/kwargs may hold KerasTensors (nested in lists)."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs
        self.inputs = [t for t in _flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        layer._inbound_nodes.append(self)


def _record_init_args(init):
    """Wrap a layer's __init__ so that the outermost call remembers its arguments (get_config)."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        if "_init_args" not in self.__dict__:
            bound = signature.bind(self, *args, **kwargs)
            arguments = dict(bound.arguments)
            arguments.pop("self", None)
            extra = arguments.pop("kwargs", {}) if "kwargs" in signature.parameters else {}
            arguments.update(extra)
            object.__setattr__(self, "_init_args", arguments)
        init(self, *args, **kwargs)
    return wrapped


# ------------------------------------------------------------------------------ base class
class Layer(Module):
    """Base class of Keras layers.

    Layer(name=None, trainable=True, input_shape=None, input_dim=None, batch_input_shape=None,
          batch_size=None, dtype=None)
        input_shape: the shape of one sample (without the batch axis), e.g. (28, 28, 1);
        input_dim: short for input_shape=(input_dim,). On the first layer of a Sequential
        model they fix the model's input and build it at once.

    Subclasses implement ``build(input_shape)`` (create weights with ``add_weight``),
    ``call(x, training=False)`` and ``compute_output_shape(input_shape)``; shapes include the
    batch axis as ``None``. After building, ``input_shape`` and ``output_shape`` hold them.
    A layer taking several inputs gets (and gives shapes as) lists.
    """

    supports_masking = False   # True: the mask of the input passes on unchanged
    _call_takes_mask = False   # True: call(x, training, mask=...) gets the input's mask

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _record_init_args(cls.__dict__["__init__"])

    def __init__(self, name=None, trainable=True, input_shape=None, input_dim=None, batch_input_shape=None,
                 batch_size=None, dtype=None, **kwargs):
        super().__init__()
        cls = type(self).__name__
        if kwargs:
            raise TypeError(f"{cls}: unexpected keyword argument(s) {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"{cls}: only dtype='float32' is supported, got {dtype!r}")
        self.name = name if name is not None else unique_name(snake_case(cls))
        if not isinstance(self.name, str) or not self.name or "." in self.name or "/" in self.name:
            raise ValueError(f"{cls}: name must be a non-empty string without '.' or '/', got {self.name!r}")
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._trainable = bool(trainable)
        self._weight_specs = []  # (attribute name, trainable) in creation order
        self._inbound_nodes = []
        if batch_input_shape is not None:
            self._batch_input_shape = _shape_tuple(batch_input_shape, f"{cls}: batch_input_shape")
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + _shape_tuple(input_shape, f"{cls}: input_shape")
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, int(input_dim))
        else:
            self._batch_input_shape = None

    # -- config (saving)
    def get_config(self) -> dict:
        """The constructor arguments (JSON-ready) that rebuild this layer, with its name."""
        config = {k: _serializable(v) for k, v in getattr(self, "_init_args", {}).items()}
        config["name"] = self.name
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    # -- weights
    def add_weight(self, name: str, shape, initializer="glorot_uniform", trainable=True) -> Parameter:
        """Create a float32 weight of ``shape`` from ``initializer`` and register it as ``self.<name>``."""
        shape = tuple(int(s) for s in shape)
        values = initializers.get(initializer)(shape, dtype="float32")
        if values.shape != shape:
            raise ValueError(f"{self.name}: initializer for {name!r} gave shape {values.shape}, expected {shape}")
        param = Parameter(Tensor(np.ascontiguousarray(values, dtype=np.float32)),
                          requires_grad=bool(trainable) and self._trainable)
        setattr(self, name, param)
        self._weight_specs.append((name, bool(trainable)))
        return param

    @property
    def weights(self) -> list:
        """Every weight, in creation order (Keras's order: kernel, then bias, ...), sublayers' included."""
        own = [getattr(self, n) for n, _ in self._weight_specs]
        for child in self._modules.values():
            if isinstance(child, Layer):
                own += child.weights
        return own

    @property
    def trainable_weights(self) -> list:
        return [w for w in self.weights if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list:
        return [w for w in self.weights if not w.requires_grad]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        for name, weight_trainable in self._weight_specs:
            getattr(self, name).requires_grad_(self._trainable and weight_trainable)
        for child in self._modules.values():
            if isinstance(child, Layer):
                child.trainable = value

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f'layer "{self.name}" is not built yet, so it has no weights to count')
        return int(sum(w.numel() for w in self.weights))

    def get_weights(self) -> list:
        """Copies of the weights as NumPy arrays."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, values) -> None:
        """Overwrite the weights with NumPy arrays of the same shapes (in ``weights`` order)."""
        weights = self.weights
        values = list(values)
        if len(values) != len(weights):
            raise ValueError(f'layer "{self.name}" has {len(weights)} weights, got {len(values)} arrays')
        for w, v in zip(weights, values):
            v = np.asarray(v, dtype=np.float32)
            if v.shape != w.shape:
                raise ValueError(f'layer "{self.name}": weight of shape {w.shape} cannot take an array of shape {v.shape}')
            w.data = v.copy()

    # -- building
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis included, as None)."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        """The mask of the output (a bool (N, T) Tensor or None) given the input's."""
        return mask if self.supports_masking else None

    def build_for(self, input_shape):
        """Build for ``input_shape`` (batch axis included; a list for several inputs) once;
        return the output shape."""
        if isinstance(input_shape, list):
            input_shape = [_shape_tuple(s, f"{self.name}: input shape") for s in input_shape]
        else:
            input_shape = _shape_tuple(input_shape, f"{self.name}: input shape")
        if self.built:
            self._check_input_shape(input_shape)
            return self.compute_output_shape(input_shape)
        self.build(input_shape)
        self.input_shape = input_shape
        self.output_shape = self.compute_output_shape(input_shape)
        self.built = True
        return self.output_shape

    def _incompatible(self, expected, got, detail=""):
        return ValueError(f'Input 0 of layer "{self.name}" ({type(self).__name__}) is incompatible with the layer: '
                          f'expected shape {expected}, found shape {got}{detail}')

    def _check_input_shape(self, shape) -> None:
        """Refuse inputs whose rank or known sizes (batch axis aside) differ from the built ones."""
        expected = self.input_shape
        if expected is None or isinstance(expected, list):
            return
        if len(shape) != len(expected) or any(
                e is not None and s is not None and e != s for e, s in zip(expected[1:], shape[1:])):
            raise self._incompatible(expected, tuple(shape))

    # -- calling
    def _prepare(self, x) -> Tensor:
        """Convert ``x``, build on first use, check the shape."""
        x = _as_tensor(x)
        if not self.built:
            self.build_for((None,) + x.shape[1:])
        else:
            self._check_input_shape(x.shape)
        return x

    def call(self, x: Tensor, training: bool = False) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], Tensor) and not kwargs.get("initial_state"):
            return self.forward(*args, **kwargs)          # the common case, on data: no search
        if any(isinstance(t, KerasTensor) for t in _flatten((args, kwargs))):
            return self._symbolic_call(args, kwargs)
        return self.forward(*args, **kwargs)

    def forward(self, x, training: bool = False, mask=None) -> Tensor:
        """``layer(x, training=False)``: x a Tensor or array (batch first). Dropout is active
        only with training=True (``fit`` passes it), as in Keras."""
        x = self._prepare(x)
        if self._call_takes_mask:
            return self.call(x, training=bool(training), mask=mask)
        return self.call(x, training=bool(training))

    def _symbolic_call(self, args, kwargs):
        """Record ``self(*args, **kwargs)`` on KerasTensors; return the output KerasTensor(s)."""
        if not args:
            raise TypeError(f'layer "{self.name}" was called without an input')
        first = args[0]
        leaves = _flatten(first)
        for t in leaves:
            if not isinstance(t, KerasTensor):
                raise TypeError(f'layer "{self.name}" ({type(self).__name__}) was called on a mix of symbolic '
                                f'tensors and {type(t).__name__}: every input must come from keras.Input(...)')
        shapes = self._symbolic_input_shapes(args, kwargs)
        try:
            out_shape = self.build_for(shapes)
        except (ValueError, TypeError) as exc:
            if self.name in str(exc):
                raise
            raise ValueError(f'layer "{self.name}" ({type(self).__name__}) cannot take input shape(s) {shapes}: '
                             f'{exc}') from exc
        has_mask = any(t.has_mask for t in leaves) and self.supports_masking or self._makes_mask()
        if isinstance(out_shape, list):
            outputs = [KerasTensor(s, self._output_dtype(first)) for s in out_shape]
        else:
            outputs = KerasTensor(out_shape, self._output_dtype(first), has_mask=has_mask)
        node = Node(self, args, kwargs, outputs)
        for i, t in enumerate(outputs if isinstance(outputs, list) else [outputs]):
            t.node, t.index = node, i
        return outputs

    def _symbolic_input_shapes(self, args, kwargs):
        """The shape(s) to build for, from the symbolic call's arguments (the first one)."""
        first = args[0]
        return [t.shape for t in first] if isinstance(first, (list, tuple)) else first.shape

    def _makes_mask(self) -> bool:
        return False

    def _output_dtype(self, first) -> str:
        return "float32"

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


class _ActivationLayer(Layer):
    """A layer whose output is ``activation(pre_activation(x))``; the model may ask for the
    pre-activation values (the logits) to compute a softmax/sigmoid loss stably."""

    activation = None
    supports_masking = True

    def pre_activation(self, x: Tensor, training: bool = False) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def call(self, x, training=False):
        return self.activation(self.pre_activation(x, training))


# ------------------------------------------------------------------------------ input
class InputLayer(Layer):
    """The input of a model: fixes the input shape and dtype, computes nothing.

    InputLayer(input_shape=None, batch_size=None, name=None, shape=None, dtype=None)
    dtype: "float32" (default), "int32"/"int64" (token ids) or "string" (raw text for
    TextVectorization).
    """

    def __init__(self, input_shape=None, batch_size=None, name=None, shape=None, dtype=None, **kwargs):
        if input_shape is None:
            input_shape = shape
        if input_shape is None and kwargs.get("batch_input_shape") is None:
            raise ValueError("InputLayer: give input_shape= (the shape of one sample)")
        if dtype not in (None, "float32", "int32", "int64", "string", "bool"):
            raise ValueError(f"Input: unsupported dtype {dtype!r} (float32, int32, int64, string)")
        super().__init__(name=name or unique_name("input_layer"), input_shape=input_shape, batch_size=batch_size,
                         **kwargs)
        self.input_dtype = dtype or "float32"
        self.built = True
        self.input_shape = self.output_shape = self._batch_input_shape
        self.output = KerasTensor(self._batch_input_shape, self.input_dtype, name=self.name)
        self.output.node = Node(self, (), {}, self.output)

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.input_dtype, "name": self.name}

    def call(self, x, training=False):
        return x


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None):
    """``keras.Input(shape=(784,))``: a symbolic tensor (batch axis None) to build a functional
    model on, or to put first in a Sequential model. dtype: "float32", "int32", "int64", "string"."""
    if batch_shape is not None:
        layer = InputLayer(name=name, batch_input_shape=batch_shape, dtype=dtype)
    else:
        if shape is None:
            raise ValueError("Input: give shape= (the shape of one sample, without the batch axis)")
        layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype)
    return layer.output
