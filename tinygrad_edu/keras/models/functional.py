"""Functional models: ``keras.Model(inputs, outputs)`` over a graph of layer calls.

    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)

Calling a layer on a KerasTensor records a Node (layers/base.py). The model walks back from
its outputs to its inputs once, checking the graph (every path must end at one of the given
``keras.Input`` tensors; no cycles), and keeps the nodes in an order where every node comes
after those it reads. Running the model runs the nodes in that order on real Tensors. A layer
used by several nodes (a shared layer) has one set of weights.
"""
from __future__ import annotations

from ..layers.base import InputLayer, KerasTensor, Layer, _ActivationLayer, _map
from .training import Model

__all__ = ["Functional"]


def _as_list(value, what: str) -> tuple:
    """(list of KerasTensors, names or None, was_single)."""
    if isinstance(value, dict):
        return list(value.values()), list(value), False
    if isinstance(value, (list, tuple)):
        return list(value), None, False
    return [value], None, True


def _check_symbolic(tensors, what: str) -> None:
    for i, t in enumerate(tensors):
        if not isinstance(t, KerasTensor):
            raise TypeError(f"keras.Model: {what}[{i}] must be a symbolic tensor from keras.Input(...) or a layer "
                            f"call on one, got {type(t).__name__}"
                            + (f" of shape {t.shape}" if hasattr(t, "shape") else ""))


def _topological_nodes(inputs, outputs) -> list:
    """The nodes between ``inputs`` and ``outputs``, each after the nodes it reads.

    Raises ValueError for a path that does not start at one of ``inputs`` (naming the layer
    that needs it) and for a cycle (naming the layers on it)."""
    given = {id(t) for t in inputs}
    order, state = [], {}          # state: id(node) -> "open" | "done"
    for out in outputs:
        stack = [(out.node, iter(out.node.inputs))]
        if id(out.node) in state:
            continue
        state[id(out.node)] = "open"
        while stack:
            node, pending = stack[-1]
            advanced = False
            for t in pending:
                if id(t) in given:
                    continue
                if t.node is None or isinstance(t.node.layer, InputLayer):
                    raise ValueError(
                        f'Graph disconnected: layer "{node.layer.name}" ({type(node.layer).__name__}) reads '
                        f'{t!r}, which is not among the model inputs {[getattr(i, "name", None) for i in inputs]}')
                s = state.get(id(t.node))
                if s == "open":
                    path = [n.layer.name for n, _ in stack]
                    raise ValueError(f'keras.Model: the graph has a cycle through layers {path} (layer '
                                     f'"{node.layer.name}" reads its own output, shape {t.shape})')
                if s is None:
                    state[id(t.node)] = "open"
                    stack.append((t.node, iter(t.node.inputs)))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                state[id(node)] = "done"
                if not isinstance(node.layer, InputLayer):
                    order.append(node)
    return order


class Functional(Model):
    """A model defined by its ``inputs`` and ``outputs`` (KerasTensors); see the module docstring.

    Functional(inputs, outputs, name=None): inputs a KerasTensor from ``keras.Input`` or a
    list / dict of them; outputs a KerasTensor or a list / dict. Call and predict take one
    array per input (a list, in order, or a dict by input name) and give one per output.
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        if inputs is None or outputs is None:
            raise TypeError("keras.Model(inputs, outputs): give both")
        ins, in_names, _ = _as_list(inputs, "inputs")
        outs, out_names, self._single_output = _as_list(outputs, "outputs")
        _check_symbolic(ins, "inputs")
        _check_symbolic(outs, "outputs")
        for i, t in enumerate(ins):
            if t.node is None or not isinstance(t.node.layer, InputLayer):
                made_by = t.node.layer if t.node is not None else None
                raise ValueError(f"keras.Model: inputs[{i}] ({t!r}) is the output of layer \"{made_by.name}\" "
                                 f"({type(made_by).__name__}), not a keras.Input(...) tensor")
        if len({id(t) for t in ins}) != len(ins):
            raise ValueError("keras.Model: the same Input appears twice in inputs")
        self.inputs, self.outputs = ins, outs
        self._nodes = _topological_nodes(ins, outs)
        self._input_layers = [t.node.layer for t in ins]
        self._in_names = in_names or [layer.name for layer in self._input_layers]
        self._out_names = out_names or [t.node.layer.name for t in outs]
        seen = {}
        for layer in self._input_layers + [n.layer for n in self._nodes]:
            other = seen.get(layer.name)
            if other is not None and other is not layer:
                raise ValueError(f'keras.Model: two different layers are both named "{layer.name}"; names must be '
                                 f'unique in a model')
            if other is None:
                seen[layer.name] = layer
                self.add_module(layer.name, layer)
        self.built = True

    # ------------------------------------------------------------------ structure
    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def input_names(self) -> list:
        return list(self._in_names)

    @property
    def output_names(self) -> list:
        return list(self._out_names)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs] if "inputs" in self.__dict__ else None
        return shapes[0] if shapes and len(shapes) == 1 else shapes

    @input_shape.setter
    def input_shape(self, value):
        pass

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs] if "outputs" in self.__dict__ else None
        return shapes[0] if shapes and len(shapes) == 1 else shapes

    @output_shape.setter
    def output_shape(self, value):
        pass

    def build(self, input_shape=None):
        return None

    def compute_output_shape(self, input_shape):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _check_input_shape(self, shape):
        shapes = shape if isinstance(shape, list) else [shape]
        self._check_inputs(shapes)

    def _check_inputs(self, shapes) -> None:
        if len(shapes) != len(self.inputs):
            raise ValueError(f'model "{self.name}" has {len(self.inputs)} inputs, got {len(shapes)}')
        for t, shape in zip(self.inputs, shapes):
            expected = t.shape
            if len(shape) != len(expected) or any(e is not None and s is not None and e != s
                                                  for e, s in zip(expected[1:], tuple(shape)[1:])):
                raise ValueError(f'Input "{t.name}" of model "{self.name}" is incompatible: expected shape '
                                 f'{expected}, found shape {tuple(shape)}')

    def _ensure_built(self, xs) -> None:
        self._check_inputs([a.shape for a in xs])

    # ------------------------------------------------------------------ running
    def _forward_for_loss(self, xs, training):
        self._check_inputs([tuple(a.shape) for a in xs])
        values, masks = {}, {}
        for t, x in zip(self.inputs, xs):
            values[id(t)] = x
        want_logits = {id(t) for t in self.outputs if isinstance(t.node.layer, _ActivationLayer)}
        logits = {}
        for node in self._nodes:
            layer = node.layer
            args = _map(node.args, lambda v: values[id(v)] if isinstance(v, KerasTensor) else v)
            kwargs = _map(node.kwargs, lambda v: values[id(v)] if isinstance(v, KerasTensor) else v)
            first = node.args[0]
            mask = masks.get(id(first)) if isinstance(first, KerasTensor) else None
            out_t = node.outputs
            if isinstance(out_t, KerasTensor) and id(out_t) in want_logits and len(node.args) == 1:
                x = layer._prepare(args[0])
                pre = layer.pre_activation(x, training)
                out = layer.activation(pre)
                logits[id(out_t)] = (pre, layer.activation)
            else:
                kwargs.setdefault("training", training)
                out = layer(*args, mask=mask, **kwargs)
            if isinstance(out_t, list):
                if not isinstance(out, (list, tuple)) or len(out) != len(out_t):
                    raise ValueError(f'layer "{layer.name}" gave {type(out).__name__} where its symbolic call gave '
                                     f'{len(out_t)} outputs')
                for t, v in zip(out_t, out):
                    values[id(t)] = v
            else:
                values[id(out_t)] = out
                if out_t.has_mask:
                    masks[id(out_t)] = layer.compute_mask(args[0], mask)
        results = []
        for t in self.outputs:
            pre, act = logits.get(id(t), (None, None))
            results.append((values[id(t)], pre, act))
        return results

    def forward(self, x, training=False, mask=None):
        if isinstance(x, dict):
            x = [x[name] for name in self.input_names]
        return super().forward(x, training=training, mask=mask)

    # ------------------------------------------------------------------ config
    def get_config(self):
        """{"name", "layers": [serialized], "nodes": [{"layer", "args", "kwargs"}], "inputs", "outputs"}:
        tensors are written as {"ref": [layer name, node number in this model, output index]}."""
        from ..layers import serialize

        node_ids = {}
        counts = {}
        for node in [t.node for t in self.inputs] + self._nodes:
            k = counts.get(node.layer.name, 0)
            node_ids[id(node)] = (node.layer.name, k)
            counts[node.layer.name] = k + 1

        def ref(value):
            if isinstance(value, KerasTensor):
                name, k = node_ids[id(value.node)]
                return {"ref": [name, k, value.index]}
            if isinstance(value, Layer):
                raise TypeError("a layer cannot be a call argument in a saved functional model")
            return value

        layers = []
        for layer in self._modules.values():
            layers.append(serialize(layer))
        return {"name": self.name, "layers": layers,
                "nodes": [{"layer": n.layer.name, "args": _map(list(n.args), ref), "kwargs": _map(n.kwargs, ref)}
                          for n in self._nodes],
                "inputs": [ref(t)["ref"] for t in self.inputs], "input_names": self.input_names,
                "outputs": [ref(t)["ref"] for t in self.outputs], "output_names": self.output_names,
                "single_output": self._single_output}

    @classmethod
    def from_config(cls, config):
        from ..layers import deserialize

        layers = {}
        produced = {}                                 # (layer name, node number) -> outputs
        for item in config["layers"]:
            layer = deserialize(item)
            layers[layer.name] = layer
            if isinstance(layer, InputLayer):
                produced[(layer.name, 0)] = [layer.output]
        counts = {}

        def resolve(value):
            if isinstance(value, dict) and set(value) == {"ref"}:
                name, k, index = value["ref"]
                return produced[(name, k)][index]
            if isinstance(value, dict):
                return {key: resolve(v) for key, v in value.items()}
            if isinstance(value, list):
                return [resolve(v) for v in value]
            return value

        for node in config["nodes"]:
            layer = layers[node["layer"]]
            args = resolve(node["args"])
            kwargs = resolve(node["kwargs"])
            out = layer(*args, **kwargs)
            k = counts.get(layer.name, 0)
            counts[layer.name] = k + 1
            produced[(layer.name, k)] = out if isinstance(out, list) else [out]
        inputs = [produced[(n, k)][i] for n, k, i in config["inputs"]]
        outputs = [produced[(n, k)][i] for n, k, i in config["outputs"]]
        if config.get("single_output") and len(outputs) == 1:
            outputs = outputs[0]
        return cls(inputs=inputs if len(inputs) > 1 else inputs[0], outputs=outputs, name=config.get("name"))
