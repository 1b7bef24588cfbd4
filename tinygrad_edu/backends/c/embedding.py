"""C wrapper of the embedding gradient (csrc/embedding.c)."""
import numpy as np

from .. import c as C


def embedding_backward(ids, g, num_embeddings, padding_idx):
    """gw (num_embeddings, dim); see numpy_ref.embedding_backward (ids checked there)."""
    C._require()
    ids, g = C._contiguous(ids), C._contiguous(g)
    gw = np.empty((num_embeddings, g.shape[1]), g.dtype)
    ctype, fn = C._kernel("embedding_backward", g.dtype)
    rc = fn(g.shape[0], g.shape[1], num_embeddings, C._ptr(ids, "int64_t"), ids.size,
            C._ptr(g, ctype), g.size, padding_idx, C._ptr(gw, ctype), gw.size)
    C._check_rc(rc, "embedding_backward", f"ids {ids.shape}, g {g.shape}, {num_embeddings} rows")
    return gw
