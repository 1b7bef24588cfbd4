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

__all__ = ["read_idx", "write_idx", "IDX_TYPES", "MAX_IDX_BYTES"]

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


# Reading stops with a clear error before allocating more than this for one file's data
# (MNIST's largest file holds 47 MB); pass max_bytes= to read_idx for bigger sets.
MAX_IDX_BYTES = 1 << 30
_READ_CHUNK = 1 << 22


def _corrupt_gzip(path: Path, e: Exception) -> ValueError:
    return ValueError(f"{path}: corrupt or truncated gzip file ({e})")


def _read_into(stream, buf: memoryview, path: Path, compressed: bool) -> int:
    """Fill ``buf`` from ``stream`` in chunks; return the number of bytes read (short at EOF)."""
    got = 0
    try:
        while got < len(buf):
            k = stream.readinto(buf[got: got + _READ_CHUNK])
            if not k:
                break
            got += k
    except (EOFError, OSError, zlib.error) as e:   # truncated stream, bad CRC, bad header
        if not compressed:
            raise
        raise _corrupt_gzip(path, e) from None
    return got


def read_idx(path, expected_magic=None, expected_shape=None, max_bytes=None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a NumPy array.

    path: str or Path. expected_magic: optional int (2051 for MNIST images, 2049 for
    labels) that the header must carry. expected_shape: optional tuple of sizes, with None
    for "any" (e.g. ``(None, 28, 28)``). max_bytes: the most data bytes the file may
    announce (default ``MAX_IDX_BYTES``, 1 GiB).

    Returns an array of the file's shape in native byte order: uint8 for MNIST files
    (other IDX types give int8, int16, int32, float32, float64).

    The header is read and checked first; the data is then streamed (decompressed piece by
    piece) into one array of the announced size, so memory stays at that size whatever the
    file holds: a gzip file that inflates to more than its header announces is refused
    after reading one byte past the announced end, not decompressed whole.

    Raises FileNotFoundError when the file is missing and ValueError, naming the file,
    when the header is malformed (non-zero leading bytes, unknown type code, zero
    dimensions), the magic number or shape is not the expected one, the announced data is
    larger than ``max_bytes``, the gzip stream is corrupt, or the data is shorter or longer
    than the header announces (a truncated or wrong file).
    """
    path = Path(path)
    limit = MAX_IDX_BYTES if max_bytes is None else int(max_bytes)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        with stream:
            return _read_stream(stream, path, compressed, expected_magic, expected_shape, limit)


def _read_stream(stream, path, compressed, expected_magic, expected_shape, limit):
    head = bytearray(4)
    n = _read_into(stream, memoryview(head), path, compressed)
    if n < 4:
        raise ValueError(f"{path}: {n} bytes is too short for an IDX header (need at least 4)")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(f"{path}: not an IDX file (first two bytes are {head[0]:#04x} {head[1]:#04x}, expected 0 0)")
    magic = int.from_bytes(head, "big")
    type_code, ndim = head[2], head[3]
    if type_code not in IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX element type {type_code:#04x} (magic number {magic})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions (magic number {magic})")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: magic number is {magic}, expected {expected_magic}")
    header = 4 + 4 * ndim
    sizes = bytearray(4 * ndim)
    n = _read_into(stream, memoryview(sizes), path, compressed)
    if n < len(sizes):
        raise ValueError(f"{path}: truncated IDX header ({4 + n} bytes, the {ndim}-d header needs {header})")
    shape = tuple(int.from_bytes(sizes[4 * i: 4 * i + 4], "big") for i in range(ndim))
    if expected_shape is not None:
        ok = len(shape) == len(expected_shape) and all(
            e is None or e == s for s, e in zip(shape, expected_shape))
        if not ok:
            want = tuple("any" if e is None else e for e in expected_shape)
            raise ValueError(f"{path}: IDX sizes are {shape}, expected {want}")
    dtype = IDX_TYPES[type_code]
    need = 1
    for s in shape:
        need *= s  # Python ints: no overflow
    need *= dtype.itemsize
    if need > limit:
        raise ValueError(f"{path}: the IDX header announces {shape} ({need} bytes of data), more than the "
                         f"{limit}-byte limit; pass max_bytes= to read_idx if the file is really that big")
    if not compressed:  # the file size tells at once whether the data is all there
        have = os.fstat(stream.fileno()).st_size - header
        if have < need:
            raise ValueError(f"{path}: truncated IDX data: header announces {shape} "
                             f"({need} bytes of data) but only {have} bytes follow")
        if have > need:
            raise ValueError(f"{path}: {have - need} unexpected bytes after the IDX data "
                             f"(header announces {shape}, {need} bytes); wrong or damaged file")
    arr = np.empty(need // dtype.itemsize, dtype=dtype)
    got = _read_into(stream, memoryview(arr).cast("B"), path, compressed) if need else 0
    if got < need:
        raise ValueError(f"{path}: truncated IDX data: header announces {shape} "
                         f"({need} bytes of data) but only {got} bytes follow")
    extra = _read_into(stream, memoryview(bytearray(1)), path, compressed)
    if extra:
        raise ValueError(f"{path}: unexpected bytes after the IDX data "
                         f"(header announces {shape}, {need} bytes); wrong or damaged file")
    return arr.astype(dtype.newbyteorder("="), copy=False).reshape(shape)


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
