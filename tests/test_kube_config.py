"""The kubeconfig is found as kubectl finds it, and a bad one is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponyconsole.backends.kube.config import (
    DEFAULT_NAMESPACE,
    cluster_configured,
    load_cluster_config,
)
from ponyconsole.backends.protocol import BackendError


def kubeconfig(path: Path, server: str, context: str, namespace: str | None = None) -> Path:
    ns = f"\n    namespace: {namespace}" if namespace else ""
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: c-{context}
  cluster:
    server: {server}
users:
- name: u-{context}
  user:
    token: t0ken
contexts:
- name: {context}
  context:
    cluster: c-{context}
    user: u-{context}{ns}
- name: other-{context}
  context:
    cluster: c-{context}
    user: u-{context}
    namespace: elsewhere
current-context: {context}
"""
    )
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_explicit_path_wins_over_environment_and_home(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / ".kube").mkdir()
    kubeconfig(home / ".kube" / "config", "https://10.0.0.1:6443", "home")
    env = kubeconfig(tmp_path / "env.yaml", "https://10.0.0.2:6443", "env")
    explicit = kubeconfig(tmp_path / "explicit.yaml", "https://10.0.0.3:6443", "mine", "media")
    monkeypatch.setenv("KUBECONFIG", str(env))
    found = load_cluster_config(str(explicit))
    assert (found.context, found.namespace) == ("mine", "media")
    assert found.configuration.host == "https://10.0.0.3:6443"
    found = load_cluster_config()
    assert (found.context, found.namespace) == ("env", DEFAULT_NAMESPACE)
    assert found.configuration.host == "https://10.0.0.2:6443"
    monkeypatch.delenv("KUBECONFIG")
    found = load_cluster_config()
    assert found.context == "home"
    assert found.configuration.host == "https://10.0.0.1:6443"


def test_kubeconfig_list_merges_and_skips_missing_files(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kubeconfig(tmp_path / "a.yaml", "https://10.0.0.4:6443", "a")
    second = kubeconfig(tmp_path / "b.yaml", "https://10.0.0.5:6443", "b")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing.yaml'}:{first}:{second}")
    found = load_cluster_config()
    assert found.context == "a"  # the first file's current-context, as kubectl
    found = load_cluster_config(context="b")
    assert found.configuration.host == "https://10.0.0.5:6443"


def test_context_and_namespace_overrides(home: Path, tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "k.yaml", "https://10.0.0.6:6443", "main", "media")
    found = load_cluster_config(str(path), context="other-main")
    assert (found.context, found.namespace) == ("other-main", "elsewhere")
    found = load_cluster_config(str(path), namespace="ponies")
    assert (found.context, found.namespace) == ("main", "ponies")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("clusters: [unclosed", "kubeconfig"),
        ("apiVersion: v1\nkind: Config\ncontexts: []\n", "kubeconfig"),
    ],
)
def test_broken_or_missing_kubeconfig_is_one_line(
    home: Path, tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "broken.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BackendError) as err:
        load_cluster_config(str(path))
    message = str(err.value)
    assert expected in message and str(path) in message
    assert "\n" not in message and "Traceback" not in message
    assert err.value.__cause__ is None


def test_unknown_context_is_one_line(home: Path, tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "k.yaml", "https://10.0.0.6:6443", "main")
    with pytest.raises(BackendError) as err:
        load_cluster_config(str(path), context="nope")
    assert "nope" in str(err.value) and "\n" not in str(err.value)


def test_cluster_configured_follows_kubectls_order(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not cluster_configured(None)
    with pytest.raises(BackendError, match="no kubeconfig found"):
        load_cluster_config()
    assert cluster_configured(str(tmp_path / "given.yaml"))  # given: cluster mode, errors later
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing.yaml"))
    assert not cluster_configured(None)
    kubeconfig(tmp_path / "missing.yaml", "https://10.0.0.7:6443", "now")
    assert cluster_configured(None)
    monkeypatch.delenv("KUBECONFIG")
    (home / ".kube").mkdir()
    kubeconfig(home / ".kube" / "config", "https://10.0.0.1:6443", "home")
    assert cluster_configured(None)
