"""The convolutional network of the article, trained on MNIST in Keras style.

Differs from the article's code only in the imports and in reading two variables for the
tests: TGE_EXAMPLE_EPOCHS (default 5, the article's) and TGE_EXAMPLE_QUICK=1 (train and
test on the first 1,000 images only). MNIST is read from the folder in $TGE_DATA, the cache,
or downloaded (see docs/data.md):

    TGE_DATA=../shared/data python examples/cnn_keras_mnist.py
"""
import os

from tinygrad_edu.keras import layers, models
from tinygrad_edu.keras.datasets import mnist
from tinygrad_edu.keras.utils import to_categorical

EPOCHS = int(os.environ.get("TGE_EXAMPLE_EPOCHS", "5"))
QUICK = os.environ.get("TGE_EXAMPLE_QUICK") == "1"

# 加载数据
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
if QUICK:
    train_images, train_labels = train_images[:1000], train_labels[:1000]
    test_images, test_labels = test_images[:1000], test_labels[:1000]

# 预处理: 像素缩放到 [0, 1], 形状 (N, 28, 28, 1)
train_images = train_images.reshape((-1, 28, 28, 1)).astype('float32') / 255
test_images = test_images.reshape((-1, 28, 28, 1)).astype('float32') / 255
train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)

# 构建卷积神经网络
model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.Flatten())
model.add(layers.Dense(64, activation='relu'))
model.add(layers.Dense(10, activation='softmax'))
model.summary()

# 编译和训练
model.compile(optimizer='adam',
              loss='categorical_crossentropy',
              metrics=['accuracy'])
model.fit(train_images, train_labels, epochs=EPOCHS, batch_size=64)

# 评估
test_loss, test_acc = model.evaluate(test_images, test_labels)
print('Test accuracy:', test_acc)
