"""Data: datasets (MNIST, Fashion-MNIST, rt-polarity, built-in synthetic digits), the IDX
reader, and the DataLoader that turns a dataset into shuffled mini-batches of Tensors.

    from tinygrad_edu.data import mnist, synthetic_digits, TensorDataset, DataLoader
    (x_train, y_train), (x_test, y_test) = mnist()             # finds or downloads the files
    x, y = synthetic_digits(10000, seed=0)                    # ships with the package
    x = x[:, None].astype("float32") / 255                      # (N, 1, 28, 28) float32
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
"""
from tinygrad_edu.data._files import ChecksumError, DatasetNotFoundError, cache_dir
from tinygrad_edu.data.idx import read_idx, write_idx
from tinygrad_edu.data.loader import DataLoader, Dataset, Subset, TensorDataset, random_split
from tinygrad_edu.data.sampler import DistributedSampler, RandomSampler, Sampler, SequentialSampler
from tinygrad_edu.data.vision import MNIST, fashion_mnist, mnist
from tinygrad_edu.data.synthetic import SyntheticDigits, synthetic_digits, synthetic_digits_split
from tinygrad_edu.data.text import rt_polarity

__all__ = [
    "mnist", "fashion_mnist", "MNIST", "rt_polarity",
    "synthetic_digits", "synthetic_digits_split", "SyntheticDigits",
    "Dataset", "TensorDataset", "Subset", "random_split", "DataLoader",
    "Sampler", "SequentialSampler", "RandomSampler", "DistributedSampler",
    "read_idx", "write_idx", "cache_dir", "DatasetNotFoundError", "ChecksumError",
]
