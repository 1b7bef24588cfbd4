"""evaluate / predict and the one-batch methods of keras.Model (a mixin of models/training.py).

They use the training module's machinery (``_test_batch``, ``_train_batch``, metrics, the
array helpers of models/data.py), so they read like ``fit`` without the optimizer.
"""
from __future__ import annotations

import math

import numpy as np

from ...autograd import no_grad
from ..layers.base import _as_tensor
from ..progbar import Progbar
from . import data as D


def _model_input(array):
    """A batch as the model takes it: strings stay NumPy arrays, numbers become Tensors."""
    if isinstance(array, np.ndarray) and array.dtype.kind in "OUS":
        return array
    return _as_tensor(array)


class EvaluationMixin:
    """evaluate, predict, train_on_batch, test_on_batch, predict_on_batch."""

    def _evaluate_arrays(self, xs, ys, batch_size, verbose, prefix=""):
        self._ensure_built(xs)
        self.eval()
        n = len(xs[0])
        steps = math.ceil(n / batch_size)
        bar = Progbar(steps, verbose=verbose)
        acc = None
        for step in range(steps):
            sl = slice(step * batch_size, (step + 1) * batch_size)
            yb = D.take(ys, sl)
            losses, outs = self._test_batch(D.take(xs, sl), yb)
            if acc is None:
                self._resolve_metrics(ys, outs)
                acc = self._new_accumulator(losses)
            acc.add(losses, len(yb[0]), self._metric_values(yb, outs))
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
        xs, ys = self._inputs_arrays(x, "evaluate: x"), self._target_arrays(y, "evaluate: y")
        D.check_pair(xs, ys, "evaluate")
        logs = self._evaluate_arrays(xs, ys, D.batch_size(batch_size, "evaluate"), D.verbosity(verbose))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0):
        """The model's outputs for x, batch by batch, as one NumPy array (N, ...) (a list
        of arrays for several outputs). verbose defaults to 0 here; 1 shows a progress bar."""
        xs = self._inputs_arrays(x, "predict: x")
        batch_size = D.batch_size(batch_size, "predict")
        if len(xs[0]) == 0:
            raise ValueError(f"predict: x is empty (shape {xs[0].shape})")
        self._ensure_built(xs)
        self.eval()
        steps = math.ceil(len(xs[0]) / batch_size)
        bar = Progbar(steps, verbose=D.verbosity(verbose))
        outs = []
        with no_grad():
            for step in range(steps):
                batch = [_model_input(a) for a in D.take(xs, slice(step * batch_size, (step + 1) * batch_size))]
                outs.append([o.numpy() for o in self._outputs(batch, False)])
                bar.update(step + 1)
        joined = [np.concatenate([o[i] for o in outs], axis=0) for i in range(len(outs[0]))]
        return joined[0] if len(joined) == 1 else joined

    def train_on_batch(self, x, y, class_weight=None, sample_weight=None):
        """One update on one batch; returns [loss, metrics...] of that batch (or the loss)."""
        self._require_compiled("training")
        xs, ys = self._inputs_arrays(x, "train_on_batch: x"), self._target_arrays(y, "train_on_batch: y")
        D.check_pair(xs, ys, "train_on_batch")
        self._ensure_built(xs)
        self._bind_optimizer()
        weights = None if sample_weight is None else np.asarray(sample_weight, np.float32).reshape(-1)
        if class_weight is not None:
            cw = D.class_weights(ys[0], class_weight)
            weights = cw if weights is None else weights * cw
        self.train()
        losses, outs = self._train_batch(xs, ys, weights)
        self.eval()
        self._resolve_metrics(ys, outs)
        values = list(losses.values()) + [float(np.mean(fn(ys[i], outs[i]))) for i, _, fn in self._metrics]
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y):
        self._require_compiled("evaluating")
        xs, ys = self._inputs_arrays(x, "test_on_batch: x"), self._target_arrays(y, "test_on_batch: y")
        D.check_pair(xs, ys, "test_on_batch")
        self._ensure_built(xs)
        losses, outs = self._test_batch(xs, ys)
        self._resolve_metrics(ys, outs)
        values = list(losses.values()) + [float(np.mean(fn(ys[i], outs[i]))) for i, _, fn in self._metrics]
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x):
        xs = self._inputs_arrays(x, "predict_on_batch: x")
        return self.predict(xs if len(xs) > 1 else xs[0], batch_size=max(len(xs[0]), 1))
