"""Two threads calling backward on a shared leaf (issue 15, point 3).

Before: ``.grad`` was read, added to and written back without a lock, so concurrent backward
calls lost gradient (a total of 90-104 instead of 120). Now accumulation is atomic per tensor.
The leaf is large so that NumPy's addition releases the GIL, which is what opens the window.
"""
import threading

import numpy as np

from tinygrad_edu import Tensor


def test_two_threads_backward_on_a_shared_leaf_lose_nothing():
    x = Tensor(np.zeros(200_000, dtype=np.float32), requires_grad=True)
    calls = []
    x.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    start = threading.Barrier(2)
    errors = []

    def work():
        try:
            start.wait()
            for _ in range(60):
                (x * 1.0).sum().backward()  # each call builds its own graph
        except Exception as exc:  # reported below: a thread's exception would be lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)
    grad = x.grad.numpy()
    assert grad.min() == grad.max() == 120.0
    assert len(calls) == 120
