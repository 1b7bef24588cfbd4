"""Layers against TensorFlow-Keras 2.21: the same weights and inputs give the same outputs.

The reference values were recorded once by data/make_tf_reference.py (TensorFlow is not
needed to run these tests). Tolerances: 1e-5 absolute (float32, different summation order).
"""
import os

import numpy as np
import pytest

from tinygrad_edu.keras import layers

REF = np.load(os.path.join(os.path.dirname(__file__), "data", "tf_reference.npz"))
TOL = dict(atol=1e-5, rtol=1e-5)


def weights(prefix):
    out, i = [], 0
    while f"{prefix}_w{i}" in REF:
        out.append(REF[f"{prefix}_w{i}"])
        i += 1
    return out


def outputs(prefix):
    out, i = [], 0
    while f"{prefix}_y{i}" in REF:
        out.append(REF[f"{prefix}_y{i}"])
        i += 1
    return out


def run(layer, prefix, x, **kwargs):
    layer.build_for((None,) + x.shape[1:])
    layer.set_weights(weights(prefix))
    y = layer(x, **kwargs)
    return [t.numpy() for t in (y if isinstance(y, list) else [y])]


@pytest.mark.parametrize("prefix, make", [
    ("lstm_gb", lambda: layers.LSTM(4, return_sequences=True, return_state=True, go_backwards=True)),
    ("gru", lambda: layers.GRU(4, return_sequences=True)),
    ("gru_gb", lambda: layers.GRU(4, go_backwards=True, return_state=True)),
    ("rnn", lambda: layers.SimpleRNN(4, return_sequences=True, go_backwards=True)),
    ("bi", lambda: layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode="concat")),
    ("bi_sum", lambda: layers.Bidirectional(layers.GRU(4), merge_mode="sum")),
])
def test_recurrent_layers_match_tensorflow(prefix, make):
    got = run(make(), prefix, REF["x"])
    want = outputs(prefix)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **TOL)


def test_masked_lstm_and_average_pooling_match_tensorflow():
    ids = REF["ids"]
    emb = layers.Embedding(10, 5, mask_zero=True)
    emb.build_for((None, 6))
    emb.set_weights([REF["emb_w"]])
    e = emb(ids)
    mask = emb.compute_mask(ids)
    assert mask.numpy().tolist() == (ids != 0).tolist()
    for name, rs in (("mlstm", True), ("mlstm2", False)):
        lstm = layers.LSTM(4, return_sequences=rs)
        lstm.build_for((None, 6, 5))
        lstm.set_weights(weights(name))
        y = lstm(e, mask=mask).numpy()
        want = REF[f"{name}_y"]
        if rs:   # TF outputs zeros at masked steps only as far as they lead the sequence
            keep = ids != 0
            np.testing.assert_allclose(y[keep], want[keep], **TOL)
        else:
            np.testing.assert_allclose(y, want, **TOL)
    gap = layers.GlobalAveragePooling1D()
    np.testing.assert_allclose(gap(e, mask=mask).numpy(), REF["gap_y"], **TOL)


def test_batch_normalization_matches_tensorflow_in_training_and_inference():
    bn = layers.BatchNormalization()
    x = REF["bn_x"]
    y_train = bn(x, training=True).numpy()
    np.testing.assert_allclose(y_train, REF["bn_ytrain"], atol=1e-4)
    for got, want in zip(bn.get_weights(), weights("bn")):   # gamma, beta, moving mean, moving variance
        np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(bn(x, training=False).numpy(), REF["bn_yinf"], atol=1e-4)
    assert bn.count_params() == 12 and len(bn.trainable_weights) == 2


@pytest.mark.parametrize("prefix, padding, strides", [("c1s", "same", 2), ("c1c", "causal", 1)])
def test_conv1d_matches_tensorflow(prefix, padding, strides):
    layer = layers.Conv1D(3, 3, padding=padding, strides=strides)
    got = run(layer, prefix, REF["x"])[0]
    np.testing.assert_allclose(got, REF[f"{prefix}_y"], **TOL)
    assert layer.compute_output_shape((None, 6, 5)) == (None,) + got.shape[1:]


def test_average_pooling_same_excludes_padding_and_layer_norm():
    got = layers.AveragePooling2D(2, padding="same")(REF["ap_x"]).numpy()
    np.testing.assert_allclose(got, REF["ap_y"], **TOL)
    np.testing.assert_allclose(layers.LayerNormalization()(REF["x"]).numpy(), REF["ln_y"], atol=1e-4)


def test_multi_head_attention_matches_tensorflow():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    q, v = REF["x"], REF["mha_v"]
    mha.build_for([(None,) + q.shape[1:], (None,) + v.shape[1:], (None,) + v.shape[1:]])
    mha.set_weights(weights("mha"))
    y, scores = mha(q, v, return_attention_scores=True)
    np.testing.assert_allclose(scores.numpy(), REF["mha_s"], **TOL)
    np.testing.assert_allclose(y.numpy(), REF["mha_y"], **TOL)
    np.testing.assert_allclose(mha(q, v).numpy(), REF["mha_y"], **TOL)   # the fused attention path


def test_text_vectorization_matches_tensorflow():
    tv = layers.TextVectorization(max_tokens=8, output_sequence_length=5)
    tv.adapt(["The cat sat.", "the dog sat on the mat", "A cat!"])
    assert tv.get_vocabulary() == [str(v) for v in REF["tv_vocab"]]
    assert tv(["the cat ate the mat", "dog"]).numpy().tolist() == REF["tv_y"].tolist()
