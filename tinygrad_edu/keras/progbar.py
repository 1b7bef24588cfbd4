"""The progress bar of ``fit`` and ``evaluate``, drawn as Keras draws it.

    Epoch 1/5
    469/469 [==============================] - 12s 25ms/step - loss: 0.2103 - accuracy: 0.9372

While an epoch runs, the line is rewritten in place (carriage return) with the time left:

    120/469 [=======>......................] - ETA: 8s - loss: 0.4121 - accuracy: 0.8801

That live line is drawn only when the stream is a terminal (or a notebook); anywhere else
(a log file, a pipe, the tests) verbose=1 writes just the final line of each epoch, so logs
stay readable. verbose=2 writes one short line per epoch; verbose=0 writes nothing.
"""
from __future__ import annotations

import os
import sys
import time

__all__ = ["Progbar", "format_value", "format_duration"]


def format_value(value) -> str:
    """A logged number as Keras shows it: 4 decimals, or scientific notation when tiny."""
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_duration(seconds: float) -> str:
    """ETA style: "8s", "2:05", "1:02:05"."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{(seconds % 3600) // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def _per_step(seconds: float, unit: str) -> str:
    """"25ms/step", "3s/step", "180us/step"."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _is_interactive(stream) -> bool:
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progbar:
    """A progress bar over ``target`` steps.

    Progbar(target, width=30, verbose=1, interval=0.05, unit_name="step", stream=None)
        target: number of steps (int >= 0); verbose: 0 silent, 1 bar, 2 one line at the end;
        interval: least seconds between two redraws of the live line; stream: defaults to
        sys.stdout at the time of each write (so that redirection works).

    ``update(current, values)`` reports that ``current`` steps are done; ``values`` is a
    list of (name, number) pairs shown as they are (the caller passes running means).
    The last update (current == target) writes the final line and a newline.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, unit_name="step", stream=None):
        if int(target) < 0:
            raise ValueError(f"Progbar: target must be >= 0, got {target}")
        self.target = int(target)
        self.width = int(width)
        self.verbose = int(verbose)
        self.interval = float(interval)
        self.unit_name = unit_name
        self._stream = stream
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._drawn_width = 0
        self._finished = False
        env = os.environ.get("TGE_PROGBAR", "").strip().lower()
        self._dynamic = {"live": True, "plain": False}.get(env, _is_interactive(self.stream))

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def _bar(self, current: int) -> str:
        digits = len(str(self.target))
        text = f"{current:>{digits}d}/{self.target} ["
        done = int(self.width * current / self.target) if self.target else self.width
        if done > 0:
            text += "=" * (done - 1) + (">" if current < self.target else "=")
        return text + "." * (self.width - done) + "]"

    @staticmethod
    def _values(values) -> str:
        return "".join(f" - {name}: {format_value(v)}" for name, v in values or [])

    def update(self, current: int, values=None) -> None:
        if self.verbose == 0 or self._finished:
            return
        current = min(int(current), self.target)
        now = time.perf_counter()
        elapsed = now - self._start
        final = current >= self.target
        if final:
            self._finished = True
        if self.verbose == 2:
            if final:
                per = elapsed / max(current, 1)
                self._write(f"{current}/{self.target} - {elapsed:.0f}s{self._values(values)}"
                            f" - {_per_step(per, self.unit_name)}\n")
            return
        if not self._dynamic:
            if final:
                per = elapsed / max(current, 1)
                self._write(f"{self._bar(current)} - {elapsed:.0f}s {_per_step(per, self.unit_name)}"
                            f"{self._values(values)}\n")
            return
        if not final and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        if final:
            per = elapsed / max(current, 1)
            info = f" - {elapsed:.0f}s {_per_step(per, self.unit_name)}"
        elif current > 0:
            info = f" - ETA: {format_duration(elapsed / current * (self.target - current))}"
        else:
            info = ""
        line = self._bar(current) + info + self._values(values)
        padding = " " * max(self._drawn_width - len(line), 0)
        self._drawn_width = len(line)
        self._write("\r" + line + padding + ("\n" if final else ""))

    def _write(self, text: str) -> None:
        stream = self.stream
        stream.write(text)
        stream.flush()
