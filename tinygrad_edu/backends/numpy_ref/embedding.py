"""The gradient of an embedding lookup (C twin: csrc/embedding.c).

The forward pass is a gather, ``weight[ids]``, the same array code on every backend; its
gradient scatters the rows of g back to the rows of the table they were read from, adding
up the rows of repeated ids.  Written against ``xp``: the same function is the GPU table's.
"""
import numpy as np

from ...device import array_module, scatter_add
from ..contract import check_arrays, describe, is_array, kernel


def check_embedding_backward(ids, g, num_embeddings, padding_idx=-1) -> tuple:
    """ids: int64 (n,); g: float (n, dim); num_embeddings: int >= 0; every id in
    [0, num_embeddings) (IndexError; checked for host arrays, the C kernel checks again);
    padding_idx: an int (a row to leave at zero; negative for none)."""
    op = "embedding_backward"
    check_arrays(op, g=g)
    if not is_array(ids) or ids.dtype != np.int64 or ids.ndim != 1 or g.ndim != 2 \
            or g.shape[0] != ids.shape[0]:
        raise ValueError(f"{op}: expected int64 ids (n,) and g (n, dim), got "
                         f"{describe(ids) if is_array(ids) else repr(ids)} and {describe(g)}")
    for name, value in (("num_embeddings", num_embeddings), ("padding_idx", padding_idx)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    if num_embeddings < 0:
        raise ValueError(f"{op}: num_embeddings must be >= 0, got {num_embeddings}")
    # the range check reads the ids on the host: for GPU arrays it would cost two device ->
    # host copies per step, and there F.embedding has already checked them in forward
    if isinstance(ids, np.ndarray) and ids.size and (int(ids.min()) < 0 or int(ids.max()) >= num_embeddings):
        bad = ids[(ids < 0) | (ids >= num_embeddings)]
        raise IndexError(f"{op}: ids must lie in [0, {num_embeddings}), got {bad[:5].tolist()}")
    return ids, g, int(num_embeddings), int(padding_idx)


@kernel(check_embedding_backward)
def embedding_backward(ids, g, num_embeddings, padding_idx=-1):
    """ids: int64 (n,) in [0, V); g: (n, dim) float; V = num_embeddings.

    Returns gw (V, dim): gw[v] = the sum of the rows g[i] with ids[i] == v; the row
    ``padding_idx`` stays zero when 0 <= padding_idx < V.
    """
    xp = array_module(g)
    gw = xp.zeros((num_embeddings, g.shape[1]), dtype=g.dtype)
    scatter_add(gw, ids, g)
    if 0 <= padding_idx < num_embeddings:
        gw[padding_idx] = 0
    return gw
