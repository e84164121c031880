"""The watcher as a real process (`python -m ponyconsole.cli watch`), for tests/test_pipeline_*."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from ponyconsole.domain import kube_names as kn

ROOT = Path(__file__).resolve().parent.parent


class WatcherProcess:
    def __init__(
        self,
        share: Path,
        kubeconfig: Path,
        namespace: str,
        settle: float = 1.0,
        extra: tuple[str, ...] = (),
    ):
        self.log = share.parent / f"watcher-{time.monotonic_ns()}.log"
        argv = [
            sys.executable,
            "-m",
            "ponyconsole.cli",
            "watch",
            "--share",
            str(share),
            "--kubeconfig",
            str(kubeconfig),
            "--namespace",
            namespace,
            "--settle",
            str(settle),
            "--poll",
            "0.2",
            *extra,
        ]
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self._err, env=dict(os.environ)
        )

    def text(self) -> str:
        return self.log.read_text()

    def wait_log(self, needle: str, timeout: float, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if text.count(needle) >= count:
                return text
            if self.proc.poll() is not None:
                raise AssertionError(f"the watcher exited ({self.proc.returncode}):\n{text}")
            time.sleep(0.1)
        raise AssertionError(
            f"no {needle!r} in the watcher's log after {timeout} s:\n{self.text()}"
        )

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()
        return self.text()


def pipeline_jobs(api: client.ApiClient, namespace: str) -> list[dict[str, Any]]:
    resp = client.BatchV1Api(api).list_namespaced_job(
        namespace, label_selector=kn.PART_OF_SELECTOR, _preload_content=False
    )
    return json.loads(resp.data)["items"]


def job_names(api: client.ApiClient, namespace: str) -> list[str]:
    return sorted(j["metadata"]["name"] for j in pipeline_jobs(api, namespace))


def share_tree(root: Path) -> None:
    for stage in ("watch", "claim", "work", "fail"):
        (root / stage).mkdir(parents=True, exist_ok=True)
