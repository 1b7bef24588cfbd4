"""The benchmark cases in TensorFlow-Keras, for the ``tf`` column (run inside bench/worker.py).

Same models, batch, data and Adam as the other columns (tinygrad_edu.bench.cases), written
with Keras 3 layers. A step is a ``tf.function`` doing forward, loss, ``GradientTape``
gradients and ``optimizer.apply_gradients``: TensorFlow's fastest ordinary training path
(``model.fit`` adds per-batch callbacks on top). Images are channels-last (N, 28, 28, 1),
TensorFlow's native layout on the CPU; the arithmetic is the same.
Imports nothing from tinygrad_edu: this file runs in TensorFlow's own environment.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up banner out of the pipe

import numpy as np  # noqa: E402

import cases  # noqa: E402  (this folder's cases.py: the shared data)


def build(case: str, threads: int):
    """(step function, info) for ``case`` with ``threads`` intra-op threads, or (None, info)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    info = {"tensorflow": tf.__version__, "keras": tf.keras.__version__ if hasattr(tf.keras, "__version__") else None,
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")}
    keras = tf.keras
    tf.random.set_seed(0)
    d = cases._data(case)
    if case == "op":
        a, b = tf.Variable(d["a"]), tf.Variable(d["b"])

        @tf.function
        def op_step():
            with tf.GradientTape() as tape:
                out = tf.reduce_sum(a * b)
            return tape.gradient(out, [a, b])

        return op_step, info
    if case.startswith("gemm"):
        x, y = tf.constant(d["a"]), tf.constant(d["b"])
        return (lambda: tf.linalg.matmul(x, y)), info
    if case.startswith("conv"):
        x = tf.Variable(np.ascontiguousarray(d["x"].transpose(0, 2, 3, 1)))
        w = tf.Variable(np.ascontiguousarray(d["w"].transpose(2, 3, 1, 0)))
        b = tf.Variable(d["b"])
        gy = tf.constant(np.ascontiguousarray(d["gy"].transpose(0, 2, 3, 1)))

        @tf.function
        def conv_step():
            with tf.GradientTape() as tape:
                y = tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "VALID"), b)
            return tape.gradient(y, [x, w, b], output_gradients=gy)

        return conv_step, info
    model, loss_fn, x, y = _model(case, d, keras, tf)
    if model is None:
        return None, info
    opt = keras.optimizers.Adam(1e-3)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return train_step, info


def _model(case, d, keras, tf):
    layers = keras.layers
    if case == "mlp":
        model = keras.Sequential([keras.Input((100,)), layers.Dense(64, activation="relu"),
                                  layers.Dense(64, activation="relu"), layers.Dense(10)])
        return model, keras.losses.SparseCategoricalCrossentropy(from_logits=True), \
            tf.constant(d["x"]), tf.constant(d["y"])
    if case == "cnn":
        model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                                  layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                                  layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                                  layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10)])
        x = np.ascontiguousarray(d["x"].transpose(0, 2, 3, 1))
        return model, keras.losses.SparseCategoricalCrossentropy(from_logits=True), \
            tf.constant(x), tf.constant(d["y"])
    if case in ("lstm10", "lstm100"):
        t = d["ids"].shape[1]
        model = keras.Sequential([keras.Input((t,), dtype="int64"), layers.Embedding(10000, 10),
                                  layers.LSTM(100), layers.Dense(1)])
        return model, keras.losses.BinaryCrossentropy(from_logits=True), \
            tf.constant(d["ids"]), tf.constant(d["y"])
    if case == "transformer":
        return _transformer(keras, tf), keras.losses.SparseCategoricalCrossentropy(from_logits=True), \
            tf.constant(d["ids"]), tf.constant(d["y"])
    return None, None, None, None


def _transformer(keras, tf):
    """TransformerClassifier(d_model 128, 4 heads, 2 post-norm layers, ff 512, dropout 0.1)."""
    layers = keras.layers
    ids = keras.Input((64,), dtype="int64")
    tokens = layers.Embedding(10000, 128)(ids)
    positions = layers.Embedding(512, 128)(tf.range(64)[None, :])
    h = layers.Dropout(0.1)(tokens + positions)
    for _ in range(2):
        attn = layers.MultiHeadAttention(num_heads=4, key_dim=32, dropout=0.1)(h, h)
        h = layers.LayerNormalization(epsilon=1e-5)(h + layers.Dropout(0.1)(attn))
        ff = layers.Dense(128)(layers.Dropout(0.1)(layers.Dense(512, activation="relu")(h)))
        h = layers.LayerNormalization(epsilon=1e-5)(h + layers.Dropout(0.1)(ff))
    pooled = layers.GlobalAveragePooling1D()(h)
    return keras.Model(ids, layers.Dense(2)(pooled))
