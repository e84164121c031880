"""`ponyconsole wait-job`: the upload Job's init container; waits for the transcode Job.

The seeds' jobchain waited forever after a failed transcode. This one exits 0 when
the Job is Complete and non-zero, with the Job's own reason, as soon as it has
Failed (or FailureTarget, which comes first on Kubernetes >= 1.31). A Job that is
missing for a grace period, or a wait longer than the timeout, is a failure too.
It lists the one Job (field selector ``metadata.name``) and watches from that
list's resourceVersion; an expired or broken watch lists again, an unreachable
API server is retried with a back-off until the deadline.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

DEFAULT_TIMEOUT_S = 24 * 3600.0
DEFAULT_GRACE_S = 60.0
WATCH_SECONDS = 60  # the API server ends each watch after this; we list again
RETRY_SECONDS = (0.5, 5.0)


class Outcome(Exception):
    """How the wait ended: ``code`` is the exit status, ``str()`` the line to print."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the Job to wait for (the rip's transcode Job)")
    parser.add_argument("--namespace", "-n", help="its namespace (default: the pod's/context's)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"give up after this many seconds (default {DEFAULT_TIMEOUT_S:g}, 24 h)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_S,
        metavar="S",
        help=f"fail when the Job does not exist for this long (default {DEFAULT_GRACE_S:g})",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: as kubectl finds it)")
    parser.add_argument("--context", help="kubeconfig context")


def run(args: argparse.Namespace) -> int:
    from ponyconsole.backends.kube.config import load_cluster_config
    from ponyconsole.backends.protocol import BackendError

    try:
        cluster = load_cluster_config(args.kubeconfig, args.context, args.namespace)
    except BackendError as exc:
        print(f"wait-job: {exc}", file=sys.stderr)
        return 2
    api = cluster.api_client()
    try:
        JobWaiter(api, args.name, cluster.namespace, args.timeout, args.grace).wait()
    except Outcome as outcome:
        stream = sys.stdout if outcome.code == 0 else sys.stderr
        print(outcome, file=stream, flush=True)
        return outcome.code
    finally:
        api.close()
    return 0  # not reached: wait() always ends with an Outcome


def job_outcome(job: dict[str, Any], name: str) -> Outcome | None:
    """Complete -> 0, Failed/FailureTarget -> 1 with the Job's reason; None while running."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") != "True":
            continue
        kind = cond.get("type")
        if kind == "Complete":
            return Outcome(0, f"Job {name} completed")
        if kind in ("Failed", "FailureTarget"):
            why = ": ".join(str(p) for p in (cond.get("reason"), cond.get("message")) if p)
            return Outcome(1, f"Job {name} failed: {why or 'no reason given'}")
    return None


class JobWaiter:
    def __init__(self, api: Any, name: str, namespace: str, timeout: float, grace: float) -> None:
        from kubernetes import client

        self.batch = client.BatchV1Api(api)
        self.name = name
        self.namespace = namespace
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.grace = grace
        self.missing_since: float | None = None
        self.retry = RETRY_SECONDS[0]

    def wait(self) -> None:
        from kubernetes.client.exceptions import ApiException

        while True:
            self._check_deadline()
            try:
                version = self._list()
                self._watch(version)
                self.retry = RETRY_SECONDS[0]
            except ApiException as exc:
                if exc.status in (401, 403):
                    reason = "not allowed" if exc.status == 403 else "not authenticated"
                    raise Outcome(
                        3, f"cannot read Job {self.name} in {self.namespace}: {reason}"
                    ) from None
                self._pause()  # 410 Gone, 5xx: list again
            except Outcome:
                raise
            except Exception:
                self._pause()

    def _pause(self) -> None:
        time.sleep(max(0.0, min(self.retry, self.deadline - time.monotonic())))
        self.retry = min(self.retry * 2, RETRY_SECONDS[1])

    def _check_deadline(self) -> None:
        now = time.monotonic()
        if now >= self.deadline:
            raise Outcome(4, f"Job {self.name} did not finish within {self.timeout:g} s")
        if self.missing_since is not None and now - self.missing_since >= self.grace:
            raise Outcome(
                1, f"Job {self.name} not found in namespace {self.namespace} for {self.grace:g} s"
            )

    def _seen(self, job: dict[str, Any] | None) -> None:
        if job is None:
            if self.missing_since is None:
                self.missing_since = time.monotonic()
            self._check_deadline()
            return
        self.missing_since = None
        outcome = job_outcome(job, self.name)
        if outcome is not None:
            raise outcome

    def _list(self) -> str:
        data = self.batch.api_client.sanitize_for_serialization(
            self.batch.list_namespaced_job(
                self.namespace, field_selector=f"metadata.name={self.name}", _request_timeout=30
            )
        )
        items = data.get("items") or []
        self._seen(items[0] if items else None)
        return str((data.get("metadata") or {}).get("resourceVersion") or "")

    def _watch(self, version: str) -> None:
        from kubernetes import watch

        left = self.deadline - time.monotonic()
        if self.missing_since is not None:
            left = min(left, self.missing_since + self.grace - time.monotonic())
        seconds = max(1, min(WATCH_SECONDS, int(left) + 1))
        stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
            self.batch.list_namespaced_job,
            self.namespace,
            field_selector=f"metadata.name={self.name}",
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=seconds,
            _request_timeout=seconds + 10,
        )
        for event in stream:
            kind = event.get("type")
            obj = event.get("raw_object") or {}
            if kind == "ERROR":
                return  # e.g. 410 Gone: list again
            if kind == "DELETED":
                self._seen(None)
            elif kind in ("ADDED", "MODIFIED"):
                self._seen(obj)
            self._check_deadline()
