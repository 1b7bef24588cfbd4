"""Anomaly mode: find the op that first produced a NaN or an infinity.

    with tge.detect_anomaly():
        loss = model(x).log().mean()   # raises AnomalyError naming the op (e.g. Log) and the
        loss.backward()                # line of your code that created it

Also switched on for a whole run by the environment variable ``TGE_DETECT_ANOMALY=1``.
Every op's output (forward) and every gradient it passes back (backward) is checked, and
each op remembers the stack where it was created, so expect a slowdown while it is on.
"""
from __future__ import annotations

from .. import autograd
from ..autograd import AnomalyError

__all__ = ["detect_anomaly", "AnomalyError"]


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly checking on inside its block."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def __enter__(self):
        self._previous = autograd._anomaly["enabled"]
        autograd._anomaly["enabled"] = self.enabled
        return self

    def __exit__(self, *exc):
        autograd._anomaly["enabled"] = self._previous
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.enabled):
                return fn(*args, **kwargs)

        return wrapper
