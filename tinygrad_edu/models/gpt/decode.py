"""One decoding step on plain arrays: the arithmetic of the modules for ONE new token.

During generation every step runs the network on a single position. Through the modules
that is some 60 tensor operations per token, each recording nothing (no_grad) but still
paying for the Tensor and Function bookkeeping, which for a small model costs more than
the arithmetic. ``decode_step`` computes the same thing directly on the parameters'
arrays: per block

    h   = LayerNorm_1(x)
    qkv = h W_attn^T + b          -> written into the cache's row ``pos``
    x  += causal_attention(cache rows 0..pos) W_proj^T + b
    x  += gelu_tanh(LayerNorm_2(x) W_fc^T + b) W_out^T + b

and ``logits = LayerNorm_f(x) wte^T``. The attention and the activation are the kernel
table's (``causal_attention_forward``, ``gelu_tanh_forward``); the matrix-vector products
are the array library's (NumPy's BLAS on the CPU), which for one row beats a kernel
that packs blocks for large products. tests/models/test_gpt.py checks it against the
modules (float64, 1e-12) and against transformers' greedy decoding.
"""
from __future__ import annotations

from ...backends import kernels_for
from ...device import array_module

__all__ = ["decode_step"]


def _layer_norm(x, module):
    xp = array_module(x)
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)
    y = centered / xp.sqrt(var + x.dtype.type(module.eps))
    return y * module.weight.data + module.bias.data


def _linear(x, module):
    return x @ module.weight.data.T + module.bias.data


def _activation(h, name, kern):
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return kern.gelu_tanh_forward(h)
    if name == "gelu":
        return kern.gelu_forward(h)
    return array_module(h).maximum(h, 0)


def decode_step(model, tokens, cache):
    """Logits (B, vocab) for one new token per sequence, appended to ``cache``.

    model: a GPT2LMHeadModel (its eval-mode arithmetic: no dropout); tokens: int64 (B,);
    cache: the model's KVCache holding the B sequences so far (cache.length < max_len).
    """
    t = model.transformer
    cfg = model.config
    pos = cache.length
    if pos >= cache.max_len:
        raise ValueError(f"decode_step: the cache is full ({cache.max_len} positions)")
    wte = t.wte.weight.data
    x = wte[array_module(wte).asarray(tokens)] + t.wpe.weight.data[pos]   # (B, E)
    kern = kernels_for(x)
    for i, block in enumerate(t.h):
        buffer = cache.buffers[i]
        buffer[:, pos] = _linear(_layer_norm(x, block.ln_1), block.attn.c_attn)
        context, _ = kern.causal_attention_forward(buffer, cfg.n_head, 1, pos + 1, block.attn.scale)
        x = x + _linear(context[:, 0], block.attn.c_proj)
        h = _activation(_linear(_layer_norm(x, block.ln_2), block.mlp.c_fc), cfg.activation_function, kern)
        x = x + _linear(h, block.mlp.c_proj)
    cache.length = pos + 1
    return _layer_norm(x, t.ln_f) @ t.wte.weight.data.T
