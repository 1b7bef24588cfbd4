"""The article's Keras text classifier: Tokenizer + pad_sequences + Embedding - LSTM - Dense.

Differs from the article's code only in the imports and in reading TGE_EXAMPLE_EPOCHS
(default 10) for the tests:

    python examples/lstm_keras_text.py

(Keras's Tokenizer splits on spaces, so each of these Chinese texts is one "word": the
vocabulary has two entries, and the model learns to tell the two texts apart.)
"""
import os

import numpy as np

from tinygrad_edu.keras.layers import LSTM, Dense, Embedding
from tinygrad_edu.keras.models import Sequential
from tinygrad_edu.keras.preprocessing.sequence import pad_sequences
from tinygrad_edu.keras.preprocessing.text import Tokenizer

EPOCHS = int(os.environ.get("TGE_EXAMPLE_EPOCHS", "10"))

# 示例数据
texts = ["这是一个样本文本", "这是另一个样本文本"]
labels = [1, 0]

# 文本预处理
tokenizer = Tokenizer()
tokenizer.fit_on_texts(texts)
sequences = tokenizer.texts_to_sequences(texts)
word_index = tokenizer.word_index
data = pad_sequences(sequences, maxlen=10)

# 构建模型
model = Sequential()
model.add(Embedding(len(word_index) + 1, 10, input_length=10))
model.add(LSTM(100))
model.add(Dense(1, activation='sigmoid'))
model.summary()

# 编译和训练模型
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
model.fit(data, np.array(labels), epochs=EPOCHS)

print('Predictions:', model.predict(data).ravel())
