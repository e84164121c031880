"""Moving a checked encode into the library without ever replacing a file there.

``os.replace`` would silently overwrite a library file that appeared after
the enqueue chose the name (another console, a copy by hand). Instead the
partial is hard-linked to the final name, which fails with EEXIST when the
name is taken, and only then unlinked; a taken name moves on to
``Film (2).mkv`` and so on. Filesystems without hard links (some SMB and FAT
mounts) get an ``O_EXCL`` placeholder that is then renamed over: the name is
ours before the rename, so nothing else's file is replaced. Blocking: call
from a thread.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ponyconsole.domain.naming import numbered

_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}
MAX_TRIES = 1000


def _claim(partial: Path, final: Path) -> bool:
    """Move ``partial`` to ``final`` if ``final`` does not exist; False when it does."""
    try:
        os.link(partial, final)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        try:
            fd = os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        os.close(fd)
        os.rename(partial, final)  # replaces only the placeholder we just created
        return True
    os.unlink(partial)
    return True


def publish(partial: Path, final: Path) -> Path:
    """Move the checked encode to ``final``, or to the first free ``final (n)``; returns it."""
    for n in range(1, MAX_TRIES + 1):
        candidate = final.with_name(numbered(final.name, n))
        if _claim(partial, candidate):
            return candidate
    raise FileExistsError(f"{final} and {MAX_TRIES - 1} numbered names after it all exist")
