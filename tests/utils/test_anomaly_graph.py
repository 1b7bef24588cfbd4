"""Anomaly mode names the op that made a NaN/inf; draw_graph gives the graph as DOT text."""
import shutil

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor
from tinygrad_edu.utils.anomaly import AnomalyError
from tinygrad_edu.utils.graph import draw_graph


def test_anomaly_in_forward_names_the_op_and_the_line():
    x = Tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(AnomalyError, match="Log produced NaN in its forward output") as info:
        with tge.detect_anomaly(), np.errstate(invalid="ignore"):
            x.log()
    assert "test_anomaly_graph.py" in str(info.value)  # the forward trace points at this file


def test_anomaly_in_backward_names_the_op():
    x = Tensor([0.0, 4.0], requires_grad=True)
    with tge.detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt().sum()  # forward is finite; d sqrt / dx at 0 is inf
        with pytest.raises(AnomalyError, match="Sqrt produced inf in its gradient"):
            y.backward()
    assert x.grad is None  # the failed backward left .grad untouched


def test_anomaly_mode_is_off_by_default_and_restored():
    with np.errstate(invalid="ignore"):
        assert np.isnan(Tensor([-1.0]).log().item())
    with tge.detect_anomaly():
        pass
    with np.errstate(invalid="ignore"):
        assert np.isnan(Tensor([-1.0]).log().item())


def test_anomaly_env_var(monkeypatch):
    import subprocess
    import sys

    code = (
        "import numpy as np, tinygrad_edu as tge\n"
        "np.seterr(all='ignore')\n"
        "try:\n    tge.Tensor([-1.0]).log()\nexcept tge.autograd.AnomalyError:\n    print('raised')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "TGE_DETECT_ANOMALY": "1"})
    assert "raised" in out.stdout, out.stderr


def test_draw_graph_dot_text(tmp_path):
    w = Tensor.randn(3, 2, requires_grad=True)
    x = Tensor.ones(4, 3)
    loss = (x @ w).relu().sum()
    dot = draw_graph(loss, names={"w": w})
    assert dot.startswith("digraph")
    for piece in ("MatMul", "ReLU", "Sum", "(4, 3) float32", "w\\n(3, 2) float32\\nrequires_grad"):
        assert piece in dot
    assert dot.count("->") == 7  # x->MatMul, w->MatMul, MatMul->t, t->ReLU, ReLU->t2, t2->Sum, Sum->loss
    path = tmp_path / "g.dot"
    draw_graph(loss, path)
    assert path.read_text() == draw_graph(loss)


def test_draw_graph_render_needs_graphviz(tmp_path):
    loss = (Tensor.ones(2, requires_grad=True) * 2).sum()
    if shutil.which("dot") is None:
        with pytest.raises(RuntimeError, match="Graphviz"):
            draw_graph(loss, tmp_path / "g.svg")
    else:
        draw_graph(loss, tmp_path / "g.svg")
        assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")
