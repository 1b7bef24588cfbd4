"""The embedding gradient kernel (csrc/embedding.c and numpy_ref.embedding_backward): the C
scatter-add equals the NumPy twin (repeated ids added, the padding row zero), does not depend
on the thread count, refuses bad ids and shapes with a message naming them, and makes
nn.Embedding's gradient equal to PyTorch's.
"""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor, nn
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from ..helpers import assert_same_for_thread_counts


needs_c = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")


def inputs(n, dim, vocab, dtype, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, max(vocab, 1), n).astype(np.int64) if vocab else np.zeros(0, np.int64)
    return ids, rng.standard_normal((len(ids), dim)).astype(dtype)


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("n, dim, vocab", [(0, 4, 3), (5, 0, 3), (1, 1, 1), (64, 10, 7),
                                           (2048, 128, 65), (300, 33, 1000)], ids=str)
@pytest.mark.parametrize("padding_idx", [-1, 0, 2])
def test_c_matches_reference(n, dim, vocab, dtype, padding_idx):
    ids, g = inputs(n, dim, vocab, dtype)
    got = ck.embedding_backward(ids, g, vocab, padding_idx)
    want = ref.embedding_backward(ids, g, vocab, padding_idx)
    assert got.shape == want.shape == (vocab, dim) and got.dtype == np.dtype(dtype)
    # the same additions in the same order (rows of g in order of i): equal to the last bit
    np.testing.assert_array_equal(got, want)
    if 0 <= padding_idx < vocab:
        assert not got[padding_idx].any()


def test_reference_adds_repeated_ids():
    ids = np.array([2, 0, 2, 2], np.int64)
    g = np.arange(8, dtype=np.float64).reshape(4, 2)
    gw = ref.embedding_backward(ids, g, 3, -1)
    np.testing.assert_array_equal(gw, [[2, 3], [0, 0], [0 + 4 + 6, 1 + 5 + 7]])


@needs_c
def test_c_result_does_not_depend_on_thread_count():
    ids, g = inputs(4096, 256, 50, np.float32, seed=3)
    assert_same_for_thread_counts(lambda: ck.embedding_backward(ids, g, 50, -1))


@pytest.mark.parametrize("table", ["numpy", "c"])
def test_errors_name_the_ids_and_shapes(table):
    if table == "c" and not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    k = ck if table == "c" else ref
    g = np.zeros((3, 4), np.float32)
    with pytest.raises(IndexError, match=r"\[0, 5\).*\[7\]"):
        k.embedding_backward(np.array([1, 7, 2], np.int64), g, 5, -1)
    with pytest.raises(IndexError, match=r"\[-1\]"):
        k.embedding_backward(np.array([1, -1, 2], np.int64), g, 5, -1)
    with pytest.raises(ValueError, match=r"int64 ids \(n,\) and g \(n, dim\)"):
        k.embedding_backward(np.array([1, 2], np.int64), g, 5, -1)
    with pytest.raises(ValueError, match="int64 ids"):
        k.embedding_backward(np.array([1, 2, 3], np.int32), g, 5, -1)
    with pytest.raises(TypeError, match="num_embeddings must be an int"):
        k.embedding_backward(np.array([1, 2, 3], np.int64), g, 5.0, -1)
    with pytest.raises(TypeError, match="only float32 and float64"):
        k.embedding_backward(np.array([1, 2, 3], np.int64), g.astype(np.int32), 5, -1)


@needs_c
def test_c_entry_refuses_bad_sizes_and_ids_without_writing():
    """The C function re-checks what the wrapper passes (raw call through cffi)."""
    ids = np.array([0, 1, 3], np.int64)
    g = np.ones((3, 2), np.float32)
    gw = np.full((3, 2), 7.0, np.float32)
    call = lambda ids_, n, glen, gwlen: ck.lib.tge_embedding_backward_f32(  # noqa: E731
        n, 2, 3, ck._ptr(ids_, "int64_t"), len(ids_), ck._ptr(g, "float"), glen, -1,
        ck._ptr(gw, "float"), gwlen)
    assert call(ids, 3, 6, 6) == 5          # id 3 outside [0, 3): TGE_EINDEX
    assert call(ids[:2], 3, 6, 6) == 2      # ids length is not n: TGE_ESIZE
    assert call(ids, 3, 5, 6) == 2          # g length is not n * dim
    assert call(ids, -1, 6, 6) == 1         # negative size: TGE_EINVAL
    np.testing.assert_array_equal(gw, 7.0)  # nothing written by any refused call


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_nn_embedding_gradient_matches_torch(backend):
    torch = pytest.importorskip("torch")
    if backend == "c" and not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 9, (4, 6))
    g = rng.standard_normal((4, 6, 5)).astype(np.float32)
    before = tge.backend()
    tge.set_backend(backend)
    try:
        emb = nn.Embedding(9, 5, padding_idx=2)
        emb(Tensor(ids)).backward(Tensor(g))
    finally:
        tge.set_backend(before)
    t_emb = torch.nn.Embedding(9, 5, padding_idx=2)
    with torch.no_grad():
        t_emb.weight.copy_(torch.tensor(emb.weight.numpy()))
    t_emb(torch.tensor(ids)).backward(torch.tensor(g))
    np.testing.assert_allclose(emb.weight.grad.numpy(), t_emb.weight.grad.numpy(), rtol=1e-6, atol=1e-6)
