"""The register-blocked causal attention (csrc/attention_blocked.inc) against the NumPy twin
and the tiled path.

The blocked path takes every call whose head size D is a whole number of 64-byte vectors,
at most four (float32: 16, 32, 48, 64; float64: 8, 16, 24, 32) and whose queries are all
the rows (training, a prompt without a cache).  ``TGE_ATTN=tiles`` (read at every call)
turns it off, which is how these tests compare the two paths; the twin is the formula.
"""
import numpy as np
import pytest

from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref as ref

from ..helpers import assert_same_for_thread_counts

pytestmark = pytest.mark.skipif(not ck.AVAILABLE, reason=f"C kernels not built: {ck.LOAD_ERROR}")

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
LANES = {np.float32: 16, np.float64: 8}


def _case(dtype, batch, rows, heads, dim, seed=0):
    rng = np.random.default_rng(seed)
    qkv = rng.standard_normal((batch, rows, 3 * heads * dim)).astype(dtype)
    gout = rng.standard_normal((batch, rows, heads * dim)).astype(dtype)
    return qkv, gout, 1.0 / np.sqrt(dim)


def _both_passes(qkv, gout, heads, scale):
    rows = qkv.shape[1]
    out, lse = ck.causal_attention_forward(qkv, heads, rows, rows, scale)
    return out, lse, ck.causal_attention_backward(qkv, out, lse, gout, heads, scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("vectors", [1, 2, 3, 4])
@pytest.mark.parametrize("rows", [1, 3, 4, 33, 70])
def test_blocked_matches_the_twin(dtype, vectors, rows):
    """Every head size the path takes, sequences shorter than a block, one block, and
    several blocks with a partial last one (rows past the end read as zeros)."""
    heads, dim = 2, vectors * LANES[dtype]
    qkv, gout, scale = _case(dtype, 2, rows, heads, dim)
    out, lse, gqkv = _both_passes(qkv, gout, heads, scale)
    r_out, r_lse = ref.causal_attention_forward(qkv, heads, rows, rows, scale)
    np.testing.assert_allclose(out, r_out, **TOL[dtype])
    np.testing.assert_allclose(lse, r_lse, **TOL[dtype])
    r_g = ref.causal_attention_backward(qkv, r_out, r_lse, gout, heads, scale)
    np.testing.assert_allclose(gqkv, r_g, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_matches_the_tiled_path(dtype, monkeypatch):
    """The GPT benchmark's shape (T 128, 4 heads of 32), the two C paths side by side."""
    qkv, gout, scale = _case(dtype, 2, 128, 4, 32, seed=1)
    blocked = _both_passes(qkv, gout, 4, scale)
    monkeypatch.setenv("TGE_ATTN", "tiles")
    tiled = _both_passes(qkv, gout, 4, scale)
    for a, b in zip(blocked, tiled):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("scale", [-0.7, 0.0, 3.0])
def test_any_scale(scale):
    """The masked keys are set to a score whose scaled value is -inf: right for a negative
    or zero scale too."""
    qkv, gout, _ = _case(np.float64, 1, 37, 2, 16, seed=2)
    out, lse, gqkv = _both_passes(qkv, gout, 2, scale)
    r_out, r_lse = ref.causal_attention_forward(qkv, 2, 37, 37, scale)
    np.testing.assert_allclose(out, r_out, **TOL[np.float64])
    np.testing.assert_allclose(lse, r_lse, **TOL[np.float64])
    np.testing.assert_allclose(gqkv, ref.causal_attention_backward(qkv, r_out, r_lse, gout, 2, scale),
                               **TOL[np.float64])


def test_future_keys_never_reach_the_past():
    """Changing the last token's q, k and v changes no earlier output or gradient row."""
    qkv, gout, scale = _case(np.float32, 1, 40, 2, 16, seed=3)
    other = qkv.copy()
    other[:, -1] = 1e4  # huge scores for every earlier query, were they not masked
    a, b = _both_passes(qkv, gout, 2, scale), _both_passes(other, gout, 2, scale)
    np.testing.assert_array_equal(a[0][:, :-1], b[0][:, :-1])
    np.testing.assert_array_equal(a[1][:, :, :-1], b[1][:, :, :-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_changes_no_bit(dtype):
    qkv, gout, scale = _case(dtype, 3, 50, 3, 2 * LANES[dtype], seed=4)
    assert_same_for_thread_counts(lambda: _both_passes(qkv, gout, 3, scale), counts=(1, 2, 3))


@pytest.mark.parametrize("dim", [8, 20, 80])
def test_other_head_sizes_take_the_tiled_path(dim):
    """float32 heads of 8 or 20 values (not whole vectors) and 80 (five vectors): the tiled
    path, still right."""
    qkv, gout, scale = _case(np.float32, 2, 40, 2, dim, seed=5)
    out, lse, gqkv = _both_passes(qkv, gout, 2, scale)
    r_out, r_lse = ref.causal_attention_forward(qkv, 2, 40, 40, scale)
    np.testing.assert_allclose(out, r_out, **TOL[np.float32])
    np.testing.assert_allclose(gqkv, ref.causal_attention_backward(qkv, r_out, r_lse, gout, 2, scale),
                               **TOL[np.float32])
