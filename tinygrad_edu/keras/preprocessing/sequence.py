"""Keras 2's sequence preprocessing (``keras.preprocessing.sequence.pad_sequences``)."""
from __future__ import annotations

import numpy as np

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or cut) variable-length sequences into one array, exactly as Keras 2 does.

    sequences: a list of sequences (lists or arrays; items may themselves be arrays of a
    common shape, e.g. word vectors). maxlen: output length (None: the longest sequence).
    dtype: output dtype, ``"int32"`` by default like Keras (use ``"float32"`` for values,
    ``object`` for strings). padding: ``"pre"`` puts the fill ``value`` before each
    sequence, ``"post"`` after it. truncating: ``"pre"`` drops the start of sequences
    longer than maxlen (keeps the last maxlen items), ``"post"`` drops the end.

    Returns a NumPy array (len(sequences), maxlen, *item_shape) of ``dtype``; an empty
    sequence becomes a row of ``value``. Raises ValueError for unknown padding/truncating,
    non-sequence entries, items of differing shapes, or a str ``value`` with a non-string
    dtype.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list of sequences (it has no len())")
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding type "{padding}" not understood (use "pre" or "post")')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating type "{truncating}" not understood (use "pre" or "post")')
    num_samples = len(sequences)
    lengths = []
    sample_shape = ()
    shape_found = False
    for x in sequences:
        try:
            lengths.append(len(x))
        except TypeError:
            raise ValueError(f"pad_sequences: `sequences` must be a list of sequences; found a "
                             f"{type(x).__name__}: {x!r}") from None
        if not shape_found and len(x):
            # the item shape is taken from the first non-empty sequence
            sample_shape = np.asarray(x).shape[1:]
            shape_found = True
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be None or an int >= 0, got {maxlen!r}")
    maxlen = int(maxlen)
    is_str_dtype = np.issubdtype(np.dtype(dtype), np.str_)
    if isinstance(value, str) and np.dtype(dtype) != np.dtype(object) and not is_str_dtype:
        raise ValueError(f"pad_sequences: `dtype` {dtype} is not compatible with `value`'s type "
                         f"{type(value).__name__}; use dtype=object for variable-length strings")

    x = np.full((num_samples, maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return x
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: shape of items {trunc.shape[1:]} in sequence {idx} differs "
                             f"from the expected {sample_shape} (taken from the first non-empty sequence)")
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        else:
            x[idx, -len(trunc):] = trunc
    return x
