"""The shared cache of Nodes, Jobs and Pods, and the domain objects made from it.

Lives on the event loop; the informers' changes are applied here in order.
Indexes by node and by video label keep the cost of one change to the
objects it touches (one item, one or two nodes), never nodes x jobs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ponyconsole.backends.kube import convert
from ponyconsole.backends.protocol import (
    BackendEvent,
    JobChanged,
    JobRemoved,
    NodeChanged,
    NodeRemoved,
)
from ponyconsole.domain.kube_names import JOB_TYPE_LABEL, TRANSCODE
from ponyconsole.domain.models import Job, Node, Progress

NODES, JOBS, PODS = "nodes", "jobs", "pods"

Obj = dict[str, Any]
T = TypeVar("T")


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _same(obj: T) -> T:
    return obj


class Store:
    def __init__(self) -> None:
        self.raw: dict[str, dict[str, Obj]] = {NODES: {}, JOBS: {}, PODS: {}}
        self.nodes: dict[str, Node] = {}
        self.items: dict[str, Job] = {}
        self._jobs_by_video: dict[str, set[str]] = defaultdict(set)
        self._video_of_job: dict[str, str] = {}
        self._pods_by_job: dict[str, set[str]] = defaultdict(set)
        self._pods_by_node: dict[str, set[str]] = defaultdict(set)
        self._pod_place: dict[str, tuple[str | None, str | None]] = {}  # pod -> (job, node)
        # per item: the transcode's latest progress and whether it stalled (the log tick's)
        self.progress: dict[str, tuple[Progress | None, bool]] = {}
        # what other sources add to a converted object (the node agents' figures, Wh)
        self.decorate_node: Callable[[Node], Node] = _same
        self.decorate_item: Callable[[Job], Job] = _same

    # -- reading ---------------------------------------------------------------

    def video_of_pod(self, pod: str) -> str | None:
        job = self._pod_place.get(pod, (None, None))[0]
        return None if job is None else self._video_of_job.get(job)

    def pods_of_item(self, video: str) -> list[Obj]:
        pods = self.raw[PODS]
        return [
            pods[p]
            for job in self._jobs_by_video.get(video, ())
            for p in self._pods_by_job.get(job, ())
            if p in pods
        ]

    def jobs_of_item(self, video: str) -> list[Obj]:
        jobs = self.raw[JOBS]
        return [jobs[j] for j in self._jobs_by_video.get(video, ()) if j in jobs]

    def is_transcode_pod(self, pod: Obj) -> bool:
        kind = (pod.get("metadata", {}).get("labels") or {}).get(JOB_TYPE_LABEL)
        if kind is None:
            job = self.raw[JOBS].get(convert.pod_job_name(pod) or "")
            kind = ((job or {}).get("metadata", {}).get("labels") or {}).get(JOB_TYPE_LABEL)
        return (kind or TRANSCODE) == TRANSCODE

    def running_transcodes(self) -> dict[str, Obj]:
        """Pods whose log carries progress: Running transcode pods of a known item."""
        return {
            name: pod
            for name, pod in self.raw[PODS].items()
            if (pod.get("status") or {}).get("phase") == "Running"
            and self.video_of_pod(name) is not None
            and self.is_transcode_pod(pod)
        }

    # -- conversion ------------------------------------------------------------

    def _node(self, name: str) -> BackendEvent | None:
        obj = self.raw[NODES].get(name)
        if obj is None:
            if self.nodes.pop(name, None) is None:
                return None
            return NodeRemoved(name)
        pods = self.raw[PODS]
        node = convert.node_from_json(
            obj, (pods[p] for p in self._pods_by_node.get(name, ()) if p in pods)
        )
        node = self.decorate_node(node)
        if self.nodes.get(name) == node:
            return None
        self.nodes[name] = node
        return NodeChanged(node)

    def node(self, name: str) -> BackendEvent | None:
        """Convert one node again (its agent said something); the event if it changed."""
        return self._node(name)

    def item(self, video: str) -> BackendEvent | None:
        """Convert one item again; the event if it changed."""
        jobs = self.jobs_of_item(video)
        pods = self.raw[PODS]
        pods_of = {
            _name(job): [pods[p] for p in self._pods_by_job.get(_name(job), ()) if p in pods]
            for job in jobs
        }
        progress, stalled = self.progress.get(video, (None, False))
        job = convert.item_from_json(jobs, pods_of, progress, stalled)
        if job is None:
            self.progress.pop(video, None)
            if self.items.pop(video, None) is None:
                return None
            return JobRemoved(video)
        job = self.decorate_item(job)
        if self.items.get(video) == job:
            return None
        self.items[video] = job
        return JobChanged(job)

    # -- changes -------------------------------------------------------------------

    def _index_job(self, obj: Obj | None, name: str) -> set[str]:
        """(Re)index one Job; the videos touched."""
        touched = set()
        old = self._video_of_job.pop(name, None)
        if old is not None:
            self._jobs_by_video[old].discard(name)
            if not self._jobs_by_video[old]:
                del self._jobs_by_video[old]
            touched.add(old)
        if obj is not None:
            video = convert.video_of(obj)
            self._video_of_job[name] = video
            self._jobs_by_video[video].add(name)
            touched.add(video)
        return touched

    def _index_pod(self, obj: Obj | None, name: str) -> tuple[set[str], set[str]]:
        """(Re)index one Pod; the (videos, nodes) touched."""
        videos: set[str] = set()
        nodes: set[str] = set()
        old_job, old_node = self._pod_place.pop(name, (None, None))
        if old_job is not None:
            self._pods_by_job[old_job].discard(name)
            if not self._pods_by_job[old_job]:
                del self._pods_by_job[old_job]
            if old_job in self._video_of_job:
                videos.add(self._video_of_job[old_job])
        if old_node is not None:
            self._pods_by_node[old_node].discard(name)
            if not self._pods_by_node[old_node]:
                del self._pods_by_node[old_node]
            nodes.add(old_node)
        if obj is not None:
            job = convert.pod_job_name(obj)
            node = (obj.get("spec") or {}).get("nodeName")
            self._pod_place[name] = (job, node)
            if job is not None:
                self._pods_by_job[job].add(name)
                if job in self._video_of_job:
                    videos.add(self._video_of_job[job])
            if node:
                self._pods_by_node[node].add(name)
                nodes.add(node)
        return videos, nodes

    def apply(self, kind: str, event: str, obj: Obj) -> list[BackendEvent]:
        """One watch event (ADDED/MODIFIED/DELETED); the domain events it makes."""
        name = _name(obj)
        current: Obj | None = None if event == "DELETED" else obj
        if current is None:
            self.raw[kind].pop(name, None)
        else:
            self.raw[kind][name] = current
        videos: set[str] = set()
        nodes: set[str] = set()
        if kind == NODES:
            nodes.add(name)
        elif kind == JOBS:
            videos = self._index_job(current, name)
        else:
            videos, nodes = self._index_pod(current, name)
        return self._convert(videos, nodes)

    def _convert(self, videos: Iterable[str], nodes: Iterable[str]) -> list[BackendEvent]:
        out = [self.item(v) for v in videos] + [self._node(n) for n in nodes]
        return [e for e in out if e is not None]

    def replace(self, kind: str, items: dict[str, Obj], convert_now: bool = True) -> None:
        """A fresh list of one kind: objects missing from it are gone.

        ``convert_now=False`` only indexes: the caller calls ``rebuild`` once
        when the lists that land together are all in (3,000 items cost ~0.1 s).
        """
        by_name = {_name(o): o for o in items.values()}
        self.raw[kind] = by_name
        if kind == JOBS:
            self._jobs_by_video.clear()
            self._video_of_job.clear()
            for name, obj in by_name.items():
                self._index_job(obj, name)
        elif kind == PODS:
            self._pods_by_job.clear()
            self._pods_by_node.clear()
            self._pod_place.clear()
            for name, obj in by_name.items():
                self._index_pod(obj, name)
        if convert_now:
            self.rebuild(nodes=kind in (NODES, PODS), items=kind in (JOBS, PODS))

    def rebuild(self, nodes: bool = True, items: bool = True) -> None:
        """Convert again (after a re-list; the caller resyncs subscribers)."""
        if nodes:
            self.nodes = {}
            for name in self.raw[NODES]:
                self._node(name)
        if items:
            self.items = {}
            for video in list(self._jobs_by_video):
                self.item(video)
            for video in list(self.progress):
                if video not in self.items:
                    del self.progress[video]
