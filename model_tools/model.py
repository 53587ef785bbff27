"""The how-to's DNN: 784 pixels -> 300 relu -> 100 relu -> 10 logits (TensorFlow 2.21, Keras 3).

The model returns logits (no softmax): the predicted digit is their argmax, and training uses a
cross-entropy that takes logits, which is numerically steadier than softmax + log.
"""

from __future__ import annotations

import keras

from model_tools.mnist import CLASSES, IMAGE_PIXELS

HIDDEN_UNITS: tuple[int, ...] = (300, 100)


def build_model(*, learning_rate: float = 1e-3) -> keras.Model:
    """A compiled, untrained 784-300-100-10 network; seed Keras first for reproducible weights."""
    layers: list[keras.layers.Layer] = [keras.Input(shape=(IMAGE_PIXELS,), dtype="float32", name="pixels")]
    for index, units in enumerate(HIDDEN_UNITS, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"hidden{index}"))
    layers.append(keras.layers.Dense(CLASSES, name="logits"))
    model = keras.Sequential(layers, name="mnist_dnn")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model
