"""Reading safetensors files: header validation and loading, with NumPy alone.

The format and the promises are described in ``tinygrad_edu.utils.serialization`` (which
re-exports everything public here). This module holds the dtype tables, the header types and
the reader: ``read_header(path)`` validates the whole header against the file size before any
data is touched, and ``load_file(path)`` reads every tensor into memory it owns. A malformed
file raises ``ValueError`` naming the problem, never an out-of-bounds read, a
``RecursionError`` or a ``MemoryError`` from a hostile header.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# safetensors dtype name -> little-endian NumPy dtype of the bytes in the file.
# BF16 has no NumPy dtype: its bytes are read as uint16 and widened to float32 on load.
_FILE_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"),
    "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

# NumPy dtype (by its canonical name) -> safetensors dtype name, for writing.
_NUMPY_TO_FILE: dict[str, str] = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint64": "U64",
    "uint32": "U32",
    "uint16": "U16",
    "uint8": "U8",
    "bool": "BOOL",
}

# The reference implementation refuses headers above 100 MB; so do we. A real header is a
# few hundred bytes per tensor, so this only ever trips on corrupt or hostile files.
MAX_HEADER_BYTES = 100_000_000

_METADATA_KEY = "__metadata__"


@dataclass(frozen=True)
class TensorInfo:
    """One header entry: safetensors ``dtype`` name, ``shape`` and ``data_offsets``
    (begin, end) in bytes relative to the start of the data section."""

    dtype: str
    shape: tuple[int, ...]
    data_offsets: tuple[int, int]

    @property
    def nbytes(self) -> int:
        return self.data_offsets[1] - self.data_offsets[0]


@dataclass(frozen=True)
class SafetensorsHeader:
    """A validated safetensors header.

    ``tensors``: name -> TensorInfo, in the order of the JSON header; ``metadata``: the
    ``__metadata__`` strings ({} when absent); ``header_size``: N, the JSON length in bytes;
    ``data_start``: 8 + N, where the data section begins in the file; ``file_size``.
    """

    tensors: dict[str, TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)
    header_size: int = 0
    data_start: int = 8
    file_size: int = 8



def _bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


# ----------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------


def _malformed(path: str, what: str) -> ValueError:
    return ValueError(f"safetensors: {what} in file {path!r}; the file is truncated or malformed")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r} in the JSON header")
        out[k] = v
    return out


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _parse_header(path: str, f) -> SafetensorsHeader:
    """Read and validate the header of the open binary file ``f`` (positioned anywhere)."""
    file_size = os.fstat(f.fileno()).st_size
    if file_size < 8:
        raise _malformed(path, f"the file is {file_size} bytes long, shorter than the 8-byte header length")
    f.seek(0)
    n = int.from_bytes(f.read(8), "little")
    if n > MAX_HEADER_BYTES:
        raise _malformed(path, f"the header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit")
    if 8 + n > file_size:
        raise _malformed(
            path, f"the header length {n} runs past the end of the {file_size}-byte file"
        )
    raw = f.read(n)
    if len(raw) != n:
        raise _malformed(path, f"only {len(raw)} of the {n} header bytes could be read")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as e:
        raise _malformed(path, f"the header is not valid UTF-8 JSON ({e})") from None
    except RecursionError:
        raise _malformed(path, "the header JSON is nested too deeply to be a safetensors header") from None
    if not isinstance(header, dict):
        raise _malformed(path, f"the header is a JSON {type(header).__name__}, not an object")

    metadata = header.pop(_METADATA_KEY, None)
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise _malformed(path, f"{_METADATA_KEY!r} is not an object of string -> string")

    data_start = 8 + n
    data_size = file_size - data_start
    tensors: dict[str, TensorInfo] = {}
    for name, entry in header.items():
        if name == "":
            raise _malformed(path, "a tensor has an empty name")
        if not isinstance(entry, dict):
            raise _malformed(path, f"the entry for {name!r} is not an object")
        missing = {"dtype", "shape", "data_offsets"} - entry.keys()
        if missing:
            raise _malformed(path, f"the entry for {name!r} lacks {sorted(missing)}")
        extra = entry.keys() - {"dtype", "shape", "data_offsets"}
        if extra:
            raise _malformed(path, f"the entry for {name!r} has unknown fields {sorted(extra)}")
        dtype = entry["dtype"]
        if not isinstance(dtype, str) or dtype not in _FILE_DTYPES:
            raise _malformed(
                path,
                f"{name!r} has unknown dtype {dtype!r} (this reader knows {', '.join(_FILE_DTYPES)})",
            )
        shape = entry["shape"]
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise _malformed(path, f"{name!r} has shape {shape!r}, not a list of non-negative integers")
        offsets = entry["data_offsets"]
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)):
            raise _malformed(path, f"{name!r} has data_offsets {offsets!r}, not [begin, end] integers")
        begin, end = offsets
        if begin < 0 or end < begin:
            raise _malformed(path, f"{name!r} has data_offsets {offsets!r}: need 0 <= begin <= end")
        expected = math.prod(shape) * _FILE_DTYPES[dtype].itemsize  # Python ints: no overflow
        if end - begin != expected:
            raise _malformed(
                path,
                f"{name!r} data_offsets {offsets!r} span {end - begin} bytes but dtype {dtype} "
                f"and shape {shape} need {expected}",
            )
        if end > data_size:
            raise ValueError(
                f"safetensors: {name!r} data_offsets {offsets!r} exceed the {data_size}-byte data "
                f"section of file {path!r}; the file is truncated or malformed"
            )
        tensors[name] = TensorInfo(dtype, tuple(shape), (begin, end))

    # The tensors must tile the data section: sorted by offset, each starts where the last ended.
    pos = 0
    prev = None
    for name, info in sorted(tensors.items(), key=lambda kv: kv[1].data_offsets):
        begin, end = info.data_offsets
        if begin < pos:
            raise _malformed(path, f"{name!r} data_offsets {list(info.data_offsets)} overlap {prev!r}")
        if begin > pos:
            raise _malformed(path, f"the data section has a gap of {begin - pos} bytes before {name!r}")
        pos = end
        prev = name
    if pos != data_size:
        raise _malformed(
            path, f"the tensors cover {pos} bytes but the data section holds {data_size} bytes"
        )
    return SafetensorsHeader(tensors, dict(metadata), n, data_start, file_size)


def read_header(path: str | os.PathLike) -> SafetensorsHeader:
    """Read and validate a safetensors header without reading any tensor data.

    Returns a ``SafetensorsHeader`` (``.tensors``: name -> TensorInfo(dtype, shape,
    data_offsets); ``.metadata``: str -> str). Raises ``ValueError`` for any malformed file
    (see ``load_file``) and ``OSError`` if it cannot be opened.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        return _parse_header(path, f)


def _read_exact(f, buf: np.ndarray, path: str, name: str) -> None:
    view = memoryview(buf).cast("B") if buf.ndim else memoryview(buf.reshape(1)).cast("B")
    got = 0
    while got < len(view):
        k = f.readinto(view[got:])
        if not k:
            raise ValueError(
                f"safetensors: file {path!r} ended while reading {name!r} (it shrank while being read)"
            )
        got += k


def load_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a safetensors file into a dict of name -> NumPy array (in header order).

    Every array owns its memory (nothing stays tied to the file) and is in native byte order.
    Dtypes: F64/F32/F16 -> float64/float32/float16, I*/U* -> the matching integers,
    BOOL -> bool, and BF16 -> **float32** (NumPy has no bfloat16; the conversion is exact).

    Raises ``ValueError`` with a message naming the tensor and the problem when the file is
    shorter than 8 bytes, the header length is absurd or runs past the end, the header is not
    a UTF-8 JSON object, an entry has an unknown dtype, a bad shape, data_offsets whose size
    disagrees with dtype and shape or that leave the data section, tensors overlap, or the
    tensors do not cover the data section exactly. All of this is checked before any data is
    read, so a malformed file never causes an out-of-bounds read.
    """
    path = os.fspath(path)
    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as f:
        header = _parse_header(path, f)
        for name, info in header.tensors.items():
            raw_dtype = _FILE_DTYPES[info.dtype]
            if info.dtype == "BOOL":
                raw_dtype = np.dtype("u1")  # read bytes, check they are 0/1, then view as bool
            arr = np.empty(info.shape, dtype=raw_dtype)
            if arr.nbytes:
                f.seek(header.data_start + info.data_offsets[0])
                _read_exact(f, arr, path, name)
            if info.dtype == "BOOL":
                if arr.size and arr.max() > 1:
                    raise ValueError(
                        f"safetensors: BOOL tensor {name!r} in file {path!r} holds bytes other than 0 and 1"
                    )
                arr = arr.view(np.bool_)
            elif info.dtype == "BF16":
                arr = _bf16_bits_to_float32(arr)
            elif sys.byteorder == "big" and arr.dtype.itemsize > 1:
                arr = arr.astype(arr.dtype.newbyteorder("="))
            out[name] = arr
    return out


