"""The PNG reader: every row filter, grey/RGB/RGBA/low bit depths, and damaged files."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from tinygrad_edu.serve.png import decode_png, encode_png, to_grey


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _filtered_png(image: np.ndarray, filters, colour: int, depth: int = 8, packed_rows=None) -> bytes:
    """Write a PNG whose row y uses filter ``filters[y % len]`` (the encoder side of the spec)."""
    height, width = image.shape[:2]
    rows = packed_rows if packed_rows is not None else image.reshape(height, -1).astype(np.int64)
    bpp = max(1, (depth * {0: 1, 2: 3, 4: 2, 6: 4}[colour]) // 8)
    raw, prev = b"", np.zeros(rows.shape[1], dtype=np.int64)
    for y, row in enumerate(rows):
        kind = filters[y % len(filters)]
        out = []
        for x, value in enumerate(row):
            a = row[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
            out.append((int(value) - int(pred)) & 0xFF)
        raw += bytes([kind] + out)
        prev = row

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    half = len(raw) // 2   # two IDAT chunks: they must be joined
    z = zlib.compress(raw)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", z[:half]) + chunk(b"IDAT", z[half:])
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("colour, channels", [(0, 1), (2, 3), (4, 2), (6, 4)])
def test_every_filter_and_colour_type_decodes(colour, channels):
    gen = np.random.default_rng(colour)
    shape = (9, 7) if channels == 1 else (9, 7, channels)
    image = gen.integers(0, 256, size=shape).astype(np.uint8)
    decoded = decode_png(_filtered_png(image, [0, 1, 2, 3, 4], colour))
    np.testing.assert_array_equal(decoded, image)


def test_low_bit_depth_grey_is_scaled_to_bytes():
    values = np.array([[0, 1, 2, 3, 3, 2, 1, 0, 1]], dtype=np.uint8)   # 2-bit samples
    bits = np.unpackbits(values[..., None], axis=2)[..., -2:].reshape(1, -1)
    packed = np.packbits(bits, axis=1).astype(np.int64)
    data = _filtered_png(values, [0], colour=0, depth=2, packed_rows=packed)
    np.testing.assert_array_equal(decode_png(data), values * 85)


def test_encode_decode_round_trip_and_grey_conversion():
    image = np.arange(28 * 28, dtype=np.int64).reshape(28, 28) % 256
    assert np.array_equal(decode_png(encode_png(image.astype(np.uint8))), image)
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., :3], rgba[..., 3] = 255, [[255, 0], [51, 255]]
    np.testing.assert_allclose(to_grey(decode_png(encode_png(rgba))), [[1, 0], [0.2, 1]], atol=1e-6)


def test_damaged_files_raise_value_errors():
    good = encode_png(np.zeros((3, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="bad signature"):
        decode_png(b"GIF89a....")
    broken = bytearray(good)
    broken[40] ^= 0xFF
    with pytest.raises(ValueError, match="CRC|decompress"):
        decode_png(bytes(broken))
    with pytest.raises(ValueError, match="truncated|missing"):
        decode_png(good[:30])
