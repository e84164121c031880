"""kwokctl, which starts the pony test cluster: its configuration, command line and folders.

``kwokctl --runtime binary`` starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and the kwok controller from the binaries of ``cluster/build``, under a private
work folder (KWOK_WORKDIR) that holds each component's pid file and log. The pod stages of
cluster/stages.yaml make pods run and end as the pod annotations below ask.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES_FILE = HERE / "stages.yaml"
CLUSTER_NAME = "ponies"

#: Component name -> binary name (kwokctl keeps one pid file per binary name).
COMPONENTS = {
    "etcd": "etcd",
    "kube-apiserver": "kube-apiserver",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kwok-controller": "kwok-controller",
}

# Pod annotations understood by the stages in cluster/stages.yaml.
OUTCOME_ANNOTATION = "ponyconsole.test/outcome"  # "fail" -> the pod ends Failed
START_DELAY_ANNOTATION = "ponyconsole.test/start-delay"  # e.g. "2s": Pending -> Running
RUN_DURATION_ANNOTATION = "ponyconsole.test/run-duration"  # e.g. "30s": Running -> end
# Pods run for real by cluster/executor.py: its image marks them, its annotations end them.
EXECUTOR_IMAGE = "ponyconsole-test-executor:local"
EXIT_CODE_ANNOTATION = "ponyconsole.test/exit-code"  # "0" -> Succeeded, else Failed
MESSAGE_ANNOTATION = "ponyconsole.test/message"  # the termination message when it failed


def workdir(root: Path) -> Path:
    """kwokctl's folder of the cluster under ``root`` (pki, logs, pids, kubeconfig.yaml)."""
    return root / "kwok" / "clusters" / CLUSTER_NAME


def pid_file(root: Path, component: str) -> Path:
    return workdir(root) / "pids" / f"{COMPONENTS[component]}.pid"


def log_file(root: Path, component: str) -> Path:
    return workdir(root) / "logs" / f"{COMPONENTS[component]}.log"


def run_kwokctl(
    binaries: Path, root: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``kwokctl --name ponies ARGS`` on the cluster under ``root``."""
    env = dict(os.environ)
    env["KWOK_WORKDIR"] = str(root / "kwok")
    # Never let kwokctl fetch anything: all binaries are given as paths.
    env.pop("KUBECONFIG", None)
    return subprocess.run(
        [str(binaries / "kwokctl"), "--name", CLUSTER_NAME, *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
"""


def audit_log_file(root: Path) -> Path:
    """The API server's audit log (one JSON event a line) when the cluster was made with one."""
    return root / "audit.log"


def write_config(root: Path, pod_delay: float, audit: bool = False) -> Path:
    """Write kwokctl's configuration (options and pod stages) under ``root``; return its path.

    ``pod_delay``: seconds each pod stage takes. ``audit``: the API server writes every
    request's metadata (user, user agent, verb, object) to :func:`audit_log_file`, so that
    benchmarks can tell which client made which request.
    """
    stages = STAGES_FILE.read_text().replace("__POD_DELAY_MS__", str(max(0, int(pod_delay * 1000))))
    conf = (
        "apiVersion: config.kwok.x-k8s.io/v1alpha1\n"
        "kind: KwokctlConfiguration\n"
        "options:\n"
        "  bindAddress: 127.0.0.1\n"
        "componentsPatches:\n"
        "- name: kube-apiserver\n"
        "  extraArgs:\n"
        # The kwok controller (every pony's kubelet) listens on 127.0.0.1 only;
        # the ponies' InternalDNS address 'localhost' leads the API server there for
        # logs, while their InternalIPs 127.0.0.11-16 stay free for node agents.
        "  - key: kubelet-preferred-address-types\n"
        "    value: InternalDNS\n"
    )
    if audit:
        policy = root / "audit-policy.yaml"
        policy.write_text(AUDIT_POLICY)
        conf += (
            "  - key: audit-policy-file\n"
            f"    value: {policy}\n"
            "  - key: audit-log-path\n"
            f"    value: {audit_log_file(root)}\n"
        )
    conf += "---\n"
    path = root / "kwokctl.yaml"
    path.write_text(conf + stages)
    return path


def create_args(binaries: Path, config: Path, kubeconfig: Path) -> list[str]:
    """Arguments of ``kwokctl`` that create the cluster: TLS, RBAC, admission, kwok's logs CRDs."""
    b = binaries
    return [
        "--config",
        str(config),
        "create",
        "cluster",
        "--runtime",
        "binary",
        "--kubeconfig",
        str(kubeconfig),
        "--etcd-binary",
        str(b / "etcd"),
        "--kube-apiserver-binary",
        str(b / "kube-apiserver"),
        "--kube-controller-manager-binary",
        str(b / "kube-controller-manager"),
        "--kube-scheduler-binary",
        str(b / "kube-scheduler"),
        "--kwok-controller-binary",
        str(b / "kwok"),
        "--kube-authorization=true",
        "--kube-admission=true",
        "--secure-port=true",
        "--disable-qps-limits",
        "--enable-crds=Logs,ClusterLogs",
        "--timeout",
        "90s",
    ]
