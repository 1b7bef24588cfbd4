"""Containers: Sequential (a chain), ModuleList and ModuleDict (registered collections)."""
from __future__ import annotations

from collections import OrderedDict

from .activation import ReLU
from .functional.conv import linear_relu
from .linear import Linear
from .module import Module
from .pooling import MaxPool2d

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _check_module(value, where: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{where}: expected a Module, got {type(value).__name__}")
    return value


class _IndexedModules(Module):
    """Shared code of Sequential and ModuleList: children named "0", "1", ... in order."""

    def _index(self, idx: int) -> int:
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise TypeError(f"{type(self).__name__} indices must be ints or slices, got {type(idx).__name__}")
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for {type(self).__name__} of length {n}")
        return idx % n

    def _renumber(self, modules) -> None:
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)._from_list(list(self._modules.values())[idx])
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx, module) -> None:
        key = list(self._modules)[self._index(idx)]
        self._modules[key] = _check_module(module, f"{type(self).__name__}[{idx}] = ...")

    def __delitem__(self, idx) -> None:
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[self._index(idx)]
        self._renumber(modules)

    def append(self, module: Module):
        """Add ``module`` at the end. Returns self."""
        self._modules[str(len(self._modules))] = _check_module(module, f"{type(self).__name__}.append")
        return self

    def extend(self, modules):
        """Append every module of an iterable. Returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (renumbering the ones after)."""
        modules = list(self._modules.values())
        modules.insert(index, _check_module(module, f"{type(self).__name__}.insert"))
        self._renumber(modules)

    def __add__(self, other):
        if not isinstance(other, type(self)):
            raise TypeError(f"cannot add {type(other).__name__} to {type(self).__name__}")
        return type(self)._from_list(list(self) + list(other))

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_IndexedModules):
    """Apply modules one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Sequential(*modules) names the children "0", "1", ...; Sequential(OrderedDict(name=module))
    keeps the given names. Supports indexing (an int gives a module, a slice a new Sequential),
    len, iteration and append.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            for name, m in modules[0].items():
                self.add_module(name, _check_module(m, f"Sequential: entry {name!r}"))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), _check_module(m, f"Sequential: argument {i}"))

    @classmethod
    def _from_list(cls, modules):
        return Sequential(*modules)

    def __getitem__(self, idx):
        if isinstance(idx, str):
            return self._modules[idx]
        if isinstance(idx, slice):
            items = list(self._modules.items())[idx]
            return Sequential(OrderedDict(items))
        return super().__getitem__(idx)

    def append(self, module: Module) -> "Sequential":
        name = str(len(self._modules))
        if name in self._modules:  # names from an OrderedDict may collide with numbers
            raise KeyError(f"Sequential.append: a child named {name!r} exists already")
        return super().append(module)

    def forward(self, x):
        # Two rewrites, exact in value and gradient, for the library's own classes only (a
        # subclass may change forward):
        # * ReLU then MaxPool2d runs as the pool first, then the ReLU on the pooled values
        #   (max commutes with the monotone relu, and both propagate NaN): the ReLU's two
        #   passes touch a quarter of the values (2x2);
        # * Linear then ReLU (not followed by a pool) runs as one node, F.linear_relu.
        mods = list(self._modules.values())
        i, n = 0, len(mods)
        while i < n:
            m, after = mods[i], type(mods[i + 1]) if i + 1 < n else None
            if type(m) is ReLU and after is MaxPool2d:
                x, i = m(mods[i + 1](x)), i + 2
            elif type(m) is Linear and after is ReLU and \
                    (i + 2 >= n or type(mods[i + 2]) is not MaxPool2d):
                x, i = linear_relu(x, m.weight, m.bias), i + 2
            else:
                x, i = m(x), i + 1
        return x


class ModuleList(_IndexedModules):
    """A list of modules whose parameters the owner sees (a plain list would hide them).

    ModuleList(modules=None): append, extend, insert, indexing (int or slice), len, iteration.
    It has no forward: the owner decides how to call the modules.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @classmethod
    def _from_list(cls, modules):
        return ModuleList(modules)

    def __iadd__(self, modules):
        return self.extend(modules)


class ModuleDict(Module):
    """A dict of modules (string keys, insertion order) whose parameters the owner sees."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, f"ModuleDict[{key!r}] = ..."))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self._modules[key]
        del self._modules[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        """Add (name, module) pairs from a mapping or an iterable of pairs."""
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module
