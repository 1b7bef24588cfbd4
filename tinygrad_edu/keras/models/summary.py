"""``model.summary()`` (Keras's table) and ``model.to_text()`` / ``keras.utils.plot_model``'s
text form: the layer graph drawn as boxes joined by arrows, one layer per box."""
from __future__ import annotations


def _fmt_shape(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_fmt_shape(s) for s in shape) + "]"
    return str(tuple(shape)) if shape is not None else "?"


def _rows(model):
    """(name (Type), output shape, params, connected-to) per layer, in graph order."""
    from .functional import Functional

    rows = []
    if isinstance(model, Functional):
        for layer in model._input_layers:
            rows.append((f"{layer.name} ({type(layer).__name__})", _fmt_shape(layer.output_shape), "0", "-"))
        done = set(id(l) for l in model._input_layers)
        for node in model._nodes:
            layer = node.layer
            parents = [t.node.layer.name + (f"[{t.index}]" if isinstance(t.node.outputs, list) else "")
                       for t in node.inputs]
            out = node.outputs
            shape = [t.shape for t in out] if isinstance(out, list) else out.shape
            params = str(layer.count_params()) if id(layer) not in done else "0 (shared)"
            done.add(id(layer))
            rows.append((f"{layer.name} ({type(layer).__name__})", _fmt_shape(shape), params, ", ".join(parents)))
        return rows, True
    for layer in model.layers:
        shape = layer.output_shape if layer.built else None
        params = str(layer.count_params()) if layer.built else "0 (unbuilt)"
        rows.append((f"{layer.name} ({type(layer).__name__})", _fmt_shape(shape), params, ""))
    return rows, False


def summary(model, line_length=None, positions=None, print_fn=None) -> None:
    """Print the table: Layer (type) | Output Shape | Param # (| Connected to), then the totals.

    The columns are Keras's widths (29, 26, 10 characters, plus 30 for functional models;
    ``line_length`` / ``positions`` change them), widened when an entry would not fit."""
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or "
                         "by calling the model on a batch of data, or give the first layer an `input_shape`.")
    emit = print_fn if print_fn is not None else print
    rows, functional = _rows(model)
    header = ("Layer (type)", "Output Shape", "Param #", "Connected to")
    n_cols = 4 if functional else 3
    line_length = line_length or (98 if functional else 65)
    positions = positions or ([0.3, 0.6, 0.7, 1.0] if functional else [0.45, 0.85, 1.0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths, start = [], 0
    for col, end in enumerate(positions[:n_cols]):
        need = max(len(r[col]) for r in rows + [header]) + 1
        widths.append(max(end - start, need))
        start = end
    total_width = sum(widths)

    def line(cells):
        return "".join(c.ljust(w) for c, w in zip(cells[:n_cols], widths)).rstrip()

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    emit(f'Model: "{model.name}"')
    emit("_" * total_width)
    emit(line(header))
    emit("=" * total_width)
    for i, row in enumerate(rows):
        emit(line(row))
        emit(("=" if i == len(rows) - 1 else "_") * total_width)
    emit(f"Total params: {total:,}")
    emit(f"Trainable params: {trainable:,}")
    emit(f"Non-trainable params: {total - trainable:,}")
    emit("_" * total_width)


def plot_text(model, show_shapes=True) -> str:
    """The layer graph as text, like ``plot_model``'s picture::

        +---------------------------------+
        | input_layer (InputLayer)        |
        | out: (None, 784)                |
        +---------------------------------+
                         |
                         v
        ...

    A layer reading several tensors lists them on an "in:" line.
    """
    rows, functional = _rows(model)
    boxes = []
    for name, shape, _, parents in rows:
        lines = [name]
        if functional and parents not in ("", "-"):
            lines.append(f"in: {parents}")
        if show_shapes:
            lines.append(f"out: {shape}")
        boxes.append(lines)
    if not functional and isinstance(getattr(model, "_input_shape", None), tuple):
        boxes.insert(0, ["input (InputLayer)", f"out: {_fmt_shape(model._input_shape)}"] if show_shapes
                     else ["input (InputLayer)"])
    width = max(len(l) for box in boxes for l in box) + 2
    out = []
    for i, box in enumerate(boxes):
        if i:
            out += [" " * (width // 2 + 1) + "|", " " * (width // 2 + 1) + "v"]
        out.append("+" + "-" * width + "+")
        out += ["| " + l.ljust(width - 1) + "|" for l in box]
        out.append("+" + "-" * width + "+")
    return "\n".join(out)
