"""The embedded local backend: this machine is the only pony.

``LocalBackend(LocalSettings.load())`` is all the console needs: a durable
SQLite queue, a HandBrakeCLI runner, an inbox lister and psutil metrics.
The names are imported lazily so ``from ...local.queue import JobQueue``
does not pull in the runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ponyconsole.backends.local.backend import LocalBackend
    from ponyconsole.backends.local.settings import LocalSettings

__all__ = ["LocalBackend", "LocalSettings"]


def __getattr__(name: str) -> Any:
    if name == "LocalBackend":
        from ponyconsole.backends.local.backend import LocalBackend

        return LocalBackend
    if name == "LocalSettings":
        from ponyconsole.backends.local.settings import LocalSettings

        return LocalSettings
    raise AttributeError(name)
