"""Where a job's output and its partial file go (light: the one-shot CLI imports it)."""

from __future__ import annotations

from pathlib import Path

from ponyconsole.domain.naming import clean_stem, partial_name


def output_name(stem: str, fallback: str) -> str:
    """A file name for the library: control characters (newlines) become spaces."""
    return clean_stem(stem, fallback) + ".mkv"


def partial_path(output: Path, job_id: str) -> Path:
    """Per job: two jobs (or two consoles) never write the same partial file."""
    return output.with_name(partial_name(output.name, job_id))
