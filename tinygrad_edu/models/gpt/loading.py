"""Reading a Hugging Face GPT-2 folder: the header check, the name map, the Conv1D transpose.

A GPT-2 checkpoint names its tensors ``transformer.h.0.attn.c_attn.weight`` (saved from
GPT2LMHeadModel) or ``h.0.attn.c_attn.weight`` (saved from GPT2Model); both are accepted.
GPT-2's projections are "Conv1D" layers whose weight is stored (in, out): the transpose of
``nn.Linear``'s (out, in), so those four per block are transposed on the way in.
``lm_head.weight`` is the token embedding itself (tied) and is not read; the causal-mask
buffers older checkpoints carry (``attn.bias``, ``attn.masked_bias``) are skipped.

Every name, shape and dtype is checked against the safetensors header (which holds no
tensor data) before the weights are read, so a wrong checkpoint fails in milliseconds
with a message that names the tensor, whatever its size.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ...autograd import no_grad
from ...utils.serialization import load_file, read_header
from .config import WEIGHTS_FILE, GPT2Config

__all__ = ["expected_tensors", "read_gpt2_checkpoint", "CONV1D_WEIGHTS"]

#: the per-block weights stored transposed (Conv1D's (in, out))
CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
_SKIPPED = ("lm_head.weight", ".attn.bias", ".attn.masked_bias")
_FLOAT_FILE_DTYPES = ("F16", "BF16", "F32", "F64")


def expected_tensors(config: GPT2Config) -> dict:
    """Checkpoint name (without the ``transformer.`` prefix) -> shape as stored in the file."""
    E, I, V, P = config.n_embd, config.inner_size, config.vocab_size, config.n_positions
    shapes = {"wte.weight": (V, E), "wpe.weight": (P, E), "ln_f.weight": (E,), "ln_f.bias": (E,)}
    for i in range(config.n_layer):
        block = {"ln_1.weight": (E,), "ln_1.bias": (E,), "ln_2.weight": (E,), "ln_2.bias": (E,),
                 "attn.c_attn.weight": (E, 3 * E), "attn.c_attn.bias": (3 * E,),
                 "attn.c_proj.weight": (E, E), "attn.c_proj.bias": (E,),
                 "mlp.c_fc.weight": (E, I), "mlp.c_fc.bias": (I,),
                 "mlp.c_proj.weight": (I, E), "mlp.c_proj.bias": (E,)}
        shapes.update({f"h.{i}.{k}": v for k, v in block.items()})
    return shapes


def _weights_file(folder: str) -> str:
    file = os.path.join(folder, WEIGHTS_FILE)
    if not os.path.isfile(file):
        other = [f for f in ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")
                 if os.path.isfile(os.path.join(folder, f))]
        hint = (f" (found {other[0]}: only safetensors is read, because pickle files can run code)"
                if other else "")
        raise FileNotFoundError(f"GPT2LMHeadModel.from_pretrained: no {WEIGHTS_FILE} in {folder!r}{hint}")
    return file


def check_header(file: str, config: GPT2Config) -> dict:
    """Match the header against ``config``: returns checkpoint-name -> our short name.

    Raises KeyError for missing tensors, ValueError for mis-shaped ones (both listing every
    offender with the expected and found shapes), TypeError for non-float tensors.
    """
    where = "GPT2LMHeadModel.from_pretrained"
    header = read_header(file).tensors
    prefixed = any(k.startswith("transformer.") for k in header)
    names = {}
    for name in header:
        short = name[len("transformer."):] if prefixed and name.startswith("transformer.") else name
        names[short] = name
    want = expected_tensors(config)
    missing = [k for k in want if k not in names]
    if missing:
        raise KeyError(f"{where}: {file!r} lacks {len(missing)} tensor(s) this config needs: "
                       + ", ".join(repr(("transformer." if prefixed else "") + k) for k in missing[:10])
                       + (" ..." if len(missing) > 10 else ""))
    wrong = [f"  {names[k]!r}: expected shape {shape}, found {tuple(header[names[k]].shape)}"
             for k, shape in want.items() if tuple(header[names[k]].shape) != shape]
    if wrong:
        raise ValueError(f"{where}: tensor shape(s) in {file!r} do not match config.json "
                         f"({config!r}):\n" + "\n".join(wrong))
    bad = [f"{names[k]!r} ({header[names[k]].dtype})" for k in want
           if header[names[k]].dtype not in _FLOAT_FILE_DTYPES]
    if bad:
        raise TypeError(f"{where}: expected floating-point tensors, got {', '.join(bad)}")
    unused = [n for s, n in names.items() if s not in want and not s.endswith(_SKIPPED)]
    if unused:
        warnings.warn(f"{where}: {len(unused)} checkpoint tensor(s) not used: "
                      + ", ".join(repr(k) for k in unused[:10]), stacklevel=4)
    return {names[k]: k for k in want}


def read_gpt2_checkpoint(folder: str, config: GPT2Config) -> dict:
    """Check the header, then read the weights: our short name -> array in ``nn.Linear``'s
    layout (the Conv1D weights transposed)."""
    file = _weights_file(folder)
    mapping = check_header(file, config)
    tensors = load_file(file)
    out = {}
    for name, short in mapping.items():
        array = tensors.pop(name)
        if short.endswith(CONV1D_WEIGHTS):
            array = array.T
        out[short] = array
    return out


def copy_into(model, tensors: dict, dtype) -> None:
    """Copy the short-named ``tensors`` into a GPT2LMHeadModel's parameters (``transformer.``
    + name), converted to ``dtype``."""
    params = dict(model.named_parameters())
    with no_grad():
        for short, array in tensors.items():
            p = params["transformer." + short]
            p.data = np.ascontiguousarray(array, dtype=dtype)
