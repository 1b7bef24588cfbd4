"""The article's binary classifier: Dense(10) - Dense(8) - Dense(1, sigmoid) on 8 features.

Differs from the article's code only in the imports, in the data the article leaves undefined
(random features with a label that depends on them), and in reading TGE_EXAMPLE_EPOCHS
(default 10) for the tests:

    python examples/binary_keras.py
"""
import os

import numpy as np

import tinygrad_edu
from tinygrad_edu.keras.layers import Dense
from tinygrad_edu.keras.models import Sequential

EPOCHS = int(os.environ.get("TGE_EXAMPLE_EPOCHS", "10"))

# 数据: 1000 个样本, 8 个特征; the label says whether the features sum past their mean
np.random.seed(0)  # fixed data and weights, so that a run (and its test) is reproducible
tinygrad_edu.manual_seed(0)
X = np.random.random((1000, 8))
y = (X.sum(axis=1) > 4.0).astype(int)

# 定义模型
model = Sequential()
model.add(Dense(10, input_dim=8, activation='relu'))
model.add(Dense(8, activation='relu'))
model.add(Dense(1, activation='sigmoid'))

# 编译模型
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])

# 训练模型
model.fit(X, y, epochs=EPOCHS, batch_size=10)

# 评估模型
loss, accuracy = model.evaluate(X, y)
print('Loss: %.4f' % loss)
print('Accuracy: %.2f%%' % (accuracy * 100))
