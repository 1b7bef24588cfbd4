"""Draw the autograd graph of a tensor as Graphviz DOT text (and SVG/PNG when graphviz is there).

Boxes are tensors (shape, dtype, whether they need grad; leaves that require grad are filled),
ellipses are the Functions that made them, and arrows follow the forward computation::

    x (4, 100) --> Linear --> (4, 64) --> ReLU --> ...
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path



def _tensors_below(root) -> list:
    """The tensors that need grad in the graph below ``root`` (explicit stack, no recursion)."""
    order, seen, stack = [], set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen or not t.requires_grad:
            continue
        seen.add(id(t))
        order.append(t)
        stack.extend(t._ctx.parents if t._ctx is not None else ())
    return order


def _tensor_label(t, names) -> str:
    name = names.get(id(t))
    parts = [name] if name else []
    parts.append(f"{tuple(t.shape)} {t.dtype}")
    if t.requires_grad and t._ctx is None:
        parts.append("requires_grad")
    return "\\n".join(parts)


def draw_graph(tensor, path=None, names=None, rankdir: str = "LR") -> str:
    """DOT text of the graph that produced ``tensor``.

    tensor: the output (e.g. a loss). names: optional ``{name: Tensor}`` (for example
    ``dict(model.named_parameters())``) to label leaves. path: when given, also write the
    file: ``.dot`` writes the text; ``.svg``/``.png``/``.pdf`` run Graphviz's ``dot`` program
    (RuntimeError if it is not installed). Returns the DOT text.
    """
    from ..tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor (e.g. a loss), got {type(tensor).__name__}")
    labels = {id(t): n for n, t in (names or {}).items()}
    lines = [
        "digraph autograd {",
        f'  rankdir={rankdir}; node [fontname="Helvetica", fontsize=10];',
    ]
    nodes = _tensors_below(tensor) if tensor.requires_grad else [tensor]
    for t in nodes:
        style = 'style=filled, fillcolor="lightblue"' if (t.requires_grad and t._ctx is None) else ""
        lines.append(f'  t{id(t)} [shape=box, label="{_tensor_label(t, labels)}"{", " + style if style else ""}];')
        ctx = t._ctx
        if ctx is None:
            continue
        lines.append(f'  f{id(ctx)} [shape=ellipse, label="{ctx.name}", style=filled, fillcolor="lightyellow"];')
        lines.append(f"  f{id(ctx)} -> t{id(t)};")
        for parent in ctx.parents:
            if not parent.requires_grad:
                # constants (inputs, targets) are drawn too, so the picture shows every operand
                lines.append(f'  t{id(parent)} [shape=box, label="{_tensor_label(parent, labels)}", color=gray];')
            lines.append(f"  t{id(parent)} -> f{id(ctx)};")
    lines.append("}")
    dot = "\n".join(lines) + "\n"
    if path is not None:
        _write(dot, Path(path))
    return dot


def _write(dot: str, path: Path) -> None:
    fmt = path.suffix.lstrip(".").lower()
    if fmt in ("dot", "gv", ""):
        path.write_text(dot)
        return
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(
            f"draw_graph: rendering {path.name} needs the Graphviz 'dot' program "
            "(apt-get install graphviz); save as .dot to get the text alone"
        )
    result = subprocess.run([program, f"-T{fmt}", "-o", str(path)], input=dot.encode(), capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"draw_graph: dot failed: {result.stderr.decode(errors='replace')}")
