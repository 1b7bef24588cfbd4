"""Saving: ``model.save("m.keras")`` / ``load_model``, ``save_weights`` / ``load_weights``.

A ``.keras`` file is a zip holding
    config.json                 {"class_name", "config", "compile_config", "format"}
    model.weights.safetensors   every weight, keyed "layer<i>.<weight name>" (i: layer position)
No pickle anywhere: loading reads JSON and raw arrays, so it never runs code from the file.
The zip is written to a temporary file in the target folder, flushed to disk and renamed
over ``path``, so a crash never leaves half a file. Optimizer state is not saved (the model
is compiled again from the saved compile arguments, with a fresh optimizer).
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from ...utils.serialization import load as _load_safetensors
from ...utils.serialization import save as _save_safetensors

__all__ = ["save_model", "load_model", "save_weights", "load_weights"]

_FORMAT = "tinygrad_edu.keras/1"
_CONFIG, _WEIGHTS = "config.json", "model.weights.safetensors"


def _named_weights(model) -> dict:
    """{"layer<i>.<weight>": Parameter} over the model's layers (shared layers once): weights
    are named by layer position, not layer name, so that a freshly built twin of the model
    (whose layers got other automatic names) reads them back, as Keras matches weights by
    the order of the layers."""
    found = {}
    for i, layer in enumerate(model._modules.values()):
        for name, param in layer.named_parameters():
            found[f"layer{i}.{name}"] = param
    for name, param in model._parameters.items():
        if param is not None:
            found[name] = param
    return found


def save_weights(model, path) -> None:
    """Write the weights to a safetensors file at ``path`` (atomically)."""
    if not model.built:
        raise ValueError(f'model "{model.name}" is not built yet, so it has no weights to save')
    _save_safetensors({k: p.numpy() for k, p in _named_weights(model).items()}, os.fspath(path))


def _assign(model, saved: dict, source: str) -> None:
    own = _named_weights(model)
    if set(saved) != set(own):
        missing, extra = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
        raise ValueError(f"load_weights: {source} does not match the model: missing {missing}, unexpected {extra}")
    for key, param in own.items():
        value = np.asarray(saved[key])
        if value.shape != param.shape:
            raise ValueError(f"load_weights: {key} has shape {value.shape} in {source}, {param.shape} in the model")
    for key, param in own.items():
        param.data = np.array(saved[key], dtype=np.float32)


def load_weights(model, path) -> None:
    """Read weights written by ``save_weights`` (or a .keras file) into a built model of the same layers."""
    path = os.fspath(path)
    if not model.built:
        raise ValueError(f'model "{model.name}" must be built (same layers and input shape) before load_weights')
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as tmp:
            archive.extract(_WEIGHTS, tmp)
            saved = _load_safetensors(os.path.join(tmp, _WEIGHTS))
    else:
        saved = _load_safetensors(path)
    _assign(model, saved, path)


def _compile_config(model):
    if model._losses is None:
        return None
    loss = model.compiled_loss
    if not (isinstance(loss, str) or (isinstance(loss, (list, dict)) and all(
            isinstance(v, str) for v in (loss.values() if isinstance(loss, dict) else loss)))):
        return None
    optimizer = model.optimizer
    if not all(isinstance(m, str) for m in model.compiled_metrics):
        return None
    return {"optimizer": {"class_name": type(optimizer).__name__, "config": optimizer.get_config()},
            "loss": loss, "metrics": list(model.compiled_metrics), "loss_weights": model._loss_weights}


def save_model(model, path, overwrite=True) -> None:
    """Write ``model`` as a .keras zip at ``path``; see the module docstring."""
    from ..layers import serialize
    from .training import Model

    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"model.save: the file name must end in .keras, got {path!r} (use save_weights for "
                         f"weights alone)")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"model.save: {path} exists and overwrite=False")
    if type(model).get_config is Model.get_config or not model.built:
        raise TypeError(f'model.save: "{model.name}" is a subclassed (or unbuilt) model; its structure is Python '
                        f'code, which a .keras file does not hold: use save_weights() and rebuild it in code')
    config = {"format": _FORMAT, **serialize(model), "compile_config": _compile_config(model)}
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        weights_path = os.path.join(tmp, _WEIGHTS)
        save_weights(model, weights_path)
        fd, tmp_zip = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".keras")
        try:
            with os.fdopen(fd, "wb") as raw:
                with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED) as archive:
                    archive.writestr(_CONFIG, json.dumps(config, indent=1))
                    archive.write(weights_path, _WEIGHTS)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp_zip, path)
        except BaseException:
            if os.path.exists(tmp_zip):
                os.unlink(tmp_zip)
            raise


def load_model(path, compile=True):
    """The model saved by ``model.save(path)``: same layers, weights and (when they were
    given by name) compile arguments."""
    from .. import optimizers
    from ..layers import get_layer_class

    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load_model: {path} is not a .keras zip written by model.save")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if not {_CONFIG, _WEIGHTS} <= names:
            raise ValueError(f"load_model: {path} lacks {sorted({_CONFIG, _WEIGHTS} - names)}")
        config = json.loads(archive.read(_CONFIG).decode("utf-8"))
        with tempfile.TemporaryDirectory() as tmp:
            archive.extract(_WEIGHTS, tmp)
            saved = _load_safetensors(os.path.join(tmp, _WEIGHTS))
    if config.get("format") != _FORMAT:
        raise ValueError(f"load_model: {path} has format {config.get('format')!r}, expected {_FORMAT!r}")
    model = get_layer_class(config["class_name"]).from_config(config["config"])
    _assign(model, saved, path)
    compile_config = config.get("compile_config")
    if compile and compile_config:
        opt = compile_config["optimizer"]
        opt_config = {k: v for k, v in opt["config"].items()}
        optimizer = getattr(optimizers, opt["class_name"])(**opt_config)
        model.compile(optimizer=optimizer, loss=compile_config["loss"], metrics=compile_config["metrics"],
                      loss_weights=compile_config.get("loss_weights"))
    return model
