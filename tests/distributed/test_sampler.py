"""DistributedSampler (PyTorch's semantics) and the DataLoader's ``sampler=``; no MPI needed."""
import numpy as np
import pytest

from tinygrad_edu.data import DataLoader, DistributedSampler, TensorDataset


def _dataset(n):
    return TensorDataset(np.arange(n, dtype=np.float32)[:, None], np.arange(n, dtype=np.int64))


@pytest.mark.parametrize("n,replicas", [(10, 3), (12, 4), (7, 2), (2, 3), (100, 8)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_shares_cover_the_dataset_equally(n, replicas, shuffle):
    ds = _dataset(n)
    shares = [DistributedSampler(ds, replicas, r, shuffle=shuffle, seed=5).indices() for r in range(replicas)]
    length = -(-n // replicas)
    assert all(len(s) == length for s in shares)
    together = np.concatenate(shares)
    assert set(together.tolist()) == set(range(n))                 # every item is seen
    assert len(together) - len(set(together.tolist())) == length * replicas - n   # only the padding repeats


def test_unshuffled_order_matches_pytorch():
    ds = _dataset(10)
    # torch.utils.data.DistributedSampler(range(10), 3, r, shuffle=False) gives these
    assert [list(DistributedSampler(ds, 3, r, shuffle=False)) for r in range(3)] == \
        [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    assert [list(DistributedSampler(ds, 3, r, shuffle=False, drop_last=True)) for r in range(3)] == \
        [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def test_drop_last_cuts_the_tail():
    ds = _dataset(11)
    shares = [DistributedSampler(ds, 4, r, shuffle=True, seed=1, drop_last=True) for r in range(4)]
    assert [len(s) for s in shares] == [2, 2, 2, 2]
    together = np.concatenate([s.indices() for s in shares])
    assert len(set(together.tolist())) == 8                        # no repeats, 3 items left out


def test_shared_seed_and_set_epoch():
    ds = _dataset(50)
    a = DistributedSampler(ds, 2, 0, seed=3)
    b = DistributedSampler(ds, 2, 1, seed=3)
    first = (a.indices(), b.indices())
    assert not set(first[0].tolist()) & set(first[1].tolist())      # disjoint in one epoch
    assert np.array_equal(DistributedSampler(ds, 2, 0, seed=3).indices(), first[0])   # reproducible
    a.set_epoch(1)
    b.set_epoch(1)
    second = (a.indices(), b.indices())
    assert not np.array_equal(second[0], first[0])                 # a new order per epoch ...
    assert not set(second[0].tolist()) & set(second[1].tolist())   # ... still disjoint across ranks
    assert not np.array_equal(DistributedSampler(ds, 2, 0, seed=4).indices(), first[0])


def test_dataloader_with_sampler():
    ds = _dataset(10)
    sampler = DistributedSampler(ds, 2, 1, shuffle=False)
    loader = DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 3
    batches = [y.numpy().tolist() for _, y in loader]
    assert batches == [[1, 3], [5, 7], [9]]
    x0, _ = next(iter(loader))
    assert x0.shape == (2, 1) and x0.dtype == np.float32
    assert len(DataLoader(ds, batch_size=2, sampler=sampler, drop_last=True)) == 2


def test_bad_arguments():
    ds = _dataset(4)
    with pytest.raises(ValueError, match="rank 2 is outside"):
        DistributedSampler(ds, 2, 2)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(ds, 0, 0)
    with pytest.raises(ValueError, match="epoch"):
        DistributedSampler(ds, 2, 0).set_epoch(-1)
    with pytest.raises(ValueError, match="exclude each other"):
        DataLoader(ds, batch_size=2, shuffle=True, sampler=DistributedSampler(ds, 2, 0))
    with pytest.raises(TypeError, match="sampler"):
        DataLoader(ds, batch_size=2, sampler=3)


def test_defaults_need_a_process_group():
    from tinygrad_edu import distributed as dist

    if dist.is_initialized():
        pytest.skip("a process group is initialised in this process")
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(_dataset(4))
