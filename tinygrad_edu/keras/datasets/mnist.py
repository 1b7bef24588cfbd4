"""``mnist.load_data()`` as in Keras, backed by ``tinygrad_edu.data.mnist``.

Where the files are looked for (the ``TGE_DATA`` variable, the cache folder, ...) and how they
are downloaded: see ``tinygrad_edu.data``.
"""
from __future__ import annotations

__all__ = ["load_data"]


def load_data(path=None, download=True):
    """Return ``(x_train, y_train), (x_test, y_test)``: uint8 images (60000, 28, 28) and
    (10000, 28, 28), int64 labels. path: an optional folder to look in first (Keras's
    ``path`` names a file in its cache; here it is a folder)."""
    from tinygrad_edu.data import mnist

    return mnist(root=path, download=download)
