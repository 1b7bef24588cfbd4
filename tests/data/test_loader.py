"""DataLoader, TensorDataset, Subset, random_split."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import Tensor
from tinygrad_edu.data import DataLoader, Dataset, Subset, TensorDataset, random_split


def _xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return x, y


def test_batches_in_order():
    x, y = _xy(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert len(batches) == 3
    xb, yb = batches[0]
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.shape == (4, 3) and xb.dtype == np.float32
    assert yb.shape == (4,) and yb.dtype == np.int64
    np.testing.assert_array_equal(xb.numpy(), x[:4])
    assert [b[1].numpy().tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last():
    x, y = _xy(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[1].shape for b in loader] == [(4,), (4,)]
    assert len(DataLoader(TensorDataset(x, y), batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(TensorDataset(x, y), batch_size=11, drop_last=True)) == 0
    assert len(DataLoader(TensorDataset(x, y), batch_size=11)) == 1


def test_shuffle_covers_everything_and_differs_per_epoch():
    x, y = _xy(50)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    epoch1 = np.concatenate([yb.numpy() for _, yb in loader])
    epoch2 = np.concatenate([yb.numpy() for _, yb in loader])
    assert sorted(epoch1.tolist()) == list(range(50)) == sorted(epoch2.tolist())
    assert epoch1.tolist() != list(range(50))
    assert epoch1.tolist() != epoch2.tolist()
    for xb, yb in loader:      # images stay paired with their labels
        np.testing.assert_array_equal(xb.numpy(), x[yb.numpy()])


def test_shuffle_reproducible_under_manual_seed():
    x, y = _xy(30)
    loader = DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True)
    tge.manual_seed(123)
    a = [yb.numpy().tolist() for _, yb in loader] + [yb.numpy().tolist() for _, yb in loader]
    tge.manual_seed(123)
    b = [yb.numpy().tolist() for _, yb in loader] + [yb.numpy().tolist() for _, yb in loader]
    assert a == b
    tge.manual_seed(124)
    c = [yb.numpy().tolist() for _, yb in loader]
    assert c != a[:len(c)]


def test_generic_dataset_of_tuples():
    """A plain list of (array, label) tuples is collated item by item."""
    items = [(np.full((2, 2), i, dtype=np.float64), i % 3) for i in range(5)]
    xb, yb = next(iter(DataLoader(items, batch_size=5)))
    assert xb.shape == (5, 2, 2) and xb.dtype == np.float64
    assert yb.dtype == np.int64 and yb.numpy().tolist() == [0, 1, 2, 0, 1]


def test_custom_dataset_class_and_single_array_items():
    class Squares(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            if not 0 <= i < 6:
                raise IndexError(i)
            return np.array([i, i * i], dtype=np.float32)

    batches = list(DataLoader(Squares(), batch_size=4))
    assert [type(b) for b in batches] == [Tensor, Tensor]        # one Tensor, as PyTorch
    assert batches[1].numpy().tolist() == [[4, 16], [5, 25]]


def test_tensor_dataset_accepts_tensors_and_lists():
    ds = TensorDataset(Tensor(np.ones((3, 2), np.float32)), [1, 2, 3])
    assert len(ds) == 3
    x, y = ds[1]
    assert x.tolist() == [1.0, 1.0] and int(y) == 2
    (yb,) = next(iter(DataLoader(TensorDataset(np.arange(4)), batch_size=4)))
    assert yb.numpy().tolist() == [0, 1, 2, 3]


def test_errors():
    x, y = _xy(10)
    with pytest.raises(ValueError, match=r"different lengths \[10, 9\]"):
        TensorDataset(x, y[:9])
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.float32(3.0))
    for bad in (0, -1, 2.5, True, "4", None):
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            DataLoader(TensorDataset(x, y), batch_size=bad)
    with pytest.raises(TypeError, match="len"):
        DataLoader(5, batch_size=2)
    ragged = [(np.zeros(2), 0), (np.zeros(3), 1)]
    with pytest.raises(ValueError, match="cannot stack field 0 of different shapes"):
        list(DataLoader(ragged, batch_size=2))


def test_subset_and_random_split():
    x, y = _xy(10)
    ds = TensorDataset(x, y)
    sub = Subset(ds, [9, 0, 5])
    assert len(sub) == 3 and sub[0][1] == 9
    (yb,) = [b[1].numpy().tolist() for b in DataLoader(sub, batch_size=3)]
    assert yb == [9, 0, 5]
    tge.manual_seed(0)
    a, b = random_split(ds, [7, 3])
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices.tolist() + b.indices.tolist()) == list(range(10))
    tge.manual_seed(0)
    a2, _ = random_split(ds, [7, 3])
    assert a.indices.tolist() == a2.indices.tolist()
    c, d, e = random_split(ds, [0.5, 0.3, 0.2])
    assert [len(c), len(d), len(e)] == [5, 3, 2]
    with pytest.raises(ValueError, match="summing to"):
        random_split(ds, [5, 4])
    with pytest.raises(IndexError):
        Subset(ds, [10])


def test_big_dataset_is_batched_without_per_item_calls():
    """TensorDataset batches come from one fancy index per array, not len(batch) calls."""
    class Counting(TensorDataset):
        calls = 0

        def __getitem__(self, i):
            Counting.calls += 1
            return super().__getitem__(i)

    x = np.zeros((1000, 28, 28), np.float32)
    y = np.zeros(1000, np.int64)
    n = sum(xb.shape[0] for xb, _ in DataLoader(Counting(x, y), batch_size=100, shuffle=True))
    assert n == 1000 and Counting.calls == 0
