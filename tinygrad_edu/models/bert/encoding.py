"""What the tokenizer returns (:class:`BatchEncoding`) and the helpers of encoding: truncation, id lists."""
from __future__ import annotations

from typing import Any

import numpy as np


class BatchEncoding(dict):
    """The result of ``tokenizer(...)``: a dict whose keys are also attributes.

    Keys: ``input_ids``, ``token_type_ids``, ``attention_mask``. Values are lists of ints
    (one list per text, or one flat list for a single string) or, with
    ``return_tensors="np"``, int64 arrays of shape (batch, seq).
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field {name!r}; it has {sorted(self)}") from None


# ----------------------------------------------------------------------------------------
# The tokenizer
# ----------------------------------------------------------------------------------------


def truncate_longest_first(ids_a: list[int], ids_b: list[int] | None, max_length: int, n_special: int):
    """Longest-first truncation so that len(a) + len(b) + n_special <= max_length.

    Tokens are removed from the end of the longer sequence until both have the same
    length, then alternately, the second sequence losing the odd one (as Hugging Face).
    """
    if max_length < n_special:
        raise ValueError(
            f"max_length={max_length} leaves no room: {n_special} special tokens are added to each sequence"
        )
    excess = len(ids_a) + len(ids_b or []) + n_special - max_length
    if excess <= 0:
        return ids_a, ids_b
    if ids_b is None:
        return ids_a[: len(ids_a) - excess], None
    la, lb = len(ids_a), len(ids_b)
    first = min(abs(la - lb), excess)
    rest = excess - first
    if la > lb:
        cut_a, cut_b = first + rest // 2, rest - rest // 2
    else:
        cut_a, cut_b = rest // 2, first + rest - rest // 2
    return ids_a[: la - cut_a], ids_b[: lb - cut_b]


def as_id_list(ids: Any) -> list[int]:
    """``ids`` (a list, a 1-D array or a Tensor of ints) as a list of Python ints."""
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1:
            raise ValueError(f"expected a 1-D sequence of ids, got an array of shape {ids.shape}")
        return [int(i) for i in ids]
    if hasattr(ids, "numpy") and callable(ids.numpy):  # a Tensor
        return as_id_list(np.asarray(ids.numpy()))
    out = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"token ids must be ints, got {type(i).__name__} {i!r}")
        out.append(int(i))
    return out
