"""Optimizer: the base class of every optimizer (parameter groups, state, state_dict).

How a step is organised
-----------------------
``Optimizer.step()`` walks the parameter groups. For each group it collects the parameters
whose ``.grad`` is set (the others are skipped) and hands them to :meth:`_step_group`, whose
reference implementation calls :meth:`_update` once per parameter::

    step()
      for group in param_groups:
        params, grads = the parameters of the group that have a gradient
        _step_group(group, params, grads)         # a fused C kernel may replace this ...
          for p, g in zip(params, grads):
            _update(p.data, g, state[p], group)   # ... while this stays the textbook reference

``_update`` works on plain arrays (NumPy or CuPy) and changes the parameter array IN PLACE:
other code (modules, the C kernels, the user) holds references to ``p.data``. Arithmetic stays
in the parameter's dtype (float32 parameters are updated in float32, as PyTorch does), so
hyper-parameters enter as Python floats, never as NumPy float64 scalars.

The layout of ``state_dict()`` is PyTorch's::

    {"state": {0: {"step": 3, "exp_avg": array, ...}, 1: {...}},
     "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}

where the integers number the parameters in the order the groups list them.
"""
from __future__ import annotations

import copy
import numbers

import numpy as np

from ..autograd import enable_grad, no_grad
from ..device import array_module, device_of, move
from ..tensor import Tensor


class Optimizer:
    """Base class: holds ``param_groups`` and per-parameter ``state``; subclasses define the update.

    Optimizer(params, defaults)
        params: an iterable of Tensors, or of dicts ``{"params": [...], "lr": ..., ...}``
            (parameter groups; hyper-parameters missing from a group come from ``defaults``).
            Refused: a single Tensor, a set (its order is not reproducible), an empty list,
            non-Tensors, non-leaf tensors, a parameter listed twice.
        defaults: dict of the hyper-parameters of the optimizer.

    Attributes
        param_groups: list of dicts, each with "params" (a list of Tensors) and every
            hyper-parameter of the optimizer.
        state: dict Tensor -> dict of that parameter's state (arrays shaped like the parameter,
            and numbers such as "step"); filled lazily at the first step that updates it.
        defaults: the constructor's hyper-parameters.

    Subclasses set ``_state_names`` (the state entries they use, in PyTorch's names), implement
    ``_check_hyperparameters(hp)`` and ``_update(p, g, state, group)``.
    """

    #: names of the per-parameter state entries this optimizer keeps (checked on load)
    _state_names: tuple = ()

    def __init__(self, params, defaults: dict):
        self._check_hyperparameters(defaults)
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got a single Tensor of shape {params.shape}; wrap it in a list"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer params must be an ordered collection (list, tuple), not a set")
        try:
            param_list = list(params)
        except TypeError:
            raise TypeError(
                f"params given to the optimizer should be an iterable of Tensors or dicts, "
                f"got {type(params).__name__}"
            ) from None
        if not param_list:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_list[0], dict):
            param_list = [{"params": param_list}]
        for group in param_list:
            self.add_param_group(group)

    # ------------------------------------------------------------------ hooks for subclasses
    @staticmethod
    def _check_hyperparameters(hp: dict) -> None:
        """Raise ValueError for an invalid hyper-parameter (subclasses override)."""

    def _update(self, p, g, state: dict, group: dict) -> None:  # pragma: no cover - abstract
        """Update one parameter array ``p`` in place from its gradient array ``g`` (same shape)."""
        raise NotImplementedError

    def _step_group(self, group: dict, params: list, grads: list) -> None:
        """Update every parameter of ``group`` that has a gradient.

        params: list of Tensors; grads: list of arrays, ``grads[i].shape == params[i].shape``
        and the same dtype. This reference version loops in Python, one ``_update`` per
        parameter; a fused kernel over all parameters of the group can override it (keeping
        ``_update`` as the reference the tests compare against).
        """
        for p, g in zip(params, grads):
            state = self.state.get(p)
            fresh = state is None
            if fresh:
                state = {}
            self._update(p.data, g, state, group)
            if fresh and state:  # optimizers without state (plain SGD) keep ``self.state`` empty
                self.state[p] = state

    # ------------------------------------------------------------------ the public interface
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones from defaults).

        param_group: dict with "params" (a Tensor or an ordered iterable of Tensors) and any
        hyper-parameter to override; other keys (e.g. "name") are kept as they are.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"a parameter group needs a 'params' entry, got keys {sorted(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer params must be an ordered collection (list, tuple), not a set")
        else:
            params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list (in a parameter group)")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    f"can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}, made by "
                    f"{p._ctx.name}); optimize the leaf it was computed from"
                )
            if p.dtype.kind != "f":
                raise TypeError(f"optimizer can only optimize float tensors, parameter {i} has dtype {p.dtype}")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("a parameter group lists the same parameter more than once")
        taken = {id(p) for group in self.param_groups for p in group["params"]}
        if taken.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")

        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_hyperparameters(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad.data
                    if getattr(g.flags, "writeable", True):
                        g.fill(0)
                    else:
                        p.grad.data = array_module(g).zeros_like(g)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()`` if given.

        closure: optional callable that re-evaluates the model and returns the loss (it runs
        with grad mode on). The update itself runs under ``no_grad``. Parameters whose
        ``.grad`` is None are skipped.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                params, grads = [], []
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    params.append(p)
                    grads.append(self._grad_array(p))
                    self._make_writeable(p)
                if params:
                    self._step_group(group, params, grads)
                    for p in params:  # changed in place: graphs that saved the old values refuse to use them
                        p._bump_version()
        return loss

    # ------------------------------------------------------------------ state_dict
    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout, as host NumPy copies.

        Returns ``{"state": {index: {name: np.ndarray or number}},
        "param_groups": [{hyper-parameters..., "params": [indices]}]}``; parameters are numbered
        0, 1, ... in the order the groups list them. Unlike PyTorch, arrays are copies, so a
        state dict taken mid-training does not change when training goes on.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                packed["params"].append(index_of[id(p)])
            groups.append(packed)
        state = {}
        for p, entries in self.state.items():
            state[index_of[id(p)]] = {
                name: (np.array(move(v, "cpu"), copy=True) if _is_array(v) else copy.deepcopy(v))
                for name, v in entries.items()
            }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state from :meth:`state_dict` (of an optimizer with the same group sizes).

        Arrays are deep-copied, converted to each parameter's dtype and moved to its device.
        Refused (ValueError, the optimizer is left unchanged): a different number of groups or
        of parameters in a group, an unknown parameter index, state arrays whose shape differs
        from the parameter's, state entries this optimizer does not use.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with 'state' and 'param_groups' (from state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        index_to_param = {}
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"load_state_dict: parameter group {gi} has {len(saved['params'])} parameters "
                    f"in the state dict and {len(group['params'])} in this optimizer"
                )
            for index, p in zip(saved["params"], group["params"]):
                index_to_param[int(index)] = p

        new_state = {}
        for index, entries in state_dict["state"].items():
            try:
                p = index_to_param[int(index)]
            except (KeyError, ValueError):
                raise ValueError(
                    f"load_state_dict: state for parameter index {index!r}, which no parameter group lists"
                ) from None
            new_state[p] = {name: self._load_entry(name, value, p, index) for name, value in entries.items()}

        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            hyper = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            self._check_hyperparameters({**group, **hyper})
            new_group = {k: v for k, v in group.items() if k != "params"}
            new_group.update(hyper)
            new_group["params"] = group["params"]
            new_groups.append(new_group)
        self.state = new_state
        self.param_groups = new_groups

    def _load_entry(self, name, value, p, index):
        """One state entry, checked against parameter ``p`` and copied onto its device/dtype."""
        if name not in self._state_names:
            raise ValueError(
                f"load_state_dict: state entry {name!r} of parameter {index} is not used by "
                f"{type(self).__name__} (it keeps {list(self._state_names)}); was the state dict "
                f"saved from another optimizer?"
            )
        if name == "step":
            if _is_array(value):
                value = np.asarray(move(value, "cpu"))
                if value.size != 1:
                    raise ValueError(f"load_state_dict: 'step' of parameter {index} has shape {value.shape}, expected a number")
                value = value.reshape(()).item()
            return int(value)
        if not _is_array(value):
            raise ValueError(
                f"load_state_dict: state entry {name!r} of parameter {index} should be an array, "
                f"got {type(value).__name__}"
            )
        if tuple(value.shape) != p.shape:
            raise ValueError(
                f"load_state_dict: state entry {name!r} of parameter {index} has shape "
                f"{tuple(value.shape)}, the parameter has shape {p.shape}"
            )
        host = np.array(move(value, "cpu"), dtype=p.dtype, copy=True)
        return move(host, p.device) if p.device != "cpu" else host

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _grad_array(p: Tensor):
        """``p.grad`` as an array of p's shape, dtype and device (checked)."""
        g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
        pdata = p.data
        if type(g) is np.ndarray and type(pdata) is np.ndarray and g.shape == pdata.shape \
                and g.dtype is pdata.dtype:
            return g  # the common case: a CPU gradient as the backward pass made it
        if tuple(g.shape) != p.shape:
            raise ValueError(f"optimizer: parameter of shape {p.shape} has a gradient of shape {tuple(g.shape)}")
        if device_of(g) != p.device:
            raise ValueError(f"optimizer: parameter on {p.device} has its gradient on {device_of(g)}")
        if g.dtype != p.dtype:
            g = g.astype(p.dtype)
        return g

    @staticmethod
    def _make_writeable(p: Tensor) -> None:
        # A read-only array (e.g. a view of a memory-mapped file) is copied once so that the
        # in-place updates can proceed; the Tensor then owns its array.
        if not getattr(p.data.flags, "writeable", True):
            p.data = p.data.copy()

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, numbers.Number)


def check_number(name: str, value, low=None, high=None, low_open=False, high_open=False) -> float:
    """``value`` as a float, or ValueError naming it when it lies outside [low, high] (or open ends)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if v != v:
        raise ValueError(f"Invalid {name}: {value} (NaN)")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"Invalid {name}: {value}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"Invalid {name}: {value}")
    return v
