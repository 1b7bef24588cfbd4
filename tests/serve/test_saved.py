"""save_model / models.load: one safetensors file rebuilds the same model, and bad files are refused."""
from __future__ import annotations

import json

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu.keras.preprocessing.sequence import pad_sequences
from tinygrad_edu.models import CNN, MLP, TextEncoder, load, save_model
from tinygrad_edu.models.saved import METADATA_KEY, read_info
from tinygrad_edu.tensor import Tensor
from tinygrad_edu.utils.serialization import load_file, read_header, save_file

from .conftest import digit_images, sentiment_tokenizer


def _array(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _inputs(model):
    meta = model.tge_metadata
    if meta.kind == "image":
        return digit_images(5)[:, None]
    return meta.tokenizer.encode(["a good film", "not good at all", "boring and dull movie", "the plot", "superb"])


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "transformer"])
def test_round_trip_rebuilds_the_same_model(saved, name):
    model = load(saved[name])
    assert not model.training
    again = load(saved[name])
    state, tensors = model.state_dict(), load_file(saved[name])
    assert set(state) == set(tensors)
    for key in state:
        np.testing.assert_array_equal(_array(state[key]), tensors[key])
    x = _inputs(model)
    with tge.no_grad():
        np.testing.assert_array_equal(model(Tensor(x)).numpy(), again(Tensor(x)).numpy())
    meta = model.tge_metadata
    assert meta.class_name == type(model).__name__
    assert meta.classes == (["negative", "positive"] if meta.kind == "text" else [str(d) for d in range(10)])
    assert meta.num_outputs == len(meta.classes)


def test_metadata_is_json_in_the_header(saved):
    header = read_header(saved["cnn"])
    doc = json.loads(header.metadata[METADATA_KEY])
    assert doc["class"] == "CNN" and doc["config"] == {"in_channels": 1, "num_classes": 10}
    assert doc["extra"] == {"accuracy": 0.5} and doc["tokenizer"] is None
    info = read_info(saved["lstm"])
    assert info.input_shape == () and info.tokenizer.maxlen == 40


def test_text_encoder_matches_the_keras_pipeline_of_training():
    tok = sentiment_tokenizer()
    enc = TextEncoder.from_keras(tok, maxlen=12)
    texts = ["A good, GOOD film!", "not boring... at all", "unknownword only", "the " * 30, ""]
    expected = pad_sequences(tok.texts_to_sequences(texts), maxlen=12).astype(np.int64)
    np.testing.assert_array_equal(enc.encode(texts), expected)
    assert TextEncoder.from_dict(enc.to_dict()) == enc


def test_mlp_activation_and_hidden_sizes_survive(tmp_path):
    model = MLP(784, hidden=(8, 4), out_features=3, activation="tanh")
    save_model(model, tmp_path / "m.safetensors")
    back = load(tmp_path / "m.safetensors")
    assert back.tge_metadata.config == {"in_features": 784, "hidden": [8, 4], "out_features": 3, "activation": "tanh"}
    assert type(back[1]).__name__ == "Tanh" and back.tge_metadata.classes is None


def _rewrite_metadata(src, dst, edit):
    tensors = load_file(src)
    meta = dict(read_header(src).metadata)
    edit(meta)
    save_file(tensors, dst, metadata=meta)


def _set_doc(key, value):
    def edit(meta):
        doc = json.loads(meta[METADATA_KEY])
        doc[key] = value
        meta[METADATA_KEY] = json.dumps(doc)
    return edit


@pytest.mark.parametrize("edit, message", [
    (lambda meta: meta.pop(METADATA_KEY), "no 'tinygrad_edu.model' metadata"),
    (lambda meta: meta.update({METADATA_KEY: "{not json"}), "not valid JSON"),
    (_set_doc("class", "os.system"), "unknown model class 'os.system'"),
    (_set_doc("format", "pickle"), "format"),
    (_set_doc("version", 99), "version 99"),
    (_set_doc("config", {"in_channels": 1, "num_classes": 10, "evil": 1}), "CNN(**"),
    (_set_doc("config", {"in_channels": 3, "num_classes": 10}), "weights do not fit"),
    (_set_doc("config", [1, 2]), "'config' is not an object"),
    (_set_doc("classes", [1, 2]), "'classes' is not a list of strings"),
    (_set_doc("classes", ["a", "b"]), "2 classes for a model with 10 outputs"),
])
def test_damaged_metadata_is_refused_with_a_named_problem(saved, tmp_path, edit, message):
    bad = tmp_path / "bad.safetensors"
    _rewrite_metadata(saved["cnn"], bad, edit)
    with pytest.raises(ValueError, match="not a usable tinygrad_edu model file") as info:
        load(bad)
    assert message in str(info.value)


def test_text_model_without_tokenizer_entry_is_refused(saved, tmp_path):
    bad = tmp_path / "bad.safetensors"
    _rewrite_metadata(saved["lstm"], bad, _set_doc("tokenizer", None))
    with pytest.raises(ValueError, match="tokenizer is missing or damaged"):
        load(bad)


def test_files_that_are_not_safetensors_are_refused(saved, tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x89PNG not a model at all")
    with pytest.raises(ValueError, match="safetensors"):
        load(junk)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(open(saved["cnn"], "rb").read()[:-100])
    with pytest.raises(ValueError, match="truncated or malformed"):
        load(cut)


def test_save_model_refuses_what_it_cannot_rebuild(tmp_path):
    from tinygrad_edu import nn
    from tinygrad_edu.models import LSTMClassifier

    with pytest.raises(TypeError, match="not a savable model class"):
        save_model(nn.Linear(2, 2), tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="text model; give tokenizer="):
        save_model(LSTMClassifier(10, 4, 4, 2), tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="tokenizer= is for text models"):
        save_model(CNN(), tmp_path / "x.safetensors", tokenizer=sentiment_tokenizer())
    with pytest.raises(ValueError, match="3 classes given for a model with 10 outputs"):
        save_model(CNN(), tmp_path / "x.safetensors", classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="vocab_size is 10"):
        save_model(LSTMClassifier(10, 4, 4, 2), tmp_path / "x.safetensors", tokenizer=sentiment_tokenizer())
    assert not list(tmp_path.iterdir())
