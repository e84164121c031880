"""Copying an encode into the library: skip an identical file, never replace a different one.

The copy goes to a hidden partial name in the library folder, is fsync'd and its
size and SHA-256 checked against the source, and only then moves to its name with
publish.py (hard link, never over an existing file). A name taken by a different
file moves on to ``Film (2).mkv`` as in domain/naming.py. Blocking: call from a thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from ponyconsole.backends.local.publish import MAX_TRIES, publish
from ponyconsole.domain.naming import numbered, partial_name

CHUNK = 1 << 20


@dataclass(frozen=True)
class Placed:
    path: Path
    copied: bool  # False: an identical file was already there


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def identical(a: Path, size: int, digest: str) -> bool:
    try:
        return a.stat().st_size == size and file_hash(a) == digest
    except OSError:
        return False


def _copy(source: Path, target: Path) -> str:
    """Copy, fsync, and return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    with source.open("rb") as src, open(target, "xb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            digest.update(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest()


def place_in_library(source: Path, folder: Path) -> Placed:
    """``source`` in ``folder``: an identical file there is kept, a different one never replaced.

    Raises OSError (with the file named) when the copy cannot be made or does not check out.
    """
    size = source.stat().st_size
    digest = file_hash(source)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, MAX_TRIES + 1):
        candidate = folder / numbered(source.name, n)
        if not candidate.exists():
            break
        if identical(candidate, size, digest):
            return Placed(candidate, copied=False)
    else:
        raise FileExistsError(f"{source.name} and {MAX_TRIES - 1} numbered names all exist")
    partial = folder / partial_name(candidate.name, uuid.uuid4().hex[:8])
    try:
        written = _copy(source, partial)
        got = partial.stat().st_size
        if got != size or written != digest:
            raise OSError(f"copy to {partial} is {got} bytes, source {size}: not the same file")
        placed = publish(partial, candidate)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    if placed.stat().st_size != size:
        raise OSError(f"{placed} is {placed.stat().st_size} bytes after the copy, expected {size}")
    return Placed(placed, copied=True)
