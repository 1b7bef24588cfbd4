"""Module: the base class of every layer and model.

A Module owns three ordered registries, filled by plain attribute assignment:

* ``_parameters`` – :class:`Parameter` objects (``self.weight = Parameter(...)``), or ``None``
  for an optional parameter that is switched off (``Linear(..., bias=False).bias is None``);
* ``_buffers``    – Tensors that belong to the state but are not trained (``register_buffer``);
* ``_modules``    – child modules (``self.fc = Linear(3, 4)``).

Everything else (``parameters()``, ``state_dict()``, ``train()``, ``to()``, ``repr``) walks
those registries, children in the order they were assigned, so names come out exactly like
PyTorch's: ``0.weight``, ``lstm.weight_ih_l0``, ``layers.1.self_attn.in_proj_weight``.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Callable, Iterator

import numpy as np

from ..autograd import no_grad
from ..device import array_module, move, normalize_device
from ..tensor import Tensor, to_dtype
from .parameter import Parameter

__all__ = ["Module", "IncompatibleKeys"]


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: keys the model wanted but did not get, and keys it
    got but has no place for (both lists of str, like PyTorch's ``_IncompatibleKeys``)."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _to_host_array(value, key: str) -> np.ndarray:
    """A state-dict value (NumPy array, our Tensor, a torch tensor, a list) as a NumPy array."""
    if isinstance(value, Tensor):
        return value.numpy()
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor, without importing torch
        return value.detach().cpu().numpy()
    if hasattr(value, "get") and hasattr(value, "shape"):  # a CuPy array
        return value.get()
    try:
        return np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"load_state_dict: value for {key!r} of type {type(value).__name__} is not array-like") from exc


class Module:
    """Base class of layers and models: subclass it, assign parameters and submodules in
    ``__init__`` (after ``super().__init__()``), and write ``forward``.

        class TwoLayer(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 8)
                self.fc2 = nn.Linear(8, 2)

            def forward(self, x):               # x: (N, 4) float32 -> (N, 2)
                return self.fc2(self.fc1(x).relu())

    Calling the module (``model(x)``) runs ``forward``.
    """

    training: bool

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these registries to exist already
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        """The computation of the module; subclasses define it, ``module(x)`` calls it."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ registration
    def _check_initialised(self, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Parameter):
            self._check_initialised(name)
            self._discard(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_initialised(name)
            self._discard(name)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to parameter {name!r} of "
                    f"{type(self).__name__}: wrap it in nn.Parameter (or assign None)"
                )
            self._parameters[name] = None
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule {name!r} (a Module or None)")
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} (a Tensor or None)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name: str) -> None:
        """Forget ``name`` wherever it is, so that one name lives in one registry only."""
        self.__dict__.pop(name, None)
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails; use __dict__ directly so that a half-built
        # object (copy.deepcopy, pickle) never recurses back in here.
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``, a switched-off optional parameter) under ``name``."""
        self._check_initialised(name)
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"parameter name must be a non-empty string without '.', got {name!r}")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): expected a Parameter or None, got {type(param).__name__}")
        self._discard(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is not trained (running statistics, position tables...).

        Persistent buffers are saved in ``state_dict()``; all buffers move with ``to()``.
        """
        self._check_initialised(name)
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): expected a Tensor or None, got {type(tensor).__name__}")
        self._discard(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Add a child module under ``name`` (what ``self.name = module`` does)."""
        self._check_initialised(name)
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): expected a Module or None, got {type(module).__name__}")
        self._discard(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The module at dotted path ``target`` ("" is self), e.g. ``"layers.0.self_attn"``."""
        module = self
        if target == "":
            return module
        for part in target.split("."):
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking up {target!r})")
            module = child
        return module

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """Yield (dotted name, module) for this module and every descendant, parents first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            child_prefix = f"{prefix}.{name}" if prefix else name
            yield from child.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """Yield (name, module) for the direct children (each module once)."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        """The direct submodules, in the order they were assigned."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield (dotted name, Parameter); a parameter shared by two modules comes once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The trainable tensors, for an optimizer: ``optim.Adam(model.parameters())``."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of scalar parameters (shared parameters counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Switch this module and all descendants to training mode (dropout on); returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        """``train(False)``: dropout becomes the identity. Returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze every parameter. Returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (``.grad = None``), or fill it with zeros."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data = array_module(p.grad.data).zeros_like(p.grad.data)

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every child (recursively) and then on self, e.g. to re-initialise."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ state
    def _state_items(self, prefix: str = ""):
        """(name, tensor) pairs of the state dict, PyTorch's order: own parameters, own
        persistent buffers, then each child's, depth first. Shared tensors appear under
        every name (as in PyTorch)."""
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                yield prefix + name, b
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_items(prefix + name + ".")

    def state_dict(self) -> dict:
        """Name -> NumPy array (a copy on the host) for every parameter and persistent buffer."""
        return {name: t.numpy().copy() for name, t in self._state_items()}

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into this module's parameters and buffers (in place, same dtype).

        state_dict: mapping name -> NumPy array, Tensor or torch tensor. Every shape must match
        (a ValueError lists each mismatch). With ``strict=True`` (default) the keys must match
        exactly: a RuntimeError (PyTorch's type) lists the missing and unexpected keys.
        Nothing is changed unless every check passes (PyTorch loads what it can first).
        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got {type(state_dict).__name__}")
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in own]
        name = type(self).__name__
        if strict and (missing or unexpected):
            lines = [f"load_state_dict for {name}: the keys do not match"]
            if missing:
                lines.append(f"  missing key(s): {', '.join(repr(k) for k in missing)}")
            if unexpected:
                lines.append(f"  unexpected key(s): {', '.join(repr(k) for k in unexpected)}")
            raise RuntimeError("\n".join(lines))
        arrays, mismatches = {}, []
        for key, target in own.items():
            if key not in state_dict:
                continue
            array = _to_host_array(state_dict[key], key)
            if tuple(array.shape) != tuple(target.shape):
                mismatches.append(
                    f"  {key!r}: the checkpoint has shape {tuple(array.shape)}, "
                    f"this model has shape {tuple(target.shape)}"
                )
                continue
            if array.dtype.kind not in "fiub":
                mismatches.append(f"  {key!r}: unsupported dtype {array.dtype}")
                continue
            arrays[key] = array
        if mismatches:
            raise ValueError(f"load_state_dict for {name}: size mismatch\n" + "\n".join(mismatches))
        with no_grad():
            for key, array in arrays.items():
                target = own[key]
                values = move(np.asarray(array, dtype=target.dtype), target.device)
                if not getattr(target.data.flags, "writeable", True):  # CuPy arrays have no such flag
                    target.data = array_module(target.data).array(values, copy=True)
                else:
                    target.data[...] = values
                target._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ devices and dtypes
    def _convert(self, fn) -> "Module":
        """Replace the array of every parameter, gradient and buffer by ``fn(array)``, in place
        (the Parameter objects stay the same, so an optimizer built earlier still holds them)."""
        seen = set()
        for module in self.modules():
            for store in (module._parameters, module._buffers):
                for t in store.values():
                    if t is None or id(t) in seen:
                        continue
                    seen.add(id(t))
                    t.data = fn(t.data)
                    if t.grad is not None:
                        t.grad.data = fn(t.grad.data)
        return self

    def to(self, target) -> "Module":
        """``to("cuda")`` / ``to("cpu")`` moves every parameter and buffer (in place);
        ``to(np.float64)`` / ``to("float64")`` converts the floating ones. Returns self.

        Moving to "cuda" needs CuPy and a GPU; without them the core raises a RuntimeError.
        """
        if isinstance(target, str) and target.split(":")[0] in ("cpu", "cuda", "gpu"):
            device = normalize_device(target)
            return self._convert(lambda a: move(a, device))
        dtype = to_dtype(target)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only float dtypes apply to parameters, got {dtype}")
        return self._convert(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)

    def cuda(self) -> "Module":
        return self.to("cuda")

    def cpu(self) -> "Module":
        return self.to("cpu")

    def double(self) -> "Module":
        """Convert floating parameters and buffers to float64 (in place). Returns self."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """Convert floating parameters and buffers to float32 (in place). Returns self."""
        return self.to(np.float32)

    # ------------------------------------------------------------------ representation
    def extra_repr(self) -> str:
        """The text inside this module's parentheses (its constructor arguments)."""
        return ""

    def _repr_lines(self, top: bool) -> list:
        """This module's lines: "Name(args)  # N params", or a header, its children, ")"."""
        count = self.num_parameters()
        comment = ""
        if count:
            comment = f"  # {count:,} params"
            if top and self._modules:
                comment = f"  # {count:,} params in total"
            trainable = self.num_parameters(trainable_only=True)
            if top and trainable != count:
                comment += f" ({trainable:,} trainable)"
        extra = self.extra_repr()
        children = [(name, m) for name, m in self._modules.items() if m is not None]
        if not children:
            return [f"{type(self).__name__}({extra}){comment}"]
        # "Name(" with the count, then the arguments on a line of their own, then the children
        lines = [f"{type(self).__name__}({comment}"]
        if extra:
            lines.extend(f"  {line}" for line in extra.split("\n"))
        for name, child in children:
            child_lines = child._repr_lines(top=False)
            lines.append(f"  ({name}): {child_lines[0]}")
            lines.extend("  " + line for line in child_lines[1:])
        lines.append(")")
        return lines

    def __repr__(self):
        return "\n".join(self._repr_lines(top=True))
