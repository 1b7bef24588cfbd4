"""GPT on the GPU, compared with the CPU backend: logits, a training step's gradients
(float64) and generation with the key/value cache. Needs CuPy and a GPU (the ``cuda``
fixture skips otherwise; tests/gpu/test_gpu_suite_on_fake_cupy.py runs it on a stand-in)."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu.models.gpt import GPT2Config, GPT2LMHeadModel

pytestmark = pytest.mark.cuda


def _model():
    tge.manual_seed(0)
    config = GPT2Config(vocab_size=23, n_positions=24, n_embd=16, n_layer=2, n_head=2,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, initializer_range=0.3)
    return GPT2LMHeadModel(config)


def test_gpt_on_cuda_matches_cpu(cuda):
    ids = np.random.default_rng(0).integers(0, 23, (2, 9))
    cpu, gpu = _model(), _model()
    cpu.to(np.float64)
    gpu.to(np.float64)
    gpu.to("cuda")
    a, b = cpu(ids, labels=ids), gpu(ids, labels=ids)
    assert b.logits.device == "cuda"
    np.testing.assert_allclose(b.logits.numpy(), a.logits.numpy(), atol=1e-10)
    a.loss.backward()
    b.loss.backward()
    for (name, p), q in zip(cpu.named_parameters(), gpu.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), atol=1e-10, err_msg=name)
    np.testing.assert_array_equal(gpu.generate(ids[:1, :3], max_new_tokens=10),
                                  cpu.generate(ids[:1, :3], max_new_tokens=10))
