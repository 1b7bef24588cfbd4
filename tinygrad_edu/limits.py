"""Size limits: refuse an impossible array before anything is allocated.

Two checks, used by the tensor factories and by both kernel tables before they allocate
an output (``check_allocation``):

* a shape whose element count or byte size does not fit in a signed 64-bit size (what
  NumPy, C's ``size_t`` arithmetic and our kernels can index) raises ``ValueError``
  naming the shape: ``Tensor.zeros(2**40, 2**40)``, a matmul of two empty operands
  ``(2**40, 0) @ (0, 2**40)``, a convolution gradient asked for a huge ``x_shape``;
* a request for more bytes than the machine has (RAM plus swap, or the container's memory
  limit when one is set) raises ``MemoryError`` naming the shape and both sizes, instead of
  relying on the operating system: with memory overcommit on, an oversized ``np.zeros``
  can "succeed" (the pages are only mapped) and the process is killed later, when they are
  touched.  ``Tensor.zeros(2**36)`` (float32, 256 GiB) on a 24 GiB machine is refused.

``TGE_MEMORY_LIMIT`` overrides the detected size: a number of bytes with an optional
K/M/G/T suffix (powers of 1024), or ``0`` to switch the memory check off (the overflow
check always stays).  A request below the limit but above the memory that is free at the
moment is left to NumPy, which raises ``MemoryError`` when the allocation fails.
"""
from __future__ import annotations

import math
import os
import re

import numpy as np

__all__ = ["check_allocation", "memory_limit", "MAX_BYTES"]

#: the largest byte size (and element count) of one array: NumPy's and the kernels' limit
MAX_BYTES = int(np.iinfo(np.int64).max)

_SUFFIXES = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_detected = None  # cached result of _detect_memory()


def _human(nbytes: int) -> str:
    """1234567 -> '1.2 MiB' (binary units, like NumPy's own MemoryError message)."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1024 or unit == "EiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{nbytes} B"  # pragma: no cover


def _parse_bytes(text: str) -> int:
    """'8G', '512M', '1.5T', '4096' (also '8GiB', '8gb') -> bytes; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([KMGT]?)(?:I?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _SUFFIXES[match.group(2).upper()])


def _read_int(path: str):
    """The integer in a one-line file (cgroup limits), None if absent or 'max'."""
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
        return int(text)
    except (OSError, ValueError):
        return None


def _detect_memory() -> int:
    """RAM + swap, capped by the cgroup (container) limit; 0 when it cannot be told."""
    total = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            kib = {line.split(":")[0]: int(line.split()[1]) for line in f if ":" in line}
        total = (kib["MemTotal"] + kib.get("SwapTotal", 0)) * 1024
    except (OSError, KeyError, ValueError, IndexError):
        try:
            total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            total = 0
    # cgroup v2, then v1: a container may get less than the machine has
    limit = _read_int("/sys/fs/cgroup/memory.max")
    if limit is not None:
        limit += _read_int("/sys/fs/cgroup/memory.swap.max") or 0
    else:
        limit = _read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes")
    if limit is not None and 0 < limit < (total or MAX_BYTES):
        total = limit
    return max(int(total), 0)


def memory_limit() -> int:
    """Bytes one allocation may take at most (0: no limit); see the module docstring."""
    global _detected
    override = os.environ.get("TGE_MEMORY_LIMIT", "").strip()
    if override:
        try:
            return max(_parse_bytes(override), 0)
        except ValueError:
            pass  # a malformed value is ignored: the detected size applies
    if _detected is None:
        _detected = _detect_memory()
    return _detected


def check_allocation(shape, dtype, what: str) -> int:
    """Refuse an array of ``shape`` and ``dtype`` that could never be allocated.

    Returns its size in bytes.  Raises ValueError when the element count or the byte size
    overflows a signed 64-bit size, MemoryError when it exceeds :func:`memory_limit`;
    ``what`` (e.g. "zeros", "matmul output") starts the message.
    """
    shape = tuple(int(s) for s in shape)
    itemsize = np.dtype(dtype).itemsize
    count = math.prod(shape)  # Python ints: exact, never wraps
    nbytes = count * itemsize
    if count > MAX_BYTES or nbytes > MAX_BYTES:
        raise ValueError(
            f"{what}: shape {shape} ({count} elements of {np.dtype(dtype)}, {nbytes} bytes) is "
            f"larger than any array can be (at most 2**63 - 1 bytes)"
        )
    limit = memory_limit()
    if limit and nbytes > limit:
        raise MemoryError(
            f"{what}: shape {shape} of {np.dtype(dtype)} needs {_human(nbytes)}, more than the "
            f"{_human(limit)} of memory this machine has (RAM + swap; set TGE_MEMORY_LIMIT to "
            f"change the limit)"
        )
    return nbytes
