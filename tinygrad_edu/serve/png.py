"""A small PNG reader and writer (zlib only), enough for digit images.

    decode_png(data: bytes) -> np.ndarray   (H, W) uint8 grey, (H, W, 3) RGB or (H, W, 4) RGBA
    encode_png(image) -> bytes              (H, W) uint8 grey or (H, W, 3) / (H, W, 4) uint8
    to_grey(image) -> (H, W) float32 in [0, 1]

A PNG is an 8-byte signature and chunks (length, type, data, CRC). IHDR gives width, height,
bit depth and colour type; the IDAT chunks, joined, are one zlib stream holding the rows, each
prefixed by a filter byte (0 none, 1 sub, 2 up, 3 average, 4 Paeth) that says how the row's
bytes were predicted from the left and upper neighbours. We read 8-bit (and 16-bit, reduced to
8) grey, grey+alpha, RGB and RGBA, and 1/2/4-bit grey, non-interlaced; anything else raises
ValueError naming it.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["decode_png", "encode_png", "to_grey"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}   # colour type -> samples per pixel (3, palette, is refused)


def _chunks(data: bytes):
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise ValueError("PNG: a chunk runs past the end of the file (truncated?)")
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"PNG: bad CRC in chunk {kind!r} (damaged file)")
        yield kind, body
        pos += 12 + length


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> np.ndarray:
    """Undo the per-row filters -> (height, stride) uint8."""
    if len(raw) != height * (stride + 1):
        raise ValueError(f"PNG: image data holds {len(raw)} bytes, expected {height * (stride + 1)}")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 0xFF
        elif kind in (1, 3, 4):
            cur = np.zeros(stride, dtype=np.int32)
            for x in range(stride):   # each byte depends on the one bpp to its left
                a = cur[x - bpp] if x >= bpp else 0
                b = prev[x]
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) >> 1
                else:
                    c = prev[x - bpp] if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (line[x] + pred) & 0xFF
        else:
            raise ValueError(f"PNG: unknown filter type {kind} in row {y}")
        out[y] = cur
        prev = cur
    return out


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> uint8 pixels: (H, W) grey, (H, W, 2) grey+alpha, (H, W, 3) RGB, (H, W, 4) RGBA."""
    if not data.startswith(SIGNATURE):
        raise ValueError("PNG: not a PNG file (bad signature)")
    header, idat = None, []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        raise ValueError("PNG: missing IHDR or IDAT chunk")
    width, height, depth, colour, _, _, interlace = header
    if colour not in _CHANNELS:
        raise ValueError(f"PNG: colour type {colour} (palette) is not supported; save the image as grey or RGB")
    if interlace:
        raise ValueError("PNG: interlaced images are not supported")
    channels = _CHANNELS[colour]
    if depth not in (8, 16) and not (colour == 0 and depth in (1, 2, 4)):
        raise ValueError(f"PNG: bit depth {depth} with colour type {colour} is not supported")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise ValueError(f"PNG: the image data does not decompress ({exc})") from None
    bits = depth * channels
    stride = (width * bits + 7) // 8
    rows = _unfilter(raw, height, stride, max(1, bits // 8))
    if depth < 8:
        pixels = np.unpackbits(rows, axis=1)[:, :width * depth].reshape(height, width, depth)
        values = (pixels * (1 << np.arange(depth - 1, -1, -1))).sum(axis=2)
        return (values * (255 // ((1 << depth) - 1))).astype(np.uint8)
    if depth == 16:
        rows = rows.reshape(height, -1, 2)[:, :, 0]   # keep the high byte
    image = rows.reshape(height, width, channels)
    return image[:, :, 0] if channels == 1 else image


def encode_png(image) -> bytes:
    """uint8 (H, W), (H, W, 3) or (H, W, 4) -> PNG bytes (filter 0 on every row)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"encode_png: expected uint8 (H, W), (H, W, 3) or (H, W, 4), got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    colour = 0 if image.ndim == 2 else (2 if image.shape[2] == 3 else 6)
    rows = image.reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def to_grey(image: np.ndarray) -> np.ndarray:
    """Decoded pixels -> (H, W) float32 in [0, 1]; colour by ITU-R 601 luma, alpha composited on black."""
    img = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    if img.ndim == 2:
        return img
    alpha = img[:, :, -1] if img.shape[2] in (2, 4) else 1.0
    grey = img[:, :, 0] if img.shape[2] <= 2 else img[:, :, :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (grey * alpha).astype(np.float32)
