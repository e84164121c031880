"""One typed settings object for the local backend (platformdirs + environment)."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from ponyconsole.backends.local.config_file import config_path, read_local_config

DEFAULT_PRESET = "Fast 1080p30"
_RESOLVED_HERE = ("data_dir", "inbox_dir", "output_dir", "pony_name")


@dataclass(frozen=True, slots=True)
class LocalSettings:
    data_dir: Path
    inbox_dir: Path
    output_dir: Path
    pony_name: str
    concurrency: int = 1
    settle_seconds: float = 5.0
    default_preset: str = DEFAULT_PRESET
    handbrake: str = "HandBrakeCLI"
    scan_timeout: float = 60.0
    # An output is accepted when its duration is within max(abs, rel * source) of the source's.
    duration_tolerance_s: float = 2.0
    duration_tolerance_rel: float = 0.02
    # Progress is written to SQLite and pushed as an event at most this often per job.
    progress_interval: float = 1.0
    metrics_interval: float = 1.0
    # How often the runner looks for work queued by another console on the same DB.
    poll_interval: float = 3.0
    # Power estimate when there is no RAPL: a NUC-class machine idles near 6 W, tops near 28 W.
    idle_watts: float = 6.0
    max_watts: float = 28.0

    @property
    def db_path(self) -> Path:
        return self.data_dir / "queue.sqlite3"

    @property
    def alias_dir(self) -> Path:
        """ASCII symlinks to rips whose names are not UTF-8 (handbrake_path.py)."""
        return self.data_dir / "aliases"

    @classmethod
    def load(
        cls,
        data_dir: str | Path | None = None,
        inbox_dir: str | Path | None = None,
        output_dir: str | Path | None = None,
        pony_name: str | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> LocalSettings:
        """Options win over the environment, which wins over the config file, then defaults.

        Raises ConfigError (with the file and key) when the config file is wrong.
        """
        env = os.environ if env is None else env
        config = read_local_config(config_path(env))
        # The fields resolved here leave `config`; what remains is applied as a whole below.
        from_file = {key: str(config.pop(key, "")) for key in _RESOLVED_HERE}
        data = Path(
            data_dir
            or env.get("PONYCONSOLE_DATA_DIR")
            or from_file["data_dir"]
            or platformdirs.user_data_dir("ponyconsole")
        ).expanduser()
        inbox = Path(
            inbox_dir or env.get("PONYCONSOLE_INBOX") or from_file["inbox_dir"] or data / "inbox"
        ).expanduser()
        output = Path(output_dir or from_file["output_dir"] or data / "library").expanduser()
        name = (
            pony_name
            or env.get("PONYCONSOLE_PONY")
            or from_file["pony_name"]
            or socket.gethostname()
            or "pony"
        )
        handbrake = shutil.which("HandBrakeCLI") or "HandBrakeCLI"
        settings = cls(
            data_dir=data, inbox_dir=inbox, output_dir=output, pony_name=name, handbrake=handbrake
        )
        values = {**config, **overrides}
        return replace(settings, **values) if values else settings  # type: ignore[arg-type]

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.inbox_dir, self.output_dir):
            path.mkdir(parents=True, exist_ok=True)
