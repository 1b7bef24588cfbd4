"""Utilities: gradient checking, saving and loading, graph drawing, anomaly mode.

    from tinygrad_edu.utils import gradcheck, draw_graph, save, load, detect_anomaly

``gradcheck`` is imported here at once, as PyTorch does with ``torch.autograd.gradcheck``:
the function shares its name with its module, and binding it now means that a later
``import tinygrad_edu.utils.gradcheck`` cannot leave the module where the function should be
(``from tinygrad_edu.utils.gradcheck import gradcheck`` keeps working).  The other names load
on first use, so that importing this package stays light.
"""
from .gradcheck import GradcheckError, gradcheck

__all__ = ["gradcheck", "GradcheckError", "draw_graph", "save", "load", "save_file",
           "load_file", "detect_anomaly", "AnomalyError"]

_LAZY = {
    "draw_graph": "graph",
    "save": "serialization",
    "load": "serialization",
    "save_file": "serialization",
    "load_file": "serialization",
    "detect_anomaly": "anomaly",
    "AnomalyError": "anomaly",
}


def __getattr__(name):
    if name == "data":  # torch.utils.data's names (DataLoader, TensorDataset, ...)
        import importlib

        return importlib.import_module(".data", __name__)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
