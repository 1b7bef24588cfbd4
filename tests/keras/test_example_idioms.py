"""The idioms of keras-io's mnist_convnet, bidirectional_lstm_imdb and
text_classification_from_scratch, and of keras' imdb_lstm / imdb_bidirectional_lstm examples,
written the way those programs write them (only the imports differ), on small local data:
MNIST from ../shared/data/mnist and rt-polarity from ../shared/data when present, else the
package's synthetic digits and a small generated text corpus. Each model trains for an
epoch or two on a few hundred samples and must beat chance."""
import re
import string
from pathlib import Path

import numpy as np
import pytest

from tinygrad_edu import keras
from tinygrad_edu.keras import layers
from tinygrad_edu.keras.preprocessing import sequence

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    yield


def digits(n_train, n_test):
    """((x_train, y_train), (x_test, y_test)) as uint8 images (N, 28, 28) and int labels."""
    if (SHARED / "mnist").is_dir():
        from tinygrad_edu.data.vision import mnist

        (x, y), (xt, yt) = mnist(str(SHARED), download=False)
        return (x[:n_train], y[:n_train]), (xt[:n_test], yt[:n_test])
    from tinygrad_edu.data.synthetic import synthetic_digits

    x, y = synthetic_digits(n_train + n_test, seed=0)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def sentences(n):
    """(texts, labels 0/1): rt-polarity when present (balanced sample), else generated reviews."""
    if (SHARED / "rt-polarity").is_dir():
        from tinygrad_edu.data import rt_polarity

        texts, labels = rt_polarity(str(SHARED))
        order = np.random.default_rng(0).permutation(len(texts))[:n]
        return [texts[i] for i in order], labels[order]
    rng = np.random.default_rng(0)
    good, bad = ["great", "moving", "superb", "fun", "clever"], ["dull", "awful", "boring", "weak", "bland"]
    filler = ["the", "film", "plot", "was", "and", "acting", "a", "story", "really", "quite"]
    labels = rng.integers(0, 2, n)
    texts = [" ".join(rng.choice(filler, 6).tolist() + [rng.choice(good if l else bad)] + rng.choice(filler, 3).tolist())
             for l in labels]
    return texts, labels


def word_ids(texts, max_features, maxlen):
    """What keras.datasets.imdb gives: lists of word ids (1 = start, 2 = unknown), padded."""
    tokenizer = keras.preprocessing.text.Tokenizer(num_words=max_features - 3)
    tokenizer.fit_on_texts(texts)
    seqs = [[1] + [i + 2 for i in s] for s in tokenizer.texts_to_sequences(texts)]
    return sequence.pad_sequences(seqs, maxlen=maxlen)


def test_mnist_convnet():
    num_classes, input_shape = 10, (28, 28, 1)
    (x_train, y_train), (x_test, y_test) = digits(600, 200)
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])
    lines = []
    model.summary(print_fn=lines.append)
    assert any(l.startswith("flatten (Flatten)") and "(None, 400)" in l for l in lines)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=3, validation_split=0.1, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    score = model.evaluate(x_test, y_test, verbose=0)
    assert score[1] > 0.5, score                     # chance is 0.1


def test_bidirectional_lstm_imdb_functional():
    max_features, maxlen = 2000, 24
    texts, labels = sentences(500)
    ids = word_ids(texts, max_features, maxlen)
    x_train, y_train, x_val, y_val = ids[:400], labels[:400], ids[400:], labels[400:]
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 16)(inputs)
    x = layers.Bidirectional(layers.LSTM(8, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(8))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    lines = []
    model.summary(print_fn=lines.append)
    assert any("bidirectional (Bidirectional)" in l and "(None, None, 16)" in l for l in lines)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val), verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    assert model.predict(x_val[:5]).shape == (5, 1)


def custom_standardization(input_data):
    lowercase = input_data.lower()
    stripped_html = lowercase.replace("<br />", " ")
    return re.sub(f"[{re.escape(string.punctuation)}]", "", stripped_html)


def test_text_classification_from_scratch():
    max_features, embedding_dim, sequence_length = 2000, 16, 30
    texts, labels = sentences(500)
    raw_train, y_train = np.array(texts[:400]), labels[:400]
    raw_test, y_test = np.array(texts[400:]), labels[400:]
    vectorize_layer = layers.TextVectorization(standardize=custom_standardization, max_tokens=max_features,
                                               output_mode="int", output_sequence_length=sequence_length)
    vectorize_layer.adapt(raw_train)
    x_train = vectorize_layer(np.expand_dims(raw_train, -1)).numpy()
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(max_features, embedding_dim)(inputs)
    x = layers.Dropout(0.5)(x)
    x = layers.Conv1D(16, 5, padding="valid", activation="relu", strides=2)(x)
    x = layers.Conv1D(16, 5, padding="valid", activation="relu", strides=2)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(16, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    model = keras.Model(inputs, predictions)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0)
    # the end-to-end model takes raw strings
    raw = keras.Input(shape=(1,), dtype="string")
    indices = vectorize_layer(raw)
    outputs = model(indices)
    end_to_end_model = keras.Model(raw, outputs)
    end_to_end_model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    loss, acc = end_to_end_model.evaluate(np.expand_dims(raw_test, -1), y_test, verbose=0)
    assert acc == pytest.approx(model.evaluate(vectorize_layer(np.expand_dims(raw_test, -1)).numpy(), y_test,
                                               verbose=0)[1])
    assert end_to_end_model.predict(np.array([["a superb and clever film"]])).shape == (1, 1)


def test_imdb_lstm_with_dropout_and_recurrent_dropout():
    max_features, maxlen, batch_size = 2000, 20, 32
    texts, labels = sentences(400)
    ids = word_ids(texts, max_features, maxlen)
    x_train, y_train, x_test, y_test = ids[:320], labels[:320], ids[320:], labels[320:]
    x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
    model = keras.Sequential()
    model.add(layers.Embedding(max_features, 16))
    model.add(layers.LSTM(16, dropout=0.2, recurrent_dropout=0.2))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=2, validation_data=(x_test, y_test),
                        verbose=0)
    score, acc = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
    assert history.history["val_accuracy"][-1] == pytest.approx(acc)
    assert 0.0 <= acc <= 1.0 and np.isfinite(score)


def test_imdb_bidirectional_lstm_sequential():
    max_features, maxlen = 2000, 20
    texts, labels = sentences(400)
    ids = word_ids(texts, max_features, maxlen)
    x_train, y_train, x_test, y_test = ids[:320], np.array(labels[:320]), ids[320:], np.array(labels[320:])
    model = keras.Sequential()
    model.add(layers.Embedding(max_features, 16, input_length=maxlen))
    model.add(layers.Bidirectional(layers.LSTM(8)))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=8, validation_data=[x_test, y_test], verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.03   # learning (slowly, as Keras at lr 1e-3)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.count_params() == max_features * 16 + 2 * 4 * (8 * (16 + 8) + 8) + 17
