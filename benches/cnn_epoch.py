"""One training epoch of the articles' CNN on the 60,000 MNIST training images.

    python benches/cnn_epoch.py [--root FOLDER] [--threads 1] [--backend c] [--torch]

Batch 64 (938 steps), Adam lr 1e-3, cross-entropy, images scaled to [0, 1] and shuffled
once per epoch; the time covers everything an epoch does (shuffling, batching, the
steps), not the loading of the files.  ``--torch`` times the same epoch in PyTorch.
MNIST is looked for in ``--root``, then where tinygrad_edu.data looks (../shared/data of
a checkout is tried first).  Prints the epoch time, the mean loss and the accuracy on the
10,000 test images.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_edu as tge  # noqa: E402
from tinygrad_edu import Tensor, nn, optim  # noqa: E402
from tinygrad_edu.data.vision import mnist  # noqa: E402
from tinygrad_edu.models import CNN  # noqa: E402


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--backend", default="c", choices=["c", "numpy"])
    p.add_argument("--torch", action="store_true", help="time PyTorch instead")
    args = p.parse_args(argv)
    (x_train, y_train), (x_test, y_test) = mnist(root=args.root, download=False)
    x_train = (x_train.astype(np.float32) / 255.0)[:, None]
    x_test = (x_test.astype(np.float32) / 255.0)[:, None]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x_train))
    if args.torch:
        return run_torch(args, x_train, y_train, x_test, y_test, order)
    tge.set_backend(args.backend)
    tge.set_num_threads(args.threads)
    tge.manual_seed(0)
    model, loss_fn = CNN(), nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    t0 = time.perf_counter()
    for start in range(0, len(order), 64):
        idx = order[start:start + 64]
        opt.zero_grad()
        loss = loss_fn(model(Tensor(x_train[idx])), Tensor(y_train[idx]))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    dt = time.perf_counter() - t0
    with tge.no_grad():
        model.eval()
        pred = np.concatenate([model(Tensor(x_test[i:i + 1000])).numpy().argmax(1)
                               for i in range(0, len(x_test), 1000)])
    print(f"tinygrad_edu ({args.backend}, {args.threads} thread(s)): epoch {dt:.2f} s "
          f"({dt / len(losses) * 1e3:.2f} ms/step), mean loss {np.mean(losses):.4f}, "
          f"test accuracy {(pred == y_test).mean():.4f}")
    return 0


def run_torch(args, x_train, y_train, x_test, y_test, order):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tnn = torch.nn
    model = tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(64, 64, 3), tnn.ReLU(), tnn.Flatten(),
                           tnn.Linear(576, 64), tnn.ReLU(), tnn.Linear(64, 10))
    loss_fn = tnn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    losses = []
    t0 = time.perf_counter()
    for start in range(0, len(order), 64):
        idx = torch.from_numpy(order[start:start + 64])
        opt.zero_grad()
        loss = loss_fn(model(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    dt = time.perf_counter() - t0
    with torch.no_grad():
        pred = model(torch.from_numpy(x_test)).argmax(1).numpy()
    print(f"PyTorch ({args.threads} thread(s)): epoch {dt:.2f} s ({dt / len(losses) * 1e3:.2f} "
          f"ms/step), mean loss {np.mean(losses):.4f}, test accuracy {(pred == y_test).mean():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
