"""compile / fit / evaluate / predict: results, history, printing, losses, optimizers, errors."""
import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import keras
from tinygrad_edu.keras import callbacks, layers, losses, optimizers
from tinygrad_edu.keras.models import Sequential


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    keras.backend.clear_session()
    monkeypatch.delenv("TGE_PROGBAR", raising=False)
    yield


def classification_data(n=256, features=8, classes=3, seed=0):
    """Separable-ish data: the class is the argmax of a fixed linear map of x."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    w = rng.standard_normal((features, classes))
    return x, (x @ w).argmax(axis=1)


def small_classifier(features=8, classes=3):
    return Sequential([layers.Dense(16, activation="relu", input_shape=(features,)),
                       layers.Dense(classes, activation="softmax")])


# ------------------------------------------------------------------ fit / evaluate / predict
def test_fit_returns_history_with_keras_keys(capsys):
    x, y = classification_data()
    model = small_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=32, validation_data=(x[:64], y[:64]), verbose=0)
    assert capsys.readouterr().out == ""                       # verbose=0 is silent
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    assert model.history is history
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(isinstance(v, float) for v in history.history["accuracy"])


def test_validation_split_takes_the_last_samples():
    x, y = classification_data(n=100)
    model = small_classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seen = []

    class Record(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    history = model.fit(x, y, epochs=1, batch_size=10, validation_split=0.2, verbose=0, callbacks=[Record()])
    assert len(seen) == 8                                         # 80 training samples in batches of 10
    assert "val_loss" in history.history
    loss, acc = model.evaluate(x[80:], y[80:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(loss, rel=1e-6)
    assert history.history["val_accuracy"][0] == pytest.approx(acc)


def test_evaluate_returns_loss_and_metrics():
    x, y = classification_data()
    model = small_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    result = model.evaluate(x, y, verbose=0)
    assert isinstance(result, list) and len(result) == 2
    loss, acc = result
    probs = model.predict(x)
    expected_loss = -np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1 - 1e-7)).mean()
    assert loss == pytest.approx(expected_loss, rel=1e-4)
    assert acc == pytest.approx((probs.argmax(1) == y).mean())
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}
    assert model.metrics_names == ["loss", "accuracy"]
    plain = small_classifier()
    plain.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert isinstance(plain.evaluate(x, y, verbose=0), float)


def test_predict_returns_numpy_probabilities():
    x, _ = classification_data(n=70)
    model = small_classifier()
    out = model.predict(x, batch_size=32)
    assert isinstance(out, np.ndarray) and out.shape == (70, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model(x).numpy(), out, rtol=1e-6)


def test_dense_network_learns_xor():
    tge.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (512, 2)).astype(np.float32)
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64)
    model = Sequential([layers.Dense(16, activation="tanh", input_dim=2),
                        layers.Dense(16, activation="tanh"),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.02), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    _, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.93


def test_categorical_and_sparse_give_the_same_loss_and_accuracy():
    x, y = classification_data()
    model = small_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    sparse = model.evaluate(x, y, verbose=0)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    onehot = model.evaluate(x, keras.utils.to_categorical(y, 3), verbose=0)
    np.testing.assert_allclose(sparse, onehot, rtol=1e-5)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model.evaluate(x, y[:, None], verbose=0) == pytest.approx(sparse)   # (N, 1) labels, as Keras


def test_mse_regression():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((256, 3)).astype(np.float32)
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3
    model = Sequential([layers.Dense(1, input_dim=3)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert list(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < 1e-3
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel[:, 0], [1.0, -2.0, 0.5], atol=0.02)
    assert bias[0] == pytest.approx(0.3, abs=0.02)


def test_fit_is_reproducible_under_manual_seed():
    x, y = classification_data()
    results = []
    for _ in range(2):
        tge.manual_seed(42)
        model = small_classifier()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        results.append(model.fit(x, y, epochs=2, verbose=0).history["loss"])
    assert results[0] == results[1]


def test_lstm_text_model_trains():
    tge.manual_seed(0)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 20, (128, 8))
    y = (ids[:, -1] < 10).astype(np.int64)          # the label is in the last token
    model = Sequential([layers.Embedding(20, 8, input_length=8), layers.LSTM(16), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


# ------------------------------------------------------------------ printing
def test_verbose_1_prints_epochs_and_final_bars(capsys):
    x, y = classification_data(n=100)
    model = small_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=32, validation_data=(x, y))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    bar = lines[1]
    assert bar.startswith("4/4 [" + "=" * 30 + "] - ")
    assert "/step - loss: " in bar and " - accuracy: " in bar and " - val_loss: " in bar and " - val_accuracy: " in bar
    model.evaluate(x, y)
    assert capsys.readouterr().out.startswith("4/4 [" + "=" * 30 + "]")


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = classification_data(n=100)
    model = small_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=50, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/1"
    assert lines[1].startswith("2/2 - ") and "[" not in lines[1] and "loss: " in lines[1]


def test_live_progress_bar_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setenv("TGE_PROGBAR", "live")
    from tinygrad_edu.keras.progbar import Progbar

    bar = Progbar(4, interval=0.0)
    bar.update(1, [("loss", 1.5)])
    bar.update(4, [("loss", 0.00012)])
    out = capsys.readouterr().out
    assert out.startswith("\r1/4 [======>.......................] - ETA: ")
    assert "loss: 1.5000" in out
    assert out.endswith("- loss: 1.2000e-04\n") and "\r4/4 [" + "=" * 30 + "]" in out


# ------------------------------------------------------------------ losses
def test_softmax_output_loss_uses_logits_and_equals_the_clipped_formula():
    probs_model = Sequential([layers.Dense(4, activation="softmax", input_dim=3)])
    x = np.random.default_rng(2).standard_normal((6, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 0, 1])
    [(output, logits, activation)] = probs_model._forward_for_loss([tge.Tensor(x)], training=False)
    assert activation is keras.activations.softmax
    loss = losses.SparseCategoricalCrossentropy()
    via_logits = loss.model_loss(y, output, logits, activation).item()
    via_probs = loss(y, output).item()
    assert via_logits == pytest.approx(via_probs, rel=1e-5)
    assert losses.sparse_categorical_crossentropy(y, output).shape == (6,)


def test_logits_keep_the_gradient_where_clipping_kills_it():
    # a confidently wrong sigmoid output: p = sigmoid(-30) ~ 1e-13 < eps
    logits = tge.Tensor(np.array([[-30.0]], np.float32), requires_grad=True)
    probs = logits.sigmoid()
    clipped = losses.BinaryCrossentropy()(np.array([1.0]), probs)
    assert clipped.item() == pytest.approx(-np.log(1e-7), rel=1e-4)
    clipped.backward()
    assert logits.grad.numpy()[0, 0] == 0.0
    logits.grad = None
    exact = losses.BinaryCrossentropy().model_loss(np.array([1.0]), probs, logits, keras.activations.sigmoid)
    assert exact.item() == pytest.approx(30.0, rel=1e-5)
    exact.backward()
    assert logits.grad.numpy()[0, 0] == pytest.approx(-1.0, rel=1e-5)


def test_from_logits_losses():
    logits = np.array([[2.0, -1.0, 0.5]], np.float32)
    y = np.array([2])
    expected = -(logits[0, 2] - np.log(np.exp(logits[0]).sum()))
    got = losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits).item()
    assert got == pytest.approx(expected, rel=1e-6)
    got = losses.CategoricalCrossentropy(from_logits=True)(np.array([[0, 0, 1.0]]), logits).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_loss_errors_name_shapes_and_values():
    with pytest.raises(ValueError, match=r"unknown loss 'crossentropy'"):
        losses.get("crossentropy")
    with pytest.raises(ValueError, match=r"class ids must lie in \[0, 3\).*\[0, 5\]"):
        losses.sparse_categorical_crossentropy(np.array([0, 5]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"\(4,\) does not match y_pred of shape \(3, 1\)"):
        losses.binary_crossentropy(np.zeros(4), np.full((3, 1), 0.5))


# ------------------------------------------------------------------ optimizers
def keras_adam_numpy(p, grads, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return p


def run_rule(keras_optimizer, start, grads):
    p = tge.Tensor(start.copy(), requires_grad=True)
    keras_optimizer.bind([p])
    for g in grads:
        p.grad = tge.Tensor(g)
        keras_optimizer.step()
    return p.numpy()


def test_adam_follows_keras_s_update_rule():
    rng = np.random.default_rng(3)
    start = rng.standard_normal(5)
    grads = [rng.standard_normal(5) * 1e-3 for _ in range(4)]   # tiny gradients: where eps placement matters
    ours = run_rule(optimizers.Adam(learning_rate=0.01), start, grads)
    np.testing.assert_allclose(ours, keras_adam_numpy(start, grads, lr=0.01), rtol=1e-12)
    assert optimizers.Adam().epsilon == 1e-7


def test_sgd_momentum_and_rmsprop_rules():
    rng = np.random.default_rng(4)
    start = rng.standard_normal(4)
    grads = [rng.standard_normal(4) for _ in range(3)]
    p, v = start.copy(), np.zeros(4)
    for g in grads:                       # Keras: v = momentum * v - lr * g; p += v
        v = 0.9 * v - 0.05 * g
        p = p + v
    np.testing.assert_allclose(run_rule(optimizers.SGD(learning_rate=0.05, momentum=0.9), start, grads), p,
                               rtol=1e-12)
    p, ms = start.copy(), np.zeros(4)
    for g in grads:                       # Keras: ms = rho ms + (1 - rho) g^2; p -= lr g / sqrt(ms + eps)
        ms = 0.9 * ms + 0.1 * g * g
        p = p - 0.01 * g / np.sqrt(ms + 1e-7)
    np.testing.assert_allclose(run_rule(optimizers.RMSprop(learning_rate=0.01), start, grads), p, rtol=1e-12)


def test_optimizer_objects_and_names_in_compile():
    x, y = classification_data(n=64)
    for opt in ("adam", "sgd", "rmsprop", "adagrad", optimizers.SGD(learning_rate=0.01, momentum=0.0),
                optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)):
        model = small_classifier()
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        before = model.evaluate(x, y, verbose=0)
        model.fit(x, y, epochs=3, verbose=0)
        assert model.evaluate(x, y, verbose=0) < before
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        small_classifier().compile(optimizer="adamm", loss="mse")
    opt = optimizers.Adam(learning_rate=0.01)
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and optimizers.SGD(lr=0.2).learning_rate == 0.2


# ------------------------------------------------------------------ callbacks, weights
def test_early_stopping_stops_and_restores():
    x, y = classification_data(n=64)
    model = small_classifier()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    stop = callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=1e-4)
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=[stop])
    assert len(history.epoch) == 3 and stop.stopped_epoch == 2


def test_save_and_load_weights(tmp_path):
    model = small_classifier()
    x, _ = classification_data(n=5)
    model.save_weights(tmp_path / "w.safetensors")
    other = small_classifier()
    other.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(model.predict(x), other.predict(x))


# ------------------------------------------------------------------ errors
def test_fit_before_compile():
    model = small_classifier()
    with pytest.raises(RuntimeError, match="compile your model before training"):
        model.fit(np.zeros((4, 8)), np.zeros(4))
    with pytest.raises(RuntimeError, match="compile your model before evaluating"):
        model.evaluate(np.zeros((4, 8)), np.zeros(4))


def test_bad_loss_and_metric_names():
    with pytest.raises(ValueError, match="unknown loss 'sparse_crossentropy'"):
        small_classifier().compile(optimizer="adam", loss="sparse_crossentropy")
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        small_classifier().compile(optimizer="adam", loss="mse", metrics=["acuracy"])


def test_wrong_input_shape_in_fit_names_the_shapes():
    model = small_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"size 8.*\(32, 5\)"):
        model.fit(np.zeros((40, 5)), np.zeros(40, dtype=int), verbose=0)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 8\).*\(40, 2, 4\)"):
        model.fit(np.zeros((40, 2, 4)), np.zeros(40, dtype=int), verbose=0)
    with pytest.raises(ValueError, match=r"x has shape \(40, 8\), y has shape \(39,\)"):
        model.fit(np.zeros((40, 8)), np.zeros(39, dtype=int), verbose=0)
    with pytest.raises(ValueError, match=r"class ids must lie in \[0, 3\)"):
        model.fit(np.zeros((40, 8)), np.full(40, 7), verbose=0)


def test_user_loss_and_metric_functions():
    x, y = classification_data(n=64)

    def my_loss(y_true, y_pred):                    # Tensors in, per-sample Tensor out
        return losses.sparse_categorical_crossentropy(y_true, y_pred)

    def top_is_zero(y_true, y_pred):                # NumPy in, one mean for the batch out
        return float((y_pred.argmax(axis=1) == 0).mean())

    model = small_classifier()
    model.compile(optimizer="adam", loss=my_loss, metrics=["accuracy", top_is_zero])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    probs = model.predict(x)
    assert logs["top_is_zero"] == pytest.approx((probs.argmax(1) == 0).mean())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(logs["loss"], rel=1e-5)
