"""How the console chooses its backend (ponyconsole/ui/choose_backend.py), as a user meets it.

A broken kubeconfig is one line on stderr and exit 1 (the real command, in a
subprocess); an unreachable API server opens the console disconnected, saying so.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ponyconsole.ui.run_console import add_arguments

pytestmark = pytest.mark.timeout(60)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with no kubeconfig anywhere, outside any pod."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return tmp_path


def kubeconfig(path: Path, server: str, context: str = "ponies", namespace: str = "") -> Path:
    ns = f"\n    namespace: {namespace}" if namespace else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: {server}
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: not-a-real-token
contexts:
- name: {context}
  context:
    cluster: c
    user: u{ns}
current-context: {context}
""",
        encoding="utf-8",
    )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def console(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    env.pop("KUBECONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_a_broken_kubeconfig_is_one_line_and_exit_1(home: Path) -> None:
    bad = home / "bad.yaml"
    bad.write_text("clusters: [\n", encoding="utf-8")
    result = console(home, "--kubeconfig", str(bad))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ponyconsole: kubeconfig {bad}")


def test_a_missing_kubeconfig_file_is_one_line(home: Path) -> None:
    result = console(home, "--kubeconfig", str(home / "nowhere.yaml"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"ponyconsole: kubeconfig {home / 'nowhere.yaml'}: no such file"


def test_a_kubeconfig_without_the_asked_context_is_one_line(home: Path) -> None:
    kubeconfig(home / ".kube" / "config", "https://127.0.0.1:1")
    result = console(home, "--context", "elsewhere")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "elsewhere" in result.stderr


def test_local_and_cluster_options_together_are_refused(home: Path) -> None:
    result = console(home, "--local", "--kubeconfig", "x")
    assert result.returncode == 1
    assert "choose one" in result.stderr
    result = console(home, "--kubeconfig", "x", "--pony", "rarity")
    assert result.returncode == 1
    assert "--pony" in result.stderr and "--local" in result.stderr


def test_stall_seconds_must_be_positive(home: Path) -> None:
    result = console(home, "--stall-seconds", "0")
    assert result.returncode == 2
    assert "more than 0" in result.stderr


def test_mode_follows_the_kubeconfig_found_as_kubectl_finds_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ponyconsole.ui.choose_backend import wants_cluster

    assert not wants_cluster(parse())  # nothing configured: local mode
    kubeconfig(home / ".kube" / "config", "https://127.0.0.1:1")
    assert wants_cluster(parse())  # ~/.kube/config
    assert not wants_cluster(parse("--local"))
    assert not wants_cluster(parse("--data-dir", str(home / "q")))  # a local-only option
    monkeypatch.setenv("KUBECONFIG", str(home / "missing"))
    assert not wants_cluster(parse())  # KUBECONFIG wins over ~/.kube/config, as for kubectl
    monkeypatch.setenv("KUBECONFIG", str(home / ".kube" / "config"))
    assert wants_cluster(parse())
    monkeypatch.delenv("KUBECONFIG")
    (home / ".kube" / "config").unlink()
    assert wants_cluster(parse("--kubeconfig", str(home / "any")))


async def test_an_unreachable_server_opens_the_console_disconnected(home: Path) -> None:
    from ponyconsole.ui.app import PonyConsole
    from ponyconsole.ui.choose_backend import open_backend

    port = free_port()  # nothing listens there
    path = kubeconfig(home / "k.yaml", f"https://127.0.0.1:{port}", "ponies", "media")
    backend = open_backend(parse("--kubeconfig", str(path)), local=lambda: pytest.fail("local"))
    assert backend.mode == "cluster"
    app = PonyConsole(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 20
        # each informer fails on its own (connect retries): wait for both sections
        while not (app.ponies_stale.display and app.jobs_stale.display):
            assert time.monotonic() < deadline, "a section never said it is disconnected"
            await pilot.pause(0.1)
        header = app.status.render().plain
        assert header.startswith("ponyconsole cluster · ponies · ns media")
        assert "nodes" in app.ponies_stale.render().plain
        assert app.jobs_stale.display
        assert app.is_running
        await pilot.press("c")  # refused up front, the console stays up
        await pilot.pause(0.1)
        assert app.is_running
