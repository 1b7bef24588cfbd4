"""The functional API: keras.Input, layers called on symbolic tensors, keras.Model(inputs, outputs),
shared layers, merge layers, nested models, subclassed models, summary and the text drawing,
and the errors for graphs that cannot work."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import keras
from tinygrad_edu.keras import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    tge.manual_seed(0)
    yield


def lines_of(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    return out


def test_input_is_symbolic_and_layers_record_shapes():
    inputs = keras.Input(shape=(784,))
    assert isinstance(inputs, layers.KerasTensor) and inputs.shape == (None, 784)
    hidden = layers.Dense(64, activation="relu")(inputs)
    assert hidden.shape == (None, 64) and hidden.node.layer.name == "dense"
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(hidden)


def test_functional_mlp_equals_the_same_layers_called_in_turn():
    inputs = keras.Input(shape=(6,))
    d1, d2 = layers.Dense(5, activation="relu"), layers.Dense(3, activation="softmax")
    model = keras.Model(inputs, d2(d1(inputs)), name="mlp")
    assert isinstance(model, keras.Model) and type(model).__name__ == "Functional"
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), d2(d1(x)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(model(x).numpy(), model.predict(x), rtol=1e-6)
    assert model.count_params() == 6 * 5 + 5 + 5 * 3 + 3


def test_two_inputs_two_outputs_shared_layer_and_merges_train_together():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(4,), name="b")
    shared = layers.Dense(8, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)                               # one set of weights, two calls
    merged = layers.Concatenate()([ha, hb, layers.Add()([ha, hb]), layers.Multiply()([ha, hb])])
    assert merged.shape == (None, 32)
    cls = layers.Dense(3, activation="softmax", name="cls")(merged)
    reg = layers.Dense(1, name="reg")(layers.Subtract()([ha, hb]))
    model = keras.Model(inputs=[a, b], outputs=[cls, reg])
    assert model.input_names == ["a", "b"] and model.output_names == ["cls", "reg"]
    assert model.count_params() == (4 * 8 + 8) + (32 * 3 + 3) + (8 + 1)   # shared counted once
    rng = np.random.default_rng(1)
    xa, xb = rng.standard_normal((64, 4)).astype(np.float32), rng.standard_normal((64, 4)).astype(np.float32)
    y_cls, y_reg = rng.integers(0, 3, 64), (xa - xb).sum(axis=1, keepdims=True).astype(np.float32)
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], metrics=["accuracy"],
                  loss_weights=[1.0, 0.5])
    history = model.fit([xa, xb], [y_cls, y_reg], epochs=3, batch_size=16, verbose=0)
    assert {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_accuracy"} <= set(history.history)
    assert history.history["reg_loss"][-1] < history.history["reg_loss"][0]
    total = history.history["cls_loss"][-1] + history.history["reg_loss"][-1]
    assert history.history["loss"][-1] == pytest.approx(total, rel=1e-4)
    probs, values = model.predict({"a": xa, "b": xb})
    assert probs.shape == (64, 3) and values.shape == (64, 1)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_sequential_with_a_leading_input_and_a_model_used_as_a_layer():
    encoder = keras.Sequential([keras.Input(shape=(10,)), layers.Dense(4, activation="relu")], name="encoder")
    assert encoder.built and encoder.output_shape == (None, 4)
    inputs = keras.Input(shape=(10,))
    outputs = layers.Dense(1, activation="sigmoid")(encoder(inputs))
    model = keras.Model(inputs, outputs)
    assert outputs.shape == (None, 1)
    x = np.ones((3, 10), np.float32)
    np.testing.assert_allclose(model.predict(x), model.layers[-1](encoder(x)).numpy(), rtol=1e-6)
    assert model.count_params() == encoder.count_params() + 5


def test_summary_and_text_drawing_for_sequential_and_functional():
    seq = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, name="hidden"), layers.Dense(2, name="out")])
    text = "\n".join(lines_of(seq))
    assert "hidden (Dense)" in text and "(None, 4)" in text and "Total params: 46" in text
    drawing = seq.to_text()
    assert drawing.index("input (InputLayer)") < drawing.index("hidden (Dense)") < drawing.index("out (Dense)")
    assert "(None, 2)" in drawing and any(line.strip() == "v" for line in drawing.splitlines())

    a, b = keras.Input(shape=(3,), name="left"), keras.Input(shape=(5,), name="right")
    out = layers.Dense(1, name="head")(layers.Concatenate(name="join")([a, b]))
    model = keras.Model([a, b], out)
    lines = lines_of(model)
    assert "Connected to" in lines[2]
    join = next(l for l in lines if l.startswith("join (Concatenate)"))
    assert "(None, 8)" in join and "left, right" in join
    drawing = keras.utils.plot_model(model)
    assert "in: left, right" in drawing and "join (Concatenate)" in drawing and "out: (None, 1)" in drawing


def test_subclassed_model_trains_and_summarises():
    class TwoLayer(keras.Model):
        def __init__(self):
            super().__init__(name="two_layer")
            self.hidden = layers.Dense(16, activation="relu")
            self.out = layers.Dense(3, activation="softmax")

        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs))

    model = TwoLayer()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((96, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.6
    assert model.predict(x[:4]).shape == (4, 3)
    assert model.count_params() == 5 * 16 + 16 + 16 * 3 + 3
    assert any(line.startswith("dense (Dense)") for line in lines_of(model))
    with pytest.raises(TypeError, match="subclassed"):
        model.save("never.keras")


def test_shape_mismatch_names_the_layer_and_both_shapes():
    inputs = keras.Input(shape=(4,))
    dense = layers.Dense(3, name="proj")
    dense(keras.Input(shape=(8,)))                              # built for 8 features
    with pytest.raises(ValueError, match=r'"proj".*\(None, 8\).*\(None, 4\)'):
        dense(inputs)
    with pytest.raises(ValueError, match=r'"add".*\(None, 4\).*\(None, 5\)'):
        layers.Add(name="add")([inputs, keras.Input(shape=(5,))])
    with pytest.raises(ValueError, match=r'"conv".*ndim=4.*\(None, 4\)'):
        layers.Conv2D(2, 3, name="conv")(inputs)


def test_non_input_tensors_and_disconnected_graphs_are_refused():
    inputs = keras.Input(shape=(4,))
    hidden = layers.Dense(3, name="hidden")(inputs)
    out = layers.Dense(1, name="out")(hidden)
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a symbolic tensor.*ndarray of shape \(2, 4\)"):
        keras.Model(np.zeros((2, 4)), out)
    with pytest.raises(ValueError, match='output of layer "hidden"'):
        keras.Model(hidden, out)
    with pytest.raises(TypeError, match='"mixer".*mix of symbolic'):
        layers.Add(name="mixer")([inputs, np.zeros((1, 4))])
    other = keras.Input(shape=(4,), name="other")
    joined = layers.Add(name="join")([inputs, other])
    with pytest.raises(ValueError, match=r'Graph disconnected.*"join".*other'):
        keras.Model(inputs, joined)


def test_a_cycle_is_reported_with_the_layers_on_it():
    inputs = keras.Input(shape=(3,))
    first = layers.Dense(3, name="first")
    second = layers.Dense(3, name="second")
    a = first(inputs)
    b = second(a)
    # rewire the first call to read the second's output: a loop first -> second -> first
    a.node.args = (b,)
    a.node.inputs = [b]
    with pytest.raises(ValueError, match=r"cycle.*first.*second|cycle.*second.*first"):
        keras.Model(inputs, b)


def test_model_inputs_are_checked_when_called():
    inputs = keras.Input(shape=(4,), name="features")
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match=r'"features".*\(None, 4\).*\(3, 5\)'):
        model.predict(np.zeros((3, 5), np.float32))


def test_masks_flow_through_a_functional_graph():
    ids = np.array([[0, 0, 3, 4], [1, 2, 3, 4]])
    inputs = keras.Input(shape=(None,), dtype="int64")
    emb = layers.Embedding(6, 3, mask_zero=True)
    lstm = layers.LSTM(2)
    model = keras.Model(inputs, lstm(emb(inputs)))
    out = model.predict(ids)
    # the padded steps are skipped: the first row equals the LSTM run on its two real tokens
    alone = lstm(emb(ids[:1, 2:])).numpy()
    np.testing.assert_allclose(out[:1], alone, rtol=1e-5, atol=1e-6)


def test_sequential_refuses_a_layer_output_and_input_checks_its_arguments():
    inputs = keras.Input(shape=(3,))
    with pytest.raises(TypeError, match="only a keras.Input"):
        keras.Sequential([layers.Dense(2)(inputs)])
    with pytest.raises(ValueError, match="shape="):
        keras.Input()
    with pytest.raises(ValueError, match="unsupported dtype"):
        keras.Input(shape=(3,), dtype="complex64")
    with pytest.raises(ValueError, match="only be the first layer"):
        keras.Sequential([layers.Dense(2, input_shape=(3,)), keras.Input(shape=(2,))])


def test_functional_model_round_trips_through_its_config():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(4,), name="b")
    shared = layers.Dense(3, name="shared")
    out = layers.Concatenate(name="cat")([shared(a), shared(b)])
    model = keras.Model([a, b], out, name="siamese")
    clone = keras.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert clone.count_params() == model.count_params() == 15
    x = [np.ones((2, 4), np.float32), np.zeros((2, 4), np.float32)]
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)
