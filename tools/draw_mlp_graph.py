"""Draw the autograd graphs shown in the tutorials, with tinygrad_edu.utils.graph.draw_graph.

    python tools/draw_mlp_graph.py                 # writes docs/images/*.dot, *.svg, *.png
    python tools/draw_mlp_graph.py --out /tmp/g    # somewhere else

Two pictures:

* ``mlp_graph``: a 2-layer MLP (784 -> 32 -> 10) on a batch of 8 inputs, with the
  cross-entropy loss; the parameters are labelled with their ``named_parameters()`` names
  (``0.weight`` ...), the input ``x``, the labels ``y`` and the ``loss``.
  Shown in docs/tutorials/03_mlp.md.
* ``chain_rule_graph``: the small graph of docs/tutorials/01_tensors_and_autograd.md,
  ``loss = ((x @ w) + b).relu().sum()``.

The .dot text is always written; the .svg and .png need Graphviz's ``dot`` program
(``apt-get install graphviz``, ``brew install graphviz``), and are skipped with a note
when it is missing.
"""
import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import tinygrad_edu as tge  # noqa: E402
import tinygrad_edu.nn.functional as F  # noqa: E402
from tinygrad_edu import Tensor  # noqa: E402
from tinygrad_edu.models import MLP  # noqa: E402
from tinygrad_edu.utils.graph import draw_graph  # noqa: E402


def mlp_graph():
    """(loss, names) for a 2-layer MLP on a batch of 8 random 784-feature inputs."""
    tge.manual_seed(0)
    model = MLP(784, hidden=32, out_features=10)          # Linear - ReLU - Linear
    x = Tensor.randn(8, 784)                               # a batch of 8 flattened images
    y = tge.randint(0, 10, (8,))                           # their labels
    loss = F.cross_entropy(model(x), y)
    names = dict(model.named_parameters())                 # "0.weight", "0.bias", ...
    names.update(x=x, y=y, loss=loss)
    return loss, names


def chain_rule_graph():
    """(loss, names) for loss = relu(x @ w + b).sum(), the example of tutorial 1."""
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    w = Tensor([[0.5, -1.0, 2.0], [1.0, 0.5, -0.5]], requires_grad=True)
    b = Tensor([0.1, 0.2, 0.3], requires_grad=True)
    loss = ((x @ w) + b).relu().sum()
    return loss, {"x": x, "w": w, "b": b, "loss": loss}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"), help="output folder")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    have_dot = shutil.which("dot") is not None
    for name, make in (("mlp_graph", mlp_graph), ("chain_rule_graph", chain_rule_graph)):
        loss, names = make()
        draw_graph(loss, out / f"{name}.dot", names=names)
        written = [f"{name}.dot"]
        if have_dot:
            for fmt in ("svg", "png"):
                draw_graph(loss, out / f"{name}.{fmt}", names=names)
                written.append(f"{name}.{fmt}")
        print(f"{out}: {', '.join(written)}")
    if not have_dot:
        print("Graphviz's `dot` is not installed: only the .dot files were written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
