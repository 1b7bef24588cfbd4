"""Saving and loading state dicts in the safetensors format, with NumPy alone.

The safetensors format (the one Hugging Face checkpoints use) is deliberately simple, and
loading one never runs code (unlike pickle):

    bytes 0..8        N, the length of the header: unsigned 64-bit little-endian
    bytes 8..8+N      the header: UTF-8 JSON object, padded with spaces
    bytes 8+N..end    the data section: every tensor's raw bytes, little-endian, C order

The header maps each tensor name to ``{"dtype": "F32", "shape": [2, 3],
"data_offsets": [begin, end]}`` (offsets relative to the start of the data section) and may
hold a ``"__metadata__"`` object of string -> string. The tensors must tile the data section
exactly: no overlap, no gap, nothing left over.

Writing (``save_file``) is atomic: the bytes go to a temporary file in the target's folder,
which is flushed and fsync'ed, then renamed onto the target with ``os.replace`` and the folder
is fsync'ed. A crash, a kill or an exception at any moment leaves either the complete old file
or the complete new one at ``path``, never a mixture.

Reading (``load_file`` / ``read_header``) checks the whole header against the file size
before touching any data, and raises ``ValueError`` naming the problem for any malformed file.

Public names:
    save_file(tensors, path, metadata=None)   dict[str, np.ndarray] -> file
    load_file(path)                            file -> dict[str, np.ndarray]
    read_header(path)                          file -> SafetensorsHeader (no data read)
    save(state_dict, path) / load(path)        the package-level wrappers (``tge.save``/``tge.load``)
    BFloat16                                   wraps raw bfloat16 bits (uint16) for writing BF16
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BFloat16",
    "SafetensorsHeader",
    "TensorInfo",
    "load",
    "load_file",
    "read_header",
    "save",
    "save_file",
]

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

# Data is written in pieces of this many bytes (keeps peak memory flat for big arrays).
_CHUNK_BYTES = 16 * 1024 * 1024

_METADATA_KEY = "__metadata__"


# ----------------------------------------------------------------------------------------
# Small public types
# ----------------------------------------------------------------------------------------


class BFloat16:
    """Raw bfloat16 bits, so that ``save_file`` writes a tensor with dtype ``"BF16"``.

    NumPy has no bfloat16 type, so a BF16 tensor to be written is given as its 16-bit
    patterns: ``BFloat16(bits)`` with ``bits`` a uint16 array of any shape, or
    ``BFloat16.from_float32(x)`` which rounds a float array to the nearest bfloat16 (ties to
    even; NaN stays NaN). Loading a BF16 tensor gives float32 (exact: every bfloat16 is a
    float32), so ``load_file`` never returns this type.
    """

    __slots__ = ("bits",)

    def __init__(self, bits: np.ndarray):
        bits = np.asarray(bits)
        if bits.dtype != np.uint16:
            raise TypeError(
                f"BFloat16 takes the raw 16-bit patterns as a uint16 array, got dtype {bits.dtype}; "
                "use BFloat16.from_float32(x) to convert floats"
            )
        self.bits = bits

    @classmethod
    def from_float32(cls, x: Any) -> "BFloat16":
        """Round float values (any float dtype, any shape) to bfloat16, ties to even."""
        f = np.asarray(x, dtype=np.float32, order="C")
        u = f.view(np.uint32).astype(np.uint64)
        # Round to nearest even on the 16 dropped bits: add 0x7FFF plus the lowest kept bit.
        rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
        # A NaN whose payload sits only in the dropped bits would round to infinity: keep it NaN.
        nan = np.isnan(f)
        if nan.any():
            rounded = np.where(nan, ((u >> 16).astype(np.uint16) | np.uint16(0x0040)), rounded)
        return cls(rounded.astype(np.uint16))

    def to_float32(self) -> np.ndarray:
        """The exact float32 values of these bfloat16 bits (same shape)."""
        return _bf16_bits_to_float32(self.bits)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.bits.shape)

    def __repr__(self) -> str:
        return f"BFloat16(shape={self.shape})"


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


# ----------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------


def _bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def _prepare_tensor(name: Any, value: Any) -> tuple[str, np.ndarray]:
    """Check one (name, array) pair; return (safetensors dtype, contiguous little-endian array)."""
    if isinstance(value, BFloat16):
        arr = value.bits
        file_dtype = "BF16"
    elif isinstance(value, np.ndarray):
        arr = value
        if arr.dtype.name == "bfloat16":  # ml_dtypes.bfloat16, should a user have it
            arr = arr.view(np.uint16)
            file_dtype = "BF16"
        else:
            file_dtype = _NUMPY_TO_FILE.get(arr.dtype.name)
            if file_dtype is None or arr.dtype.kind not in "fiub":
                supported = ", ".join(sorted(_NUMPY_TO_FILE))
                raise TypeError(
                    f"safetensors: tensor {name!r} has dtype {arr.dtype}, which the format cannot "
                    f"store; supported NumPy dtypes: {supported} (and BFloat16 for bfloat16)"
                )
    else:
        raise TypeError(
            f"safetensors: the value for {name!r} is a {type(value).__name__}, expected a NumPy "
            "array (use save() for Tensors, or np.asarray(value))"
        )
    target = _FILE_DTYPES[file_dtype]
    # Native-endian arrays on a big-endian host, or explicitly big-endian ones, are swapped.
    arr = np.asarray(arr, dtype=target, order="C")
    return file_dtype, arr


def _normalise_tensors(tensors: Any) -> dict[str, tuple[str, np.ndarray]]:
    """Validate names and values; return name -> (dtype name, contiguous LE array)."""
    if isinstance(tensors, Mapping):
        items = list(tensors.items())
    else:
        try:
            items = [tuple(item) for item in tensors]
        except TypeError:
            raise TypeError(
                f"safetensors: expected a dict of name -> NumPy array, got {type(tensors).__name__}"
            ) from None
        for item in items:
            if len(item) != 2:
                raise TypeError("safetensors: expected (name, array) pairs or a dict of name -> array")
    out: dict[str, tuple[str, np.ndarray]] = {}
    for name, value in items:
        if not isinstance(name, str):
            raise TypeError(f"safetensors: tensor names must be str, got {type(name).__name__} {name!r}")
        if name == "":
            raise ValueError("safetensors: tensor names must be non-empty")
        if name == _METADATA_KEY:
            raise ValueError(f"safetensors: {_METADATA_KEY!r} is reserved and cannot name a tensor")
        if name in out:
            raise ValueError(f"safetensors: tensor name {name!r} appears more than once")
        _check_utf8(name, "tensor name")
        out[name] = _prepare_tensor(name, value)
    return out


def _check_utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"safetensors: {what} {text!r} is not valid Unicode text (lone surrogate)") from None


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise TypeError(f"safetensors: metadata must be a dict of str -> str, got {type(metadata).__name__}")
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                f"safetensors: metadata must map str -> str, got {type(k).__name__} {k!r} -> "
                f"{type(v).__name__} {v!r}"
            )
        _check_utf8(k, "metadata key")
        _check_utf8(v, "metadata value")
    return dict(metadata)


def _build_layout(
    prepared: dict[str, tuple[str, np.ndarray]], metadata: dict[str, str] | None
) -> tuple[bytes, list[np.ndarray]]:
    """Return (the 8-byte length + padded JSON header, arrays in data-section order).

    The header's entries are sorted by name. The data section is ordered by element size,
    largest first, then by name (as the reference implementation does): since the data
    section starts at a multiple of 8, every tensor then starts at a multiple of its own
    element size, so readers that map the file can use the bytes in place.
    """
    order = sorted(prepared, key=lambda n: (-prepared[n][1].dtype.itemsize, n))
    offsets: dict[str, tuple[int, int]] = {}
    pos = 0
    for name in order:
        nbytes = prepared[name][1].nbytes
        offsets[name] = (pos, pos + nbytes)
        pos += nbytes
    header: dict[str, Any] = {}
    if metadata:
        header[_METADATA_KEY] = metadata
    for name in sorted(prepared):
        dtype_name, arr = prepared[name]
        begin, end = offsets[name]
        header[name] = {"dtype": dtype_name, "shape": list(arr.shape), "data_offsets": [begin, end]}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text, [prepared[n][1] for n in order]


def _write_all(fd: int, data: Any) -> None:
    """Write a bytes-like object fully (os.write may write less than asked)."""
    view = memoryview(data).cast("B")
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_array(fd: int, arr: np.ndarray) -> None:
    flat = arr.reshape(-1).view(np.uint8)
    for start in range(0, flat.size, _CHUNK_BYTES):
        _write_all(fd, flat[start : start + _CHUNK_BYTES])


def _fsync_dir(folder: str) -> None:
    """Make the rename durable. Not every platform/filesystem can fsync a directory."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        dfd = os.open(folder, flags)
    except OSError:
        return  # e.g. Windows, where directories cannot be opened this way
    try:
        os.fsync(dfd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(dfd)


def _open_temp_beside(path: str) -> tuple[int, str]:
    """Create a new, empty, uniquely named file in the folder of ``path``."""
    folder, base = os.path.split(path)
    if not os.path.isdir(folder or "."):
        raise FileNotFoundError(f"save: the folder {folder!r} of {path!r} does not exist")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp  # 0o666 & ~umask, like a plain open()
        except FileExistsError:
            continue
    raise FileExistsError(f"save: could not create a temporary file beside {path!r}")


def save_file(tensors: Mapping[str, np.ndarray], path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``tensors`` (name -> NumPy array) to ``path`` in the safetensors format, atomically.

    Args:
        tensors: name -> array. Names are non-empty str (``"__metadata__"`` is reserved).
            Arrays may have any shape (0-d and empty included) and one of the dtypes float64,
            float32, float16, int64/32/16/8, uint64/32/16/8, bool; a ``BFloat16`` value
            is written as BF16. Non-contiguous or big-endian arrays are converted; the
            caller's arrays are never modified. An iterable of (name, array) pairs also works.
        path: the file to write; its folder must exist. Written at exactly this path.
        metadata: optional str -> str pairs stored as the header's ``__metadata__``.

    Raises:
        TypeError: a name that is not a str, a value that is not a NumPy array, an
            unsupported dtype, or metadata that is not str -> str.
        ValueError: an empty, reserved or repeated name.
        OSError: the file system refused; the old file at ``path`` is then untouched.

    Atomicity: everything is written to a temporary file ``.NAME.<random>.tmp`` in the same
    folder, flushed and fsync'ed, then renamed over ``path`` (``os.replace``) and the folder
    fsync'ed. On any exception the temporary file is removed and the old ``path`` is left as
    it was. A process killed outright (SIGKILL, power loss) cannot clean up, so it may leave
    a stray ``.NAME.*.tmp`` file behind, but ``path`` itself is always complete.
    """
    prepared = _normalise_tensors(tensors)
    meta = _check_metadata(metadata)
    head, arrays = _build_layout(prepared, meta)
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path!r} is a folder; give the path of the file to write")
    fd, tmp = _open_temp_beside(path)
    try:
        try:
            _write_all(fd, head)
            for arr in arrays:
                _write_array(fd, arr)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: the partial file must not outlive the failed save.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(os.path.dirname(path) or ".")


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


# ----------------------------------------------------------------------------------------
# Package-level wrappers: tge.save / tge.load
# ----------------------------------------------------------------------------------------


def save(state_dict: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Save a state dict (name -> NumPy array or Tensor) to ``path`` as safetensors, atomically.

    Values may be NumPy arrays, ``BFloat16`` bits, or anything with a ``.numpy()`` method
    (a ``tinygrad_edu.Tensor``, on any device: ``.numpy()`` brings it to the host). Typical
    use: ``tge.save(model.state_dict(), "model.safetensors")``. See ``save_file`` for the
    dtypes, the errors and the atomicity guarantee; no pickle is involved, so the file can
    be shared and loaded safely.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a state dict (name -> array), got {type(state_dict).__name__}")
    arrays: dict[str, Any] = {}
    for name, value in state_dict.items():
        if isinstance(value, (np.ndarray, BFloat16)):
            arrays[name] = value
        elif callable(getattr(value, "numpy", None)):
            arr = value.numpy()
            if not isinstance(arr, np.ndarray):
                arr = np.asarray(arr)
            arrays[name] = arr
        elif isinstance(value, np.generic):
            arrays[name] = np.asarray(value)
        else:
            raise TypeError(
                f"save: the value for {name!r} is a {type(value).__name__}; expected a NumPy "
                "array or a Tensor (an object with .numpy())"
            )
    save_file(arrays, path, metadata=metadata)


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load a safetensors file written by ``save`` (or any safetensors writer).

    Returns name -> NumPy array, ready for ``module.load_state_dict``. Same dtypes and errors
    as ``load_file``; BF16 tensors come back as float32.
    """
    return load_file(path)
