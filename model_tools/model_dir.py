"""A trained model's directory: what belongs in it, and replacing one safely.

`train.py` writes a TensorFlow SavedModel plus METADATA_FILE into a staging directory, then puts it
in place of the old model with renames.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

METADATA_FILE = "metadata.json"
_MODEL_ENTRIES = frozenset({"saved_model.pb", "variables", "assets", "fingerprint.pb", METADATA_FILE})


def check_replaceable(out_dir: Path) -> None:
    """Refuse an `--out` that holds anything but a model: training replaces it whole."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ValueError(f"--out: {out_dir} exists and is not a directory")
    foreign = sorted(entry.name for entry in out_dir.iterdir() if entry.name not in _MODEL_ENTRIES)
    if foreign:
        raise ValueError(
            f"--out: {out_dir} holds files that are not a model ({', '.join(foreign[:5])}); "
            "allowed: a new path, an empty directory or a previous model directory"
        )


def replace_dir(new: Path, target: Path) -> None:
    """Put `new` in place of `target` with renames, so a reader never sees half a model."""
    if not target.exists():
        new.rename(target)
        return
    retired = target.with_name(f".{target.name}.retired-{os.getpid()}")
    target.rename(retired)
    new.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
