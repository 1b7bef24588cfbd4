"""Bad input to the PyTorch-named methods and functions is refused with a clear exception
naming the argument and the shapes, before any kernel runs."""
import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, nn

X = Tensor(np.arange(12.0).reshape(3, 4))


@pytest.mark.parametrize("call,error,match", [
    (lambda: X.gather(1, Tensor(np.array([0, 1]))), ValueError, r"index \(2,\) must have as many axes"),
    (lambda: X.gather(1, Tensor(np.array([[0], [4], [1]]))), IndexError, r"\[0, 4\)"),
    (lambda: X.gather(1, Tensor(np.array([[0.5]]))), TypeError, "integers"),
    (lambda: X.gather(2, Tensor(np.array([[0]]))), ValueError, "out of range"),
    (lambda: X.scatter_add(0, Tensor(np.array([[0, 1]])), Tensor(np.ones(2))), ValueError, "src"),
    (lambda: X.scatter_add(0, Tensor(np.array([[3]])), Tensor(np.ones((1, 1)))), IndexError, r"\[0, 3\)"),
    (lambda: X.topk(5), ValueError, "k=5"),
    (lambda: X.sort(dim=3), ValueError, "out of range"),
    (lambda: X.split([1, 1]), ValueError, "sum to 3"),
    (lambda: X.split(0), ValueError, "positive"),
    (lambda: X.chunk(0), ValueError, "positive"),
    (lambda: X.repeat(2), ValueError, "at least one size per axis"),
    (lambda: X.masked_fill(np.ones((3, 4)), 0.0), TypeError, "bool"),
    (lambda: X.masked_fill(np.ones(5, bool), 0.0), ValueError, "broadcast"),
    (lambda: X.clamp(), ValueError, "min"),
    (lambda: X.div(2, rounding_mode="round"), ValueError, "rounding_mode"),
    (lambda: X.mm(Tensor(np.ones(4))), ValueError, "2-D"),
    (lambda: X.cumsum("a"), TypeError, "dim must be an int"),
    (lambda: tge.einsum("ij,jk", X), ValueError, "names 2 operands"),
    (lambda: tge.einsum("ijk", X), ValueError, "do not fit"),
    (lambda: tge.einsum("ij->ik", X), ValueError, "appears in no operand"),
    (lambda: tge.einsum("ij", X.numpy()), TypeError, "Tensors"),
    (lambda: tge.LongTensor(3, 4), TypeError, "data"),
    (lambda: tge.device("mps"), RuntimeError, "cpu"),
    (lambda: tge.device("cuda:1"), ValueError, "index 0"),
    (lambda: tge.linspace(0, 1, -1), ValueError, "steps"),
    (lambda: F.one_hot(Tensor(np.array([0, 3])), 3), ValueError, r"\[0, 3\)"),
    (lambda: F.one_hot(Tensor(np.array([0.0])), 3), TypeError, "integer"),
    (lambda: F.cross_entropy(X, Tensor(np.array([0, 1, 2])), label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: F.batch_norm(X, Tensor(np.zeros(3)), Tensor(np.ones(4))), ValueError, r"running_mean shape \(3,\)"),
    (lambda: F.conv_transpose2d(Tensor(np.ones((1, 2, 3, 3))), Tensor(np.ones((2, 1, 2, 2))), stride=2,
                                output_padding=2), ValueError, "output_padding"),
    (lambda: F.conv2d(Tensor(np.ones((1, 3, 5, 5))), Tensor(np.ones((2, 1, 3, 3))), groups=3), ValueError, "groups=3"),
    (lambda: F.conv2d(Tensor(np.ones((1, 2, 5, 5))), Tensor(np.ones((2, 2, 3, 3))), stride=2, padding="same"),
     ValueError, "stride 1"),
    (lambda: F.conv1d(Tensor(np.ones((1, 2, 5))), Tensor(np.ones((2, 2, 3, 3)))), ValueError, r"\(O, C, K\)"),
    (lambda: F.adaptive_avg_pool2d(Tensor(np.ones((2, 5))), 2), ValueError, r"\(N, C, H, W\)"),
    (lambda: F.dropout2d(Tensor(np.ones((2, 3))), 0.5), ValueError, r"\(N, C, H, W\)"),
    (lambda: nn.GRU(3, 4)(Tensor(np.ones((2, 1, 5)))), ValueError, "input_size=3"),
    (lambda: nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8)(
        Tensor(np.ones((3, 2, 8), np.float32)), Tensor(np.ones((3, 1, 8), np.float32))), ValueError, "batch size"),
    (lambda: nn.BatchNorm1d(3, momentum=2.0), ValueError, "momentum"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, padding="same"), ValueError, "padding"),
])
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_device_objects_behave_like_pytorchs():
    d = tge.device("cuda", 0)
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 0, "cuda:0", "device(type='cuda', index=0)")
    cpu = tge.device("cpu")
    assert cpu == "cpu" and cpu.type == "cpu" and cpu.index is None and repr(cpu) == "device(type='cpu')"
    assert tge.device(cpu) is cpu and {cpu: 1}["cpu"] == 1
    assert X.to(cpu) is X and X.to(tge.device("cpu"), tge.float64).dtype == np.float64
    assert X.to(dtype=tge.float32).dtype == np.float32 and X.to(Tensor(np.ones(1, np.float32))).dtype == np.float32
    model = nn.Linear(2, 2).to(cpu)
    assert model.weight.device == "cpu"
    assert tge.cuda.is_available() == tge.accelerator.is_available()
    if not tge.cuda.is_available():
        assert tge.accelerator.current_accelerator() is None and tge.cuda.device_count() == 0
    assert tge.backends.mps.is_available() is False
    tge.backends.cudnn.deterministic = True
    v = tge.autograd.Variable(X)
    assert v is X
    w = tge.autograd.Variable(tge.tensor(np.ones(2)), requires_grad=True)
    assert isinstance(w, Tensor) and w.requires_grad
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got ndarray"):
        tge.autograd.Variable(np.ones(2))
