"""Device -> host copies in one GPU training step, counted on the CuPy stand-in.

On a GPU every copy to the host (``.get()``, ``asnumpy``, ``bool()``/``int()``/``float()``
of a device array, ``.item()``, ``.tolist()``) waits for all queued GPU work: the host stops
launching kernels ahead, and a step made of many small kernels slows down. The stand-in
(tests/gpu/fake_cupy) counts them in ``cupy.host_transfers``. The budgets below are the
copies each step needs today, each one a check that turns a bad input into a Python error
instead of an out-of-bounds read on the GPU:

    cross_entropy     class-index range (the loss's check: 1 copy of the targets, 2 bools
                      in the kernel contract's check) + the count of non-ignored targets (1)
    max_pool2d        backward: the index range (min and max: 2 per pooling layer)
    embedding         the token-id range (min and max: 2 per embedding call)

A new copy in a training step fails this test; lowering a budget is welcome.
"""
import json
import os
import subprocess
import sys

import pytest

from ..conftest import REPO
from .test_gpu_suite_on_fake_cupy import FAKE

COUNT = r"""
import json, cupy
import tinygrad_edu as tge
from tinygrad_edu import Tensor, optim
from tinygrad_edu.bench import cases as B

out = {}
for case in ("mlp", "cnn", "lstm10", "transformer"):
    tge.manual_seed(0)
    d = B._data(case)
    model, loss_fn = B._tge_model(case)
    model.to("cuda").train()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = Tensor(d["x"] if "x" in d else d["ids"], device="cuda")
    y = Tensor(d["y"], device="cuda")

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    step()
    cupy.host_transfers.clear()
    step()
    out[case] = dict(cupy.host_transfers)
print("COUNTS " + json.dumps(out))
"""

# case -> (most copies in one step, where they come from)
BUDGET = {
    "mlp": (4, "cross_entropy 4"),
    "cnn": (8, "cross_entropy 4 + max_pool2d backward 2 x 2"),
    "lstm10": (2, "embedding 2 (binary cross-entropy with logits needs none)"),
    "transformer": (8, "cross_entropy 4 + embedding 2 x 2 (tokens, positions); masks stay on the GPU"),
}


@pytest.fixture(scope="module")
def counts():   # one subprocess for the module, about 15 s
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FAKE), str(REPO)]))
    result = subprocess.run([sys.executable, "-c", COUNT], capture_output=True, text=True, cwd=REPO, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("COUNTS ")][-1]
    return json.loads(line[len("COUNTS "):])


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BUDGET))
def test_a_training_step_copies_to_the_host_no_more_than_its_checks_need(counts, case):
    most, why = BUDGET[case]
    total = sum(counts[case].values())
    assert total <= most, f"{case}: {total} device->host copies in one step ({counts[case]}); budget {most}: {why}"


@pytest.mark.slow
def test_padding_and_attention_masks_stay_on_the_gpu(counts):
    # only the loss's target check copies an array to the host; before, the padding mask
    # went host -> device twice per forward and the key-padding mask once per layer
    assert counts["transformer"].get("asnumpy", 0) + counts["transformer"].get("get", 0) <= 1, counts["transformer"]
