"""``keras.Sequential``: a stack of layers, each feeding the next."""
from __future__ import annotations

from ...tensor import Tensor
from .. import activations
from ..layers.base import InputLayer, KerasTensor, Layer, _ActivationLayer, _as_tensor
from ..layers.conv import Conv2D, MaxPooling2D
from .training import Model

__all__ = ["Sequential"]


class Sequential(Model):
    """A stack of layers, each feeding the next.

    Sequential(layers=None, name=None): layers is a list (or add them with ``add``). The
    model is built (its weights made) as soon as its input shape is known: from the first
    layer's ``input_shape`` / ``input_dim`` / ``input_length``, from a leading
    ``keras.Input(shape=...)``, from ``build(input_shape)``, or else from the first batch
    given to fit / evaluate / predict. Masks (``Embedding(mask_zero=True)``) flow from layer
    to layer.
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._layers = []
        self._input_shape = None
        self._input_dtype = "float32"
        for layer in layers or []:
            self.add(layer)

    def get_config(self):
        from ..layers import serialize

        return {"name": self.name, "layers": [serialize(layer) for layer in self._layers],
                "batch_input_shape": None if self._input_shape is None else list(self._input_shape),
                "input_dtype": self._input_dtype}

    @classmethod
    def from_config(cls, config):
        from ..layers import deserialize

        model = cls(name=config.get("name"))
        if config.get("batch_input_shape") is not None:
            from ..layers.base import Input

            model.add(Input(batch_shape=tuple(config["batch_input_shape"]), dtype=config.get("input_dtype")))
        for layer_config in config["layers"]:
            model.add(deserialize(layer_config))
        return model

    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def input_shape(self):
        return self._input_shape

    @input_shape.setter
    def input_shape(self, value):
        self.__dict__["_input_shape"] = value

    @property
    def output_shape(self):
        if not self.built:
            raise AttributeError(f'model "{self.name}" is not built yet, so it has no output shape')
        return self._layers[-1].output_shape

    @output_shape.setter
    def output_shape(self, value):
        pass

    def add(self, layer) -> None:
        """Append a layer; builds it at once when the model's input shape is known."""
        if isinstance(layer, KerasTensor):
            if layer.node is None or not isinstance(layer.node.layer, InputLayer):
                raise TypeError("Sequential.add: only a keras.Input(...) tensor can be added, not the output of "
                                f"a layer ({layer!r})")
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._layers or (self._input_shape is not None and self.built):
                raise ValueError("Sequential: an Input / InputLayer can only be the first layer")
            self._input_shape = layer._batch_input_shape
            self._input_dtype = layer.input_dtype
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras layer, got {type(layer).__name__}")
        if any(layer.name == other.name for other in self._layers):
            raise ValueError(f'Sequential: all layers need unique names; "{layer.name}" is already in the model')
        if not self._layers and self._input_shape is None and layer._batch_input_shape is not None:
            self._input_shape = layer._batch_input_shape
        elif self._layers and layer._batch_input_shape is not None and self._input_shape is None:
            raise ValueError(f'Sequential: layer "{layer.name}" has an input_shape but is not the first layer')
        self._layers.append(layer)
        self.add_module(layer.name, layer)
        if self._input_shape is not None:
            try:
                self.build(self._input_shape)
            except Exception:
                self._layers.pop()
                self._modules.pop(layer.name, None)
                raise

    def pop(self) -> None:
        """Remove the last layer."""
        if not self._layers:
            raise TypeError("Sequential.pop: there are no layers in the model")
        layer = self._layers.pop()
        self._modules.pop(layer.name, None)
        self.built = bool(self._layers) and all(l.built for l in self._layers)

    def build(self, input_shape=None) -> None:
        """Build every layer for inputs of ``input_shape`` (with or without the batch axis None)."""
        if input_shape is None:
            input_shape = self._input_shape
        if input_shape is None:
            raise ValueError(f'model "{self.name}": build() needs an input shape')
        shape = tuple(input_shape)
        if self._input_shape is not None and len(shape) == len(self._input_shape) - 1:
            shape = (None,) + shape
        if not self._layers:
            raise ValueError(f'model "{self.name}" has no layers to build')
        self._input_shape = shape
        for layer in self._layers:
            try:
                shape = layer.build_for(shape)
            except (ValueError, TypeError) as exc:
                if layer.name in str(exc):
                    raise
                raise ValueError(f'layer "{layer.name}" ({type(layer).__name__}) cannot take input shape {shape}: '
                                 f'{exc}') from exc
        self.built = True

    def compute_output_shape(self, input_shape):
        if not self.built:
            self.build(input_shape)
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def _ensure_built(self, xs) -> None:
        if not self.built:
            self.build((None,) + xs[0].shape[1:])
        else:
            self._check_model_input(xs[0].shape)

    def _check_model_input(self, shape) -> None:
        expected = self._input_shape
        if len(shape) != len(expected):
            raise ValueError(f'model "{self.name}" expects inputs of shape {expected}, got an input of shape '
                             f'{tuple(shape)}')

    def _forward_for_loss(self, xs, training):
        """Run the layers; for a last layer ending in an activation, also hand back its
        pre-activation values and the activation (the loss may use the logits)."""
        if not self._layers:
            raise ValueError(f'model "{self.name}" has no layers')
        x = xs[0]
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))
        self._check_model_input(x.shape)
        mask, layers, i = None, self._layers[:-1], 0
        while i < len(layers):
            layer = layers[i]
            if mask is None and i + 1 < len(layers) and _relu_conv_then_max_pool(layer, layers[i + 1]):
                # Conv2D(activation="relu") then MaxPooling2D: pool first, then the relu (exact)
                x, i = layers[i + 1].after_relu_conv(layer, layer._prepare(x)), i + 2
                continue
            x, mask = layer(x, training=training, mask=mask), layer.compute_mask(x, mask)
            i += 1
        last = self._layers[-1]
        if isinstance(last, _ActivationLayer):
            x = last._prepare(x)
            logits = last.pre_activation(x, training)
            return [(last.activation(logits), logits, last.activation)]
        return [(last(x, training=training, mask=mask), None, None)]

    def call(self, x, training=False, mask=None):
        return self._forward_for_loss([x if isinstance(x, Tensor) else _as_tensor(x)], training)[0][0]


def _relu_conv_then_max_pool(layer, following) -> bool:
    """The library's own Conv2D with the relu activation, followed by its MaxPooling2D (a
    subclass may change call, so exact classes only)."""
    return (type(layer) is Conv2D and type(following) is MaxPooling2D
            and layer.activation is activations.relu)
