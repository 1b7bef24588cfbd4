"""The multilayer perceptron of the article, in Keras style (a 10-class problem on random data).

Differs from the article's code only in the imports and in reading TGE_EXAMPLE_EPOCHS, so
that the tests can run it with fewer epochs:

    python examples/mlp_keras.py
"""
import os

import numpy as np

from tinygrad_edu.keras.layers import Dense
from tinygrad_edu.keras.models import Sequential

EPOCHS = int(os.environ.get("TGE_EXAMPLE_EPOCHS", "10"))

# 生成随机数据 (random data: 1000 samples of 100 features, labels 0-9)
x_train = np.random.random((1000, 100))
y_train = np.random.randint(10, size=(1000, 1))

# 构建模型
model = Sequential()
model.add(Dense(64, activation='relu', input_shape=(100,)))
model.add(Dense(64, activation='relu'))
model.add(Dense(10, activation='softmax'))

# 编译模型
model.compile(optimizer='adam',
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])

# 训练模型
model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32)
