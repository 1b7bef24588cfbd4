"""Training-loop features: validation, class/sample weights, callbacks, saving (.keras zip and
weights), to_categorical, set_random_seed, Keras Adam on the fused kernel."""
import csv
import json
import os
import zipfile

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu import keras
from tinygrad_edu.keras import callbacks, layers


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    tge.manual_seed(0)
    yield


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)


def model_and_data(**compile_kwargs):
    model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=compile_kwargs.pop("optimizer", "adam"), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], **compile_kwargs)
    return (model,) + data()


def test_validation_split_takes_the_end_and_validation_data_is_evaluated():
    model, x, y = model_and_data()
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    expected = model.evaluate(x[90:], y[90:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(expected[0], rel=1e-5)
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=[x[:30], y[:30]])
    assert history.history["val_accuracy"][0] == pytest.approx(model.evaluate(x[:30], y[:30], verbose=0)[1])


def test_class_weight_scales_each_sample_loss():
    model, x, y = model_and_data(optimizer=keras.optimizers.SGD(0.0))    # lr 0: the weights stay
    plain = model.fit(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0).history["loss"][0]
    per_sample = -np.log(np.take_along_axis(np.clip(model.predict(x), 1e-7, 1 - 1e-7), y[:, None], 1))[:, 0]
    assert plain == pytest.approx(per_sample.mean(), rel=1e-4)
    weights = {0: 1.0, 1: 3.0}
    weighted = model.fit(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0,
                         class_weight=weights).history["loss"][0]
    w = np.where(y == 1, 3.0, 1.0)
    assert weighted == pytest.approx((per_sample * w).mean(), rel=1e-4)
    both = model.fit(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0, class_weight=weights,
                     sample_weight=np.full(len(x), 2.0)).history["loss"][0]
    assert both == pytest.approx(2 * weighted, rel=1e-4)
    with pytest.raises(ValueError, match=r"no weight for the classes \[1\]"):
        model.fit(x, y, epochs=1, verbose=0, class_weight={0: 1.0})


def test_early_stopping_restores_the_best_weights():
    model, x, y = model_and_data(optimizer=keras.optimizers.SGD(5.0))     # too large: it diverges
    stop = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, batch_size=8, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) < 30 and stop.stopped_epoch > 0


def test_model_checkpoint_csv_logger_and_lr_callbacks(tmp_path):
    model, x, y = model_and_data()
    pattern = str(tmp_path / "ckpt-{epoch:02d}.keras")
    best = str(tmp_path / "best.weights.safetensors")
    log = tmp_path / "log.csv"
    seen = []
    cbs = [callbacks.ModelCheckpoint(pattern),
           callbacks.ModelCheckpoint(best, monitor="val_loss", save_best_only=True, save_weights_only=True),
           callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 * 0.5 ** epoch),
           callbacks.CSVLogger(str(log)),
           callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs["learning_rate"]))]
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0, callbacks=cbs)
    assert sorted(os.listdir(tmp_path)) == ["best.weights.safetensors", "ckpt-01.keras", "ckpt-02.keras",
                                            "ckpt-03.keras", "log.csv"]
    assert seen == pytest.approx([0.01, 0.005, 0.0025])
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.005, 0.0025])
    rows = list(csv.reader(open(log)))
    assert rows[0] == ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert float(rows[3][3]) == pytest.approx(history.history["loss"][2])
    again = keras.models.load_model(pattern.format(epoch=3))
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)


def test_reduce_lr_on_plateau_lowers_the_rate():
    model, x, y = model_and_data(optimizer=keras.optimizers.Adam(0.01))
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0, min_lr=0.003)
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[plateau])
    # epoch 0 improves on inf; then no epoch improves by 10: halve after each (patience 1), floor 0.003
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.005, 0.003, 0.003])
    assert model.optimizer.learning_rate == pytest.approx(0.003)


def test_save_and_load_model_round_trip_sequential_and_functional(tmp_path):
    model, x, y = model_and_data()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "model.weights.safetensors"]
        config = json.loads(z.read("config.json"))
        assert all(not name.endswith((".pkl", ".pickle")) for name in z.namelist())
    assert config["class_name"] == "Sequential" and config["compile_config"]["loss"] == \
        "sparse_categorical_crossentropy"
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-5)
    loaded.fit(x, y, epochs=1, verbose=0)                             # compiled again

    ids = keras.Input(shape=(None,), dtype="int64", name="ids")
    emb = layers.Embedding(10, 4, mask_zero=True)(ids)
    seq = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(emb)
    pooled = layers.Concatenate()([layers.GlobalMaxPooling1D()(seq), layers.GlobalAveragePooling1D()(seq)])
    out = layers.Dense(1, activation="sigmoid")(layers.BatchNormalization()(pooled))
    fmodel = keras.Model(ids, out)
    tokens = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [0, 0, 9, 8]])
    fmodel.save(tmp_path / "f.keras")
    back = keras.models.load_model(tmp_path / "f.keras")
    np.testing.assert_allclose(back.predict(tokens), fmodel.predict(tokens), rtol=1e-6)
    assert [l.name for l in back.layers] == [l.name for l in fmodel.layers]
    bi = back.get_layer("bidirectional")
    assert (bi.forward_layer.name, bi.backward_layer.name) == ("forward_lstm", "backward_lstm")


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    model, x, y = model_and_data()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    from tinygrad_edu.keras.models import saving

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(saving, "save_weights", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.keras"]
    with pytest.raises(ValueError, match=".keras"):
        model.save(tmp_path / "m.h5")


def test_save_weights_load_weights_and_mismatch(tmp_path):
    model, x, y = model_and_data()
    model.save_weights(tmp_path / "w.weights.safetensors")
    twin = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                             layers.Dense(2, activation="softmax")])
    twin.load_weights(tmp_path / "w.weights.safetensors")
    np.testing.assert_allclose(twin.predict(x), model.predict(x), rtol=1e-6)
    other = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(5), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"layer0.kernel has shape \(6, 8\)"):
        other.load_weights(tmp_path / "w.weights.safetensors")


def test_to_categorical_and_set_random_seed():
    np.testing.assert_array_equal(keras.utils.to_categorical([2, 0], 3), [[0, 0, 1], [1, 0, 0]])

    def train():
        keras.utils.set_random_seed(7)
        model, x, y = model_and_data()
        return model.fit(x, y, epochs=2, verbose=0).history["loss"]
    assert train() == train()


def test_keras_adam_on_the_fused_kernel_equals_the_reference_rule():
    from tinygrad_edu.keras.optimizers import KerasAdamRule
    from tinygrad_edu.optim.optimizer import Optimizer

    rng = np.random.default_rng(0)
    fused = [tge.nn.Parameter(tge.Tensor(rng.standard_normal((4, 3)).astype(np.float32))) for _ in range(2)]
    reference = [tge.nn.Parameter(tge.Tensor(p.numpy().copy())) for p in fused]
    a, b = KerasAdamRule(fused, lr=0.01), KerasAdamRule(reference, lr=0.01)
    for _ in range(5):
        grads = [rng.standard_normal((4, 3)).astype(np.float32) for _ in fused]
        for p, q, g in zip(fused, reference, grads):
            p.grad, q.grad = tge.Tensor(g), tge.Tensor(g.copy())
        a.step()
        Optimizer._step_group(b, b.param_groups[0], reference, [q.grad.numpy() for q in reference])
    for p, q in zip(fused, reference):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-7)


def test_categorical_crossentropy_on_one_hot_targets_uses_the_fused_kernel(monkeypatch):
    from tinygrad_edu.keras import losses
    from tinygrad_edu.nn import functional as F

    rng = np.random.default_rng(1)
    logits = tge.Tensor(rng.standard_normal((6, 4)).astype(np.float32), requires_grad=True)
    one_hot = keras.utils.to_categorical([0, 1, 3, 2, 0, 1], 4)
    calls = []
    real = F.cross_entropy
    monkeypatch.setattr(F, "cross_entropy", lambda *a, **k: calls.append(1) or real(*a, **k))
    fused = losses.CategoricalCrossentropy().call_on_logits(one_hot, logits)
    assert calls == [1]
    formula = -(tge.Tensor(one_hot) * logits.log_softmax(-1)).sum(axis=-1)
    np.testing.assert_allclose(fused.numpy(), formula.numpy(), rtol=1e-6)
    soft = np.full((6, 4), 0.25, np.float32)                      # soft labels: the formula itself
    np.testing.assert_allclose(losses.CategoricalCrossentropy().call_on_logits(soft, logits).numpy(),
                               -(tge.Tensor(soft) * logits.log_softmax(-1)).sum(axis=-1).numpy(), rtol=1e-6)
    assert calls == [1]
