"""The package's layers, checked from the source: a module imports only modules of its own
layer or of the layers below it, also inside functions (a lazy import of a higher layer is
still a dependency on it), and the module-level imports form no circle.

The layers, from the bottom (docs/ARCHITECTURE.md draws them):
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "tinygrad_edu"

# Each top-level module or subpackage of tinygrad_edu, by layer (bottom first). A new one must
# be placed here: test_every_module_has_a_layer fails until it is.
LAYERS = [
    ("foundations", ["device", "limits", "rng", "dtypes", "torch_device", "process_world"]),
    ("kernels", ["backends"]),
    ("autograd engine", ["autograd", "custom_function"]),
    ("ops", ["ops"]),
    ("tensor parts", ["shaping", "creation", "maths", "torch_methods"]),
    ("tensor", ["tensor"]),
    ("modules", ["nn", "optim", "data", "utils", "_torch_compat"]),
    ("applications", ["keras", "models", "distributed", "serve", "bench", "cli",
                      "__init__", "__main__"]),
]
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}
__doc__ += "\n".join(f"{i}. {title}: {', '.join(names)}" for i, (title, names) in enumerate(LAYERS))


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path):
    """(imported tinygrad_edu module or name, line, at module level?) for every import."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names = [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == "tinygrad_edu" or name.startswith("tinygrad_edu."):
                yield name, node.lineno, id(node) in top_level


def _layer_key(dotted: str) -> str:
    """'tinygrad_edu.nn.linear' -> 'nn'; the package itself -> '__init__'."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _sources():
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    missing = {_layer_key(_module_name(p)) if p.parent != PACKAGE or p.name != "__init__.py" else "__init__"
               for p in _sources()} - set(RANK)
    assert not missing, f"place these in LAYERS (tests/docs/test_layering.py): {sorted(missing)}"


def test_no_module_imports_a_higher_layer():
    wrong = []
    for path in _sources():
        here = "__init__" if path == PACKAGE / "__init__.py" else _layer_key(_module_name(path))
        for name, line, _ in _imports(path):
            there = _layer_key(name)
            if there in RANK and RANK[there] > RANK[here]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({here}) imports {name} ({there})")
    assert not wrong, "lower layers import higher ones:\n" + "\n".join(wrong)


def _module_graph() -> dict:
    """module -> the package modules it imports at module level (names resolved to modules)."""
    modules = {_module_name(p): p for p in _sources()}
    graph = {}
    for module, path in modules.items():
        targets = set()
        for name, _, top in _imports(path):
            if top:
                while name not in modules and "." in name:
                    name = name.rsplit(".", 1)[0]  # 'pkg.mod.Class' -> 'pkg.mod'
                if name in modules and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


def test_no_import_circle_at_module_level():
    graph = _module_graph()
    # a package's __init__ importing its own submodules is how packages are built; a
    # submodule importing its package's __init__ back would be the circle
    for module in graph:
        graph[module] = {t for t in graph[module] if not t.startswith(module + ".")}
    state, stack_path, circles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack_path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(stack_path[stack_path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack_path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("source, expected", [
    ("from ..tensor import Tensor\n", "tinygrad_edu.tensor.Tensor"),
    ("from . import kernels\n", "tinygrad_edu.ops.kernels"),
    ("import tinygrad_edu.nn as nn\n", "tinygrad_edu.nn"),
])
def test_the_import_reader_resolves_relative_imports(tmp_path, monkeypatch, source, expected):
    fake = PACKAGE / "ops" / "x.py"
    monkeypatch.setattr(pathlib.Path, "read_text", lambda self, encoding=None: source)
    assert [name for name, _, _ in _imports(fake)] == [expected]
