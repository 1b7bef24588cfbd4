"""pad_sequences against Keras 2 (keras_preprocessing/sequence.py): defaults pre/pre,
int32, value 0. Expected arrays written out by hand."""
import numpy as np
import pytest

from tinygrad_edu.keras.preprocessing.sequence import pad_sequences

SEQS = [[1, 2, 3], [4, 5], [6]]


def test_defaults_pad_before():
    out = pad_sequences(SEQS)
    assert isinstance(out, np.ndarray) and out.dtype == np.int32 and out.shape == (3, 3)
    assert out.tolist() == [[1, 2, 3], [0, 4, 5], [0, 0, 6]]


def test_padding_post():
    assert pad_sequences(SEQS, padding="post").tolist() == [[1, 2, 3], [4, 5, 0], [6, 0, 0]]


def test_truncating():
    assert pad_sequences(SEQS, maxlen=2).tolist() == [[2, 3], [4, 5], [0, 6]]
    assert pad_sequences(SEQS, maxlen=2, truncating="post").tolist() == [[1, 2], [4, 5], [0, 6]]
    assert pad_sequences(SEQS, maxlen=2, truncating="post", padding="post").tolist() == [[1, 2], [4, 5], [6, 0]]


def test_value_and_longer_maxlen():
    assert pad_sequences(SEQS, maxlen=4, value=-1).tolist() == [[-1, 1, 2, 3], [-1, -1, 4, 5], [-1, -1, -1, 6]]


def test_empty_sequences():
    assert pad_sequences([[], [1]]).tolist() == [[0], [1]]
    assert pad_sequences([[], []], maxlen=2).tolist() == [[0, 0], [0, 0]]
    assert pad_sequences([]).shape == (0, 0)


def test_dtypes():
    f = pad_sequences([[0.5, 1.5]], maxlen=3, dtype="float32")
    assert f.dtype == np.float32 and f.tolist() == [[0.0, 0.5, 1.5]]
    # Keras's int32 default casts floats (truncating toward zero)
    assert pad_sequences([[0.5, 1.5]], maxlen=3).tolist() == [[0, 0, 1]]
    assert pad_sequences([[1, 2]], dtype="int64").dtype == np.int64
    s = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert s.tolist() == [["a", "b"], ["<pad>", "c"]]


def test_items_with_a_shape():
    out = pad_sequences([[[1, 2], [3, 4]], [[5, 6]]])
    assert out.shape == (2, 2, 2)
    assert out.tolist() == [[[1, 2], [3, 4]], [[0, 0], [5, 6]]]


def test_numpy_input():
    seqs = [np.array([1, 2, 3, 4]), np.array([5])]
    assert pad_sequences(seqs, maxlen=3).tolist() == [[2, 3, 4], [0, 0, 5]]


def test_errors():
    with pytest.raises(ValueError, match='padding type "middle"'):
        pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match='truncating type "mid"'):
        pad_sequences(SEQS, truncating="mid")
    with pytest.raises(ValueError, match="list of sequences"):
        pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="list of sequences"):
        pad_sequences(5)
    with pytest.raises(ValueError, match="not compatible"):
        pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match=r"shape of items \(3,\)"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])
    with pytest.raises(ValueError, match="maxlen"):
        pad_sequences(SEQS, maxlen=-1)
