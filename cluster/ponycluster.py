"""Driver of the pony test cluster: a real Kubernetes control plane with six fake pony nodes.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler of Kubernetes v1.35.4 plus the
kwok controller (playing the kubelets), all built from Go modules by ``cluster/build``, started
by ``kwokctl --runtime binary`` under a private work folder (KWOK_WORKDIR) with a kubeconfig of
its own. TLS with a CA, ``--authorization-mode=Node,RBAC``, admission and ServiceAccount token
signing are on, as in a real cluster. Every process binds 127.0.0.1 on a free port.

This module holds :class:`PonyCluster` (lifecycle, clients, stopping and starting components)
and re-exports what its users need from the modules beside it: binaries.py (which binaries,
where), kwokctl.py (kwokctl's configuration and folders), ponies.py (the six nodes),
processes.py (processes by pid), crilog.py (pod log files). Used by the pytest fixtures
(tests/fixtures/cluster.py) and by ``cluster/up`` (cli.py).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cluster import kwokctl
from cluster.binaries import KUBE_VERSION, KWOK_VERSION, bin_dir, cache_dir, check_binaries
from cluster.crilog import append_cri_log, cri_log_records, serve_pod_logs, write_cri_log
from cluster.errors import ClusterError
from cluster.kwokctl import (
    CLUSTER_NAME,
    COMPONENTS,
    OUTCOME_ANNOTATION,
    RUN_DURATION_ANNOTATION,
    START_DELAY_ANNOTATION,
)
from cluster.ponies import MAC_ANNOTATION, MASTER, PONIES, add_extra_nodes, add_ponies
from cluster.processes import Command, kill_pid, pid_alive, rss_bytes

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration

__all__ = [
    "CLUSTER_NAME",
    "COMPONENTS",
    "KUBE_VERSION",
    "KWOK_VERSION",
    "MAC_ANNOTATION",
    "MASTER",
    "OUTCOME_ANNOTATION",
    "PONIES",
    "RUN_DURATION_ANNOTATION",
    "START_DELAY_ANNOTATION",
    "ClusterError",
    "PonyCluster",
    "append_cri_log",
    "bin_dir",
    "cache_dir",
    "check_binaries",
    "cri_log_records",
    "write_cri_log",
]

#: What a component's log says when another process took its port first.
PORT_TAKEN = "address already in use"

#: The order :meth:`PonyCluster.stop` ends the components in: clients of the API server
#: first, then the API server, then its storage.
STOP_ORDER = [
    "kwok-controller",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
]


def _readyz(api: ApiClient) -> None:
    """GET /readyz of the API server; raise unless it answers 200."""
    resp = api.call_api("GET", api.configuration.host + "/readyz", _request_timeout=5)
    data = resp.read() if hasattr(resp, "read") else b""
    if resp.status != 200:
        raise ClusterError(f"/readyz answered {resp.status}: {data[:200]!r}")


@dataclass
class PonyCluster:
    """A running pony cluster. Make one with :meth:`start`; end it with :meth:`stop`."""

    root: Path
    kubeconfig: Path
    bin: Path
    pod_delay: float = 0.5
    audit: bool = False
    nodes: list[str] = field(default_factory=lambda: [p[0] for p in PONIES])
    pids: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _stopped: dict[str, Command] = field(default_factory=dict)
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _commands: dict[str, Command] = field(default_factory=dict)
    _owns_root: bool = False
    _client: ApiClient | None = None
    create_output: str = ""

    # ----------------------------------------------------------------- lifecycle

    @classmethod
    def start(
        cls,
        root: Path | str | None = None,
        *,
        pod_delay: float = 0.5,
        binaries: Path | None = None,
        ready_timeout: float = 90.0,
        extra_nodes: int = 0,
        audit: bool = False,
    ) -> PonyCluster:
        """Start the cluster under ``root`` (a new temp folder if None) and wait until Ready.

        Ready means: the API server answers /readyz, the six ponies are Ready, and the
        controller-manager has made the ``default`` ServiceAccount. ``extra_nodes``: that
        many more fake nodes (pony-001, ...) for scale benchmarks, Ready too. ``audit``: the
        API server keeps an audit log (:attr:`audit_log`) of every request's metadata.
        """
        t0 = time.monotonic()
        binaries = check_binaries(binaries)
        owns = root is None
        root = Path(tempfile.mkdtemp(prefix="ponycluster-")) if root is None else Path(root)
        root.mkdir(parents=True, exist_ok=True)
        cluster = cls(
            root=root,
            kubeconfig=root / "kubeconfig",
            bin=binaries,
            pod_delay=pod_delay,
            audit=audit,
            _owns_root=owns,
        )
        try:
            for attempt in range(3):
                try:
                    cluster._create()
                    cluster.timings["kwokctl_create"] = time.monotonic() - t0
                    cluster.nodes = [p[0] for p in PONIES]
                    add_ponies(cluster._admin())
                    if extra_nodes:
                        cluster.nodes += add_extra_nodes(cluster._admin(), extra_nodes)
                    cluster.wait_ready(timeout=ready_timeout)
                    break
                except ClusterError as error:
                    # kwokctl picks free ports, then the components bind them: another
                    # process may take one in between (kwokctl itself fails, or a component
                    # such as kwok-controller fails after kwokctl returned). Start over on
                    # fresh ports; anything else is final.
                    if PORT_TAKEN not in str(error) or attempt == 2:
                        raise
                    cluster._kill_all()
                    cluster._kwokctl(
                        "delete", "cluster", "--kubeconfig", str(cluster.kubeconfig), timeout=60
                    )
                    cluster.pids.clear()
                    if cluster._client is not None:
                        with contextlib.suppress(Exception):
                            cluster._client.close()
                        cluster._client = None
            cluster._remember_commands()
        except BaseException:
            cluster.stop()
            raise
        cluster.timings["ready"] = time.monotonic() - t0
        return cluster

    @property
    def audit_log(self) -> Path:
        """The API server's audit log (exists when started with ``audit=True``)."""
        return kwokctl.audit_log_file(self.root)

    @property
    def workdir(self) -> Path:
        """kwokctl's folder of this cluster (pki, logs, pids, kubeconfig.yaml, kwok.yaml)."""
        return kwokctl.workdir(self.root)

    def _kwokctl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return kwokctl.run_kwokctl(self.bin, self.root, *args, timeout=timeout)

    def _create(self) -> None:
        config = kwokctl.write_config(self.root, self.pod_delay, audit=self.audit)
        res = self._kwokctl(*kwokctl.create_args(self.bin, config, self.kubeconfig), timeout=120)
        self._read_pids()
        if res.returncode != 0:
            raise ClusterError(
                f"kwokctl create cluster failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
                f"\n{self._log_tails()}"
            )
        self.create_output = res.stdout + res.stderr

    def _read_pids(self) -> None:
        for name in COMPONENTS:
            with contextlib.suppress(OSError, ValueError):
                self.pids[name] = int(kwokctl.pid_file(self.root, name).read_text().strip())

    def _log_tails(self, lines: int = 15) -> str:
        out = []
        for log in sorted((self.workdir / "logs").glob("*.log")):
            with contextlib.suppress(OSError):
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def _port_taken(self) -> str | None:
        """The component whose log says its port was taken by another process, or None."""
        for log in sorted((self.workdir / "logs").glob("*.log")):
            with contextlib.suppress(OSError):
                if PORT_TAKEN in log.read_text(errors="replace"):
                    return log.stem
        return None

    def _kill_all(self) -> None:
        self._read_pids()
        for name in STOP_ORDER:
            pid = self.pids.get(name)
            if pid:
                kill_pid(pid)
        for child in self._children.values():
            with contextlib.suppress(Exception):
                child.wait(timeout=5)

    def stop(self) -> None:
        """Stop every process of the cluster by its pid and remove its files."""
        self._kill_all()
        if self.workdir.exists():
            # Cleans kwokctl's own records; the processes are already gone.
            with contextlib.suppress(Exception):
                self._kwokctl("delete", "cluster", "--kubeconfig", str(self.kubeconfig), timeout=60)
        alive = {n: p for n, p in self.pids.items() if pid_alive(p)}
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)
        if alive:
            raise ClusterError(f"cluster processes still running after stop: {alive}")

    def __enter__(self) -> PonyCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- clients

    def api_client(self) -> ApiClient:
        """A new kubernetes.client.ApiClient authenticated as cluster admin."""
        from kubernetes import config

        api: ApiClient = config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]
        return api

    def configuration(self) -> Configuration:
        """A kubernetes.client.Configuration of the admin (copy it to change it)."""
        from kubernetes import client, config

        conf = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=conf)  # type: ignore[no-untyped-call]
        return conf

    def impersonating_client(self, user: str, groups: Iterable[str] = ()) -> ApiClient:
        """An ApiClient of the admin that impersonates ``user`` (and ``groups``)."""
        from kubernetes import client

        api = client.ApiClient(self.configuration())
        api.set_default_header("Impersonate-User", user)
        groups = list(groups)
        if groups:
            # The generated client sends one value per header name; RBAC needs only one here.
            api.set_default_header("Impersonate-Group", groups[0])
        return api

    def token_client(self, token: str) -> ApiClient:
        """An ApiClient that authenticates with a bearer ``token`` (e.g. from TokenRequest)."""
        from kubernetes import client

        conf = self.configuration()
        conf.cert_file = None
        conf.key_file = None
        conf.api_key = {"authorization": token}
        conf.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(conf)

    def _admin(self) -> ApiClient:
        if self._client is None:
            self._client = self.api_client()
        return self._client

    @property
    def server(self) -> str:
        return str(self.configuration().host)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Wait until /readyz answers, every pony is Ready and the default SA exists."""
        from kubernetes import client

        api = self._admin()
        core = client.CoreV1Api(api)
        deadline = time.monotonic() + timeout
        last = "nothing checked yet"
        next_log_look = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_log_look:
                next_log_look = time.monotonic() + 1.0
                taken = self._port_taken()
                if taken:  # that component will never serve: no use waiting the timeout out
                    raise ClusterError(f"{taken}: {PORT_TAKEN}\n{self._log_tails()}")
            try:
                _readyz(api)
                ready = set()
                for n in core.list_node().items:
                    for c in (n.status and n.status.conditions) or []:
                        if c.type == "Ready" and c.status == "True" and n.metadata:
                            ready.add(n.metadata.name)
                missing = set(self.nodes) - ready
                if missing:
                    last = f"nodes not Ready: {sorted(missing)}"
                else:
                    core.read_namespaced_service_account("default", "default")
                    return
            except Exception as e:
                last = f"{type(e).__name__}: {str(e)[:300]}"
            time.sleep(0.2)
        raise ClusterError(f"cluster not Ready after {timeout:.0f} s: {last}\n{self._log_tails()}")

    # ----------------------------------------------------------------- components

    def stop_component(self, name: str, grace: float = 3.0) -> None:
        """Stop one component (e.g. 'kube-apiserver', 'etcd') by its pid; remember its command.

        SIGTERM, then SIGKILL if it is still there after ``grace`` seconds (kube-apiserver
        with open watches takes longer than that to drain). ``grace=0``: SIGKILL at once,
        like a crash or a power cut.
        """
        if name not in COMPONENTS:
            raise ValueError(f"unknown component {name!r}; one of {sorted(COMPONENTS)}")
        self._read_pids()
        pid = self.pids.get(name)
        if pid is None or not pid_alive(pid):
            raise ClusterError(f"{name} is not running")
        self._stopped[name] = Command.of_pid(pid)
        kill_pid(pid, timeout=grace)
        child = self._children.pop(name, None)
        if child is not None:
            with contextlib.suppress(Exception):
                child.wait(timeout=5)

    def start_component(self, name: str) -> None:
        """Start again a component stopped by :meth:`stop_component`, with the same command."""
        stopped = self._stopped.pop(name, None)
        if stopped is None:
            raise ClusterError(f"{name} was not stopped by stop_component")
        child = stopped.spawn(kwokctl.log_file(self.root, name))
        self._children[name] = child
        self.pids[name] = child.pid
        kwokctl.pid_file(self.root, name).write_text(str(child.pid))

    def stop_apiserver(self, grace: float = 3.0) -> None:
        self.stop_component("kube-apiserver", grace)

    def start_apiserver(self, wait: bool = True, timeout: float = 60) -> None:
        self.start_component("kube-apiserver")
        if wait:
            self.wait_apiserver(timeout)

    def restart_apiserver(self, down_seconds: float = 1.0) -> None:
        self.stop_apiserver()
        time.sleep(down_seconds)
        self.start_apiserver()

    def stop_etcd(self, grace: float = 3.0) -> None:
        self.stop_component("etcd", grace)

    def start_etcd(self) -> None:
        self.start_component("etcd")

    def wait_apiserver(self, timeout: float = 60) -> None:
        api = self._admin()
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                _readyz(api)
                return
            except Exception as e:
                last = e
                time.sleep(0.1)
        raise ClusterError(f"kube-apiserver not ready after {timeout} s: {last}")

    def _remember_commands(self) -> None:
        """How each component was started, so one that died can be started again."""
        self._read_pids()
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError):
                self._commands[name] = Command.of_pid(pid)

    def ensure_running(self, timeout: float = 60) -> None:
        """Start again whatever a test stopped and left stopped; wait for the API server.

        Also whatever died meanwhile: kube-controller-manager and kube-scheduler exit
        on purpose when they lose their leader lease, which an API server down for
        longer than the renew deadline (10 s) makes them do.
        """
        for name in ("etcd", "kube-apiserver", *self._stopped):
            if name in self._stopped:
                self.start_component(name)
        self.wait_apiserver(timeout)
        for name, command in self._commands.items():
            pid = self.pids.get(name)
            if name not in self._stopped and (pid is None or not pid_alive(pid)):
                child = command.spawn(kwokctl.log_file(self.root, name))
                self._children[name] = child
                self.pids[name] = child.pid
                kwokctl.pid_file(self.root, name).write_text(str(child.pid))

    def rss(self) -> dict[str, int]:
        """Resident memory (bytes) of each running component."""
        self._read_pids()
        out = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError):
                if pid_alive(pid):
                    out[name] = rss_bytes(pid)
        return out

    def serve_pod_logs(
        self,
        namespace: str,
        log_file: Path | str,
        pod: str | None = None,
        containers: Iterable[str] = (),
        name: str | None = None,
    ) -> None:
        """Make kwok serve ``log_file`` (CRI format) as pod logs: see crilog.serve_pod_logs."""
        serve_pod_logs(self._admin(), namespace, log_file, pod, containers, name)
