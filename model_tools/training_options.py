"""How a training run is set up: its options, checked on creation, and the batch size a set gets.

Defaults here are the command line's (`python -m model_tools.train`); docs/model.md explains the
choices. Imports no TensorFlow, so options are checked before anything heavy is loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model_tools import mnist

DEFAULT_EPOCHS = 20  # at most, with early stopping
DEFAULT_PATIENCE = 2
# An epoch counts as better when the validation accuracy rises by more than this (0.1 points):
# on a large set it creeps up by single images for many epochs after the held-out accuracy has
# stopped improving (docs/model.md).
MIN_ACCURACY_GAIN = 0.001
DEFAULT_VALIDATION_FRACTION = 0.1
# Below this many training images, setting a validation split aside costs more held-out accuracy
# than early stopping saves time (the digits: docs/model.md), so small sets train all epochs.
DEFAULT_EARLY_STOPPING_MIN_EXAMPLES = 10_000
DEFAULT_SEED = mnist.DIGITS_SPLIT_SEED
DEFAULT_TEST_FRACTION = mnist.DIGITS_TEST_FRACTION
# batch_size_for: about this many steps per epoch, in powers of two between the bounds. Small
# sets keep small batches (more updates per epoch); large ones get batches that keep Keras' per-step
# cost small against the step's arithmetic (docs/model.md).
_STEPS_PER_EPOCH = 400
_BATCH_BOUNDS = (32, 256)


def batch_size_for(train_examples: int) -> int:
    """The power of two nearest train_examples / 400 steps, within 32..256 (1,294 digits: 32;
    54,000 images: 128)."""
    low, high = _BATCH_BOUNDS
    target = max(train_examples / _STEPS_PER_EPOCH, 1.0)
    return int(min(max(2 ** round(math.log2(target)), low), high))


@dataclass(frozen=True)
class TrainingOptions:
    """How to train; `batch_size` None picks `batch_size_for` the set. Early stopping (and its
    validation split) is on for sets of at least `early_stopping_min_examples` images; `patience`
    0 turns it off."""

    epochs: int = DEFAULT_EPOCHS
    batch_size: int | None = None
    patience: int = DEFAULT_PATIENCE
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    early_stopping_min_examples: int = DEFAULT_EARLY_STOPPING_MIN_EXAMPLES
    seed: int = DEFAULT_SEED
    learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        for name, low in (
            ("epochs", 1),
            ("batch_size", 1),
            ("patience", 0),
            ("early_stopping_min_examples", 0),
        ):
            value = getattr(self, name)
            if name == "batch_size" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name}: {value!r} is not allowed (allowed: an integer >= {low})")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate: {self.learning_rate!r} is not allowed (allowed: > 0)")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction: {self.validation_fraction!r} is not allowed (allowed: 0 < x < 1)"
            )
