"""Settings: options beat the environment, which beats the platform defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.config_file import ConfigError
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.backends.protocol import Backend


def test_defaults_environment_and_options(tmp_path: Path) -> None:
    default = LocalSettings.load(env={"PONYCONSOLE_CONFIG": os.devnull})
    assert default.data_dir == Path(platformdirs.user_data_dir("ponyconsole"))
    assert default.inbox_dir == default.data_dir / "inbox"
    assert default.output_dir == default.data_dir / "library"
    assert (default.concurrency, default.settle_seconds) == (1, 5.0)
    assert default.default_preset == "Fast 1080p30"

    env = {
        "PONYCONSOLE_CONFIG": os.devnull,
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
    backend = LocalBackend(
        LocalSettings.load(data_dir=tmp_path, env={"PONYCONSOLE_CONFIG": os.devnull})
    )
    assert isinstance(backend, Backend)
    assert (backend.mode, backend.read_only) == ("local", False)


def test_config_file_sits_between_environment_and_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[local]\npony = "rainbow-dash"\ninbox = "~/rips"\nconcurrency = 2\n'
        'preset = "HQ 1080p30 Surround"\nsettle_seconds = 2\n',
        encoding="utf-8",
    )
    env = {"PONYCONSOLE_CONFIG": str(config)}
    from_file = LocalSettings.load(env=env)
    assert from_file.pony_name == "rainbow-dash"
    assert from_file.inbox_dir == Path("~/rips").expanduser()
    assert (from_file.concurrency, from_file.default_preset) == (2, "HQ 1080p30 Surround")
    assert from_file.settle_seconds == 2.0
    beaten = LocalSettings.load(env={**env, "PONYCONSOLE_PONY": "rarity"}, concurrency=3)
    assert (beaten.pony_name, beaten.concurrency) == ("rarity", 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[local]\nponny = 'x'\n", "unknown key 'ponny' in [local]"),
        ("[local]\nconcurrency = 0\n", "concurrency must be greater than 0"),
        ("[local]\nconcurrency = '2'\n", "concurrency must be int, not str"),
        ("[cluster]\nx = 1\n", "unknown table(s) cluster"),
        ("[local\n", "not valid TOML"),
    ],
)
def test_a_bad_config_file_names_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        LocalSettings.load(env={"PONYCONSOLE_CONFIG": str(config)})
    assert str(config) in str(caught.value) and message in str(caught.value)


def test_the_console_refuses_a_bad_config_file_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[local]\nconcurrency = -1\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", "--data-dir", str(tmp_path / "d")],
        env={**os.environ, "PONYCONSOLE_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"ponyconsole: config file: {config}: [local] concurrency must be greater than 0, not -1"
    ]
