"""Fuzz targets of the embedding gradient: the C table against the NumPy twin
(embedding_backward, ids sometimes out of range) and the compiled function called raw
(raw_embedding: wild sizes, lengths and NULL buffers must be refused without a write).
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from .common import (DTYPES, INT64_MAX, LAYOUTS, VALUE_KINDS, _calls_alike, _mutate, _mul,
                     lay_out, raw, raw_buffers, size, values)


def gen_embedding(src):
    return dict(dtype=src.choice(DTYPES), n=size(src, 40), dim=size(src, 9), vocab=size(src, 12),
                padding_idx=src.choice([-1, -1, 0, 1, 5, 100]), layout=src.choice(LAYOUTS),
                values=src.choice(VALUE_KINDS), bad_id=src.choice([None, None, None, -1, "vocab"]),
                threads=src.choice([0, 1, 2]), seed=src.int(0, 2**32 - 1))


def check_embedding(case):
    if not hasattr(ck, "embedding_backward"):
        return "absent"
    from .common import _Threads

    rng = np.random.default_rng(case["seed"])
    dt = np.dtype(case["dtype"])
    n, dim, vocab = case["n"], case["dim"], case["vocab"]
    ids = rng.integers(0, vocab, n).astype(np.int64) if vocab else np.zeros(n, np.int64)
    if n and case["bad_id"] is not None:
        ids[rng.integers(0, n)] = -1 if case["bad_id"] == -1 else vocab
    g = lay_out(values(rng, (n, dim), dt, case["values"]), case["layout"])
    g0 = np.array(g, copy=True)
    legal_ids = not n or (vocab > 0 and case["bad_id"] is None)
    with _Threads(case["threads"]):
        if not legal_ids:
            for table in (ck, ref):
                with pytest.raises(IndexError, match=r"ids must lie in \[0, \d+\)"):
                    table.embedding_backward(ids, g, vocab, case["padding_idx"])
            return "refused"

        def same(a, e):
            assert a.dtype == dt and a.shape == e.shape == (vocab, dim), f"embedding {case}"
            np.testing.assert_array_equal(a, e, err_msg=f"embedding {case}")  # same sums, same order

        outcome = _calls_alike(lambda: ck.embedding_backward(ids, g, vocab, case["padding_idx"]),
                               lambda: ref.embedding_backward(ids, g, vocab, case["padding_idx"]),
                               same)
    assert np.array_equal(g, g0, equal_nan=True), "embedding_backward changed its input"
    return "refused" if outcome == "raised" else ("special" if case["values"] == "special" else "ok")


def gen_raw_embedding(src):
    n, dim, vocab = size(src, 9), size(src, 9), size(src, 9)
    g = dict(n=n, dim=dim, vocab=vocab, ids_len=n, g_len=n * dim, gw_len=vocab * dim)
    g = _mutate(src, g, sorted(g), src.choice([0, 1, 1, 2]))
    g.update(dtype=src.choice(DTYPES), seed=src.int(0, 2**32 - 1),
             padding_idx=src.choice([-1, 0, 3, INT64_MAX]), bad_id=src.choice([None, None, -1, "vocab"]),
             null=src.choice([None, None, None, "ids", "g", "gw"]))
    return g


def check_raw_embedding(case):
    if not hasattr(ck.lib, "tge_embedding_backward_f32"):
        return "absent"
    n, dim, vocab = case["n"], case["dim"], case["vocab"]
    ng, nw = _mul(n, dim), _mul(vocab, dim)
    sizes_ok = (min(n, dim, vocab) >= 0 and ng is not None and nw is not None
                and case["ids_len"] == n and case["g_len"] == ng and case["gw_len"] == nw)
    nulls = case["null"] is not None and case[f"{case['null']}_len"] > 0
    ids_ok = n == 0 or (vocab > 0 and case["bad_id"] is None)
    legal = sizes_ok and not nulls and ids_ok
    start = raw_buffers(case, ("g", "gw"), legal)
    if start is None:
        return "skipped"
    sfx, _, rng, bufs = start
    ids_len = case["ids_len"]
    ids = None
    ids_ptr = ck.ffi.NULL
    if 0 < ids_len <= (1 << 20) and case["null"] != "ids":
        ids = rng.integers(0, max(vocab, 1), ids_len).astype(np.int64)
        if case["bad_id"] is not None:
            ids[rng.integers(0, ids_len)] = -1 if case["bad_id"] == -1 else max(vocab, 0)
        ids_ptr = ck.ffi.from_buffer("int64_t[]", ids)
    if ids is None and n > 0:
        legal = False  # the ids buffer is NULL while n > 0
    gw = bufs["gw"][1]
    before = None if gw is None else gw.copy()
    rc = raw(f"tge_embedding_backward_{sfx}")(n, dim, vocab, ids_ptr, ids_len, bufs["g"][0],
                                              case["g_len"], case["padding_idx"], bufs["gw"][0],
                                              case["gw_len"])
    if not legal:
        assert rc != 0, f"tge_embedding_backward accepted an illegal call {case}"
        assert gw is None or np.array_equal(gw, before, equal_nan=True), f"wrote on error {case}"
        return "refused"
    assert rc == 0, f"tge_embedding_backward refused a legal call with {rc}: {case}"
    if nw:
        g = bufs["g"][1].reshape(n, dim) if ng else np.zeros((n, dim), gw.dtype)
        want = ref.embedding_backward(ids if ids is not None else np.zeros(0, np.int64), g, vocab,
                                      int(min(case["padding_idx"], 2**62)))
        np.testing.assert_array_equal(gw.reshape(vocab, dim), want, err_msg=f"{case}")
    return "ok"
