"""Content hashes of what is deployed: a directory tree or a single file.

A tree hash depends only on the files' relative paths and bytes: not on the absolute location,
modification times, permissions or the order the file system lists entries in. Caches that
Python and test tools leave in a source directory are not content and are skipped, so running
the tests does not change the source hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CACHE_DIR_NAMES = frozenset(
    {"__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", ".ipynb_checkpoints"}
)
CACHE_FILE_SUFFIXES = (".pyc", ".pyo")
_CHUNK = 1 << 20


def tree_files(root: Path) -> list[tuple[str, Path]]:
    """(relative POSIX path, path) of every regular file under `root`, caches excluded, sorted.

    Raises `NotADirectoryError` naming `root` when it is not a directory.
    """
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    found: list[tuple[str, Path]] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [name for name in subdirs if name not in CACHE_DIR_NAMES]
        for name in files:
            if name.endswith(CACHE_FILE_SUFFIXES):
                continue
            path = Path(directory, name)
            if path.is_file():
                found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_sha256(root: Path) -> str:
    """sha256 over (relative path, content hash) of every file: any changed byte, added,
    removed or renamed file changes it. An empty tree is an error (nothing to deploy)."""
    files = tree_files(root)
    if not files:
        raise ValueError(f"{root} contains no files")
    digest = hashlib.sha256()
    for relative, path in files:
        # Length-prefixed fields, so no two different trees can produce the same byte stream.
        name = relative.encode()
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def environment_sha256(environment_file: Path, base_image: str) -> str:
    """The environment's content: its conda file and the base image it is built on."""
    text = json.dumps(
        {"conda_file_sha256": file_sha256(environment_file), "image": base_image}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()
