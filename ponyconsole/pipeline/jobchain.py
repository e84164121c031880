"""The one code that creates a rip's Jobs: transcode, then upload (with its wait-job init).

Used by ``ponyconsole watch`` and by the console's ``e`` in cluster mode, so
both name, label and annotate a rip's Jobs identically. Idempotent: a rip's
video id (``kube_names.stable_id`` of library, claimed name, size) is looked
up first; Jobs that exist are returned, never replaced; only a missing half of
a pair (a crash between the two creates) is created. A 409 from a create is
read back and judged the same way. Blocking: call from a thread.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client import ApiClient, ApiException

from ponyconsole.backends.kube.templates import DEFAULTS, render_template
from ponyconsole.domain import kube_names as kn
from ponyconsole.domain.naming import shown
from ponyconsole.pipeline.share import Share

REQUEST_TIMEOUT = (5, 30)
DEFAULT_PRESET = "H.264 MKV 1080p30"
MAIN_FEATURE = "main"  # the TITLE annotation/argument when no title was chosen


class NameTaken(Exception):
    """A Job of the chosen name belongs to another rip and a qualified name is taken too."""


def rip_name_problem(name: str) -> str | None:
    """Why a rip of this name cannot get Jobs, or None.

    A Job carries the rip's path (annotations, the pods' arguments) as JSON text, which
    holds only Unicode: bytes that are not UTF-8 would reach the pod as U+FFFD, a path
    that does not exist. Such a rip is refused (left where it is, to be renamed).
    """
    if name != shown(name):
        return f"{shown(name)!r} is not valid UTF-8; a Job cannot carry its path: rename it"
    if "\x00" in name:
        return f"{name!r} contains a NUL byte"
    return None


@dataclass(frozen=True, slots=True)
class Rip:
    """A claimed rip: ``claim/<library>/<name>`` of ``size`` bytes."""

    library: str
    name: str
    size: int
    title: int | None = None
    preset: str = DEFAULT_PRESET

    @property
    def video(self) -> str:
        """The stable id. The title is not part of it: one rip, one pipeline."""
        return kn.stable_id(self.library, self.name, self.size, None)


@dataclass(frozen=True, slots=True)
class Chain:
    """The rip's two Jobs and whether this call created any of them."""

    video: str
    transcode: str
    upload: str
    created: tuple[str, ...]  # names of the Jobs this call created ("" none: all existed)

    @property
    def existed(self) -> bool:
        return not self.created


@dataclass(frozen=True, slots=True)
class Target:
    """Where the Jobs go and what they run."""

    namespace: str
    share: Share
    image: str = DEFAULTS["IMAGE"]
    share_host_path: str = DEFAULTS["SHARE_PATH"]  # the hostPath the pods mount at /share


def values(rip: Rip, target: Target, transcode_name: str, upload_name: str) -> dict[str, str]:
    share = target.share
    source = share.folder("claim", rip.library) / rip.name
    output = share.output_for(rip.library, rip.name, rip.video)
    return {
        "NAMESPACE": target.namespace,
        "IMAGE": target.image,
        "SHARE_PATH": target.share_host_path,
        "VIDEO_ID": rip.video,
        "LIBRARY": rip.library,
        "SOURCE": share.pod_path(source),
        "PRESET": rip.preset,
        "TITLE": MAIN_FEATURE if rip.title is None else str(rip.title),
        "OUTPUT": share.pod_path(output),
        "TRANSCODE_JOB": transcode_name,
    }


def render_chain(rip: Rip, target: Target, qualified: bool = False) -> list[dict[str, Any]]:
    """[transcode, upload] Job bodies; ``qualified`` names carry the video id (name clash)."""
    base = f"{rip.name} {rip.video}" if qualified else rip.name
    names = {kind: kn.job_name(base, kind) for kind in (kn.TRANSCODE, kn.UPLOAD)}
    vals = values(rip, target, names[kn.TRANSCODE], names[kn.UPLOAD])
    bodies = [
        render_template(kind, {**vals, "JOB_NAME": names[kind]})
        for kind in (kn.TRANSCODE, kn.UPLOAD)
    ]
    label = library_label(rip.library)
    for body in bodies:  # the real name stays in the upload's --library argument
        for meta in (body["metadata"], body["spec"]["template"]["metadata"]):
            meta["labels"][kn.LIBRARY_LABEL] = label
    return bodies


_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def library_label(library: str) -> str:
    """The library as a label value: itself when Kubernetes takes it ("Kids Movies" does not)."""
    if len(library) <= 63 and _LABEL_VALUE.match(library):
        return library
    return kn.dns_label(library)


def _json(response: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(response.data)
    return data


def existing_jobs(api: ApiClient, namespace: str, video: str) -> dict[str, dict[str, Any]]:
    """job-type -> Job JSON of the rip's Jobs in ``namespace``."""
    batch = client.BatchV1Api(api)
    items = _json(
        batch.list_namespaced_job(
            namespace,
            label_selector=f"{kn.PART_OF_SELECTOR},{kn.VIDEO_LABEL}={video}",
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
    ).get("items", [])
    found: dict[str, dict[str, Any]] = {}
    for job in items:
        kind = (job["metadata"].get("labels") or {}).get(kn.JOB_TYPE_LABEL, "")
        found.setdefault(kind, job)
    return found


def _read(batch: client.BatchV1Api, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return _json(
            batch.read_namespaced_job(
                name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _video_of(job: dict[str, Any]) -> str | None:
    return (job["metadata"].get("labels") or {}).get(kn.VIDEO_LABEL)


def ensure_chain(api: ApiClient, rip: Rip, target: Target) -> Chain:
    """The rip's Jobs, created if missing. Raises ApiException (outage, RBAC) or NameTaken."""
    for problem in (rip_name_problem(rip.name), rip_name_problem(rip.library)):
        if problem:
            raise NameTaken(problem)  # never retried: the watcher moves the rip to fail/
    batch = client.BatchV1Api(api)
    namespace = target.namespace
    have = existing_jobs(api, namespace, rip.video)
    if kn.TRANSCODE in have and kn.UPLOAD in have:
        transcode, upload = (have[k]["metadata"]["name"] for k in (kn.TRANSCODE, kn.UPLOAD))
        return Chain(rip.video, transcode, upload, created=())
    bodies = render_chain(rip, target)
    if kn.TRANSCODE in have:
        # half a pair: keep the names the existing half chose
        qualified = have[kn.TRANSCODE]["metadata"]["name"] != bodies[0]["metadata"]["name"]
        bodies = render_chain(rip, target, qualified)
    elif kn.UPLOAD in have:
        qualified = have[kn.UPLOAD]["metadata"]["name"] != bodies[1]["metadata"]["name"]
        bodies = render_chain(rip, target, qualified)
    else:
        for body in bodies:
            other = _read(batch, namespace, body["metadata"]["name"])
            if other is not None and _video_of(other) != rip.video:
                # Film.mkv in two libraries, or a second Film.mkv of another size
                bodies = render_chain(rip, target, qualified=True)
                break
    try:
        return _create(batch, rip, bodies, have, namespace)
    except _Clash as clash:
        # another rip of the same Job name was created between our look and our create
        # (two watchers, or the watcher and the console's `e`): nothing of ours exists
        # yet, so the whole pair takes the qualified names instead
        if have or clash.created:
            raise NameTaken(str(clash)) from None
        qualified = render_chain(rip, target, qualified=True)
        if qualified[0]["metadata"]["name"] == bodies[0]["metadata"]["name"]:
            raise NameTaken(str(clash)) from None
        try:
            return _create(batch, rip, qualified, have, namespace)
        except _Clash as again:
            raise NameTaken(str(again)) from None


class _Clash(Exception):
    def __init__(self, message: str, created: list[str]) -> None:
        super().__init__(message)
        self.created = created


def _create(
    batch: client.BatchV1Api,
    rip: Rip,
    bodies: list[dict[str, Any]],
    have: dict[str, dict[str, Any]],
    namespace: str,
) -> Chain:
    created: list[str] = []
    names: list[str] = []
    for kind, body in zip((kn.TRANSCODE, kn.UPLOAD), bodies, strict=True):
        name = body["metadata"]["name"]
        names.append(have[kind]["metadata"]["name"] if kind in have else name)
        if kind in have:
            continue
        try:
            batch.create_namespaced_job(
                namespace,
                body,  # type: ignore[arg-type]  # the client sends a dict as it is
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
            created.append(name)
        except ApiException as exc:
            if exc.status != 409:
                raise
            other = _read(batch, namespace, name)
            if other is None or _video_of(other) != rip.video:
                raise _Clash(f"job {name} exists and belongs to another rip", created) from exc
    return Chain(rip.video, names[0], names[1], created=tuple(created))


def rip_of(path: Path, library: str, title: int | None, preset: str) -> Rip:
    """The Rip of a claimed file or disc folder (its size as the inbox counts it)."""
    from ponyconsole.backends.local.inbox import rip_stat

    size, _mtime = rip_stat(path)
    return Rip(library, path.name, size, title, preset or DEFAULT_PRESET)
