"""Settings: options beat the environment, which beats the platform defaults."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.backends.protocol import Backend


def test_defaults_environment_and_options(tmp_path: Path) -> None:
    default = LocalSettings.load(env={})
    assert default.data_dir == Path(platformdirs.user_data_dir("ponyconsole"))
    assert default.inbox_dir == default.data_dir / "inbox"
    assert default.output_dir == default.data_dir / "library"
    assert (default.concurrency, default.settle_seconds) == (1, 5.0)
    assert default.default_preset == "Fast 1080p30"

    env = {
        "PONYCONSOLE_DATA_DIR": str(tmp_path / "d"),
        "PONYCONSOLE_INBOX": str(tmp_path / "in"),
        "PONYCONSOLE_PONY": "rarity",
    }
    from_env = LocalSettings.load(env=env)
    assert (from_env.data_dir, from_env.inbox_dir, from_env.pony_name) == (
        tmp_path / "d",
        tmp_path / "in",
        "rarity",
    )
    assert from_env.db_path == tmp_path / "d" / "queue.sqlite3"
    option = LocalSettings.load(data_dir=tmp_path / "o", env=env, concurrency=2)
    assert option.data_dir == tmp_path / "o" and option.inbox_dir == tmp_path / "in"
    assert option.concurrency == 2


def test_local_backend_speaks_the_protocol(tmp_path: Path) -> None:
    backend = LocalBackend(LocalSettings.load(data_dir=tmp_path, env={}))
    assert isinstance(backend, Backend)
    assert (backend.mode, backend.read_only) == ("local", False)
