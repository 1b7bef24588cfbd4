"""Text datasets: the rt-polarity movie-review sentences (Pang and Lee, 2005)."""
from __future__ import annotations

import gzip
import zlib

import numpy as np

from tinygrad_edu.data._files import locate

__all__ = ["rt_polarity", "read_lines"]

RT_POLARITY_FILES = ["rt-polarity.pos", "rt-polarity.neg"]


def read_lines(path) -> list[str]:
    """Non-empty lines of a text file (gzip-compressed or not), stripped of surrounding whitespace. Decoded as UTF-8,
    or as Latin-1 when the file is not valid UTF-8 (the dataset's original release was
    Windows-1252)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:  # truncated stream, bad CRC, bad header
            raise ValueError(f"{path}: corrupt or truncated gzip file ({e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return [line.strip() for line in text.splitlines() if line.strip()]


def rt_polarity(root=None):
    """Load the sentence polarity dataset v1.0 (5331 positive, 5331 negative snippets).

    Looks for ``rt-polarity.pos`` and ``rt-polarity.neg`` in ``root/rt-polarity/``,
    ``root/``, ``$TGE_DATA/rt-polarity/``, ``$TGE_DATA/``, then
    ``~/.cache/tinygrad_edu/rt-polarity/`` (never downloaded).

    Returns ``(texts, labels)``: texts a list[str] (all positive sentences in file order,
    then all negative ones), labels an int64 array of the same length, 1 = positive,
    0 = negative. Raises DatasetNotFoundError (a FileNotFoundError) saying where to put
    the files, ValueError for an empty or corrupt (gzip) file.
    """
    paths = locate("rt-polarity", "rt-polarity", RT_POLARITY_FILES, root=root, download=False)
    pos = read_lines(paths["rt-polarity.pos"])
    neg = read_lines(paths["rt-polarity.neg"])
    for name, lines in (("rt-polarity.pos", pos), ("rt-polarity.neg", neg)):
        if not lines:
            raise ValueError(f"rt-polarity: {paths[name]} holds no sentences (an empty or blank file)")
    labels = np.concatenate([np.ones(len(pos), dtype=np.int64), np.zeros(len(neg), dtype=np.int64)])
    return pos + neg, labels
