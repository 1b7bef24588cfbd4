"""Synthetic handwritten-looking digits that ship with the package (no download).

The digits 0-9 are drawn from a small built-in *stroke font*: every digit is one or more
pen strokes (lines, elliptical arcs and cubic Bezier curves) in a box one unit tall, and
most digits come in several style variants (a 7 with or without a crossbar, a 1 with or
without a flag and a foot, an open or a closed 4, a one-stroke or a two-loop 8, ...).

Each image is made in the way MNIST's were, with random choices along the way:

1. pick a variant of the digit and sample its strokes as dense points (about 80 per unit
   of pen travel);
2. bend the points with a smooth random warp (a few random sine waves), move each stroke
   a little on its own, then apply a random affine map: rotation, slant (shear) and
   width-to-height ratio;
3. size-normalise like MNIST: the ink's bounding box is scaled (aspect kept) so that its
   longer side is about 20 pixels, and the ink's centre of mass is moved to the centre of
   the 28 x 28 frame (plus a small random offset);
4. render: every point drops its share of "ink" (its length of pen travel, times a pen
   pressure that varies smoothly along the stroke) onto the four nearest pixels
   (bilinear splatting); a Gaussian blur whose width follows the random pen thickness
   turns that ink line into a soft ridge, and a soft threshold on the ridge gives a solid
   stroke with anti-aliased edges, one to two pixels of ramp;
5. a little multiplicative noise on the ink, then quantise to uint8 (0 = background,
   255 = ink, background exactly 0 as in MNIST).

Everything is vectorised over the images of one style variant, so 60,000 images take a
couple of seconds on one core. The same ``seed`` gives the same images.
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_edu.data.loader import TensorDataset

__all__ = ["synthetic_digits", "synthetic_digits_split", "SyntheticDigits"]

IMAGE_SIZE = 28
_STEP = 0.0125          # spacing of template points along a stroke, in glyph units (height 1)
_WARP_WAVES = 3         # sine waves in the smooth random warp
_MAX_STROKES = 3        # the most strokes any glyph has
_CHUNK = 4096           # images blurred at once (bounds memory)


# --------------------------------------------------------------------------------------
# The stroke font. Coordinates: x to the right, y DOWN, glyph about 1 unit tall.
# A piece is a small polyline; a stroke is pieces joined end to end; a glyph is strokes.
# --------------------------------------------------------------------------------------
def _line(x0, y0, x1, y1):
    t = np.linspace(0.0, 1.0, 64)[:, None]
    return (1 - t) * np.array([x0, y0]) + t * np.array([x1, y1])


def _arc(cx, cy, rx, ry, a0, a1):
    """Elliptical arc from angle a0 to a1 (degrees, counter-clockwise as seen on the page:
    0 = right, 90 = top, 180 = left, 270 = bottom)."""
    a = np.radians(np.linspace(a0, a1, 256))
    return np.stack([cx + rx * np.cos(a), cy - ry * np.sin(a)], axis=1)


def _bez(p0, p1, p2, p3):
    """Cubic Bezier curve through p0 and p3 with control points p1, p2."""
    t = np.linspace(0.0, 1.0, 128)[:, None]
    p0, p1, p2, p3 = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2, p3))
    return ((1 - t) ** 3) * p0 + 3 * ((1 - t) ** 2) * t * p1 + 3 * (1 - t) * t * t * p2 + t ** 3 * p3


def _glyphs():
    """{digit: [(weight, [stroke, ...]), ...]} with each stroke a list of pieces."""
    g = {}
    g[0] = [
        (1.0, [[_arc(0.34, 0.50, 0.34, 0.48, 100, 470)]]),
        (1.0, [[_bez((0.42, 0.02), (0.02, -0.05), (-0.06, 0.95), (0.28, 0.99)),
                _bez((0.28, 0.99), (0.70, 1.02), (0.62, 0.05), (0.30, 0.03))]]),
        (0.6, [[_arc(0.25, 0.50, 0.20, 0.49, 80, 440)]]),
    ]
    g[1] = [
        (1.2, [[_line(0.30, 0.00, 0.30, 1.00)]]),
        (0.8, [[_line(0.14, 0.17, 0.32, 0.00), _line(0.32, 0.00, 0.30, 1.00)]]),
        (0.5, [[_line(0.12, 0.17, 0.32, 0.00), _line(0.32, 0.00, 0.30, 1.00)],
               [_line(0.06, 1.00, 0.56, 1.00)]]),
        (0.5, [[_bez((0.22, 0.05), (0.32, 0.35), (0.32, 0.65), (0.26, 1.00))]]),
    ]
    g[2] = [
        (1.0, [[_arc(0.30, 0.27, 0.28, 0.26, 165, -25),
                _bez((0.554, 0.38), (0.48, 0.60), (0.20, 0.78), (0.02, 0.98)),
                _line(0.02, 0.98, 0.64, 0.96)]]),
        (0.8, [[_arc(0.30, 0.27, 0.28, 0.26, 160, -30),
                _line(0.542, 0.40, 0.06, 0.95),
                _bez((0.06, 0.95), (0.00, 1.00), (0.10, 0.84), (0.20, 0.90)),
                _bez((0.20, 0.90), (0.32, 0.98), (0.48, 1.00), (0.66, 0.94))]]),
        (0.6, [[_bez((0.02, 0.22), (0.10, -0.08), (0.62, -0.06), (0.56, 0.28)),
                _bez((0.56, 0.28), (0.50, 0.55), (0.10, 0.80), (0.04, 0.99)),
                _line(0.04, 0.99, 0.66, 0.99)]]),
    ]
    g[3] = [
        (1.0, [[_arc(0.30, 0.25, 0.26, 0.23, 155, -90),
                _arc(0.30, 0.73, 0.30, 0.25, 95, -155)]]),
        (0.7, [[_line(0.04, 0.02, 0.60, 0.02), _line(0.60, 0.02, 0.24, 0.42),
                _arc(0.30, 0.70, 0.30, 0.28, 105, -155)]]),
    ]
    g[4] = [
        (1.0, [[_line(0.14, 0.00, 0.02, 0.62), _line(0.02, 0.62, 0.64, 0.62)],
               [_line(0.48, 0.05, 0.48, 1.00)]]),
        (1.0, [[_line(0.48, 0.00, 0.00, 0.66), _line(0.00, 0.66, 0.64, 0.66)],
               [_line(0.48, 0.00, 0.48, 1.00)]]),
        (0.4, [[_line(0.10, 0.00, 0.04, 0.58),
                _bez((0.04, 0.58), (0.12, 0.68), (0.40, 0.64), (0.62, 0.56))],
               [_line(0.50, 0.14, 0.46, 1.00)]]),
    ]
    g[5] = [
        (1.0, [[_line(0.60, 0.02, 0.12, 0.02), _line(0.12, 0.02, 0.08, 0.45),
                _arc(0.30, 0.69, 0.30, 0.27, 145, -150)]]),
        (1.0, [[_line(0.12, 0.02, 0.08, 0.46), _arc(0.30, 0.69, 0.30, 0.27, 145, -150)],
               [_line(0.12, 0.02, 0.62, 0.00)]]),
    ]
    g[6] = [
        (1.0, [[_bez((0.55, 0.02), (0.22, 0.08), (0.02, 0.40), (0.02, 0.72)),
                _arc(0.30, 0.72, 0.28, 0.27, 180, 530)]]),
        (0.8, [[_line(0.48, 0.00, 0.06, 0.62), _arc(0.30, 0.73, 0.27, 0.26, 205, 545)]]),
    ]
    g[7] = [
        (1.0, [[_line(0.00, 0.02, 0.62, 0.02), _line(0.62, 0.02, 0.22, 1.00)]]),
        (0.7, [[_line(0.00, 0.02, 0.62, 0.02), _line(0.62, 0.02, 0.22, 1.00)],
               [_line(0.24, 0.52, 0.62, 0.50)]]),
        (0.8, [[_line(0.00, 0.04, 0.64, 0.02),
                _bez((0.64, 0.02), (0.42, 0.35), (0.30, 0.62), (0.28, 1.00))]]),
        (0.4, [[_line(0.00, 0.20, 0.00, 0.02), _line(0.00, 0.02, 0.62, 0.02),
                _line(0.62, 0.02, 0.26, 1.00)]]),
    ]
    g[8] = [
        (1.0, [[_arc(0.30, 0.25, 0.22, 0.23, 90, 450)],
               [_arc(0.30, 0.72, 0.28, 0.27, 90, 450)]]),
        (1.2, [[_arc(0.30, 0.25, 0.22, 0.23, 20, 250),
                _line(0.225, 0.466, 0.253, 0.464),
                _arc(0.30, 0.72, 0.27, 0.26, 100, -250),
                _bez((0.208, 0.476), (0.30, 0.38), (0.45, 0.28), (0.507, 0.171))]]),
    ]
    g[9] = [
        (1.0, [[_arc(0.30, 0.28, 0.27, 0.26, -10, 360), _line(0.57, 0.28, 0.52, 1.00)]]),
        (1.0, [[_arc(0.30, 0.28, 0.27, 0.26, -10, 360),
                _bez((0.57, 0.28), (0.58, 0.60), (0.52, 0.88), (0.30, 1.00))]]),
        (0.5, [[_arc(0.28, 0.27, 0.26, 0.25, 20, 385),
                _bez((0.52, 0.20), (0.56, 0.50), (0.58, 0.75), (0.56, 1.00))]]),
    ]
    return g


def _resample(poly, step):
    """Points spaced ``step`` apart (by arc length) along a polyline (m, 2)."""
    seg = np.hypot(*np.diff(poly, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    m = max(2, int(math.ceil(s[-1] / step)) + 1)
    t = np.linspace(0.0, s[-1], m)
    return np.stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])], axis=1)


class _Template:
    """One style variant, sampled: ``points`` (P, 2) float64 in glyph units (centred on
    the glyph's box), ``stroke`` (P,) int stroke number, ``same`` (P-1,) bool (points i and
    i+1 are on the same stroke), ``along`` (P,) pen travel in [0, 1] over the glyph, ``u``
    (P,) position in [0, 1] along its own stroke."""

    def __init__(self, strokes):
        pts, ids, us = [], [], []
        for k, pieces in enumerate(strokes):
            p = _resample(np.concatenate(pieces, axis=0), _STEP)
            pts.append(p)
            ids.append(np.full(len(p), k))
            us.append(np.linspace(0.0, 1.0, len(p)))
        points = np.concatenate(pts)
        self.u = np.concatenate(us)
        lo, hi = points.min(0), points.max(0)
        self.points = points - (lo + hi) / 2
        self.stroke = np.concatenate(ids)
        self.same = self.stroke[1:] == self.stroke[:-1]
        self.along = np.linspace(0.0, 1.0, len(points))


_TEMPLATES = None


def _templates():
    """[(digit, variant_weight, _Template), ...], built once."""
    global _TEMPLATES
    if _TEMPLATES is None:
        out = []
        for digit, variants in sorted(_glyphs().items()):
            total = sum(w for w, _ in variants)
            for w, strokes in variants:
                out.append((digit, w / total, _Template(strokes)))
        _TEMPLATES = out
    return _TEMPLATES


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------
def _place(tpl, p):
    """Random geometry for the images of one template.

    tpl: _Template with P points; p: dict of per-image random parameters (arrays with n
    rows). Returns (x, y, ink), each (n, P) float32: pixel coordinates of the points and the
    ink each point carries.
    """
    f32 = np.float32
    col = lambda a: a.astype(f32)[:, None]                         # (n,) -> (n, 1)
    px, py = tpl.points[:, 0].astype(f32)[None, :], tpl.points[:, 1].astype(f32)[None, :]
    x, y = px, py
    # smooth random warp: a few sine waves across the glyph box
    for m in range(_WARP_WAVES):
        wave = np.sin(2 * np.pi * (px * col(p["warp_freq"][:, m, 0]) + py * col(p["warp_freq"][:, m, 1]))
                      + col(p["warp_phase"][:, m]))
        x = x + wave * col(p["warp_amp"][:, m, 0])
        y = y + wave * col(p["warp_amp"][:, m, 1])
    # each stroke moves a little on its own (a 4's stem, a 7's crossbar, a 5's roof)
    shift = p["stroke_shift"][:, tpl.stroke, :].astype(f32)
    x = x + shift[..., 0]
    y = y + shift[..., 1]
    # affine: width scale, slant (top to the right for positive shear), rotation
    x = x * col(p["aspect"]) - col(p["shear"]) * y
    c, s = col(np.cos(p["angle"])), col(np.sin(p["angle"]))
    x, y = c * x - s * y, s * x + c * y
    # the pen starts a little late or stops a little early on each stroke (a 0 left open,
    # a shorter tail on a 9): points outside [cut_start, 1 - cut_end] carry no ink
    u = tpl.u.astype(f32)[None, :]
    keep = (u >= col(p["cut_start"])) & (u <= 1 - col(p["cut_end"]))
    # MNIST-style size normalisation: the longer side of the ink box becomes `box` pixels
    x_lo, x_hi = np.where(keep, x, np.inf).min(1), np.where(keep, x, -np.inf).max(1)
    y_lo, y_hi = np.where(keep, y, np.inf).min(1), np.where(keep, y, -np.inf).max(1)
    extent = np.maximum(np.maximum(x_hi - x_lo, y_hi - y_lo), 1e-6)
    scale = col((p["box"] - 2 * p["half_width"]) / extent)
    x = (x - col((x_lo + x_hi) / 2)) * scale
    y = (y - col((y_lo + y_hi) / 2)) * scale
    # ink per point: its share of the pen travel (in pixels), times a pen pressure
    seg = np.hypot(np.diff(x, axis=1), np.diff(y, axis=1)) * (tpl.same[None, :] & keep[:, 1:] & keep[:, :-1])
    ink = np.zeros_like(x)
    ink[:, 1:] += seg / 2
    ink[:, :-1] += seg / 2
    along = tpl.along.astype(f32)[None, :]
    ink *= 1 + col(p["press_amp"]) * np.sin(2 * np.pi * col(p["press_freq"]) * along + col(p["press_phase"]))
    # centre of mass to the middle of the frame (pixel centres are 0..27, middle 13.5)
    total = ink.sum(1)
    mid = (IMAGE_SIZE - 1) / 2
    x += col(mid + p["offset"][:, 0] - (x * ink).sum(1) / total)
    y += col(mid + p["offset"][:, 1] - (y * ink).sum(1) / total)
    return x, y, ink


def _splat(x, y, ink):
    """Bilinear splatting of ink points. x, y, ink: (n, P) pixel coordinates and ink.
    Returns (n, 28, 28) float32 ink density (ink per pixel)."""
    n, P = ink.shape
    S = IMAGE_SIZE
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = x - x0
    fy = y - y0
    x0 = x0.astype(np.int64)
    y0 = y0.astype(np.int64)
    img = np.arange(n, dtype=np.int64)[:, None] * (S * S)
    idx, wts = [], []
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                      (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        xx, yy = x0 + dx, y0 + dy
        inside = (xx >= 0) & (xx < S) & (yy >= 0) & (yy < S)
        idx.append((img + np.clip(yy, 0, S - 1) * S + np.clip(xx, 0, S - 1)).ravel())
        wts.append((w * ink * inside).ravel())
    dens = np.bincount(np.concatenate(idx), weights=np.concatenate(wts), minlength=n * S * S)
    return dens.reshape(n, S, S).astype(np.float32)


def _develop(dens, half_width, sigma, soft, peak, noise):
    """Blur the ink density and threshold it into solid anti-aliased strokes.

    dens: (n, 28, 28) float32 ink density; half_width, sigma, soft, peak: (n,) pen
    half-width, blur width, edge ramp (pixels) and ink darkness; noise: (n, 28, 28) float32
    multiplicative noise. Returns (n, 28, 28) float32 in [0, 1].
    """
    r = np.arange(IMAGE_SIZE, dtype=np.float32)
    d2 = (r[:, None] - r[None, :]) ** 2
    k = np.exp(-d2[None] / (2 * sigma.astype(np.float32)[:, None, None] ** 2))  # (n, 28, 28)
    blurred = k @ dens @ np.swapaxes(k, 1, 2)
    # `ridge` is ~1 on the centre line of a straight stroke of unit ink per pixel
    ridge = blurred / (np.sqrt(2 * np.pi) * sigma).astype(np.float32)[:, None, None]
    # the stroke edge lies where the Gaussian profile falls to `level` (distance = half_width)
    level = np.exp(-half_width ** 2 / (2 * sigma ** 2))
    slope = level * half_width / sigma ** 2                       # d ridge / d distance at the edge
    # a linear ramp about `soft` pixels wide across the edge; its foot is kept above zero
    # ridge so that the background stays exactly 0
    lo = np.maximum(level - 0.5 * slope * soft, 0.3 * level)
    hi = level + 0.5 * slope * soft
    a = (ridge - lo.astype(np.float32)[:, None, None]) * (1 / (hi - lo)).astype(np.float32)[:, None, None]
    np.clip(a, 0.0, 1.0, out=a)
    a *= (1 + noise) * peak.astype(np.float32)[:, None, None]
    return np.clip(a, 0.0, 1.0, out=a)


def _draw_params(rng, n, difficulty):
    """All per-image random numbers, drawn in a fixed order (so a seed fixes the images)."""
    d = float(difficulty)
    p = {}
    p["angle"] = np.radians(np.clip(rng.normal(0.0, 9.0 * d, n), -25 * d, 25 * d))
    p["shear"] = np.clip(rng.normal(0.1 * min(d, 1.0), 0.18 * d, n), -0.3 * d, 0.6 * d)
    p["aspect"] = np.exp(rng.normal(0.12, 0.14 * d, n))
    p["box"] = rng.uniform(18.5, 20.5, n)
    p["half_width"] = rng.uniform(0.8, 1.7, n)
    p["warp_freq"] = rng.normal(0.0, 0.7, (n, _WARP_WAVES, 2))
    p["warp_phase"] = rng.uniform(0.0, 2 * np.pi, (n, _WARP_WAVES))
    p["warp_amp"] = rng.normal(0.0, 0.04 * d, (n, _WARP_WAVES, 2))
    p["stroke_shift"] = rng.normal(0.0, 0.025 * d, (n, _MAX_STROKES, 2))
    p["cut_start"] = rng.uniform(0.0, 0.06 * d, n)
    p["cut_end"] = rng.uniform(0.0, 0.06 * d, n)
    p["press_amp"] = rng.uniform(0.0, 0.35, n)
    p["press_freq"] = rng.uniform(0.5, 2.0, n)
    p["press_phase"] = rng.uniform(0.0, 2 * np.pi, n)
    p["offset"] = rng.normal(0.0, 0.4 * d, (n, 2))
    p["soft"] = rng.uniform(0.7, 1.2, n)
    p["peak"] = rng.uniform(0.9, 1.05, n)
    return p


def synthetic_digits(n, seed=0, difficulty=1.0):
    """Render ``n`` handwritten-looking digits from the built-in stroke font.

    n: number of images (>= 0). seed: int, fixes the images (same seed, same output).
    difficulty: float >= 0 scaling the random geometry (rotation, slant, warp, offsets);
    1.0 is the default mix, 0 gives clean upright glyphs.

    Returns ``(images, labels)``: images (n, 28, 28) uint8 (0 background, 255 ink, the
    digit in a ~20 x 20 box with its centre of mass at the frame's centre, like MNIST),
    labels (n,) int64 in 0..9, each digit appearing n // 10 or n // 10 + 1 times, in random
    order.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"synthetic_digits: n must be an int >= 0, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"synthetic_digits: seed must be an int, got {type(seed).__name__}")
    if not (isinstance(difficulty, (int, float, np.floating)) and 0 <= difficulty <= 3):
        raise ValueError(f"synthetic_digits: difficulty must be a number in [0, 3], got {difficulty!r}")
    n = int(n)
    rng = np.random.default_rng(int(seed))
    labels = rng.permutation(np.arange(n, dtype=np.int64) % 10)
    choice = rng.random(n)
    params = _draw_params(rng, n, difficulty)

    # which template each image uses: the variant weights cut [0, 1) into pieces per digit
    templates = _templates()
    which = np.empty(n, dtype=np.int64)
    for digit in range(10):
        rows = [(i, w) for i, (dg, w, _) in enumerate(templates) if dg == digit]
        edges = np.cumsum([w for _, w in rows])
        mask = labels == digit
        pick = np.minimum(np.searchsorted(edges, choice[mask], side="right"), len(rows) - 1)
        which[mask] = np.array([i for i, _ in rows])[pick]

    dens = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    for t, (_, _, tpl) in enumerate(templates):
        sel = np.flatnonzero(which == t)
        for start in range(0, len(sel), _CHUNK):
            part = sel[start:start + _CHUNK]
            dens[part] = _splat(*_place(tpl, {k: v[part] for k, v in params.items()}))

    hw = params["half_width"]
    sigma = np.maximum(0.8, 0.7 * hw)
    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(n, start + _CHUNK))
        noise = rng.random((sl.stop - sl.start, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        noise = (noise - 0.5) * 0.1                               # uniform in [-5%, 5%]
        a = _develop(dens[sl], hw[sl], sigma[sl], params["soft"][sl], params["peak"][sl], noise)
        images[sl] = np.rint(a * 255.0).astype(np.uint8)
    return images, labels


def synthetic_digits_split(n_train=60000, n_test=10000, seed=0, difficulty=1.0):
    """Independent train and test sets, like ``mnist()``'s return value.

    Returns ``((x_train, y_train), (x_test, y_test))``: uint8 (n, 28, 28) images and int64
    labels. The two parts come from different random streams derived from ``seed``, so the
    test images are never copies of training images.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"synthetic_digits_split: seed must be an int, got {type(seed).__name__}")
    s_train, s_test = np.random.SeedSequence(int(seed)).generate_state(2)
    train = synthetic_digits(n_train, seed=int(s_train), difficulty=difficulty)
    test = synthetic_digits(n_test, seed=int(s_test), difficulty=difficulty)
    return train, test


class SyntheticDigits(TensorDataset):
    """``synthetic_digits(n, seed, difficulty)`` as a dataset of ``(image, label)`` pairs.

    normalize: False keeps images uint8 (n, 28, 28); True gives float32 (n, 1, 28, 28) in
    [0, 1], as ``MNIST(normalize=True)``. Labels int64 (n,). ``.data`` / ``.targets`` hold
    the arrays.
    """

    def __init__(self, n, seed=0, difficulty=1.0, normalize=False):
        images, labels = synthetic_digits(n, seed=seed, difficulty=difficulty)
        if normalize:
            images = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
        super().__init__(images, labels)
        self.data, self.targets = images, labels
        self.classes = [str(i) for i in range(10)]
