"""``keras.Model``: compile / fit / evaluate / predict, shared by Sequential, functional and
subclassed models.

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=32, validation_split=0.1)
    loss, acc = model.evaluate(x_test, y_test)
    probs = model.predict(x_test)                           # NumPy (N, 10)

Three ways to make one, as Keras:

* ``keras.Sequential([...])`` (models/sequential.py);
* ``keras.Model(inputs, outputs)`` on ``keras.Input`` tensors (models/functional.py);
* a subclass of ``keras.Model`` that makes its layers in ``__init__`` and uses them in
  ``call(self, inputs, training=False)``.

Inputs are NumPy arrays (or lists, or Tensors) with the batch axis first; for several model
inputs a list (or a dict by input name). The training loss is the mean over each batch of
the per-sample losses (times ``class_weight`` / ``sample_weight`` when given; see
``keras.losses`` for how softmax / sigmoid outputs are handled); the loss and metrics shown
and recorded for an epoch are averages over all its samples.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from ... import rng
from ...autograd import no_grad
from ...tensor import Tensor
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..callbacks import CallbackList, History
from ..layers.base import Layer
from ..progbar import Progbar
from . import data as D
from .evaluation import EvaluationMixin, _model_input

__all__ = ["Model"]

_IGNORED_COMPILE_OPTIONS = ("run_eagerly", "jit_compile", "steps_per_execution", "weighted_metrics")


def _batch_loss_value(loss, y, output, logits, activation, weights) -> Tensor:
    """The training loss of one batch (a scalar Tensor): the mean of the per-sample losses,
    each times its weight when ``weights`` (N,) is given; from the logits when the loss can
    use them (``Loss.model_loss``, which takes a cross-entropy's mean from its fused kernel)."""
    if weights is None:
        return loss.model_loss(y, output, logits, activation)
    if logits is not None and loss.uses_logits(activation):
        per = loss.call_on_logits(y, logits)
    else:
        per = loss.call(y, output)
    if per.ndim >= 1:
        per = per * Tensor(weights.reshape((-1,) + (1,) * (per.ndim - 1)).astype(np.float32))
    return per.mean()


class Model(EvaluationMixin, Layer):
    """A trainable graph of layers; see the module docstring for the three ways to make one.

    ``keras.Model(inputs, outputs, name=None)`` returns a functional model; a subclass
    implements ``call(inputs, training=False)`` (inputs: a Tensor, or a list for several).
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional

            return Layer.__new__(Functional)
        return Layer.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        if args:
            raise TypeError("Model: give inputs and outputs as keras.Model(inputs, outputs), or subclass Model")
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.optimizer = None
        self.loss = None
        self.compiled_loss = None
        self.compiled_metrics = []       # as given to compile
        self._losses = None              # one keras.losses.Loss per output
        self._loss_weights = None
        self._metrics = None             # resolved [(output index, name, fn)], at the first fit/evaluate
        self._bound_params = None        # the parameters the optimizer was bound to
        self.history = None
        self.stop_training = False

    # ------------------------------------------------------------------ structure
    @property
    def n_inputs(self) -> int:
        return 1

    @property
    def n_outputs(self) -> int:
        return 1

    @property
    def input_names(self) -> list:
        return ["input"]

    @property
    def output_names(self) -> list:
        return ["output"]

    @property
    def layers(self) -> list:
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` (or at position ``index`` in ``layers``)."""
        layers = self.layers
        if index is not None:
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f'no layer named "{name}" in model "{self.name}"; layers: {[l.name for l in layers]}')

    # ------------------------------------------------------------------ calling
    def call(self, inputs, training=False):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement call(inputs, training=False)")

    def _call_user(self, x, training):
        if "training" in inspect.signature(self.call).parameters:
            return self.call(x, training=training)
        return self.call(x)

    def forward(self, x, training=False, mask=None):
        """``model(x)``: x an array / Tensor (a list for several inputs) -> output Tensor(s)."""
        if isinstance(x, (list, tuple)) and self.n_inputs > 1:
            xs = [_model_input(np.asarray(v) if not isinstance(v, Tensor) else v) for v in x]
        else:
            xs = [_model_input(x if isinstance(x, Tensor) else D.to_array(x, f'model "{self.name}": x'))]
        outs = self._outputs(xs, bool(training))
        return outs[0] if len(outs) == 1 else outs

    def _outputs(self, xs: list, training: bool) -> list:
        """Output tensors for a list of input batches (one per model input)."""
        return [r[0] for r in self._forward_for_loss(xs, training)]

    def _forward_for_loss(self, xs: list, training: bool) -> list:
        """[(output, logits or None, activation or None)] per output; see Sequential."""
        out = self._call_user(xs[0] if len(xs) == 1 else xs, training)
        self.built = True
        outs = out if isinstance(out, (list, tuple)) else [out]
        return [(o, None, None) for o in outs]

    def build(self, input_shape):
        """Subclassed models build by running on a zero batch of ``input_shape``."""
        if isinstance(input_shape, list) or any(s is None for s in tuple(input_shape)[1:]):
            raise ValueError(f'model "{self.name}": build() needs one fully known input shape, got {input_shape}')
        with no_grad():
            self._call_user(Tensor(np.zeros((1,) + tuple(input_shape)[1:], np.float32)), False)
        self.built = True

    def compute_output_shape(self, input_shape):
        raise NotImplementedError(f'model "{self.name}": a subclassed model cannot be called on keras.Input; '
                                  f'call it on data')

    def _ensure_built(self, xs: list) -> None:
        if not self.built:
            with no_grad():
                self._forward_for_loss([_model_input(a[:1]) for a in xs], False)
            self.built = True

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs):
        """Choose the optimizer, loss and metrics.

        optimizer: "adam", "sgd", "rmsprop", "adagrad" or a keras.optimizers object;
        loss: a name ("sparse_categorical_crossentropy", "categorical_crossentropy",
        "binary_crossentropy", "mse"...), a keras.losses.Loss or a function; for several
        outputs, one for all or a list / dict by output name; loss_weights likewise.
        metrics: a list of names ("accuracy", ...) or functions, applied to every output.
        """
        unknown = sorted(set(kwargs) - set(_IGNORED_COMPILE_OPTIONS))
        if unknown:
            raise TypeError(f"compile: unexpected keyword argument(s) {unknown}")
        if loss is None:
            raise ValueError("compile: a loss is needed, e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.compiled_loss = loss
        per_output = self._per_output(loss, "loss")
        self._losses = [losses_module.get(l) for l in per_output]
        self.loss = self._losses[0] if len(self._losses) == 1 else self._losses
        weights = [1.0] * len(self._losses) if loss_weights is None else self._per_output(loss_weights, "loss_weights")
        self._loss_weights = [float(w) for w in weights]
        if metrics is None:
            metrics = []
        elif isinstance(metrics, str) or callable(metrics):
            metrics = [metrics]
        self.compiled_metrics = list(metrics)
        for m in self.compiled_metrics:  # fail now on unknown names, not at fit time
            if isinstance(m, str):
                metrics_module.resolve(m, self._losses[0], (1,), (1, 2))
        self._metrics = None
        self._bound_params = None

    def _per_output(self, value, what: str) -> list:
        n = self.n_outputs
        if isinstance(value, dict):
            missing = [name for name in self.output_names if name not in value]
            if missing:
                raise ValueError(f"compile: {what} has no entry for the outputs {missing}")
            return [value[name] for name in self.output_names]
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"compile: {what} has {len(value)} entries for {n} outputs")
            return list(value)
        return [value] * n

    @property
    def metrics_names(self) -> list:
        names = ["loss"]
        if self._metrics is not None:
            names += [n for _, n, _ in self._metrics]
        else:
            names += [m if isinstance(m, str) else getattr(m, "__name__", "metric") for m in self.compiled_metrics]
        return names

    def _require_compiled(self, where: str) -> None:
        if self._losses is None:
            raise RuntimeError(f"You must compile your model before {where}. Use `model.compile(optimizer, loss)`.")

    def _resolve_metrics(self, ys: list, outputs: list) -> None:
        if self._metrics is not None:
            return
        resolved = []
        for i, (y, out) in enumerate(zip(ys, outputs)):
            prefix = f"{self.output_names[i]}_" if len(ys) > 1 else ""
            for m in self.compiled_metrics:
                name, fn = metrics_module.resolve(m, self._losses[i], y.shape, (None,) + out.shape[1:])
                resolved.append((i, prefix + name, fn))
        self._metrics = resolved

    def _bind_optimizer(self) -> None:
        params = [p for p in self.parameters() if p.requires_grad]
        if not params:
            raise ValueError(f'model "{self.name}" has no weights to train')
        if self._bound_params is None or len(self._bound_params) != len(params) or any(
                a is not b for a, b in zip(self._bound_params, params)):
            self.optimizer.bind(params)
            self._bound_params = params

    # ------------------------------------------------------------------ one batch
    def _batch_loss(self, xs, ys, weights, training):
        results = self._forward_for_loss([_model_input(a) for a in xs], training)
        if len(results) != len(ys):
            raise ValueError(f'model "{self.name}" has {len(results)} outputs but got {len(ys)} targets')
        total, parts = None, {}
        for i, ((out, logits, act), y) in enumerate(zip(results, ys)):
            value = _batch_loss_value(self._losses[i], y, out, logits, act, weights)
            if self._loss_weights[i] != 1.0:
                value = value * self._loss_weights[i]
            total = value if total is None else total + value
            if len(ys) > 1:
                parts[f"{self.output_names[i]}_loss"] = value
        return total, parts, [r[0] for r in results]

    def _train_batch(self, xs, ys, weights=None):
        """One optimisation step. Returns ({loss name: float}, outputs as NumPy)."""
        loss, parts, outs = self._batch_loss(xs, ys, weights, True)
        self.optimizer.zero_grad()
        data_parallel = getattr(self, "_data_parallel", None)
        if data_parallel is None:
            loss.backward()
        else:                       # weighted by this rank's share, gradients averaged over the ranks
            data_parallel.backward(loss)
        self.optimizer.step()
        logs = {"loss": float(loss.item())}
        logs.update({k: float(v.item()) for k, v in parts.items()})
        return logs, [o.numpy() for o in outs]

    def _test_batch(self, xs, ys, weights=None):
        with no_grad():
            loss, parts, outs = self._batch_loss(xs, ys, weights, False)
        logs = {"loss": float(loss.item())}
        logs.update({k: float(v.item()) for k, v in parts.items()})
        return logs, [o.numpy() for o in outs]

    def _metric_values(self, ys, outs) -> dict:
        return {name: fn(ys[i], outs[i]) for i, name, fn in self._metrics}

    def _new_accumulator(self, loss_names) -> D.Accumulator:
        return D.Accumulator(list(loss_names) + [n for _, n, _ in self._metrics])

    def _inputs_arrays(self, x, what):
        return D.to_arrays(x, what, self.input_names, self.n_inputs)

    def _target_arrays(self, y, what):
        return D.to_arrays(y, what, self.output_names, self.n_outputs)

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            validation_batch_size=None):
        """Train for ``epochs`` passes over (x, y) in mini-batches; returns a History.

        x: (N, ...) array (a list / dict for several inputs); y: (N, ...) targets (a list for
        several outputs). batch_size: default 32. shuffle: a new order every epoch (from
        tinygrad_edu's generator: ``keras.utils.set_random_seed`` makes it reproducible).
        validation_data: (x_val, y_val), evaluated after every epoch; else validation_split:
        the fraction of (x, y) taken from the END (before shuffling), as Keras.
        class_weight: {class id: weight}, multiplying each sample's loss by its class's
        weight; sample_weight: (N,) weights. verbose: 0 silent, 1 progress bar, 2 one line
        per epoch. callbacks: keras.callbacks objects.
        Data-parallel under mpirun: call ``tinygrad_edu.distributed.init_process_group()`` first;
        then every rank trains on its share of each global batch of ``batch_size``, the
        gradients are averaged over the ranks, and only rank 0 prints (docs/distributed.md).

        History.history holds "loss", every metric ("accuracy", ...), and "val_loss",
        "val_accuracy", ... when there is validation data: one float per epoch.
        """
        self._require_compiled("training")
        verbose = D.verbosity(verbose)
        batch_size = D.batch_size(batch_size, "fit")
        if x is None or y is None:
            raise ValueError("fit: give both x and y")
        xs, ys = self._inputs_arrays(x, "fit: x"), self._target_arrays(y, "fit: y")
        D.check_pair(xs, ys, "fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
            if len(weights) != len(xs[0]):
                raise ValueError(f"fit: sample_weight has {len(weights)} values for {len(xs[0])} samples")
        if class_weight is not None:
            cw = D.class_weights(ys[0], class_weight)
            weights = cw if weights is None else weights * cw

        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a pair (x_val, y_val)")
            val = (self._inputs_arrays(validation_data[0], "fit: validation x"),
                   self._target_arrays(validation_data[1], "fit: validation y"))
            D.check_pair(*val, "fit: validation_data")
        elif validation_split:
            if not 0.0 < float(validation_split) < 1.0:
                raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
            split_at = int(len(xs[0]) * (1.0 - float(validation_split)))
            if split_at < 1 or split_at >= len(xs[0]):
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or no validation "
                                 f"samples out of {len(xs[0])}")
            val = ([a[split_at:] for a in xs], [a[split_at:] for a in ys])
            xs, ys = [a[:split_at] for a in xs], [a[:split_at] for a in ys]
            weights = None if weights is None else weights[:split_at]
        val_batch = D.batch_size(validation_batch_size, "fit") if validation_batch_size is not None else batch_size

        self._ensure_built(xs)
        self._bind_optimizer()
        from ...distributed.keras_support import for_fit
        data_parallel = for_fit(self)      # None unless a process group of several ranks runs
        if data_parallel is not None and not data_parallel.is_main:
            verbose = 0
        n = len(xs[0])
        steps = math.ceil(n / batch_size)
        history = History()
        cbs = CallbackList(list(callbacks or []) + [history], self,
                           {"epochs": int(epochs), "steps": steps, "verbose": verbose})
        self.history = history
        self.stop_training = False
        self._data_parallel = data_parallel
        self.train()
        cbs.on_train_begin({})
        for epoch in range(int(initial_epoch), int(epochs)):
            cbs.on_epoch_begin(epoch, {})
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            bar = Progbar(steps, verbose=verbose)
            order = rng.generator().permutation(n) if shuffle else np.arange(n)
            if data_parallel is not None:
                order = data_parallel.same_order(order)
            acc = None
            for step in range(steps):
                cbs.on_train_batch_begin(step, {})
                idx = order[step * batch_size:(step + 1) * batch_size]
                if data_parallel is not None:      # this rank's share of the global batch
                    idx = data_parallel.begin_batch(idx)
                yb = D.take(ys, idx)
                losses, outs = self._train_batch(D.take_inputs(xs, idx), yb,
                                                 None if weights is None else weights[idx])
                if acc is None:
                    self._resolve_metrics(ys, outs)
                    acc = self._new_accumulator(losses)
                if data_parallel is None or data_parallel.counts:
                    acc.add(losses, len(idx), self._metric_values(yb, outs))
                logs = acc.means() if data_parallel is None else data_parallel.means(acc)
                cbs.on_train_batch_end(step, dict(logs))
                if step + 1 < steps:
                    bar.update(step + 1, list(logs.items()))
            logs = (acc.means() if data_parallel is None else data_parallel.means(acc)) if acc is not None else {}
            if val is not None:
                logs.update(self._evaluate_arrays(val[0], val[1], val_batch, verbose=0, prefix="val_"))
                self.train()
            bar.update(steps, list(logs.items()))
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self._data_parallel = None
        self.eval()
        cbs.on_train_end({})
        return history

    # ------------------------------------------------------------------ weights, saving, summary
    @property
    def weights(self) -> list:
        return list(self.parameters())

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f'model "{self.name}" is not built yet; call build() or fit it first')
        return int(sum(p.numel() for p in self.parameters()))

    def save_weights(self, path) -> None:
        """Write the weights to a safetensors file (keys "layer0.kernel", "layer0.bias", ...)."""
        from .saving import save_weights

        save_weights(self, path)

    def load_weights(self, path) -> None:
        """Read weights written by ``save_weights`` (ValueError naming what differs)."""
        from .saving import load_weights

        load_weights(self, path)

    def save(self, path, overwrite=True) -> None:
        """``model.save("m.keras")``: a zip of config.json and model.weights.safetensors,
        written atomically; ``keras.models.load_model`` reads it back (no pickle)."""
        from .saving import save_model

        save_model(self, path, overwrite=overwrite)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False):
        """Print Keras's table: Layer (type) | Output Shape | Param # (| Connected to, for
        functional models), then the totals. print_fn: called with each line."""
        from .summary import summary

        summary(self, line_length, positions, print_fn)

    def to_text(self) -> str:
        """A plot_model-style text drawing of the layer graph (one box line per layer)."""
        from .summary import plot_text

        return plot_text(self)
