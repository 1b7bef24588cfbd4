"""The IDX file format (MNIST, Fashion-MNIST, EMNIST, ...), read and written with NumPy.

An IDX file is a big-endian header followed by the raw array:

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions, d
    then        d sizes, each a big-endian uint32
    then        prod(sizes) elements, big-endian, C order

MNIST's images file has magic number 2051 (0x00000803: uint8, 3 dims) and sizes
(n, 28, 28); its labels file has 2049 (0x00000801: uint8, 1 dim) and size (n,).
Files may be gzip-compressed (recognised by their first two bytes, whatever the name).
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "write_idx", "IDX_TYPES"]

# type code -> big-endian NumPy dtype
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is a gzip file. Corrupt gzip -> ValueError."""
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:   # truncated stream, bad CRC, bad header
        raise ValueError(f"{path}: corrupt or truncated gzip file ({e})") from None


def read_idx(path, expected_magic=None, expected_shape=None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a NumPy array.

    path: str or Path. expected_magic: optional int (2051 for MNIST images, 2049 for
    labels) that the header must carry. expected_shape: optional tuple of sizes, with None
    for "any" (e.g. ``(None, 28, 28)``).

    Returns an array of the file's shape in native byte order: uint8 for MNIST files
    (other IDX types give int8, int16, int32, float32, float64).

    Raises FileNotFoundError when the file is missing and ValueError, naming the file,
    when the header is malformed (non-zero leading bytes, unknown type code, zero
    dimensions), the magic number or shape is not the expected one, or the data is shorter
    or longer than the header announces (a truncated or wrong file).
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes is too short for an IDX header (need at least 4)")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (first two bytes are {data[0]:#04x} {data[1]:#04x}, expected 0 0)")
    magic = int.from_bytes(data[:4], "big")
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX element type {type_code:#04x} (magic number {magic})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions (magic number {magic})")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: magic number is {magic}, expected {expected_magic}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, the {ndim}-d header needs {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if expected_shape is not None:
        ok = len(shape) == len(expected_shape) and all(
            e is None or e == s for s, e in zip(shape, expected_shape))
        if not ok:
            want = tuple("any" if e is None else e for e in expected_shape)
            raise ValueError(f"{path}: IDX sizes are {shape}, expected {want}")
    dtype = IDX_TYPES[type_code]
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(data) - header
    if have < need:
        raise ValueError(f"{path}: truncated IDX data: header announces {shape} "
                         f"({need} bytes of data) but only {have} bytes follow")
    if have > need:
        raise ValueError(f"{path}: {have - need} unexpected bytes after the IDX data "
                         f"(header announces {shape}, {need} bytes); wrong or damaged file")
    arr = np.frombuffer(data, dtype=dtype, count=need // dtype.itemsize, offset=header)
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def write_idx(path, array, compress=None) -> None:
    """Write ``array`` as an IDX file (handy for tests and for saving MNIST-like data).

    array: any shape with at least one dimension; dtype uint8, int8, int16, int32,
    float32 or float64 (others are refused with ValueError). compress: gzip when True;
    when None, gzip if the name ends in ".gz".
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"write_idx: dtype {array.dtype} has no IDX type code "
                         f"(use one of uint8, int8, int16, int32, float32, float64)")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: need 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, codes[native], array.ndim])
    header += b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(payload)
    os.replace(tmp, path)
