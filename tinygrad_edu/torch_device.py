"""PyTorch's device objects and the ``torch.cuda`` / ``torch.accelerator`` / ``torch.backends``
questions that training scripts ask before they start.

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    model.to(device); x = x.to(device)

A :class:`device` is a ``str`` ("cpu", "cuda" or "cuda:0"), so every function here that takes a
device name takes one. The GPU is the optional CuPy backend: ``cuda.is_available()`` is True
only when CuPy imports and sees a GPU. There is no Apple GPU backend: ``backends.mps`` always
answers False.
"""
from __future__ import annotations

import types

from . import rng
from .device import cuda_is_available

__all__ = ["device", "cuda", "accelerator", "mps", "cudnn"]


class device(str):
    """``device("cpu")``, ``device("cuda")``, ``device("cuda", 0)``, ``device("cuda:0")``.

    Attributes ``type`` ("cpu" or "cuda") and ``index`` (None or 0). Compares equal to its
    string; ``str(d)`` is what PyTorch prints ("cuda:0" when an index was given).
    """

    def __new__(cls, type_or_name, index=None):
        if isinstance(type_or_name, device):
            return type_or_name
        name = str(type_or_name)
        kind, _, number = name.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"device: expected a device type 'cpu' or 'cuda', got {name!r} "
                               "(this library has no 'mps' or other backends)")
        if number:
            if index is not None:
                raise ValueError(f"device: give the index in the string or as an argument, not both ({name!r}, {index})")
            if not number.isdigit():
                raise RuntimeError(f"device: invalid device string {name!r}")
            index = int(number)
        if index is not None and (kind == "cpu" and index != 0 or kind == "cuda" and index != 0):
            raise ValueError(f"device: only index 0 exists here, got {kind}:{index}")
        self = super().__new__(cls, kind if index is None else f"{kind}:{index}")
        self.type, self.index = kind, index
        return self

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    __hash__ = str.__hash__


def _cuda_count() -> int:
    return 1 if cuda_is_available() else 0


#: ``torch.cuda``: is_available, device_count, manual_seed(_all) (seed the one generator)
cuda = types.SimpleNamespace(
    is_available=cuda_is_available,
    device_count=_cuda_count,
    manual_seed=rng.manual_seed,
    manual_seed_all=rng.manual_seed,
    current_device=lambda: 0,
)


def _current_accelerator(check_available: bool = False):
    """``device("cuda")`` when the GPU backend is usable, otherwise None (as PyTorch on a
    machine without an accelerator)."""
    return device("cuda") if cuda_is_available() else None


#: ``torch.accelerator`` (PyTorch 2.6+): is_available, current_accelerator, device_count
accelerator = types.SimpleNamespace(
    is_available=cuda_is_available,
    current_accelerator=_current_accelerator,
    device_count=_cuda_count,
)

#: ``torch.backends.mps`` (no Apple GPU backend here) and ``torch.backends.cudnn`` (switches that
#: are accepted and change nothing); tinygrad_edu.backends hands these two on
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cudnn = types.SimpleNamespace(deterministic=False, benchmark=False, enabled=True, is_available=lambda: False)
