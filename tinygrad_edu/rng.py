"""The library's one random number generator.

Every random thing in tinygrad_edu (random factories, parameter initialisers, dropout masks,
data shuffling) draws from :func:`generator`, so that ``tge.manual_seed(n)`` makes a whole run
reproducible. Always call ``generator()`` at the point of use: ``manual_seed`` replaces the
generator object, so a reference kept from earlier would keep the old stream.
"""
import numpy as np

_generator = np.random.default_rng()
# The GPU's stream: a CuPy RandomState seeded from one draw of the host generator, remade
# whenever ``manual_seed`` replaces that generator (so GPU draws are reproducible too).
_device_stream = None  # (host generator it was seeded from, cupy.random.RandomState)


def manual_seed(seed: int) -> None:
    """Reseed the global generator (like ``torch.manual_seed``: any int in [-2**63, 2**64))."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    # PyTorch's range; a negative seed stands for seed + 2**64, as in torch.manual_seed.
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"manual_seed: seed must lie in [-2**63, 2**64), got {seed}")
    _generator = np.random.default_rng(seed % 2**64)


def generator() -> np.random.Generator:
    """The current global NumPy ``Generator``."""
    return _generator


def random(shape, xp=np):
    """Uniform samples on [0, 1) of ``shape``, as an array of ``xp`` (NumPy or CuPy).

    With NumPy this is ``generator().random(shape)`` (float64). With CuPy the numbers are drawn
    on the GPU (float32, no host-to-device copy) from a stream seeded by the host generator, so
    ``manual_seed`` fixes them as well; they differ from the CPU's numbers for the same seed.
    """
    if xp is np:
        return _generator.random(shape)
    global _device_stream
    if _device_stream is None or _device_stream[0] is not _generator:
        seed = int(_generator.integers(0, 2**63 - 1))
        _device_stream = (_generator, xp.random.RandomState(seed))
    return _device_stream[1].random_sample(size=shape, dtype=np.float32)
