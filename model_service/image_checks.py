"""Checks every decoded batch passes, whatever its encoding: its size and its pixel values."""

from __future__ import annotations

import numpy as np
from scoring_errors import InvalidInput
from scoring_settings import ENV_MAX_BATCH

IMAGE_PIXELS = 784  # 28 × 28


def check_batch_size(count: int, max_batch: int) -> None:
    if count > max_batch:
        raise InvalidInput(
            f"batch of {count} images is over the maximum of {max_batch} ({ENV_MAX_BATCH}); split it"
        )


def check_pixel_range(images: np.ndarray, where: str) -> None:
    """Reject NaN, ±inf and values outside 0..1 (raw 0..255 pixels are the usual mistake).

    `where` names a place from `{row}` and `{col}`, e.g. "data[{row}][{col}]".
    """
    if images.size and images.min() >= 0.0 and images.max() <= 1.0:  # False for NaN
        return
    row, col = (int(i) for i in np.argwhere(~((images >= 0.0) & (images <= 1.0)))[0])
    value = float(images[row, col])
    place = where.format(row=row, col=col)
    if not np.isfinite(value):
        raise InvalidInput(f"{place} is {value}: pixels are finite numbers in 0..1")
    raise InvalidInput(
        f"{place} is {value:g}, outside 0..1: scale 0..255 pixels by 1/255, "
        "or send the bytes as application/octet-stream"
    )
