"""The built-in synthetic digits: shapes, determinism, balance, MNIST-like framing, speed,
and that a simple classifier learns them."""
import time

import numpy as np
import pytest

from tinygrad_edu.data import SyntheticDigits, synthetic_digits, synthetic_digits_split
from tinygrad_edu.data.synthetic import _templates


@pytest.fixture(scope="module")
def digits():
    return synthetic_digits(3000, seed=0)


def test_shapes_dtypes_ranges(digits):
    x, y = digits
    assert x.shape == (3000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (3000,) and y.dtype == np.int64
    assert y.min() == 0 and y.max() == 9
    # strokes are solid: nearly every image reaches full or near-full ink
    assert np.mean(x.reshape(3000, -1).max(1) >= 230) > 0.95
    # ink covers a plausible part of the frame (MNIST: about 19% of pixels are non-zero)
    frac = (x > 0).mean()
    assert 0.08 < frac < 0.35, frac


def test_background_is_zero_at_the_border(digits):
    x, _ = digits
    border = np.concatenate([x[:, :2].ravel(), x[:, -2:].ravel(), x[:, :, :2].ravel(), x[:, :, -2:].ravel()])
    assert (border == 0).mean() > 0.995


def test_centred_like_mnist(digits):
    """Centre of mass near the middle; the ink fits a box of about 20 pixels."""
    x, _ = digits
    w = x.astype(np.float64)
    r = np.arange(28)
    total = w.sum((1, 2))
    cy = (w.sum(2) * r).sum(1) / total
    cx = (w.sum(1) * r).sum(1) / total
    assert abs(np.median(cy) - 13.5) < 0.5 and abs(np.median(cx) - 13.5) < 0.5
    assert np.percentile(np.hypot(cx - 13.5, cy - 13.5), 95) < 2.0
    rows = (x > 32).any(2)
    height = 28 - rows.argmax(1) - rows[:, ::-1].argmax(1)
    assert 17 <= np.median(height) <= 22


def test_class_balance(digits):
    _, y = digits
    assert np.bincount(y, minlength=10).tolist() == [300] * 10
    _, y = synthetic_digits(1003, seed=4)
    counts = np.bincount(y, minlength=10)
    assert counts.min() == 100 and counts.max() == 101 and counts.sum() == 1003


def test_deterministic_for_a_seed():
    a, la = synthetic_digits(200, seed=7)
    b, lb = synthetic_digits(200, seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    c, _ = synthetic_digits(200, seed=8)
    assert (a != c).any()


def test_images_of_one_digit_vary():
    x, y = synthetic_digits(400, seed=1)
    sevens = x[y == 7].astype(np.float32)
    diffs = [np.abs(sevens[i] - sevens[i + 1]).mean() for i in range(len(sevens) - 1)]
    assert min(diffs) > 1.0        # no two consecutive 7s are (nearly) the same image


def test_every_digit_has_style_variants():
    counts = np.bincount([d for d, _, _ in _templates()], minlength=10)
    assert counts.min() >= 2
    assert sum(w for d, w, _ in _templates() if d == 3) == pytest.approx(1.0)


def test_difficulty_zero_is_clean_and_upright():
    x, y = synthetic_digits(100, seed=3, difficulty=0.0)
    ones = x[y == 1] > 128
    # an upright 1 without slant noise: its ink spans few columns
    widths = ones.any(1).sum(1)
    assert np.median(widths) <= 8


def test_split_is_independent():
    (xtr, ytr), (xte, yte) = synthetic_digits_split(500, 200, seed=0)
    assert xtr.shape == (500, 28, 28) and xte.shape == (200, 28, 28)
    assert ytr.dtype == yte.dtype == np.int64
    # no test image equals a training image
    flat_tr = {bytes(im) for im in xtr.reshape(500, -1)}
    assert not any(bytes(im) in flat_tr for im in xte.reshape(200, -1))
    (xtr2, _), _ = synthetic_digits_split(500, 200, seed=0)
    np.testing.assert_array_equal(xtr, xtr2)


def test_dataset_object():
    ds = SyntheticDigits(50, seed=2, normalize=True)
    assert len(ds) == 50
    x, y = ds[3]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    assert y.dtype == np.int64
    raw = SyntheticDigits(50, seed=2)
    np.testing.assert_allclose(raw.data[3] / 255.0, x[0], atol=1e-6)


def test_zero_and_bad_arguments():
    x, y = synthetic_digits(0)
    assert x.shape == (0, 28, 28) and y.shape == (0,)
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        synthetic_digits(-1)
    with pytest.raises(ValueError, match="n must be an int"):
        synthetic_digits(2.5)
    with pytest.raises(TypeError, match="seed must be an int"):
        synthetic_digits(5, seed="a")
    with pytest.raises(ValueError, match="difficulty"):
        synthetic_digits(5, difficulty=-1)


def test_fast_enough():
    t = time.perf_counter()
    synthetic_digits(10000, seed=5)
    # 60,000 take about 2-3 s on one core; allow slow CI machines plenty of room
    assert time.perf_counter() - t < 10.0


def test_learnable_but_not_trivial():
    """Nearest class mean on raw pixels, 4000 train / 1000 test: well above chance (10%),
    far from perfect (the measured figure is about 84%; softmax regression ~92%)."""
    (xtr, ytr), (xte, yte) = synthetic_digits_split(4000, 1000, seed=11)
    xtr = xtr.reshape(len(xtr), -1).astype(np.float32) / 255
    xte = xte.reshape(len(xte), -1).astype(np.float32) / 255
    means = np.stack([xtr[ytr == k].mean(0) for k in range(10)])
    d = (xte ** 2).sum(1)[:, None] - 2 * xte @ means.T + (means ** 2).sum(1)[None]
    acc = (d.argmin(1) == yte).mean()
    assert 0.70 < acc < 0.97, acc
