"""Callbacks of ``fit``: History (always there, returned by fit), EarlyStopping, and the base class.

A callback is told about the training as it goes. ``fit`` calls, in this order:

    on_train_begin(logs)
      on_epoch_begin(epoch, logs)
        on_train_batch_begin(batch, logs) / on_train_batch_end(batch, logs)   per batch
      on_epoch_end(epoch, logs)        logs = {"loss": ..., "accuracy": ..., "val_loss": ...}
    on_train_end(logs)

``self.model`` is the model being trained and ``self.params`` holds {"epochs", "steps",
"verbose"}. Setting ``model.stop_training = True`` ends training after the current epoch.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Callback", "History", "EarlyStopping", "CallbackList"]


class Callback:
    """Base class: override the hooks you need; each gets ``logs``, a dict of floats."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = dict(params)

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...


class History(Callback):
    """Records the logs of every epoch.

    ``history``: dict name -> list of floats, one per epoch, e.g. {"loss": [...],
    "accuracy": [...], "val_loss": [...], "val_accuracy": [...]}; ``epoch``: the epoch
    numbers (from 0).
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    EarlyStopping(monitor="val_loss", min_delta=0, patience=0, mode="auto",
                  restore_best_weights=False)
        mode "min" or "max"; "auto" means "max" for accuracy-like names, else "min".
        restore_best_weights: at the end, put back the weights of the best epoch.
    ``stopped_epoch`` is the epoch after which training stopped (0 if it ran to the end).
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", restore_best_weights=False):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
        self.monitor, self.mode = monitor, mode
        self.min_delta, self.patience = abs(float(min_delta)), int(patience)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch = 0, 0
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_weights = None

    def _improved(self, value) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: monitor {self.monitor!r} is not in the logs {sorted(logs)}")
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None and self.stopped_epoch > 0:
            self.model.set_weights(self.best_weights)


class CallbackList:
    """Calls a hook on every callback of a list, in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be keras.callbacks.Callback objects, got {type(cb).__name__}")
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call
