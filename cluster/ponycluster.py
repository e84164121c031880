"""Driver of the pony test cluster: a real Kubernetes control plane with six fake pony nodes.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler of Kubernetes v1.35.4 plus the
kwok controller (playing the kubelets), all built from Go modules by ``cluster/build``, started
by ``kwokctl --runtime binary`` under a private work folder (KWOK_WORKDIR) with a kubeconfig of
its own. TLS with a CA, ``--authorization-mode=Node,RBAC``, admission and ServiceAccount token
signing are on, as in a real cluster. Every process binds 127.0.0.1 on a free port.

Used by the pytest fixtures (tests/fixtures/cluster.py) and by ``cluster/up``
(``python -m cluster.ponycluster up``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

KUBE_VERSION = "v1.35.4"
KWOK_VERSION = "v0.7.0"
CACHE_KEY = f"{KUBE_VERSION}-kwok{KWOK_VERSION.removeprefix('v')}"
HERE = Path(__file__).resolve().parent
STAGES_FILE = HERE / "stages.yaml"
CLUSTER_NAME = "ponies"

#: (name, InternalIP, MAC) of the ponies; the first is the master.
PONIES: list[tuple[str, str, str]] = [
    ("twilight-sparkle", "127.0.0.11", "02:00:00:00:00:11"),
    ("rainbow-dash", "127.0.0.12", "02:00:00:00:00:12"),
    ("pinkie-pie", "127.0.0.13", "02:00:00:00:00:13"),
    ("fluttershy", "127.0.0.14", "02:00:00:00:00:14"),
    ("applejack", "127.0.0.15", "02:00:00:00:00:15"),
    ("rarity", "127.0.0.16", "02:00:00:00:00:16"),
]
MASTER = PONIES[0][0]

#: Component name -> binary name (kwokctl keeps one pid file per binary name).
COMPONENTS = {
    "etcd": "etcd",
    "kube-apiserver": "kube-apiserver",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kwok-controller": "kwok-controller",
}
REQUIRED_BINARIES = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kwokctl",
]

# Pod annotations understood by the stages in cluster/stages.yaml.
OUTCOME_ANNOTATION = "ponyconsole.test/outcome"  # "fail" -> the pod ends Failed
START_DELAY_ANNOTATION = "ponyconsole.test/start-delay"  # e.g. "2s": Pending -> Running
RUN_DURATION_ANNOTATION = "ponyconsole.test/run-duration"  # e.g. "30s": Running -> end
MAC_ANNOTATION = "ponyconsole/mac"

KWOK_GROUP = "kwok.x-k8s.io"
KWOK_API_VERSION = "v1alpha1"


class ClusterError(RuntimeError):
    """The test cluster could not be started or driven."""


def cache_dir() -> Path:
    base = os.environ.get("PONYCONSOLE_CLUSTER_CACHE") or str(
        Path.home() / ".cache" / "ponyconsole" / "cluster"
    )
    return Path(base) / CACHE_KEY


def bin_dir() -> Path:
    return cache_dir() / "bin"


def check_binaries(directory: Path | None = None) -> Path:
    """Return the folder of the cluster binaries, or fail loudly if any is missing."""
    directory = directory or bin_dir()
    missing = [b for b in REQUIRED_BINARIES if not os.access(directory / b, os.X_OK)]
    if missing:
        raise ClusterError(
            f"test cluster binaries missing in {directory}: {', '.join(missing)}. "
            "Build them with `cluster/build` (or `make cluster-bin`; `make test` does it), "
            "which needs Go and the Go module proxy (about 10 min cold on 2 cores)."
        )
    return directory


# --------------------------------------------------------------------------- CRI log files


def cri_timestamp(when: dt.datetime | None = None) -> str:
    when = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond * 1000:09d}Z"


def cri_log_records(
    lines: Iterable[str], stream: str = "stdout", when: dt.datetime | None = None
) -> str:
    """Plain lines -> CRI log records ``<RFC3339Nano> <stream> F <text>``, one a line."""
    if stream not in ("stdout", "stderr"):
        raise ValueError(f"stream must be stdout or stderr, not {stream!r}")
    out = []
    for line in lines:
        for part in str(line).splitlines() or [""]:
            out.append(f"{cri_timestamp(when)} {stream} F {part}\n")
    return "".join(out)


def write_cri_log(
    path: Path | str,
    lines: Iterable[str] = (),
    stream: str = "stdout",
    when: dt.datetime | None = None,
) -> Path:
    """Write a container log file in the CRI format (what kwok serves as pod logs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cri_log_records(lines, stream, when))
    return path


def append_cri_log(
    path: Path | str,
    lines: Iterable[str],
    stream: str = "stdout",
    when: dt.datetime | None = None,
) -> Path:
    """Append lines to a CRI log file (a follow stream sees them)."""
    path = Path(path)
    with path.open("a") as f:
        f.write(cri_log_records(lines, stream, when))
        f.flush()
    return path


# --------------------------------------------------------------------------- processes


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def _kill_pid(pid: int, timeout: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``, one process by its pid."""
    if not _pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _readyz(api) -> None:
    """GET /readyz of the API server; raise unless it answers 200."""
    resp = api.call_api("GET", api.configuration.host + "/readyz", _request_timeout=5)
    data = resp.read() if hasattr(resp, "read") else b""
    if resp.status != 200:
        raise ClusterError(f"/readyz answered {resp.status}: {data[:200]!r}")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class _Stopped:
    argv: list[str]
    cwd: str
    env: dict[str, str]


@dataclass
class PonyCluster:
    """A running pony cluster. Make one with :meth:`start`; end it with :meth:`stop`."""

    root: Path
    kubeconfig: Path
    bin: Path
    pod_delay: float = 0.5
    nodes: list[str] = field(default_factory=lambda: [p[0] for p in PONIES])
    pids: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _stopped: dict[str, _Stopped] = field(default_factory=dict)
    _children: dict[str, subprocess.Popen] = field(default_factory=dict)
    _owns_root: bool = False
    _client: object | None = None
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
    ) -> PonyCluster:
        """Start the cluster under ``root`` (a new temp folder if None) and wait until Ready.

        Ready means: the API server answers /readyz, the six ponies are Ready, and the
        controller-manager has made the ``default`` ServiceAccount.
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
            _owns_root=owns,
        )
        try:
            cluster._create()
            cluster.timings["kwokctl_create"] = time.monotonic() - t0
            cluster._add_ponies()
            cluster.wait_ready(timeout=ready_timeout)
        except BaseException:
            cluster.stop()
            raise
        cluster.timings["ready"] = time.monotonic() - t0
        return cluster

    @property
    def workdir(self) -> Path:
        """kwokctl's folder of this cluster (pki, logs, pids, kubeconfig.yaml, kwok.yaml)."""
        return self.root / "kwok" / "clusters" / CLUSTER_NAME

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["KWOK_WORKDIR"] = str(self.root / "kwok")
        # Never let kwokctl fetch anything: all binaries are given as paths.
        env.pop("KUBECONFIG", None)
        return env

    def _kwokctl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin / "kwokctl"), "--name", CLUSTER_NAME, *args],
            env=self._env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _config_file(self) -> Path:
        stages = STAGES_FILE.read_text().replace(
            "__POD_DELAY_MS__", str(max(0, int(self.pod_delay * 1000)))
        )
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
            "---\n"
        )
        path = self.root / "kwokctl.yaml"
        path.write_text(conf + stages)
        return path

    def _create(self) -> None:
        b = self.bin
        args = [
            "--config",
            str(self._config_file()),
            "create",
            "cluster",
            "--runtime",
            "binary",
            "--kubeconfig",
            str(self.kubeconfig),
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
        res = self._kwokctl(*args, timeout=120)
        self._read_pids()
        if res.returncode != 0:
            raise ClusterError(
                f"kwokctl create cluster failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
                f"\n{self._log_tails()}"
            )
        self.create_output = res.stdout + res.stderr

    def _pid_file(self, component: str) -> Path:
        return self.workdir / "pids" / f"{COMPONENTS[component]}.pid"

    def _read_pids(self) -> None:
        for name in COMPONENTS:
            with contextlib.suppress(OSError, ValueError):
                self.pids[name] = int(self._pid_file(name).read_text().strip())

    def _log_tails(self, lines: int = 15) -> str:
        out = []
        for log in sorted((self.workdir / "logs").glob("*.log")):
            with contextlib.suppress(OSError):
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self) -> None:
        """Stop every process of the cluster by its pid and remove its files."""
        self._read_pids()
        # Clients of the API server first, then the API server, then its storage.
        order = [
            "kwok-controller",
            "kube-scheduler",
            "kube-controller-manager",
            "kube-apiserver",
            "etcd",
        ]
        for name in order:
            pid = self.pids.get(name)
            if pid:
                _kill_pid(pid)
        for child in self._children.values():
            with contextlib.suppress(Exception):
                child.wait(timeout=5)
        if self.workdir.exists():
            # Cleans kwokctl's own records; the processes are already gone.
            with contextlib.suppress(Exception):
                self._kwokctl("delete", "cluster", "--kubeconfig", str(self.kubeconfig), timeout=60)
        alive = {n: p for n, p in self.pids.items() if _pid_alive(p)}
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()  # type: ignore[attr-defined]
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

    def api_client(self):
        """A new kubernetes.client.ApiClient authenticated as cluster admin."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def configuration(self):
        """A kubernetes.client.Configuration of the admin (copy it to change it)."""
        from kubernetes import client, config

        conf = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=conf)
        return conf

    def impersonating_client(self, user: str, groups: Iterable[str] = ()):
        """An ApiClient of the admin that impersonates ``user`` (and ``groups``)."""
        from kubernetes import client

        api = client.ApiClient(self.configuration())
        api.set_default_header("Impersonate-User", user)
        groups = list(groups)
        if groups:
            # The generated client sends one value per header name; RBAC needs only one here.
            api.set_default_header("Impersonate-Group", groups[0])
        return api

    def token_client(self, token: str):
        """An ApiClient that authenticates with a bearer ``token`` (e.g. from TokenRequest)."""
        from kubernetes import client

        conf = self.configuration()
        conf.cert_file = None
        conf.key_file = None
        conf.api_key = {"authorization": token}
        conf.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(conf)

    def _admin(self):
        if self._client is None:
            self._client = self.api_client()
        return self._client

    @property
    def server(self) -> str:
        return self.configuration().host

    # ----------------------------------------------------------------- ponies

    def _add_ponies(self) -> None:
        from kubernetes import client

        core = client.CoreV1Api(self._admin())
        deadline = time.monotonic() + 60
        for name, ip, mac in PONIES:
            labels = {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                "ponyconsole/pony": "true",
            }
            if name == MASTER:
                labels["node-role.kubernetes.io/control-plane"] = ""
            resources = {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "1Ti"}
            body = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": labels,
                    "annotations": {
                        "kwok.x-k8s.io/node": "fake",
                        "node.alpha.kubernetes.io/ttl": "0",
                        MAC_ANNOTATION: mac,
                    },
                },
                "spec": {},
                "status": {
                    "capacity": resources,
                    "allocatable": resources,
                    "addresses": [
                        {"type": "InternalIP", "address": ip},
                        {"type": "Hostname", "address": name},
                        {"type": "InternalDNS", "address": "localhost"},
                    ],
                    "nodeInfo": {
                        "architecture": "amd64",
                        "operatingSystem": "linux",
                        "osImage": "Pony OS (kwok)",
                        "kubeletVersion": KUBE_VERSION,
                        "kubeProxyVersion": "",
                        "containerRuntimeVersion": f"kwok://{KWOK_VERSION}",
                        "kernelVersion": "",
                        "bootID": "",
                        "machineID": "",
                        "systemUUID": "",
                    },
                },
            }
            while True:
                try:
                    core.create_node(body)
                    break
                except client.ApiException as e:
                    if e.status == 409:
                        break
                    # Right after start the RBAC bootstrap may still be settling.
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def wait_ready(self, timeout: float = 90.0) -> None:
        from kubernetes import client

        api = self._admin()
        core = client.CoreV1Api(api)
        deadline = time.monotonic() + timeout
        last = "nothing checked yet"
        while time.monotonic() < deadline:
            try:
                _readyz(api)
                ready = set()
                for n in core.list_node().items:
                    for c in n.status.conditions or []:
                        if c.type == "Ready" and c.status == "True":
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
        if pid is None or not _pid_alive(pid):
            raise ClusterError(f"{name} is not running")
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        cwd = os.readlink(f"/proc/{pid}/cwd")
        env_raw = Path(f"/proc/{pid}/environ").read_bytes().rstrip(b"\0").split(b"\0")
        env = dict(e.decode().split("=", 1) for e in env_raw if b"=" in e)
        self._stopped[name] = _Stopped([a.decode() for a in argv], cwd, env)
        if grace <= 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _kill_pid(pid, timeout=grace)
        child = self._children.pop(name, None)
        if child is not None:
            with contextlib.suppress(Exception):
                child.wait(timeout=5)

    def start_component(self, name: str) -> None:
        """Start again a component stopped by :meth:`stop_component`, with the same command."""
        stopped = self._stopped.pop(name, None)
        if stopped is None:
            raise ClusterError(f"{name} was not stopped by stop_component")
        log = (self.workdir / "logs" / f"{COMPONENTS[name]}.log").open("ab")
        child = subprocess.Popen(
            stopped.argv,
            cwd=stopped.cwd,
            env=stopped.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self._children[name] = child
        self.pids[name] = child.pid
        self._pid_file(name).write_text(str(child.pid))

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

    def ensure_running(self, timeout: float = 60) -> None:
        """Start again whatever a test stopped and left stopped; wait for the API server."""
        for name in ("etcd", "kube-apiserver", *self._stopped):
            if name in self._stopped:
                self.start_component(name)
        self.wait_apiserver(timeout)

    def rss(self) -> dict[str, int]:
        """Resident memory (bytes) of each running component."""
        self._read_pids()
        out = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError):
                if _pid_alive(pid):
                    out[name] = rss_bytes(pid)
        return out

    # ----------------------------------------------------------------- pod logs

    def serve_pod_logs(
        self,
        namespace: str,
        log_file: Path | str,
        pod: str | None = None,
        containers: Iterable[str] = (),
        name: str | None = None,
    ) -> None:
        """Make kwok serve ``log_file`` (CRI format) as the logs of a pod's containers.

        With ``pod``: a namespaced ``Logs`` object for that pod. Without: a ``ClusterLogs``
        object for every pod of ``namespace`` (e.g. Job pods whose names are not known yet).
        ``containers`` empty means all containers.
        """
        from kubernetes import client

        custom = client.CustomObjectsApi(self._admin())
        log = {"logsFile": str(Path(log_file).resolve()), "follow": True}
        if containers:
            log["containers"] = list(containers)
        if pod is not None:
            body = {
                "apiVersion": f"{KWOK_GROUP}/{KWOK_API_VERSION}",
                "kind": "Logs",
                "metadata": {"name": pod, "namespace": namespace},
                "spec": {"logs": [log]},
            }
            custom.create_namespaced_custom_object(
                KWOK_GROUP, KWOK_API_VERSION, namespace, "logs", body
            )
        else:
            body = {
                "apiVersion": f"{KWOK_GROUP}/{KWOK_API_VERSION}",
                "kind": "ClusterLogs",
                "metadata": {"name": name or f"logs-{namespace}"},
                "spec": {"selector": {"matchNamespaces": [namespace]}, "logs": [log]},
            }
            custom.create_cluster_custom_object(KWOK_GROUP, KWOK_API_VERSION, "clusterlogs", body)


# --------------------------------------------------------------------------- cluster/up


def _fmt_mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="cluster/up", description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["up"], nargs="?", default="up")
    p.add_argument("--dir", help="folder for the cluster's files (default: a new temp folder)")
    p.add_argument("--pod-delay", type=float, default=0.5, help="seconds per pod stage")
    args = p.parse_args(argv)

    try:
        cluster = PonyCluster.start(args.dir, pod_delay=args.pod_delay)
    except ClusterError as e:
        print(f"cluster/up: {e}", file=sys.stderr)
        return 1
    stop = False

    def _sig(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _sig)
    signal.signal(signal.SIGTERM, _sig)
    try:
        print(f"pony cluster Ready in {cluster.timings['ready']:.1f} s ({cluster.server})")
        print("nodes: " + ", ".join(cluster.nodes))
        print(
            "memory (RSS): "
            + ", ".join(f"{k} {_fmt_mb(v)}" for k, v in sorted(cluster.rss().items()))
        )
        kubectl = cluster.bin / "kubectl"
        if kubectl.exists():
            print(f"kubectl {KUBE_VERSION}: {kubectl}")
        print("Press Ctrl-C to stop it. Then, in another shell:\n")
        print(f"export KUBECONFIG={cluster.kubeconfig}", flush=True)
        while not stop:
            time.sleep(0.2)
    finally:
        print("\nstopping the pony cluster...", file=sys.stderr)
        cluster.stop()
        print("stopped.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
