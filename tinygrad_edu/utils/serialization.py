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

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .atomic_file import HardLinkError, NotARegularFileError, write_atomically
from .safetensors_reader import (
    _FILE_DTYPES,
    _METADATA_KEY,
    _NUMPY_TO_FILE,
    MAX_HEADER_BYTES,
    SafetensorsHeader,
    TensorInfo,
    _bf16_bits_to_float32,
    load_file,
    read_header,
)

__all__ = [
    "BFloat16",
    "HardLinkError",
    "MAX_HEADER_BYTES",
    "NotARegularFileError",
    "SafetensorsHeader",
    "TensorInfo",
    "load",
    "load_file",
    "read_header",
    "save",
    "save_file",
]

# Data is written in pieces of this many bytes (keeps peak memory flat for big arrays).
_CHUNK_BYTES = 16 * 1024 * 1024

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


# ----------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------


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

    What happens at ``path`` (details in ``tinygrad_edu.utils.atomic_file``):

    - Atomic: the bytes go to a temporary file ``.NAME.tge-PID-RANDOM.tmp`` in the target's
      folder, which is fsync'ed and renamed over the target; a crash, kill or exception at any
      moment leaves the complete old file or the complete new one, never a mixture. On an
      exception the temporary file is removed at once; one left by a killed process is
      removed by the next save to the same path.
    - A symbolic link is followed (chains and relative links too): the link stays, and the
      file it names gets the new contents.
    - An existing file keeps its permission bits (a 0600 checkpoint stays 0600) and, where
      the process may set them, its owner and group.
    - Refused with ``HardLinkError`` (an ``OSError``): a file with other hard links, whose
      other names would silently keep the old weights. Refused with
      ``NotARegularFileError``: a FIFO, socket or device. ``IsADirectoryError`` for a folder.
    """
    prepared = _normalise_tensors(tensors)
    meta = _check_metadata(metadata)
    head, arrays = _build_layout(prepared, meta)

    def write_body(fd: int) -> None:
        # Looked up at call time, so tests can slow the writes down to kill a save inside.
        _write_all(fd, head)
        for arr in arrays:
            _write_array(fd, arr)

    write_atomically(os.fspath(path), write_body, what="save")


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
