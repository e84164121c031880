"""Names that become paths: library names, output file names, partial files.

Shared by the local backend and the cluster pipeline, so both refuse the
same library names and pick the same output names. Standard library only;
nothing here touches the disk (the caller says which names are taken).

Output names follow what Plex and Sonarr users know: ``Film.mkv``, then
``Film (2).mkv``, ``Film (3).mkv`` for a second and third rip that would
clean up to the same name. A library file is never overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

MAX_NAME_BYTES = 255  # one path component on ext4, btrfs, xfs, tmpfs, SMB
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class NameRefused(ValueError):
    """A name that cannot become a path component; ``str()`` says why, for the user."""


def shown(text: str) -> str:
    """Text as a terminal or SQLite can take it: bytes that were not UTF-8 become U+FFFD.

    A file name read from a Linux directory may hold any bytes; Python keeps the
    undecodable ones as lone surrogates (surrogateescape), which a UTF-8 encode
    refuses. Display and output naming use this; paths handed to the OS do not.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape") if _escapes_only(text) else None
        if raw is None:
            return text.encode("utf-8", "replace").decode("utf-8")
        return raw.decode("utf-8", "replace")
    return text


def _escapes_only(text: str) -> bool:
    """Every surrogate in ``text`` is one surrogateescape made (U+DC80..U+DCFF)."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def library_problem(name: str) -> str | None:
    """Why ``name`` cannot be a library (a folder right under the output folder), or None."""
    if not name:
        return "the library name is empty"
    quoted = repr(shown(name))
    if name != shown(name):
        return f"library {quoted} is not valid UTF-8"
    if "\x00" in name:
        return f"library {quoted} contains a NUL byte"
    if "/" in name or "\\" in name:
        return f"library {quoted} contains a slash; it must be one folder name"
    if name in (".", ".."):
        return f"library {quoted} would leave the output folder"
    if name.startswith("."):
        return f"library {quoted} starts with a dot (a hidden folder)"
    if _CONTROL.search(name):
        return f"library {quoted} contains a control character (a newline or tab)"
    if name != name.strip():
        return f"library {quoted} starts or ends with a space"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"library name is longer than {MAX_NAME_BYTES} bytes"
    return None


def check_library(name: str) -> str:
    """The name itself when it is a valid library; NameRefused saying why otherwise."""
    problem = library_problem(name)
    if problem is not None:
        raise NameRefused(f"refused: {problem}")
    return name


def clean_stem(stem: str, fallback: str) -> str:
    """A file stem for the library: controls (newlines) become spaces, slashes dashes.

    Bytes that were not UTF-8 become U+FFFD, so every library file name is valid
    UTF-8 (media servers and SMB clients choke on the others). A stem that
    cleans to nothing, or to a hidden name, falls back to ``fallback``.
    """
    clean = " ".join(_CONTROL.sub(" ", shown(stem)).split()).replace("/", "-")
    clean = clean.lstrip(".").strip()
    if not clean:
        return fallback
    limit = MAX_NAME_BYTES - len(" (9999).mkv") - len(".partial") - 14
    while len(clean.encode("utf-8")) > limit:
        clean = clean[:-1]
    return clean


def numbered(name: str, n: int) -> str:
    """``Film.mkv`` -> ``Film (n).mkv``; n = 1 is the name itself."""
    if n == 1:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    return f"{stem} ({n}){dot}{ext}"


def unique_name(name: str, taken: Callable[[str], bool] | Collection[str]) -> str:
    """``name`` or the first ``name (n)`` that is not taken.

    ``taken`` is the names already used (files in the folder and outputs of
    other queued jobs), compared without case: a library on a case-insensitive
    share (SMB, macOS) must not see ``a.mkv`` replace ``A.mkv``.
    """
    if callable(taken):
        is_taken = taken
    else:
        folded = {t.casefold() for t in taken}

        def is_taken(candidate: str) -> bool:
            return candidate.casefold() in folded

    n = 1
    while is_taken(numbered(name, n)):
        n += 1
    return numbered(name, n)


def partial_name(output_name: str, job_id: str) -> str:
    """The hidden file an encode writes before it is checked: one per job, never shared.

    Two jobs that would write ``Film.mkv`` and ``Film (2).mkv``, or the same
    name picked by two consoles, each write their own ``.Film.<job>.partial.mkv``.
    """
    stem, dot, ext = output_name.rpartition(".")
    if not dot:
        stem, ext = output_name, "mkv"
    return f".{stem}.{job_id}.partial.{ext}"
