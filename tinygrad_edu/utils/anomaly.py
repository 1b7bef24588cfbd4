"""Anomaly mode: find the op that first produced a NaN or an infinity.

    with tge.detect_anomaly():
        loss = model(x).log().mean()   # raises AnomalyError naming the op (e.g. Log) and the
        loss.backward()                # line of your code that created it

Also switched on for a whole run by the environment variable ``TGE_DETECT_ANOMALY=1``.
Every op's output (forward) and every gradient it passes back (backward) is checked, and
each op remembers the stack where it was created, so expect a slowdown while it is on.
"""
from __future__ import annotations

import os
import re
import traceback

from .. import autograd
from ..autograd import AnomalyError

__all__ = ["detect_anomaly", "AnomalyError", "is_anomaly_enabled", "set_anomaly_enabled"]


# The two hooks (autograd.forward_hooks / backward_hooks) that make anomaly mode.
def _check_finite(array, what: str, ctx) -> None:
    if getattr(array, "dtype", None) is None or array.dtype.kind != "f":
        return
    from ..device import array_module

    xp = array_module(array)
    if not bool(xp.isfinite(array).all()):
        bad = "NaN" if bool(xp.isnan(array).any()) else "inf"
        frames = getattr(ctx, "trace", None) or ["    (no trace recorded)\n"]
        raise AnomalyError(
            f"anomaly: {ctx.name} produced {bad} in its {what} (shape {tuple(array.shape)}).\n"
            f"{_your_line(frames)}"
            f"The op was created here (forward trace):\n{''.join(frames)}"
        )


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # tinygrad_edu/


def _your_line(frames) -> str:
    """A one-line summary of the innermost frame outside tinygrad_edu in a formatted forward
    trace (the line of the user's model that made the op), or "" when there is none."""
    for frame in reversed(frames):
        lines = frame.strip().splitlines()
        match = re.match(r'File "(.+)", line (\d+), in (.+)', lines[0]) if lines else None
        if match and not os.path.abspath(match[1]).startswith(_PACKAGE_DIR):
            code = lines[1].strip() if len(lines) > 1 else ""
            return f"Your code made it at {match[1]}:{match[2]} in {match[3]}: {code}\n"
    return ""


def _anomaly_forward(ctx, out) -> None:
    ctx.trace = traceback.format_stack()[:-2]  # without this hook and Function.apply
    _check_finite(out, "forward output", ctx)


def _anomaly_backward(ctx, grads) -> None:
    for g in grads:
        if g is not None:
            _check_finite(g, "gradient (backward)", ctx)


def is_anomaly_enabled() -> bool:
    return _anomaly_forward in autograd.forward_hooks


def set_anomaly_enabled(flag: bool) -> None:
    """Install (or remove) the two anomaly-mode hooks."""
    for hooks, hook in ((autograd.forward_hooks, _anomaly_forward), (autograd.backward_hooks, _anomaly_backward)):
        if hook in hooks:
            hooks.remove(hook)
        if flag:
            hooks.append(hook)




class detect_anomaly:
    """Context manager (and decorator) that turns anomaly checking on inside its block."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def __enter__(self):
        self._previous = is_anomaly_enabled()
        set_anomaly_enabled(self.enabled)
        return self

    def __exit__(self, *exc):
        set_anomaly_enabled(self._previous)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.enabled):
                return fn(*args, **kwargs)

        return wrapper
