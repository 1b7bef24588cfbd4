"""Shared pieces of the fuzz targets: sources of random choices (hypothesis or NumPy),
array values and memory layouts, tolerances, NaN-aware comparison, and the helpers of the
raw ffi calls (wild sizes, exact-length buffers, mutated fields).
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_edu.backends import c as ck


INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
DTYPES = ("float32", "float64")
LAYOUTS = ("c", "c", "c", "f", "strided", "reversed", "unaligned", "readonly", "broadcast")
VALUE_KINDS = ("normal", "normal", "ties", "special")
SPECIALS = (np.nan, np.inf, -np.inf, -0.0, 1e-40, -3e-39)
#: the most elements a raw call may ask for before it is skipped (legal but too large)
RAW_CAP = 1 << 20


# ------------------------------------------------------------------------------------
# Sources of random choices: the same generators run under hypothesis (which can shrink a
# failure) and from a NumPy Generator (fast, for the long run).
# ------------------------------------------------------------------------------------

class RandomSource:
    """Random choices from a NumPy Generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi, endpoint=True))

    def bool(self) -> bool:
        return bool(self.rng.integers(2))

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]


class DrawSource:
    """Random choices from hypothesis's ``draw`` (inside ``st.composite`` or ``st.data()``)."""

    def __init__(self, draw):
        from hypothesis import strategies as st

        self._st = st
        self.draw = draw

    def int(self, lo: int, hi: int) -> int:
        return self.draw(self._st.integers(lo, hi))

    def bool(self) -> bool:
        return self.draw(self._st.booleans())

    def choice(self, options):
        return self.draw(self._st.sampled_from(options))


#: names of the compiled functions the raw targets called (see test_fuzz_kernels.py)
RAW_CALLED = set()


def raw(name: str):
    """The compiled function ``name`` of the C module, noting that it was called."""
    RAW_CALLED.add(name)
    return getattr(ck.lib, name)


def size(src, hi: int = 6) -> int:
    """A size, often 0 or 1, otherwise up to ``hi``."""
    kind = src.int(0, 5)
    if kind == 0:
        return 0
    if kind == 1:
        return 1
    return src.int(2, hi)


# ------------------------------------------------------------------------------------
# Arrays: values and memory layouts
# ------------------------------------------------------------------------------------

def values(rng, shape, dtype, kind):
    """Random values of ``shape``: normal, small integers (ties), or normal with NaN, +-inf,
    -0.0 and denormals sprinkled in."""
    shape = tuple(shape)
    if kind == "ties":
        data = np.asarray(rng.integers(-2, 3, size=shape), dtype=np.float64)
    else:
        data = np.asarray(rng.standard_normal(shape), dtype=np.float64)  # 0-d: still an array
    if kind == "special" and data.size:
        mask = rng.random(shape) < 0.2
        data[mask] = rng.choice(np.array(SPECIALS), size=int(mask.sum()))
    with np.errstate(under="ignore"):
        return data.astype(dtype)


def lay_out(arr, layout):
    """``arr``'s values in the memory layout ``layout`` (a view that is not C-contiguous,
    not aligned, not writeable ... as asked).  "broadcast" changes the values (the first
    column repeated with stride 0): both tables receive the same array, so it does not
    matter."""
    if arr.ndim == 0:
        return arr.copy()
    if layout == "f":
        return np.asfortranarray(arr)  # (for 1-D arrays the same as "c")
    if layout == "strided":
        big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1] + 1,), dtype=arr.dtype)
        big[..., 1::2] = arr
        return big[..., 1::2]
    if layout == "reversed":
        return np.ascontiguousarray(arr[..., ::-1])[..., ::-1]
    if layout == "unaligned":
        buf = np.zeros(arr.nbytes + 1, dtype=np.uint8)
        view = buf[1:].view(arr.dtype).reshape(arr.shape)
        view[...] = arr
        return view
    if layout == "readonly":
        out = arr.copy()
        out.flags.writeable = False
        return out
    if layout == "broadcast" and arr.shape[-1] > 0:
        return np.broadcast_to(arr[..., :1], arr.shape)
    return np.ascontiguousarray(arr)


def same_values(a, b) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def tolerance(dtype, terms: int) -> dict:
    """Tolerances for sums of ``terms`` products of N(0, 1) numbers: C and NumPy add in
    different orders and C fuses multiply-adds."""
    if np.dtype(dtype) == np.float32:
        return dict(rtol=2e-4, atol=2e-5 * max(1.0, math.sqrt(terms)) * 8)
    return dict(rtol=1e-9, atol=1e-11 * max(1.0, math.sqrt(terms)) * 8)


def assert_close(actual, expected, dtype, what, terms=1):
    dtype = np.dtype(dtype)
    assert isinstance(actual, np.ndarray), f"{what}: got {type(actual).__name__}"
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    assert actual.flags.c_contiguous, f"{what}: the result is not C-contiguous"
    np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=what,
                               **tolerance(dtype, terms))


class _Threads:
    """Run a case with the C kernels on ``n`` threads, restoring the count after."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.before = ck.get_num_threads()
        if self.n:
            ck.set_num_threads(self.n)

    def __exit__(self, *exc):
        ck.set_num_threads(self.before)
        return False


def _calls_alike(c_call, ref_call, compare):
    """Run both tables; both must raise the same ValueError/TypeError, or both succeed and
    ``compare(c_result, ref_result)``.  Returns "raised" or "ok"."""
    ref_exc = c_exc = None
    try:
        expected = ref_call()
    except (ValueError, TypeError) as exc:
        ref_exc = exc
    try:
        actual = c_call()
    except (ValueError, TypeError) as exc:
        c_exc = exc
    if ref_exc is not None or c_exc is not None:
        assert ref_exc is not None and c_exc is not None, (
            f"only one table raised: numpy {ref_exc!r}, c {c_exc!r}")
        assert type(ref_exc) is type(c_exc), f"numpy raised {ref_exc!r}, c raised {c_exc!r}"
        assert str(c_exc), "an error without a message"
        return "raised"
    compare(actual, expected)
    return "ok"


# ------------------------------------------------------------------------------------
# Raw ffi calls: a Python model of csrc/tge.h's contract decides legality
# ------------------------------------------------------------------------------------

def _mul(*factors):
    """The product as the C code forms it (left to right, refusing negative factors and any
    partial product past INT64_MAX), or None where the C code reports overflow."""
    acc = 1
    for f in factors:
        if f < 0 or acc * f > INT64_MAX:
            return None
        acc *= f
    return acc


WILD = (-1, 0, 1, 2, 3, -(2**31), 2**31, 2**40, 2**62, INT64_MAX, INT64_MIN)


def _wild(src, value, bits=64):
    """A corrupted version of ``value``: off by one, zero, negative, or huge (kept within
    the C type's range: beyond it cffi itself refuses with OverflowError)."""
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return min(max(src.choice([value + 1, value - 1, value * 2 + 1, -value - 1] + list(WILD)),
                   lo), hi)


def _buffer(rng, length, ctype, cap=RAW_CAP):
    """(pointer, keep-alive array) of exactly ``length`` elements (NULL when 0 or when the
    length is absurd; the call must then fail before touching it)."""
    if length <= 0 or length > cap:
        return ck.ffi.NULL, None
    dtype = {"float": np.float32, "double": np.float64, "int64_t": np.int64}[ctype]
    if dtype == np.int64:
        arr = np.zeros(length, dtype=np.int64)
    else:
        arr = rng.standard_normal(length).astype(dtype)
    return ck.ffi.from_buffer(f"{ctype}[]", arr), arr


def raw_buffers(case, names, legal: bool):
    """The start every raw-ffi check of a float kernel shares: the C suffix, one buffer per
    name (``case[name + "_len"]`` elements, random values from ``case["seed"]``), and the
    buffer named by ``case["null"]`` (if any) replaced by NULL.
    Returns (sfx, ctype, rng, bufs), or None for a legal call too large to allocate here."""
    lengths = {name: case[f"{name}_len"] for name in names}
    if legal and max(lengths.values()) > RAW_CAP:
        return None
    rng = np.random.default_rng(case["seed"])
    ctype = "float" if case["dtype"] == "float32" else "double"
    bufs = {name: _buffer(rng, lengths[name], ctype) for name in names}
    if case.get("null"):
        bufs[case["null"]] = (ck.ffi.NULL, None)
    return ("f32" if ctype == "float" else "f64"), ctype, rng, bufs


def _mutate(src, fields: dict, names, rounds) -> dict:
    fields = dict(fields)
    for _ in range(rounds):
        name = src.choice(names)
        fields[name] = _wild(src, fields[name], 32 if name.startswith("trans") else 64)
    return fields


def _buffer_of(arr, ctype):
    return ck.ffi.from_buffer(f"{ctype}[]", arr) if arr.size else ck.ffi.NULL
