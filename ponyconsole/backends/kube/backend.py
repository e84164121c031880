"""KubeBackend: the Backend protocol on a Kubernetes cluster (the cluster is the truth).

Three informers (Nodes; ponyconsole Jobs and their Pods in one namespace)
feed one cache on the event loop (``Store``); the event stream begins with a
``Resync`` and another follows every re-list. Progress comes from the logs of
running transcode pods (``logs.ProgressFollower``, one thread each), read by
a 1 s tick that also marks stalled transcodes. Actions are plain API calls in
threads (``actions``/``access``, another module's job), refused up front in
read-only mode or while the API server is out of reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from ponyconsole.backends.agents import DEFAULT_PORT as AGENT_PORT
from ponyconsole.backends.event_hub import EventHub
from ponyconsole.backends.inbox_watch import InboxWatch
from ponyconsole.backends.kube import convert, wire
from ponyconsole.backends.kube.agent_link import AgentLink, item_energy
from ponyconsole.backends.kube.config import ClusterConfig, load_cluster_config
from ponyconsole.backends.kube.informer import (
    Change,
    Delta,
    Informer,
    Kind,
    Lost,
    Replace,
    Resumed,
)
from ponyconsole.backends.kube.logs import LogStream, ProgressFollower
from ponyconsole.backends.kube.raw_api import (
    NODES_PATH,
    RawList,
    RawPodLogs,
    jobs_path,
    pods_path,
)
from ponyconsole.backends.kube.store import JOBS, NODES, PODS, Store
from ponyconsole.backends.protocol import (
    Action,
    BackendError,
    BackendEvent,
    DrainResult,
    NotAllowed,
    Notice,
    Permissions,
    PermissionsChanged,
    Snapshot,
    SourceChanged,
    SourceStatus,
)
from ponyconsole.domain.kube_names import PART_OF_SELECTOR, TRANSCODE
from ponyconsole.domain.models import Disc, EnqueueRequest, Job, JobDetail, JobState, Node
from ponyconsole.startup_trace import mark

T = TypeVar("T")

SOURCES = (NODES, JOBS, PODS)
READ_ONLY = Permissions(frozenset(), "read-only mode: nothing is changed")
CLUSTER_ACTIONS = frozenset(
    {Action.ENQUEUE, Action.RETRY, Action.CANCEL, Action.CORDON, Action.DRAIN, Action.WAKE}
)
DEFAULT_PERMISSIONS = Permissions(CLUSTER_ACTIONS, "")
ENQUEUE_REFUSAL = "enqueue needs the shared folder: open the console with --inbox <share>"
TICK_SECONDS = 1.0
FIRST_AGENT_POLL_DELAY = 0.8  # s after the first full list: its paint comes first
LOG_TAIL_LINES = 200
POOL_SIZE = 64  # watches + one stream per running transcode + actions, without waiting
# One thread and one stream per followed pod: a home cluster runs a handful of encodes at
# once; past this many (a misconfigured or a synthetic cluster) the rest show no progress
# rather than costing hundreds of threads.
MAX_FOLLOWED = 48


class KubeBackend:
    mode = "cluster"
    owns_encodes = False

    def __init__(
        self,
        kubeconfig: str | None = None,
        context: str | None = None,
        namespace: str | None = None,
        *,
        read_only: bool = False,
        inbox: str = "",
        stall_seconds: float = 300.0,
        cluster: ClusterConfig | None = None,
        page_size: int = 500,
        agent_port: int = AGENT_PORT,
        agents: bool = True,
        wol_broadcast: tuple[str, int] = ("255.255.255.255", 9),
    ) -> None:
        """Raises ``BackendError`` (one line) when the kubeconfig is missing or broken."""
        self.cluster = cluster or load_cluster_config(kubeconfig, context, namespace)
        self.context = self.cluster.context
        self.namespace = self.cluster.namespace
        self.read_only = read_only
        self.stall_seconds = stall_seconds
        self._inbox = inbox
        self._page_size = page_size
        self.store = Store()
        self._hub = EventHub(self.snapshot)
        self._sources = {name: SourceStatus(name) for name in SOURCES}
        self._synced: set[str] = set()
        self.permissions = READ_ONLY if read_only else DEFAULT_PERMISSIONS
        self._share: Any = None  # pipeline.share_inbox.ShareInbox: `e` on the shared folder
        if inbox:
            from ponyconsole.pipeline.share_inbox import ShareInbox

            self._share = ShareInbox(inbox)
        elif not read_only:
            self.permissions = Permissions(CLUSTER_ACTIONS - {Action.ENQUEUE}, ENQUEUE_REFUSAL)
        self._share_libraries: list[str] = []
        self.informers: dict[str, Informer] = {}
        self.followers: dict[str, ProgressFollower] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._clients: list[Any] = []
        self._api: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resync_pending = False
        self.first_sync = asyncio.Event()
        self.wol_broadcast = wol_broadcast
        self.agents = AgentLink(self._agent_said, self._agent_status, agent_port, enabled=agents)
        self.store.decorate_node = self.agents.decorate
        self.store.decorate_item = lambda job: item_energy(self.agents, self.agents.meter, job)
        self.agents.item_changed = self._publish_item  # its Wh came from its agent's history

    # -- lifecycle -------------------------------------------------------------

    def _client(self) -> Any:
        from kubernetes import client

        conf = self.cluster.configuration
        conf.connection_pool_maxsize = POOL_SIZE
        api = client.ApiClient(conf)
        self._clients.append(api)
        return api

    def prefetch(self) -> None:
        """Start the lists now, before there is an event loop (and before the UI's imports).

        What they read is held until ``start`` attaches the loop: the API server's
        work on the first lists overlaps the console's own start-up.
        """
        if self.informers:
            return
        watch_api = self._client()
        ns = self.namespace
        kinds = [
            Kind(NODES, RawList(watch_api, NODES_PATH), decoders=wire.NODE),
            Kind(JOBS, RawList(watch_api, jobs_path(ns)), (), PART_OF_SELECTOR, decoders=wire.JOB),
            Kind(PODS, RawList(watch_api, pods_path(ns)), (), PART_OF_SELECTOR, decoders=wire.POD),
        ]
        for kind in kinds:
            informer = Informer(kind, None, self._deliver, self._page_size)
            self.informers[kind.name] = informer
            informer.start()

    async def start(self) -> None:
        """Start the watches and return at once; the first full Resync comes when lists land.

        The lists and watches go through the ``ApiClient`` untyped (``raw_api``): the
        typed API classes cost ~1 s of imports, on the loop, before the first frame.
        """
        self._loop = loop = asyncio.get_running_loop()
        self.prefetch()
        self._api = self._client()
        for informer in self.informers.values():
            informer.attach(loop)
        self._tasks.append(asyncio.create_task(self._tick_forever(), name="kube-tick"))
        if self._share is not None:  # --inbox: the share's watch/ folder, for `e`
            share = self._share
            watch = InboxWatch(lambda: share.watch_dir, self._changed_rips, self._hub.publish)
            self._tasks.append(asyncio.create_task(watch.run(), name="kube-inbox-watch"))
        if not self.read_only:
            self._tasks.append(asyncio.create_task(self._learn_permissions(), name="kube-rbac"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for informer in self.informers.values():
            informer.stop()
        for follower in self.followers.values():
            follower.close()
        self.followers.clear()

        def join() -> None:
            for informer in self.informers.values():
                informer.join(5)
            for api in self._clients:
                with contextlib.suppress(Exception):
                    api.close()

        await asyncio.to_thread(join)
        self._clients = []
        await self.agents.close()
        self._hub.close()

    # -- views -----------------------------------------------------------------

    @property
    def inbox(self) -> str:
        return self._inbox

    def snapshot(self) -> Snapshot:
        return Snapshot(
            tuple(self.store.nodes.values()),
            tuple(self.store.items.values()),
            self.mode,
            read_only=self.read_only,
            context=self.context,
            namespace=self.namespace,
            permissions=self.permissions,
            sources=tuple(self._sources[name] for name in SOURCES)
            + tuple(self.agents.sources.values()),
        )

    def events(self) -> AsyncIterator[BackendEvent]:
        return self._hub.subscribe()

    def presets(self) -> list[str]:
        from ponyconsole.pipeline.jobchain import DEFAULT_PRESET

        used = {j.preset for j in self.store.items.values() if j.preset} - {DEFAULT_PRESET}
        return [DEFAULT_PRESET, *sorted(used)]

    def libraries(self) -> list[str]:
        used = {j.library for j in self.store.items.values() if j.library}
        return sorted(used | set(self._share_libraries))

    async def list_rips(self) -> list[Disc]:
        """The rips of the share's watch/ folder (pipeline/share_inbox.py)."""
        if self._share is None:
            raise NotAllowed(ENQUEUE_REFUSAL)
        return await asyncio.to_thread(self._list_rips_now)

    def _changed_rips(self) -> list[Disc]:
        """For InboxChanged: no HandBrake scans (the dialog scans the rip the user picks)."""
        return self._list_rips_now(scan=False)

    def _list_rips_now(self, scan: bool = True) -> list[Disc]:
        """The share's rips, and its library names with them (blocking: from a thread)."""
        rips: list[Disc] = self._share.list_rips(scan)
        self._share_libraries = self._share.libraries()
        return rips

    async def scan(self, path: str) -> Disc:
        if self._share is None:
            raise NotAllowed(ENQUEUE_REFUSAL)
        disc: Disc = await asyncio.to_thread(self._share.scan, path)
        return disc

    async def enqueue(self, request: EnqueueRequest) -> Job:
        """Claim the rip and create its Jobs with the watcher's code (pipeline/jobchain.py)."""
        from ponyconsole.pipeline.jobchain import Target

        self._check(Action.ENQUEUE)
        if self._share is None:
            raise NotAllowed(ENQUEUE_REFUSAL)
        target = Target(self.namespace, self._share.share)
        job: Job = await self._call(self._share.enqueue, self._api, request, target)
        return job

    async def job_detail(self, job_id: str) -> JobDetail:
        job = self._item(job_id)
        pod, container = self._log_pod(job_id)
        if pod is None:
            return JobDetail(job)
        lines: list[str] = []
        stream = LogStream(
            self._core(),
            self.namespace,
            pod,
            container,
            lines.append,
            follow=False,
            tail_lines=LOG_TAIL_LINES,
        )
        with contextlib.suppress(Exception):
            await asyncio.to_thread(stream.run)  # one read in a worker thread
        return JobDetail(job, tuple(lines))

    async def follow_log(self, job_id: str) -> AsyncIterator[str]:
        """The item's current pod log: its last lines, then new ones until the pod ends."""
        self._item(job_id)
        pod, container = self._log_pod(job_id)
        if pod is None:
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        active = self._pod_active(pod)

        def put(line: str | None) -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, line)

        stream = LogStream(
            self._core(),
            self.namespace,
            pod,
            container,
            put,
            on_end=lambda error: put(None),
            follow=active,
            tail_lines=LOG_TAIL_LINES,
            reconnect=False,
        )
        stream.start()
        try:
            while True:
                try:
                    line = await asyncio.wait_for(queue.get(), TICK_SECONDS)
                except TimeoutError:
                    if not self._pod_active(pod):
                        stream.close()
                    continue
                if line is None:
                    return
                yield line
        finally:
            stream.close()

    # -- actions -----------------------------------------------------------------

    async def retry(self, job_id: str) -> Job:
        self._check(Action.RETRY)
        return await self._retry(self._item(job_id))

    async def _retry(self, job: Job) -> Job:
        from ponyconsole.backends.kube import actions

        if job.state is not JobState.FAILED or job.kube_name is None:
            # a cancelled item's Jobs are deleted: there is nothing left to retry
            raise BackendError(f"{job.name} is {job.state.value}; only failed items retry")
        # Every failed stage, in order: a failed transcode fails its upload too (wait-job),
        # and both must run again. A stage still ending (wait-job noticing) is waited for.
        failed = [s.kube_name for s in job.stages if s.state is JobState.FAILED and s.kube_name]
        ending = [s for s in job.stages if not s.state.finished]
        if ending and job.stages:
            raise BackendError(
                f"{job.name}: its {ending[0].kind.value} stage is still ending; retry in a moment"
            )
        for name in failed or [job.kube_name]:
            await self._call(actions.retry_job, self._api, self.namespace, name)
        return dataclasses.replace(
            job, state=JobState.QUEUED, retries=job.retries + 1, progress=None, stalled=False
        )

    async def retry_failed(self) -> list[Job]:
        self._check(Action.RETRY)
        failed = [j for j in self.store.items.values() if j.state is JobState.FAILED]
        if not failed:
            raise BackendError("no failed jobs")
        return [await self._retry(j) for j in failed]

    async def cancel(self, job_id: str) -> Job:
        from ponyconsole.backends.kube import actions

        self._check(Action.CANCEL)
        job = self._item(job_id)
        if not job.state.cancellable:
            raise BackendError(f"{job.name} is {job.state.value}; nothing to cancel")
        for stage in job.stages:
            if stage.kube_name and not stage.state.finished:
                await self._call(actions.cancel_job, self._api, self.namespace, stage.kube_name)
        return dataclasses.replace(job, state=JobState.CANCELLED, reason=await self._set_aside(job))

    async def _set_aside(self, job: Job) -> str:
        """A cancelled item's rip leaves claim/ for fail/ (with the reason "cancelled")."""
        if not job.source or not job.stages:
            return "cancelled"
        if self._share is None:
            return (
                "cancelled; its rip stays in claim/ (open the console with --inbox <share>"
                " to have it moved to fail/)"
            )
        try:
            where = await asyncio.to_thread(
                self._share.set_aside, job.source, "cancelled in the console"
            )
        except OSError as exc:
            return f"cancelled; its rip stays in claim/: cannot move it to fail/: {exc}"
        return f"cancelled; {where}" if where else "cancelled"

    async def set_cordoned(self, node: str, cordoned: bool) -> Node:
        from ponyconsole.backends.kube import actions

        self._check(Action.CORDON)
        self._node(node)
        obj = await self._call(actions.set_unschedulable, self._api, node, cordoned)
        pods = self.store.raw[PODS].values()
        return self.agents.decorate(
            convert.node_from_json(
                obj, (p for p in pods if (p.get("spec") or {}).get("nodeName") == node)
            )
        )

    async def drain_plan(self, node: str) -> list[str]:
        from ponyconsole.backends.kube import actions

        self._check(Action.DRAIN)
        self._node(node)
        return await self._call(actions.drain_plan, self._api, node, None)

    async def drain(self, node: str) -> DrainResult:
        from ponyconsole.backends.kube import actions

        self._check(Action.DRAIN)
        self._node(node)
        return await self._call(actions.drain, self._api, node)

    async def wake(self, node: str) -> str:
        """Send a Wake-on-LAN packet to the MAC in the node's ponyconsole/mac annotation."""
        from ponyconsole.backends.wake import send_magic_packet

        if self.read_only:
            raise NotAllowed(READ_ONLY.reason)
        refusal = self.permissions.refusal(Action.WAKE)
        if refusal:
            raise NotAllowed(refusal)
        mac = self._node(node).mac  # from the cache: waking needs no API server
        if not mac:
            raise BackendError(f"{node} has no MAC address (annotation ponyconsole/mac)")
        address, port = self.wol_broadcast
        return await asyncio.to_thread(send_magic_packet, mac, address, port)

    # -- node agents ----------------------------------------------------------------

    def _agent_said(self, node: str) -> None:
        event = self.store.node(node)
        if event is not None and len(self._synced) == len(SOURCES) and not self._resync_pending:
            self._hub.publish(event)

    def _agent_status(self, status: SourceStatus) -> None:
        self._hub.publish(SourceChanged(status))

    # -- helpers -------------------------------------------------------------------

    def _check(self, action: Action) -> None:
        """Refuse before any request: read-only, not allowed by RBAC, or disconnected."""
        if self.read_only:
            raise NotAllowed(READ_ONLY.reason)
        lost = [s for s in self._sources.values() if s.error is not None]
        if lost:
            raise BackendError(f"disconnected from the API server: {lost[0].error}")
        if len(self._synced) < len(SOURCES):
            raise BackendError("still reading the cluster; try again in a moment")
        refusal = self.permissions.refusal(action)
        if refusal:
            raise NotAllowed(refusal)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except BackendError:
            raise
        except Exception as exc:
            raise _backend_error(exc) from None

    def _item(self, job_id: str) -> Job:
        try:
            return self.store.items[job_id]
        except KeyError:
            raise BackendError(f"no such job: {job_id}") from None

    def _node(self, name: str) -> Node:
        try:
            return self.store.nodes[name]
        except KeyError:
            raise BackendError(f"no such pony: {name}") from None

    def _core(self) -> RawPodLogs:
        return RawPodLogs(self._api)

    def _pod_active(self, pod: str) -> bool:
        obj = self.store.raw[PODS].get(pod)
        return obj is not None and convert.pod_is_active(obj)

    def _log_pod(self, job_id: str) -> tuple[str | None, str | None]:
        """The pod whose log the item shows: the running one, else the newest."""
        pods = self.store.pods_of_item(job_id)
        if not pods:
            return None, None
        running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
        pod = max(running or pods, key=lambda p: p["metadata"].get("creationTimestamp") or "")
        return pod["metadata"]["name"], _container(pod)

    # -- the informers' changes, on the loop -----------------------------------------

    def _deliver(self, source: str, change: Change) -> None:
        if isinstance(change, Delta):
            events = self.store.apply(source, change.kind, change.obj)
            if source == PODS:
                self._follow_pod(change.obj, deleted=change.kind == "DELETED")
            elif source == NODES:
                name = change.obj.get("metadata", {}).get("name", "")
                self.agents.node_changed(name, self.store.nodes.get(name))
            if self._resync_pending or len(self._synced) < len(SOURCES):
                return
            for event in events:
                self._hub.publish(event)
        elif isinstance(change, Replace):
            mark(f"replace {source}")
            self.store.replace(source, change.items, convert_now=False)  # _resync converts
            self._sources[source] = SourceStatus(source, synced_at=time.time())
            self._synced.add(source)
            if source in (PODS, JOBS):
                self._reconcile_followers()
            if len(self._synced) == len(SOURCES) and not self._resync_pending:
                # lists that land together (a reconnect) make one Resync, not three
                self._resync_pending = True
                asyncio.get_running_loop().call_soon(self._resync)
            elif source == NODES and not self.first_sync.is_set():
                # At start the node list (one page) lands well before 3,000 Jobs and
                # Pods: show the ponies now; the full Resync follows with the items.
                self.store.rebuild(nodes=True, items=False)
                self._hub.resync()
        elif isinstance(change, Lost):
            status = SourceStatus(source, synced_at=change.last_heard, error=change.error)
            self._sources[source] = status
            self._hub.publish(SourceChanged(status))
        elif isinstance(change, Resumed):
            # the watch goes on from the version last seen: the server replays what was missed
            status = SourceStatus(source, synced_at=time.time())
            self._sources[source] = status
            self._hub.publish(SourceChanged(status))

    def _resync(self) -> None:
        self._resync_pending = False
        first = not self.first_sync.is_set()
        mark("rebuild")
        self.store.rebuild()
        mark("rebuilt")
        if first:
            self.agents.poller.hold(FIRST_AGENT_POLL_DELAY)  # after the first paint
        self.agents.sync(self.store.nodes)
        self._hub.resync()
        if first:
            # 3,000 items and their objects live as long as the console: out of the
            # collector's full passes, which otherwise walk them all (a pause on screen).
            gc.freeze()
        self.first_sync.set()

    # -- progress from logs ------------------------------------------------------------

    def _follow_pod(self, pod: dict[str, Any], deleted: bool) -> None:
        name = pod["metadata"]["name"]
        wanted = (
            not deleted
            and (pod.get("status") or {}).get("phase") == "Running"
            and self.store.video_of_pod(name) is not None
            and self.store.is_transcode_pod(pod)
        )
        if wanted and name not in self.followers and len(self.followers) < MAX_FOLLOWED:
            follower = ProgressFollower(self._core(), self.namespace, name, _container(pod))
            self.followers[name] = follower
            follower.start()
        elif not wanted and name in self.followers:
            self._unfollow(name)

    def _unfollow(self, name: str) -> None:
        follower = self.followers.pop(name)
        follower.close()
        video = self.store.video_of_pod(name)
        if video is not None and video in self.store.progress:
            self.store.progress[video] = (follower.latest, False)
            self._publish_item(video)

    def _reconcile_followers(self) -> None:
        wanted = self.store.running_transcodes()
        for name in list(self.followers):
            if name not in wanted:
                self._unfollow(name)
        for name, pod in wanted.items():
            if name not in self.followers:
                self._follow_pod(pod, deleted=False)

    def _publish_item(self, video: str) -> None:
        event = self.store.item(video)
        if event is not None and len(self._synced) == len(SOURCES) and not self._resync_pending:
            self._hub.publish(event)

    def tick(self, now: float | None = None) -> None:
        """Publish new progress (at most once per tick per item) and mark stalled transcodes."""
        now = time.monotonic() if now is None else now
        for name, follower in self.followers.items():
            video = self.store.video_of_pod(name)
            if video is None:
                continue
            stalled = now - follower.moved_at >= self.stall_seconds
            state = (follower.latest, stalled)
            if self.store.progress.get(video) != state:
                self.store.progress[video] = state
                self._publish_item(video)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self.tick()
            except Exception as exc:  # never let the tick die silently
                self._hub.publish(Notice(f"progress from logs: {exc}"[:200], "error"))

    async def _learn_permissions(self) -> None:
        try:
            from ponyconsole.backends.kube import access
        except ImportError:
            return
        try:
            learned = await asyncio.to_thread(
                access.learn_permissions, self._api, self.namespace, self.read_only
            )
        except Exception as exc:
            message = _backend_error(exc).args[0]
            self._hub.publish(
                Notice(f"could not learn what this user may do: {message}", "warning")
            )
            return
        allowed = frozenset(learned.allowed) & CLUSTER_ACTIONS | {Action.WAKE}  # UDP, no RBAC
        reason = learned.reason or DEFAULT_PERMISSIONS.reason
        if self._share is None:  # no shared folder: nothing to enqueue from
            allowed -= {Action.ENQUEUE}
            reason = learned.reason or ENQUEUE_REFUSAL
        self.permissions = Permissions(allowed, reason)
        self._hub.publish(PermissionsChanged(self.permissions))


def _container(pod: dict[str, Any]) -> str | None:
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    for preferred in (TRANSCODE, "handbrake"):
        if preferred in containers:
            return preferred
    return containers[0] if containers else None


def _backend_error(exc: BaseException) -> BackendError:
    try:
        from ponyconsole.backends.kube import errors
    except ImportError:
        from ponyconsole.backends.kube.informer import describe

        return BackendError(describe(exc))
    result: BackendError = errors.to_backend_error(exc)
    return result
