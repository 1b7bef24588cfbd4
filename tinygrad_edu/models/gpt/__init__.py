"""GPT-2: a decoder-only transformer you can read, train, load from Hugging Face and sample from.

    from tinygrad_edu.models.gpt import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    model = GPT2LMHeadModel.from_pretrained(folder)      # config.json + model.safetensors, offline
    tok = GPT2Tokenizer.from_pretrained(folder)          # vocab.json + merges.txt
    ids = tok("Hello, world")["input_ids"]
    out = model.generate([ids], max_new_tokens=20)       # (1, T + 20): prompt + new tokens
    print(tok.decode(out[0]))

The network (pre-LayerNorm GPT-2)::

    h0 = wte[ids] + wpe[0..T-1]
    each block  h = h + c_proj(CausalSelfAttention(c_attn(ln_1(h))))
                h = h + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(h))))
    logits = ln_f(h) @ wte^T                             (the LM head is the embedding, tied)

The package, each module importing only those above it:

    config      GPT2Config (config.json), the input check
    layers      KVCache, attention, MLP, block (Hugging Face's names)
    loading     the safetensors header check, the name map, the Conv1D transpose
    generation  the decoding loop with the cache; greedy, temperature, top-k, top-p
    model       GPT2Model, GPT2LMHeadModel
    bpe         byte-level BPE: the byte alphabet, GPT-2's pre-tokenizer, the merges
    tokenizer   GPT2Tokenizer (vocab.json + merges.txt)
    charlm      a character-level GPT on generated sentences (``train --model gpt``)
"""
from .config import GPT2Config, ModelOutput
from .generation import choose_next, filter_logits
from .layers import GPT2Attention, GPT2Block, GPT2MLP, KVCache
from .model import GPT2LMHeadModel, GPT2Model, GPT2PreTrainedModel
from .tokenizer import GPT2Tokenizer

__all__ = ["GPT2Config", "ModelOutput", "GPT2Attention", "GPT2MLP", "GPT2Block", "KVCache",
           "GPT2PreTrainedModel", "GPT2Model", "GPT2LMHeadModel", "choose_next", "filter_logits", "GPT2Tokenizer"]
