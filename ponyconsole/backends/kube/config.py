"""Find the cluster the way kubectl does: --kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster.

Every failure is one line for the user (``BackendError``), never a traceback:
the console prints it and stops, or opens local mode when none is configured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponyconsole.backends.protocol import BackendError

DEFAULT_NAMESPACE = "ponyconsole"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER = "in-cluster"


@dataclass(frozen=True)
class ClusterConfig:
    """How to reach the cluster: a client configuration and what the header shows."""

    configuration: Any  # kubernetes.client.Configuration
    context: str
    namespace: str
    source: str  # the kubeconfig file(s), or "in-cluster"

    def api_client(self) -> Any:
        from kubernetes import client

        return client.ApiClient(self.configuration)


def _kubeconfig_files(explicit: str | None) -> list[Path]:
    """The kubeconfig files kubectl would read, in its order; empty if none exists."""
    if explicit:
        return [Path(explicit).expanduser()]  # explicit: must exist (checked by the loader)
    env = os.environ.get("KUBECONFIG", "")
    if env.strip():
        files = [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
        return [p for p in files if p.exists()]
    default = Path("~/.kube/config").expanduser()
    return [default] if default.exists() else []


def in_cluster() -> bool:
    return (
        bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (SERVICE_ACCOUNT_DIR / "token").exists()
    )


def cluster_configured(kubeconfig: str | None = None) -> bool:
    """Whether the console should open in cluster mode (a kubeconfig or in-cluster config)."""
    return bool(kubeconfig) or bool(_kubeconfig_files(None)) or in_cluster()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def load_cluster_config(
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
) -> ClusterConfig:
    """The cluster to talk to; raises ``BackendError`` with one clear line when it cannot."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    files = _kubeconfig_files(kubeconfig)
    conf = client.Configuration()
    if not files:
        if kubeconfig is None and in_cluster():
            return _in_cluster(conf, namespace)
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise BackendError(f"no kubeconfig found ({where}) and not running inside a cluster")
    if kubeconfig and not files[0].is_file():
        raise BackendError(f"kubeconfig {kubeconfig}: no such file")
    source = os.pathsep.join(str(f) for f in files)
    try:
        if context is None and len(files) > 1:
            context = _first_current_context(files)
        loader = config.kube_config._get_kube_config_loader(
            filename=source, active_context=context, persist_config=False
        )
        loader.load_and_set(conf)
        current = loader.current_context
    except ConfigException as exc:
        raise BackendError(f"kubeconfig {source}: {_one_line(exc)}") from None
    except Exception as exc:  # yaml errors, bad base64, missing cert files...
        raise BackendError(f"kubeconfig {source}: {type(exc).__name__}: {_one_line(exc)}") from None
    name = str(current.get("name") or "")
    ns = namespace or (current.get("context") or {}).get("namespace") or DEFAULT_NAMESPACE
    return ClusterConfig(conf, name, str(ns), source)


def _first_current_context(files: list[Path]) -> str | None:
    """kubectl takes the first file's current-context; the Python client takes the last."""
    import yaml

    for path in files:
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and data.get("current-context"):
            return str(data["current-context"])
    return None


def _in_cluster(conf: Any, namespace: str | None) -> ClusterConfig:
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.incluster_config import InClusterConfigLoader

    try:
        InClusterConfigLoader(
            token_filename=str(SERVICE_ACCOUNT_DIR / "token"),
            cert_filename=str(SERVICE_ACCOUNT_DIR / "ca.crt"),
        ).load_and_set(conf)
    except (ConfigException, OSError) as exc:
        raise BackendError(f"in-cluster config: {_one_line(exc)}") from None
    ns = namespace
    if not ns:
        try:
            ns = (SERVICE_ACCOUNT_DIR / "namespace").read_text().strip()
        except OSError:
            ns = ""
    return ClusterConfig(conf, IN_CLUSTER, ns or DEFAULT_NAMESPACE, IN_CLUSTER)
