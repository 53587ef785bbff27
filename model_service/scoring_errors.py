"""The scoring modules' errors; every request error carries the HTTP status it stands for.

ScoringError               base: `status`, a message naming the problem
 ├── InvalidInput          400  the body does not hold a valid batch of images
 ├── MethodNotAllowed      405  not POST (or OPTIONS) on /score
 ├── PayloadTooLarge       413  the body is over SCORE_MAX_BODY_BYTES
 ├── UnsupportedMediaType  415  a Content-Type or Content-Encoding the scorer does not read
 └── NotReady              503  load() has not completed
SettingsError (ValueError)      a bad SCORE_* / AZUREML_MODEL_DIR value in the environment
ModelLoadError                  no loadable SavedModel under AZUREML_MODEL_DIR
 └── DeviceError                 SCORE_REQUIRE_GPU=true and TensorFlow sees no GPU
"""

from __future__ import annotations


class ScoringError(Exception):
    """A request the scorer refuses; `status` is the HTTP status it maps to."""

    status = 400


class InvalidInput(ScoringError):
    status = 400


class MethodNotAllowed(ScoringError):
    status = 405


class PayloadTooLarge(ScoringError):
    status = 413


class UnsupportedMediaType(ScoringError):
    status = 415


class NotReady(ScoringError):
    status = 503


class SettingsError(ValueError):
    """A setting read from the environment is missing or out of range."""


class ModelLoadError(Exception):
    """The model directory holds no loadable SavedModel with the expected endpoint."""


class DeviceError(ModelLoadError):
    """The device the settings require is not there (SCORE_REQUIRE_GPU=true, no GPU visible to
    TensorFlow); the message says what is missing."""
