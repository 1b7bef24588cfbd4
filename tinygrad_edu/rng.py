"""The library's one random number generator.

Every random thing in tinygrad_edu (random factories, parameter initialisers, dropout masks,
data shuffling) draws from :func:`generator`, so that ``tge.manual_seed(n)`` makes a whole run
reproducible. Always call ``generator()`` at the point of use: ``manual_seed`` replaces the
generator object, so a reference kept from earlier would keep the old stream.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reseed the global generator (like ``torch.manual_seed``)."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _generator = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The current global NumPy ``Generator``."""
    return _generator
