"""The test executor: runs the pods of one namespace for real, on this machine.

kwok plays the kubelets of the ponies but runs nothing. For the end-to-end tests this small
executor is the container runtime of the pods whose (first) image is :data:`EXECUTOR_IMAGE`:

- it watches the namespace's pods; once kwok has made one Running, it runs the pod's init
  containers, then its container, one after the other, as processes of this machine: the
  ``command`` + ``args`` (found on PATH, e.g. the venv's ``ponyconsole``), with the env the
  kubelet would give (``value``, ``envFrom``/``valueFrom`` of Secrets and ConfigMaps read
  through the API, so a token never has to be in the spec), and every ``hostPath`` volume's
  ``mountPath`` at the start of an argument replaced by the hostPath (the Job templates mount
  the share at ``/share``; the test makes the hostPath its share folder);
- a pod that mounts a ServiceAccount token (``automountServiceAccountToken`` not false) gets
  ``KUBECONFIG``: a kubeconfig of the test cluster with a token of the pod's ServiceAccount
  (TokenRequest) and the pod's namespace, so ``wait-job`` runs with the pod's own rights;
- the processes' stdout and stderr go, line by line, into a CRI log file that kwok serves as
  the pod's logs (a ``Logs`` object per pod, cluster/crilog.py), so ``kubectl logs -f`` and
  the console follow them live;
- the exit code is reported through kwok: the annotations ``ponyconsole.test/exit-code`` and
  ``ponyconsole.test/message`` (the kubelet's FallbackToLogsOnError: the output's last 80
  lines, at most 2048 bytes) make the ``pony-pod-exited`` Stage of cluster/stages.yaml end the
  pod Succeeded or Failed. A pod deleted meanwhile has its processes killed (TERM, then KILL).

Blocking; one thread watches, one thread per pod runs it. :meth:`Executor.stop` kills every
process it started.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cluster.crilog import append_cri_log, serve_pod_logs
from cluster.kwokctl import EXECUTOR_IMAGE, EXIT_CODE_ANNOTATION, MESSAGE_ANNOTATION

Obj = dict[str, Any]
MESSAGE_LINES, MESSAGE_BYTES = 80, 2048  # the kubelet's FallbackToLogsOnError tail
KILL_GRACE_S = 3.0


@dataclass
class Ran:
    """One container run by the executor: what, and how it ended."""

    pod: str
    container: str
    init: bool
    argv: list[str]
    started: float  # time.monotonic()
    ended: float | None = None
    code: int | None = None


@dataclass
class Executor:
    kubeconfig: Path  # an admin kubeconfig of the test cluster
    namespace: str
    work: Path  # log files, per-pod kubeconfigs and working folders go here
    path: str = ""  # prepended to PATH (the folder holding `ponyconsole`)
    runs: list[Ran] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # pod -> running
    _started: set[str] = field(default_factory=set)  # pod uids
    _deleted: set[str] = field(default_factory=set)  # pod names deleted while running
    _threads: list[threading.Thread] = field(default_factory=list)
    _api: Any = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Executor:
        from kubernetes import config

        self.work.mkdir(parents=True, exist_ok=True)
        self._api = config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]
        watcher = threading.Thread(target=self._watch_forever, name="executor-watch", daemon=True)
        self._threads.append(watcher)
        watcher.start()
        return self

    def stop(self) -> None:
        """Stop watching and kill every process still running (by its process group)."""
        self._stop.set()
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            _kill(proc)
        for thread in self._threads:
            thread.join(10)
        if self._api is not None:
            with contextlib.suppress(Exception):
                self._api.close()

    def __enter__(self) -> Executor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def ran(self, pod_prefix: str = "", container: str | None = None) -> list[Ran]:
        with self._lock:
            return [
                r
                for r in self.runs
                if r.pod.startswith(pod_prefix) and (container is None or r.container == container)
            ]

    # -- watching ----------------------------------------------------------------

    def _watch_forever(self) -> None:
        from kubernetes import client, watch

        core = client.CoreV1Api(self._api)
        while not self._stop.is_set():
            try:
                stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                    core.list_namespaced_pod, self.namespace, timeout_seconds=5
                )
                for event in stream:
                    self._seen(event["type"], event["raw_object"])
                    if self._stop.is_set():
                        return
            except Exception as exc:  # the API server restarting: look again
                self.errors.append(f"watch: {exc}"[:300])
                self._stop.wait(0.5)

    def _seen(self, kind: str, pod: Obj) -> None:
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        name = meta["name"]
        if kind == "DELETED" or meta.get("deletionTimestamp"):
            with self._lock:
                proc = self._procs.get(name)
                if proc is not None:
                    self._deleted.add(name)
            if proc is not None:
                _kill(proc)
            return
        containers = spec.get("containers") or []
        ours = containers and containers[0].get("image") == EXECUTOR_IMAGE
        annotations = meta.get("annotations") or {}
        if not ours or status.get("phase") != "Running" or EXIT_CODE_ANNOTATION in annotations:
            return
        with self._lock:
            if meta["uid"] in self._started:
                return
            self._started.add(meta["uid"])
        thread = threading.Thread(target=self._run_pod, args=(pod,), name=f"pod-{name}")
        thread.daemon = True
        self._threads.append(thread)
        thread.start()

    # -- one pod ---------------------------------------------------------------------

    def _run_pod(self, pod: Obj) -> None:
        name = pod["metadata"]["name"]
        try:
            code, message = self._run_containers(pod)
        except Exception as exc:  # a spec the executor cannot run: the pod fails, says why
            code, message = 128, f"test executor: {type(exc).__name__}: {exc}"
            self.errors.append(f"{name}: {message}"[:300])
        with self._lock:
            deleted = name in self._deleted
        if deleted or self._stop.is_set():
            return
        self._report(name, code, message)

    def _run_containers(self, pod: Obj) -> tuple[int, str]:
        name = pod["metadata"]["name"]
        spec = pod["spec"]
        folder = Path(tempfile.mkdtemp(prefix=f"{name[:40]}-", dir=self.work))
        log = folder / "containers.log"
        log.touch()
        serve_pod_logs(self._api, self.namespace, log, pod=name)
        mounts = self._host_paths(spec)
        env_base = self._base_env(pod, folder)
        steps = [(c, True) for c in spec.get("initContainers") or []]
        steps += [(c, False) for c in spec.get("containers") or []]
        for container, init in steps:
            if self._stop.is_set():
                return 137, "stopped"
            env = {**env_base, **self._env(container, pod)}
            argv = [_mapped(a, mounts) for a in container.get("command") or []]
            argv += [_mapped(a, mounts) for a in container.get("args") or []]
            code, tail = self._run(name, container["name"], init, argv, env, folder, log)
            if code != 0:
                words = _termination_message(tail)
                if init:
                    words = f"init container {container['name']}: {words}"
                return code, words
        return 0, ""

    def _run(
        self,
        pod: str,
        container: str,
        init: bool,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        log: Path,
    ) -> tuple[int, list[str]]:
        ran = Ran(pod, container, init, argv, time.monotonic())
        with self._lock:
            self.runs.append(ran)
        append_cri_log(log, [f"[executor] {container}: {shlex.join(argv)}"], "stderr")
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own group: a deleted pod kills it and its children
            )
        except OSError as exc:
            ran.ended, ran.code = time.monotonic(), 127
            return 127, [f"cannot start {argv[0] if argv else '(no command)'}: {exc}"]
        with self._lock:
            self._procs[pod] = proc
        tail: list[str] = []
        write = threading.Lock()

        def pump(stream: Any, kind: str) -> None:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with write:
                    append_cri_log(log, [line], kind)
                    tail.append(line)
                    del tail[:-MESSAGE_LINES]

        pumps = [
            threading.Thread(target=pump, args=(proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr, "stderr"), daemon=True),
        ]
        for p in pumps:
            p.start()
        code = proc.wait()
        for p in pumps:
            p.join(5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        with self._lock:
            self._procs.pop(pod, None)
        ran.ended, ran.code = time.monotonic(), code
        return (code if code >= 0 else 128 - code), tail  # killed by a signal: 128 + n

    def _report(self, pod: str, code: int, message: str) -> None:
        from kubernetes import client

        notes = {EXIT_CODE_ANNOTATION: str(code), MESSAGE_ANNOTATION: message}
        try:
            client.CoreV1Api(self._api).patch_namespaced_pod(
                pod, self.namespace, {"metadata": {"annotations": notes}}
            )
        except client.ApiException as exc:
            if exc.status != 404:  # deleted meanwhile: nothing to report to
                self.errors.append(f"{pod}: report failed: {exc.status} {exc.reason}")

    # -- what the kubelet would give a container ---------------------------------------

    @staticmethod
    def _host_paths(spec: Obj) -> dict[str, str]:
        """mountPath -> hostPath of every hostPath volume the containers mount."""
        volumes = {
            v["name"]: v["hostPath"]["path"] for v in spec.get("volumes") or [] if v.get("hostPath")
        }
        out: dict[str, str] = {}
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            for m in c.get("volumeMounts") or []:
                if m.get("name") in volumes:
                    out[m["mountPath"].rstrip("/") or "/"] = volumes[m["name"]]
        return out

    def _base_env(self, pod: Obj, folder: Path) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "PATH", "VIRTUAL_ENV")
        }
        env["PATH"] = os.pathsep.join(p for p in (self.path, env.get("PATH", "")) if p)
        env["HOSTNAME"] = pod["metadata"]["name"]
        if pod["spec"].get("automountServiceAccountToken") is not False:
            env["KUBECONFIG"] = str(self._pod_kubeconfig(pod, folder))
        return env

    def _pod_kubeconfig(self, pod: Obj, folder: Path) -> Path:
        """The test cluster as the pod's ServiceAccount, in the pod's namespace."""
        from kubernetes import client

        account = pod["spec"].get("serviceAccountName") or "default"
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
        )
        answer = client.CoreV1Api(self._api).create_namespaced_service_account_token(
            account, self.namespace, request
        )
        if answer.status is None:
            raise LookupError(f"no token for ServiceAccount {account}")
        token = answer.status.token
        admin = yaml.safe_load(self.kubeconfig.read_text())
        current = admin["current-context"]
        context = next(c for c in admin["contexts"] if c["name"] == current)["context"]
        cluster = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [cluster],
            "users": [{"name": account, "user": {"token": token}}],
            "contexts": [
                {
                    "name": "pod",
                    "context": {
                        "cluster": cluster["name"],
                        "user": account,
                        "namespace": self.namespace,
                    },
                }
            ],
            "current-context": "pod",
        }
        path = folder / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    def _env(self, container: Obj, pod: Obj) -> dict[str, str]:
        """envFrom, then env (later wins, as in Kubernetes); Secrets and ConfigMaps read now."""
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            for kind in ("secretRef", "configMapRef"):
                ref = source.get(kind)
                if ref:
                    data = self._read_data(kind, ref["name"], bool(ref.get("optional")))
                    env.update({prefix + k: v for k, v in data.items()})
        for var in container.get("env") or []:
            if "value" in var:
                env[var["name"]] = str(var["value"])
                continue
            source = var.get("valueFrom") or {}
            refs = (("secretKeyRef", "secretRef"), ("configMapKeyRef", "configMapRef"))
            for kind, ref_kind in refs:
                ref = source.get(kind)
                if ref:
                    data = self._read_data(ref_kind, ref["name"], bool(ref.get("optional")))
                    if ref["key"] in data:
                        env[var["name"]] = data[ref["key"]]
                    elif not ref.get("optional"):
                        raise LookupError(f"{ref['name']} has no key {ref['key']}")
            field_ref = source.get("fieldRef")
            if field_ref:
                env[var["name"]] = _field(pod, field_ref["fieldPath"])
        return env

    def _read_data(self, kind: str, name: str, optional: bool) -> dict[str, str]:
        from kubernetes import client

        core = client.CoreV1Api(self._api)
        try:
            if kind == "secretRef":
                secret = core.read_namespaced_secret(name, self.namespace)
                return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
            config_map = core.read_namespaced_config_map(name, self.namespace)
            return {k: str(v) for k, v in (config_map.data or {}).items()}
        except client.ApiException as exc:
            if exc.status == 404 and optional:
                return {}
            raise


def _mapped(arg: str, mounts: Mapping[str, str]) -> str:
    for mount, host in mounts.items():
        if arg == mount:
            return host
        if arg.startswith(mount + "/"):
            return host.rstrip("/") + arg[len(mount) :]
    return arg


def _field(pod: Obj, path: str) -> str:
    meta = pod["metadata"]
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": pod["spec"].get("nodeName"),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName"),
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((meta.get(source) or {}).get(path[len(prefix) + 2 : -2], ""))
    raise LookupError(f"fieldRef {path} is not supported by the test executor")


def _termination_message(lines: Iterable[str]) -> str:
    """The kubelet's FallbackToLogsOnError: the last 80 lines, at most the last 2048 bytes."""
    text = "\n".join(line for line in lines).strip()
    data = text.encode("utf-8")[-MESSAGE_BYTES:]
    return data.decode("utf-8", "ignore")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """TERM the process group, KILL it after a grace period."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
