"""The library side of an enqueue: which libraries exist, which output name is free.

Blocking (listdir): call from a thread.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from ponyconsole.backends.local.inbox import Inbox
from ponyconsole.domain.naming import library_problem, unique_name


def free_output(folder: Path, name: str, outputs: Iterable[str]) -> Path:
    """``folder/name``, or ``folder/name (n)`` when a file there or another job has the name.

    Checked again when the encode is moved into place (publish.py): a file that
    appears in between is not replaced either.
    """
    taken: set[str] = set()
    with contextlib.suppress(FileNotFoundError):
        taken.update(os.listdir(folder))
    taken.update(Path(o).name for o in outputs if Path(o).parent == folder)
    return folder / unique_name(name, taken)


def library_names(inbox: Inbox, output_dir: Path) -> list[str]:
    """Libraries the enqueue dialog offers: inbox folders and folders already in the library."""
    names = set(inbox.library_names())
    try:
        with os.scandir(output_dir) as entries:
            names.update(e.name for e in entries if e.is_dir() and library_problem(e.name) is None)
    except OSError:
        pass
    return sorted(n for n in names if library_problem(n) is None)
