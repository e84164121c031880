"""The path HandBrake is given for a rip whose name is not valid UTF-8.

HandBrakeCLI packs the source path into JSON (jansson) both to scan and to
build the job; a name holding a byte like ``\\xff`` makes that fail ("json
pack failure: NULL object") and it then exits 0 without encoding. Such a rip
is handed to HandBrake through a symlink with a plain ASCII name in the data
dir, so it scans and encodes like any other; the file itself is untouched.
Blocking (symlink): call from a thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path


def is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def handbrake_path(path: str, alias_dir: Path) -> str:
    """``path`` itself when it is valid UTF-8, else a symlink to it under ``alias_dir``."""
    if is_utf8(path):
        return path
    raw = os.fsencode(path)
    suffix = Path(path).suffix
    name = hashlib.sha256(raw).hexdigest()[:20] + (suffix if is_utf8(suffix) else "")
    link = alias_dir / name
    alias_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if os.readlink(link) == path:
            return str(link)
    tmp = alias_dir / f".{name}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(path, tmp)
    os.replace(tmp, link)  # only ever replaces one of our own alias links
    return str(link)
