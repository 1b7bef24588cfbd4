"""The hypothesis strategies shared by the kernel tests (one set, used everywhere).

Each strategy draws a plain dict of sizes, flags and a seed for the array values, so that a
failing case prints in a form that is easy to replay.  ``min_size`` 0 includes empty batches
and channels (the tables must handle them); the PyTorch comparisons ask for 1.
"""
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

float_dtypes = st.sampled_from([np.float32, np.float64])
#: memory layouts the kernels must accept: C order, Fortran order, a strided view
layouts = st.sampled_from(["contiguous", "fortran", "strided"])
seeds = st.integers(0, 2**32 - 1)


def _window(draw, max_hw, pool):
    """(kh, kw, ph, pw, h, w) of a window that fits the padded input (pooling: padding at
    most half the kernel, PyTorch's rule)."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph = draw(st.integers(0, kh // 2 if pool else 2))
    pw = draw(st.integers(0, kw // 2 if pool else 2))
    h, w = draw(st.integers(1, max_hw)), draw(st.integers(1, max_hw))
    assume(h + 2 * ph >= kh and w + 2 * pw >= kw)
    return kh, kw, ph, pw, h, w


@st.composite
def conv_cases(draw, min_size=0, max_hw=9):
    """x (n, c, h, w), weight (o, c, kh, kw), stride, padding, bias?, dtype, layout, seed."""
    kh, kw, ph, pw, h, w = _window(draw, max_hw, pool=False)
    return dict(n=draw(st.integers(min_size, 3)), c=draw(st.integers(min_size, 4)),
                o=draw(st.integers(min_size, 4)), h=h, w=w, kh=kh, kw=kw,
                stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))), padding=(ph, pw),
                bias=draw(st.booleans()), dtype=draw(float_dtypes), layout=draw(layouts),
                seed=draw(seeds))


@st.composite
def pool_cases(draw, min_size=0, max_hw=9):
    """x (n, c, h, w), kernel, stride, padding, dtype, layout, values ("normal" or "ties":
    few distinct values, so windows hold equal maxima), nan (some NaNs), seed."""
    kh, kw, ph, pw, h, w = _window(draw, max_hw, pool=True)
    return dict(n=draw(st.integers(min_size, 2)), c=draw(st.integers(min_size, 3)), h=h, w=w,
                kernel=(kh, kw), stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                padding=(ph, pw), dtype=draw(float_dtypes), layout=draw(layouts),
                values=draw(st.sampled_from(["normal", "ties"])), nan=draw(st.booleans()),
                seed=draw(seeds))
