"""rt-polarity sentences: the real files when present, encodings, the missing-files error."""
import gzip

import numpy as np
import pytest

from tinygrad_edu.data import DatasetNotFoundError, rt_polarity


def test_real_rt_polarity(shared_data, clean_env):
    if not (shared_data / "rt-polarity" / "rt-polarity.pos").is_file():
        pytest.skip("rt-polarity is not in the shared data folder")
    texts, labels = rt_polarity(root=shared_data)
    assert len(texts) == len(labels) == 10662
    assert labels.dtype == np.int64
    assert labels[:5331].tolist() == [1] * 5331 and labels[5331:].tolist() == [0] * 5331
    assert texts[0].startswith("the rock is destined to be the 21st century's new")
    assert all(isinstance(t, str) and t == t.strip() and t for t in texts)


def test_search_order_and_latin1_fallback(clean_env, tmp_path, monkeypatch):
    folder = tmp_path / "somewhere" / "rt-polarity"
    folder.mkdir(parents=True)
    (folder / "rt-polarity.pos").write_bytes("a charming caf\u00e9 . \nsimply great\n\n".encode("utf-8"))
    # not valid UTF-8: the original release is Windows-1252 / Latin-1
    (folder / "rt-polarity.neg").write_bytes("na\u00efve and dull\n".encode("latin-1"))
    monkeypatch.setenv("TGE_DATA", str(tmp_path / "somewhere"))
    texts, labels = rt_polarity()
    assert texts == ["a charming caf\u00e9 .", "simply great", "na\u00efve and dull"]
    assert labels.tolist() == [1, 1, 0]
    # root wins over TGE_DATA; gzip-compressed files are read too
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "rt-polarity.pos.gz").write_bytes(gzip.compress(b"good\n"))
    (tmp_path / "mine" / "rt-polarity.neg").write_bytes(b"bad\nworse\n")
    texts, labels = rt_polarity(root=tmp_path / "mine")
    assert texts == ["good", "bad", "worse"] and labels.tolist() == [1, 0, 0]


def test_missing_is_a_clear_error(clean_env, tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        rt_polarity(root=tmp_path)
    msg = str(info.value)
    assert "rt-polarity.pos" in msg and "rt-polarity.neg" in msg and str(tmp_path) in msg
