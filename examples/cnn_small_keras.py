"""The smaller convolutional network of the article: Conv2D - MaxPooling2D - Flatten - Dense - Dense.

Differs from the article's code only in the imports and in the data, which the article leaves
undefined: here the handwritten-looking digits that ship with tinygrad_edu
(``tinygrad_edu.data.synthetic_digits``, no download). TGE_EXAMPLE_EPOCHS sets the epochs
(default 5) and TGE_EXAMPLE_QUICK=1 uses fewer images, for the tests:

    python examples/cnn_small_keras.py
"""
import os

from tinygrad_edu.data import synthetic_digits
from tinygrad_edu.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
from tinygrad_edu.keras.models import Sequential

EPOCHS = int(os.environ.get("TGE_EXAMPLE_EPOCHS", "5"))
N = 600 if os.environ.get("TGE_EXAMPLE_QUICK") == "1" else 6000

# 数据 (the article's x_train / y_train): digit images (N, 28, 28, 1) in [0, 1], labels 0-9
images, labels = synthetic_digits(N + N // 5, seed=0)
images = images.reshape((-1, 28, 28, 1)).astype('float32') / 255
x_train, y_train = images[:N], labels[:N]
x_test, y_test = images[N:], labels[N:]

model = Sequential()
model.add(Conv2D(32, kernel_size=(3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Flatten())
model.add(Dense(128, activation='relu'))
model.add(Dense(10, activation='softmax'))

model.compile(loss='sparse_categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
model.fit(x_train, y_train, batch_size=64, epochs=EPOCHS, validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
