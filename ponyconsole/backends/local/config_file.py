"""The optional config file: `[local]` settings in TOML, checked before anything starts.

Found at `$PONYCONSOLE_CONFIG`, else `~/.config/ponyconsole/config.toml`
(platformdirs). Options beat the environment, which beats this file, which
beats the built-in defaults. A mistake in it is reported with the file and
the key, never ignored.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

import platformdirs

# key in [local] -> (settings field, type, must be > 0)
LOCAL_KEYS: dict[str, tuple[str, type, bool]] = {
    "data_dir": ("data_dir", str, False),
    "inbox": ("inbox_dir", str, False),
    "output_dir": ("output_dir", str, False),
    "pony": ("pony_name", str, False),
    "concurrency": ("concurrency", int, True),
    "preset": ("default_preset", str, False),
    "settle_seconds": ("settle_seconds", float, True),
    "idle_watts": ("idle_watts", float, False),
    "max_watts": ("max_watts", float, True),
    "handbrake": ("handbrake", str, False),
}


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the key."""


def config_path(env: Mapping[str, str]) -> Path:
    explicit = env.get("PONYCONSOLE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_dir("ponyconsole")) / "config.toml"


def read_local_config(path: Path) -> dict[str, object]:
    """The `[local]` table as LocalSettings field values; {} when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    unknown_tables = sorted(set(data) - {"local"})
    if unknown_tables:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(unknown_tables)}; known: [local]")
    table = data.get("local", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'local' must be a table ([local])")
    values: dict[str, object] = {}
    for key, value in table.items():
        if key not in LOCAL_KEYS:
            known = ", ".join(LOCAL_KEYS)
            raise ConfigError(f"{path}: unknown key '{key}' in [local]; known: {known}")
        field, kind, positive = LOCAL_KEYS[key]
        values[field] = _checked(path, key, value, kind, positive)
    return values


def _checked(path: Path, key: str, value: object, kind: type, positive: bool) -> object:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(
            f"{path}: [local] {key} must be {kind.__name__}, not {type(value).__name__}"
        )
    if positive and value <= 0:  # type: ignore[operator]
        raise ConfigError(f"{path}: [local] {key} must be greater than 0, not {value}")
    if kind is str and not value:
        raise ConfigError(f"{path}: [local] {key} must not be empty")
    return os.path.expanduser(value) if key in ("data_dir", "inbox", "output_dir") else value
