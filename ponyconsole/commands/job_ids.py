"""Job ids on the command line: a unique prefix is enough, as with git."""

from __future__ import annotations

from collections.abc import Iterable

from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain.models import Job

SHORT = 8  # characters of an id shown to people (12 in full)


def resolve(jobs: Iterable[Job], given: str) -> Job:
    """The one job whose id starts with `given`; refuses an unknown or ambiguous prefix."""
    prefix = given.strip().lower()
    if not prefix:
        raise BackendError("a job id is needed")
    matches = [job for job in jobs if job.id.startswith(prefix)]
    if not matches:
        raise BackendError(f"no job {given}")
    exact = [job for job in matches if job.id == prefix]
    if exact:
        return exact[0]
    if len(matches) > 1:
        named = ", ".join(f"{job.id} ({job.name})" for job in matches[:10])
        more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
        raise BackendError(f"job id {given} is ambiguous: {named}{more}")
    return matches[0]
