"""Keras models: ``Sequential`` with compile / fit / evaluate / predict / summary.

    from tinygrad_edu.keras.models import Sequential
    from tinygrad_edu.keras.layers import Dense

    model = Sequential()
    model.add(Dense(64, activation="relu", input_shape=(100,)))
    model.add(Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=32)     # x (1000, 100), y (1000,) ints
    loss, acc = model.evaluate(x_test, y_test)
    probs = model.predict(x_test)                           # NumPy (N, 10)

Inputs are NumPy arrays (or lists, or Tensors) with the batch axis first; floats are used as
float32, integers stay integers (token ids for an Embedding). Outputs of ``predict`` are
NumPy arrays. The training loss is the mean over each batch of the per-sample losses (see
``keras.losses`` for how softmax / sigmoid outputs are handled); the loss and metrics shown
and recorded for an epoch are averages over all its samples.
"""
from __future__ import annotations

import math

import numpy as np

from .. import rng
from ..autograd import no_grad
from ..nn.module import Module
from ..tensor import Tensor
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .backend import snake_case, unique_name
from .callbacks import CallbackList, History
from .layers import InputLayer, Layer, _ActivationLayer, _as_tensor
from .progbar import Progbar

__all__ = ["Model", "Sequential"]

_IGNORED_COMPILE_OPTIONS = ("run_eagerly", "jit_compile", "steps_per_execution")


def _to_array(data, what: str) -> np.ndarray:
    """x or y as a NumPy array (floats as float32, integers kept); refuses ragged data."""
    if isinstance(data, Tensor):
        array = data.numpy()
    else:
        try:
            array = np.asarray(data)
        except ValueError as exc:
            raise ValueError(f"{what}: could not make an array ({exc}); pad sequences to one length first") from None
    if array.dtype == object:
        raise ValueError(f"{what}: got ragged or non-numeric data (an object array of shape {array.shape}); "
                         f"pad sequences to one length first (keras.preprocessing.sequence.pad_sequences)")
    if array.ndim == 0:
        raise ValueError(f"{what}: expected an array with a batch axis, got a scalar")
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    elif array.dtype.kind == "b":
        array = array.astype(np.float32)
    return array


def _check_pair(x: np.ndarray, y: np.ndarray, where: str) -> None:
    if len(x) != len(y):
        raise ValueError(f"{where}: x and y hold different numbers of samples: x has shape {x.shape}, "
                         f"y has shape {y.shape}")
    if len(x) == 0:
        raise ValueError(f"{where}: x is empty (shape {x.shape})")


def _batch_size(batch_size, where: str) -> int:
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


class _Accumulator:
    """Sample-weighted running means of the loss and the metrics over one pass."""

    def __init__(self, names):
        self.names = list(names)
        self.sums = dict.fromkeys(self.names, 0.0)
        self.count = 0

    def add(self, batch_loss: float, n: int, metric_values: dict) -> None:
        self.sums["loss"] += batch_loss * n
        for name, values in metric_values.items():
            values = np.asarray(values, dtype=np.float64)
            # one value per sample, or (from a user's function) one mean for the batch
            self.sums[name] += float(values.sum()) if values.ndim else float(values) * n
        self.count += n

    def means(self, prefix="") -> dict:
        return {prefix + k: v / max(self.count, 1) for k, v in self.sums.items()}


class Model(Module):
    """The training machinery shared by Keras models; ``Sequential`` is the one to use.

    Subclasses provide ``call(x, training=False)`` and ``build(input_shape)``; Model adds
    compile / fit / evaluate / predict, weights access, saving.
    """

    def __init__(self, name=None):
        super().__init__()
        self.name = name if name is not None else unique_name(snake_case(type(self).__name__))
        self.built = False
        self.optimizer = None
        self.loss = None
        self.compiled_metrics = []       # as given to compile
        self._metrics = None             # resolved [(name, fn)], at the first fit/evaluate
        self._bound_params = None        # the parameters the optimizer was bound to
        self.history = None
        self.stop_training = False

    # ------------------------------------------------------------------ to be provided
    def call(self, x, training=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, input_shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def _forward_for_loss(self, x, training):
        """(output, logits or None, activation or None): see Sequential."""
        return self.call(x, training=training), None, None

    def forward(self, x, training=False):
        """``model(x)``: x an array or Tensor -> output Tensor (no dropout unless training=True)."""
        x = _as_tensor(x)
        if not self.built:
            self.build((None,) + x.shape[1:])
        return self.call(x, training=bool(training))

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Choose the optimizer, loss and metrics.

        optimizer: "adam", "sgd", "rmsprop", "adagrad" or a keras.optimizers object;
        loss: a name ("sparse_categorical_crossentropy", "categorical_crossentropy",
        "binary_crossentropy", "mse"...), a keras.losses.Loss or a function;
        metrics: a list of names ("accuracy", ...) or functions.
        """
        unknown = sorted(set(kwargs) - set(_IGNORED_COMPILE_OPTIONS))
        if unknown:
            raise TypeError(f"compile: unexpected keyword argument(s) {unknown}")
        if loss is None:
            raise ValueError("compile: a loss is needed, e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str,)) or callable(metrics):
            metrics = [metrics]
        self.compiled_metrics = list(metrics)
        for m in self.compiled_metrics:  # fail now on unknown names, not at fit time
            if isinstance(m, str):
                metrics_module.resolve(m, self.loss, (1,), (1, 2))
        self._metrics = None
        self._bound_params = None

    @property
    def metrics_names(self) -> list:
        names = ["loss"]
        if self._metrics is not None:
            names += [n for n, _ in self._metrics]
        else:
            names += [m if isinstance(m, str) else getattr(m, "__name__", "metric") for m in self.compiled_metrics]
        return names

    def _require_compiled(self, where: str) -> None:
        if self.loss is None:
            raise RuntimeError(f"You must compile your model before {where}. Use "
                               f"`model.compile(optimizer, loss)`.")

    def _resolve_metrics(self, y: np.ndarray, output_shape: tuple) -> None:
        if self._metrics is None:
            self._metrics = [metrics_module.resolve(m, self.loss, y.shape, output_shape)
                             for m in self.compiled_metrics]

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self.built:
            self.build((None,) + x.shape[1:])

    def _bind_optimizer(self) -> None:
        params = list(self.parameters())
        if not params:
            raise ValueError(f'model "{self.name}" has no weights to train')
        if self._bound_params is None or len(self._bound_params) != len(params) or any(
                a is not b for a, b in zip(self._bound_params, params)):
            self.optimizer.bind(params)
            self._bound_params = params

    # ------------------------------------------------------------------ one batch
    def _train_batch(self, xb: np.ndarray, yb: np.ndarray):
        """One optimisation step. Returns (loss as float, output as NumPy)."""
        output, logits, activation = self._forward_for_loss(_as_tensor(xb), training=True)
        loss = self.loss.model_loss(yb, output, logits, activation)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.item()), output.numpy()

    def _test_batch(self, xb: np.ndarray, yb: np.ndarray):
        with no_grad():
            output, logits, activation = self._forward_for_loss(_as_tensor(xb), training=False)
            loss = self.loss.model_loss(yb, output, logits, activation)
        return float(loss.item()), output.numpy()

    def _metric_values(self, yb: np.ndarray, out: np.ndarray) -> dict:
        return {name: fn(yb, out) for name, fn in self._metrics}

    def _new_accumulator(self) -> _Accumulator:
        return _Accumulator(["loss"] + [n for n, _ in self._metrics])

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, validation_batch_size=None):
        """Train for ``epochs`` passes over (x, y) in mini-batches; returns a History.

        x: (N, ...) array; y: (N, ...) targets for the loss. batch_size: default 32.
        shuffle: a new random order every epoch (from tinygrad_edu's generator, so
        ``tinygrad_edu.manual_seed`` makes it reproducible). validation_data: (x_val, y_val),
        evaluated after every epoch; else validation_split: the fraction of (x, y) taken from
        the END (before shuffling) for validation, as Keras. verbose: 0 silent, 1 progress bar,
        2 one line per epoch. callbacks: a list of keras.callbacks.Callback.

        History.history holds "loss", every metric ("accuracy", ...), and "val_loss",
        "val_accuracy", ... when there is validation data: one float per epoch.
        """
        self._require_compiled("training")
        verbose = _verbosity(verbose)
        batch_size = _batch_size(batch_size, "fit")
        if x is None or y is None:
            raise ValueError("fit: give both x and y")
        x, y = _to_array(x, "fit: x"), _to_array(y, "fit: y")
        _check_pair(x, y, "fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")

        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a pair (x_val, y_val)")
            val = (_to_array(validation_data[0], "fit: validation x"), _to_array(validation_data[1], "fit: validation y"))
            _check_pair(*val, "fit: validation_data")
        elif validation_split:
            if not 0.0 < float(validation_split) < 1.0:
                raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
            split_at = int(len(x) * (1.0 - float(validation_split)))
            if split_at < 1 or split_at >= len(x):
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or no validation "
                                 f"samples out of {len(x)}")
            x, val = x[:split_at], (x[split_at:], y[split_at:])
            y = y[:split_at]
        val_batch = _batch_size(validation_batch_size, "fit") if validation_batch_size is not None else batch_size

        self._ensure_built(x)
        self._bind_optimizer()
        n = len(x)
        steps = math.ceil(n / batch_size)
        history = History()
        cbs = CallbackList([history] + list(callbacks or []), self,
                           {"epochs": int(epochs), "steps": steps, "verbose": verbose})
        self.history = history
        self.stop_training = False
        self.train()
        cbs.on_train_begin({})
        for epoch in range(int(initial_epoch), int(epochs)):
            cbs.on_epoch_begin(epoch, {})
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            bar = Progbar(steps, verbose=verbose)
            order = rng.generator().permutation(n) if shuffle else np.arange(n)
            acc = None
            for step in range(steps):
                cbs.on_train_batch_begin(step, {})
                idx = order[step * batch_size:(step + 1) * batch_size]
                xb, yb = x[idx], y[idx]
                loss, out = self._train_batch(xb, yb)
                if acc is None:
                    self._resolve_metrics(y, (None,) + out.shape[1:])
                    acc = self._new_accumulator()
                acc.add(loss, len(idx), self._metric_values(yb, out))
                logs = acc.means()
                cbs.on_train_batch_end(step, dict(logs))
                if step + 1 < steps:
                    bar.update(step + 1, list(logs.items()))
            logs = acc.means() if acc is not None else {}
            if val is not None:
                logs.update(self._evaluate_arrays(val[0], val[1], val_batch, verbose=0, prefix="val_"))
                self.train()
            bar.update(steps, list(logs.items()))
            cbs.on_epoch_end(epoch, dict(logs))
            if self.stop_training:
                break
        self.eval()
        cbs.on_train_end({})
        return history

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate_arrays(self, x, y, batch_size, verbose, prefix=""):
        self._ensure_built(x)
        self.eval()
        steps = math.ceil(len(x) / batch_size)
        bar = Progbar(steps, verbose=verbose)
        acc = None
        for step in range(steps):
            sl = slice(step * batch_size, (step + 1) * batch_size)
            loss, out = self._test_batch(x[sl], y[sl])
            if acc is None:
                self._resolve_metrics(y, (None,) + out.shape[1:])
                acc = self._new_accumulator()
            acc.add(loss, len(x[sl]), self._metric_values(y[sl], out))
            bar.update(step + 1, list(acc.means().items()))
        return acc.means(prefix)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, return_dict=False):
        """Loss and metrics over (x, y), without training (dropout off).

        Returns ``[loss, metric1, ...]``, or the loss alone (a float) when compiled without
        metrics, or a dict with return_dict=True.
        """
        self._require_compiled("evaluating")
        if x is None or y is None:
            raise ValueError("evaluate: give both x and y")
        x, y = _to_array(x, "evaluate: x"), _to_array(y, "evaluate: y")
        _check_pair(x, y, "evaluate")
        logs = self._evaluate_arrays(x, y, _batch_size(batch_size, "evaluate"), _verbosity(verbose))
        if return_dict:
            return logs
        values = [logs[name] for name in ["loss"] + [n for n, _ in self._metrics]]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0):
        """The model's outputs for x, batch by batch, as one NumPy array (N, ...).

        (verbose defaults to 0 here, as in Keras 2.0-2.8; 1 shows a progress bar.)
        """
        x = _to_array(x, "predict: x")
        batch_size = _batch_size(batch_size, "predict")
        self._ensure_built(x)
        self.eval()
        steps = math.ceil(len(x) / batch_size)
        bar = Progbar(steps, verbose=_verbosity(verbose))
        outs = []
        with no_grad():
            for step in range(steps):
                outs.append(self.call(_as_tensor(x[step * batch_size:(step + 1) * batch_size]), training=False).numpy())
                bar.update(step + 1)
        if not outs:
            raise ValueError(f"predict: x is empty (shape {x.shape})")
        return np.concatenate(outs, axis=0)

    def train_on_batch(self, x, y):
        """One update on one batch; returns [loss, metrics...] of that batch (or the loss)."""
        self._require_compiled("training")
        x, y = _to_array(x, "train_on_batch: x"), _to_array(y, "train_on_batch: y")
        _check_pair(x, y, "train_on_batch")
        self._ensure_built(x)
        self._bind_optimizer()
        self.train()
        loss, out = self._train_batch(x, y)
        self.eval()
        self._resolve_metrics(y, (None,) + out.shape[1:])
        values = [loss] + [float(np.mean(fn(y, out))) for _, fn in self._metrics]
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y):
        self._require_compiled("evaluating")
        x, y = _to_array(x, "test_on_batch: x"), _to_array(y, "test_on_batch: y")
        _check_pair(x, y, "test_on_batch")
        self._ensure_built(x)
        loss, out = self._test_batch(x, y)
        self._resolve_metrics(y, (None,) + out.shape[1:])
        values = [loss] + [float(np.mean(fn(y, out))) for _, fn in self._metrics]
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(len(_to_array(x, "predict_on_batch: x")), 1))

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list:
        return list(self.parameters())

    @property
    def trainable_weights(self) -> list:
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self) -> list:
        return [p for p in self.parameters() if not p.requires_grad]

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f'model "{self.name}" is not built yet; call build() or fit it first')
        return int(sum(p.numel() for p in self.parameters()))

    def get_weights(self) -> list:
        return [p.numpy().copy() for p in self.parameters()]

    def set_weights(self, values) -> None:
        params = list(self.parameters())
        values = list(values)
        if len(values) != len(params):
            raise ValueError(f'model "{self.name}" has {len(params)} weights, got {len(values)} arrays')
        for p, v in zip(params, values):
            v = np.asarray(v, dtype=np.float32)
            if v.shape != p.shape:
                raise ValueError(f"set_weights: a weight of shape {p.shape} cannot take an array of shape {v.shape}")
            p.data = v.copy()

    def _weights_by_position(self) -> dict:
        """{"layer<i>.<weight>": Parameter}: weights named by layer position, not layer name,
        so that a freshly built twin of the model (whose layers got other automatic names)
        reads them back, as Keras matches weights by the order of the layers."""
        found = {}
        for i, layer in enumerate(self._modules.values()):
            for name, param in layer.named_parameters():
                found[f"layer{i}.{name}"] = param
        return found

    def save_weights(self, path) -> None:
        """Write the weights to a safetensors file (keys "layer0.kernel", "layer0.bias", ...)."""
        from ..utils.serialization import save

        save({k: p.numpy() for k, p in self._weights_by_position().items()}, path)

    def load_weights(self, path) -> None:
        """Read weights written by ``save_weights`` into this model, layer by layer in order;
        the model must have the same layers and shapes (ValueError naming what differs)."""
        from ..utils.serialization import load

        if not self.built:
            raise ValueError(f'model "{self.name}" must be built (same layers and input shape) before load_weights')
        saved = load(path)
        own = self._weights_by_position()
        if set(saved) != set(own):
            raise ValueError(f"load_weights: {path} holds weights {sorted(saved)}, this model has {sorted(own)}")
        for key, param in own.items():
            value = np.asarray(saved[key], dtype=np.float32)
            if value.shape != param.shape:
                raise ValueError(f"load_weights: {key} has shape {value.shape} in {path}, {param.shape} in the model")
        for key, param in own.items():
            param.data = np.array(saved[key], dtype=np.float32)


class Sequential(Model):
    """A stack of layers, each feeding the next.

    Sequential(layers=None, name=None): layers is a list (or add them with ``add``). The
    model is built (its weights made) as soon as its input shape is known: from the first
    layer's ``input_shape`` / ``input_dim`` / ``input_length``, from a leading
    ``keras.Input(shape=...)``, from ``build(input_shape)``, or else from the first batch
    given to fit / evaluate / predict.
    """

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._layers = []
        self._input_shape = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list:
        return list(self._layers)

    @property
    def input_shape(self):
        return self._input_shape

    @property
    def output_shape(self):
        if not self.built:
            raise AttributeError(f'model "{self.name}" is not built yet, so it has no output shape')
        return self._layers[-1].output_shape

    def add(self, layer) -> None:
        """Append a layer; builds it at once when the model's input shape is known."""
        if isinstance(layer, InputLayer):
            if self._layers or self._input_shape is not None:
                raise ValueError("Sequential: an Input / InputLayer can only be the first layer")
            self._input_shape = layer._batch_input_shape
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
            shape = layer.build_for(shape)
        self.built = True

    def call(self, x, training=False):
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    def forward(self, x, training=False):
        x = _as_tensor(x)
        if not self.built:
            self.build((None,) + x.shape[1:])
        else:
            self._check_model_input(x.shape)
        return self.call(x, training=bool(training))

    def _check_model_input(self, shape) -> None:
        expected = self._input_shape
        if len(shape) != len(expected):
            raise ValueError(f'model "{self.name}" expects inputs of shape {expected}, got an input of shape '
                             f'{tuple(shape)}')

    def _forward_for_loss(self, x, training):
        """Run the layers; for a last layer ending in an activation, also hand back its
        pre-activation values and the activation (the loss may use the logits)."""
        if not self._layers:
            raise ValueError(f'model "{self.name}" has no layers')
        self._check_model_input(x.shape)
        for layer in self._layers[:-1]:
            x = layer(x, training=training)
        last = self._layers[-1]
        if isinstance(last, _ActivationLayer):
            x = last._prepare(x)
            logits = last.pre_activation(x, training)
            return last.activation(logits), logits, last.activation
        return last(x, training=training), None, None

    def _ensure_built(self, x: np.ndarray) -> None:
        if not self.built:
            self.build((None,) + x.shape[1:])
        else:
            self._check_model_input(x.shape)

    # ------------------------------------------------------------------ summary
    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print Keras's table: Layer (type) | Output Shape | Param #, then the totals.

        print_fn: called with each line (default ``print``). The columns are Keras's widths
        (29, 26, 10 characters; ``line_length`` / ``positions`` change them), widened when an
        entry would not fit, never cut.
        """
        if not self.built:
            raise ValueError("This model has not yet been built. Build the model first by calling `build()` or "
                             "by calling the model on a batch of data, or give the first layer an `input_shape`.")
        emit = print_fn if print_fn is not None else print
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        if positions[-1] <= 1:
            positions = [int(line_length * p) for p in positions]
        rows = [(f"{layer.name} ({type(layer).__name__})", str(layer.output_shape), str(layer.count_params()))
                for layer in self._layers]
        header = ("Layer (type)", "Output Shape", "Param #")
        widths = []
        start = 0
        for col, end in enumerate(positions):
            need = max(len(r[col]) for r in rows + [header]) + 1
            widths.append(max(end - start, need))
            start = end
        total_width = sum(widths)

        def line(cells):
            return "".join(c.ljust(w) for c, w in zip(cells, widths))

        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.parameters())
        emit(f'Model: "{self.name}"')
        emit("_" * total_width)
        emit(line(header))
        emit("=" * total_width)
        for i, row in enumerate(rows):
            emit(line(row))
            emit(("=" if i == len(rows) - 1 else "_") * total_width)
        emit(f"Total params: {total:,}")
        emit(f"Trainable params: {trainable:,}")
        emit(f"Non-trainable params: {total - trainable:,}")
        emit("_" * total_width)
