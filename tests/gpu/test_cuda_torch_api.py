"""The PyTorch-style ops and layers (gather, scatter_add, cumsum, prod, sort, topk, einsum,
sin/cos, max(dim), ConvTranspose2d, Conv1d, grouped/dilated conv2d, adaptive pooling,
BatchNorm, the fused GRU, label smoothing) on the GPU, compared with the CPU backend (outputs
and every input gradient, float64 and float32). Needs CuPy and a GPU (the ``cuda`` fixture
skips otherwise); tests/gpu/test_gpu_suite_on_fake_cupy.py runs it on the stand-in."""
import numpy as np
import pytest

import tinygrad_edu as tge
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor, nn

from .test_cuda_ops import compare_devices

pytestmark = pytest.mark.cuda


def _on(array, like):
    return Tensor(array, device=like.device)


CASES = [
    ("gather", lambda x: x.gather(1, _on(np.array([[0, 3], [2, 2], [1, 0]]), x)), [(3, 4)]),
    ("scatter_add", lambda x, s: x.scatter_add(0, _on(np.array([[0, 2, 0, 1], [0, 0, 1, 1]]), x), s), [(3, 4), (2, 4)]),
    ("cumsum_prod", lambda x: x.cumsum(1) * 2 + x.prod(1, keepdim=True), [(3, 4)]),
    ("sort_topk", lambda x: x.sort(1, descending=True).values + x.topk(4, dim=1).values, [(3, 4)]),
    ("max_dim", lambda x: x.max(1).values + x.min(dim=1).values + x.logsumexp(1), [(3, 4)]),
    ("einsum", lambda a, b: tge.einsum("bij,bjk->bik", a, b).sum(-1) + tge.einsum("bii->bi", a[:, :, :3]), [(2, 3, 4), (2, 4, 5)]),
    ("sin_cos", lambda x: x.sin() * x.cos(), [(3, 4)]),
    ("conv_transpose2d", lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1), [(2, 3, 4, 4), (3, 2, 3, 3)]),
    ("conv1d_groups", lambda x, w: F.conv1d(x, w, padding=1, groups=2, dilation=2), [(2, 4, 9), (6, 2, 3)]),
    ("conv2d_dilation", lambda x, w: F.conv2d(x, w, dilation=2, padding="same"), [(1, 2, 6, 6), (3, 2, 3, 3)]),
    ("adaptive_avg_pool", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [(2, 3, 7, 5)]),
    ("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3, 5), (3,), (3,)]),
    ("silu_softplus", lambda x: F.silu(x) + F.softplus(x, beta=2.0), [(3, 4)]),
    ("label_smoothing", lambda x: F.cross_entropy(x, _on(np.array([0, 2, 1]), x), label_smoothing=0.1), [(3, 4)]),
]


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_op_on_the_gpu_matches_the_cpu(cuda, name, fn, shapes):
    compare_devices(fn, shapes)


@pytest.mark.parametrize("layer", ["gru", "batchnorm"])
def test_layers_on_the_gpu_match_the_cpu(cuda, layer):
    x = np.random.default_rng(0).standard_normal((5, 3, 4))
    results = []
    for device in ("cpu", "cuda"):
        tge.manual_seed(0)
        module = (nn.GRU(4, 6, bidirectional=True) if layer == "gru" else nn.BatchNorm1d(3)).double().to(device)
        xt = Tensor(x, requires_grad=True, device=device)
        out = module(xt)
        out = out[0] if isinstance(out, tuple) else out
        out.sum().backward()
        results.append([out.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in module.parameters()]
                       + [b.numpy() for b in module.buffers()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
