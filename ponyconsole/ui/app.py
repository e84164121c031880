"""The console: pony tiles above, the queue below, single keys for every fix.

The app never does I/O: it awaits the backend's async actions in workers and
applies the backend's events to widgets, each of which repaints only itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from textual import events as textual_events
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.screen import Screen
from textual.widgets import Footer, Input

from ponyconsole.backends.protocol import (
    Action,
    Backend,
    BackendError,
    BackendEvent,
    DrainResult,
    InboxChanged,
    JobChanged,
    JobRemoved,
    NodeChanged,
    NodeRemoved,
    NotAllowed,
    Notice,
    Permissions,
    PermissionsChanged,
    Resync,
    Snapshot,
    SourceChanged,
    SourceStatus,
)
from ponyconsole.domain.models import Job, JobState, Node
from ponyconsole.startup_trace import mark
from ponyconsole.ui.keys import ACTION_NEEDS, APP_BINDINGS, key_label
from ponyconsole.ui.screens.confirm import Confirm
from ponyconsole.ui.screens.enqueue import EnqueueScreen
from ponyconsole.ui.screens.help import HelpScreen
from ponyconsole.ui.screens.job_detail import JobDetailScreen
from ponyconsole.ui.widgets.job_list import JobHeader, JobList
from ponyconsole.ui.widgets.job_summary import JobSummary
from ponyconsole.ui.widgets.pony_grid import PonyGrid, tile_id
from ponyconsole.ui.widgets.pony_tile import PonyTile
from ponyconsole.ui.widgets.stale_note import StaleNote
from ponyconsole.ui.widgets.status_bar import StatusBar

STYLES = Path(__file__).resolve().parent / "styles"  # package data: in the wheel too


__all__ = ["PonyConsole", "tile_id"]


def _node_source(name: str) -> bool:
    # an agent's trouble shows on its own tile ("agent unreachable since ..."), not here
    return name == "nodes"


def _api_source(name: str) -> bool:
    """A source whose loss means the console is disconnected (an agent's does not)."""
    return not name.startswith("agent:")


def _job_source(name: str) -> bool:
    return name in ("jobs", "pods", "queue")


class PonyConsole(App[None]):
    CSS_PATH = STYLES / "app.tcss"
    TITLE = "ponyconsole"
    BINDINGS = APP_BINDINGS

    def __init__(
        self,
        backend: Backend,
        clock: Callable[[], float] = time.time,
        startup: Callable[[Backend], Awaitable[str | None]] | None = None,
        **kwargs: Any,
    ) -> None:
        """`startup` runs once the backend is up (the demo enqueues its clips there)."""
        super().__init__(**kwargs)
        self.backend = backend
        self.clock = clock
        self.startup = startup

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept as attributes: a modal on top must not hide them from event handlers.
        self.status = StatusBar(id="status")
        self.status.clock = self.clock
        self.ponies = PonyGrid(clock=self.clock, id="ponies")
        self.ponies_stale = StaleNote(_node_source, self.clock, id="ponies-stale")
        self.jobs_stale = StaleNote(_job_source, self.clock, id="jobs-stale")
        self.job_list = JobList(clock=self.clock, id="jobs")
        self.summary = JobSummary(id="summary")
        self.filter_box = Input(
            placeholder="filter: words that must all appear (enter keeps, escape clears)",
            id="filter",
            compact=True,
        )
        yield self.status
        yield self.ponies_stale
        yield self.ponies
        yield self.jobs_stale
        yield JobHeader(id="job-header")
        yield self.job_list
        yield self.summary
        yield self.filter_box
        yield Footer(compact=True, show_command_palette=False)

    COMPACT_BELOW = 40  # terminal rows under which tiles drop to two lines of figures

    async def on_resize(self, event: textual_events.Resize) -> None:
        # Called before App's own handler: self.size is still the old size here.
        height = event.size.height
        self.ponies.set_compact(height < self.COMPACT_BELOW)
        await self.ponies.on_resize_screen(height)

    def tiles(self) -> list[PonyTile]:
        return self.ponies.tiles()

    REPAINT_INTERVAL = 0.12  # merge bursts of backend events: at most ~8 repaints a second

    def on_mount(self) -> None:
        self.permissions = Permissions(frozenset(), "connecting…")
        self.sources: dict[str, SourceStatus] = {}
        self.inbox_rips: tuple[object, ...] | None = None
        self._batch_moved = []
        status = self.status
        self._where = self.backend.mode + (" · read-only" if self.backend.read_only else "")
        status.mode = self._where
        self.summary.inbox = self.backend.inbox
        self.job_list.focus()
        mark("mounted")
        self.call_after_refresh(mark, "first frame")
        self.set_interval(1.0, self._tick)
        self.set_interval(2.0, self._show_runner_owner)  # an attached console may take over
        self.connect()

    def _tick(self) -> None:
        self.job_list.refresh_running()
        if any(not s.connected and _api_source(s.name) for s in self.sources.values()):
            self.status.refresh()  # "data N s old" grows while disconnected
            self.ponies_stale.refresh()
            self.jobs_stale.refresh()

    def _runner_owner(self) -> str:
        """Who runs the local queue: "this console", "serve (pid 1234)"; "" if not local."""
        return str(getattr(self.backend, "runner_owner", ""))

    def _show_runner_owner(self) -> None:
        owner = self._runner_owner()
        mode = self._where
        if owner == "nobody":
            mode += " · no runner"
        elif owner and owner != "this console":
            mode += f" · attached to {owner}"
        if self.status.mode != mode:
            self.status.mode = mode

    @work(exclusive=True, group="backend", exit_on_error=False)
    async def connect(self) -> None:
        """Subscribe, start the backend, then apply its events for ever, in merged batches.

        Subscribing first means nothing that happens during start-up is missed:
        the stream begins with a full ``Resync``.
        """
        events = self.backend.events()
        try:
            await self.backend.start()
        except Exception as error:  # shown on screen, never a traceback instead of the console
            message = str(error) if isinstance(error, BackendError) else repr(error)
            self.status.connection = f"cannot start: {message}"
            self.notify(message, title="Backend", severity="error", timeout=30, markup=False)
            return
        self._show_runner_owner()
        if self.startup is not None:
            self.run_worker(
                self._act(lambda message: message or "Ready", self.startup(self.backend))
            )
        drain = getattr(events, "drain", None)
        try:
            async for event in events:
                batch = [event, *(drain() if drain is not None else ())]
                self._batch_jobs = self._batch_sources = False
                self._batch_moved = []
                for item in batch:
                    await self.apply(item)
                # Once per batch, and only what the batch touched: a cordon (one node) must
                # not walk 3,000 jobs, 300 agents saying "no agent" not redo 300 sources x 300.
                if self._batch_sources:
                    self._show_sources()
                if self._batch_jobs:
                    self._jobs_changed()
                else:
                    if self._batch_moved:  # counts and places unchanged: no walk of all items
                        self.ponies.update_items(self._batch_moved)
                    if self._batch_sources or self._batch_moved:
                        self._refresh_keys()  # disconnected or back: keys dim or light up
                await asyncio.sleep(self.REPAINT_INTERVAL)
        except Exception as error:  # a backend bug: say so, keep the console up
            self.status.connection = f"event stream stopped: {error!r}"
            self.notify(repr(error), title="Backend", severity="error", timeout=30, markup=False)

    _batch_jobs = True  # what the batch being applied touched (see connect)
    _batch_sources = True
    _batch_moved: list[Job]  # items changed in place (same node and state): set in on_mount

    async def apply(self, event: BackendEvent) -> None:
        match event:
            case Resync(snapshot=snapshot):
                await self._resync(snapshot)
                self._batch_jobs = True
            case JobChanged(job=job):
                old = self.job_list.jobs.get(job.id)
                self.job_list.upsert(job)
                if old is not None and old.state is job.state and old.node == job.node:
                    self._batch_moved.append(job)  # progress: its own pony only
                else:
                    self._batch_jobs = True
            case JobRemoved(job_id=job_id):
                self.job_list.remove(job_id)
                self._batch_jobs = True
            case NodeChanged(node=node):
                if node.name not in self.ponies.nodes:
                    self._batch_jobs = True  # jobs already known may run on the new pony
                await self.ponies.upsert(node)
                self.status.ponies = self.ponies.count
            case NodeRemoved(name=name):
                await self.ponies.remove_node(name)
                self.status.ponies = self.ponies.count
                self._batch_jobs = True
            case SourceChanged(status=source):
                self.sources[source.name] = source
                self._batch_sources = True
            case PermissionsChanged(permissions=permissions):
                self.permissions = permissions
                self._refresh_keys()
            case InboxChanged(rips=rips):
                self.inbox_rips = rips
                for screen in self.screen_stack:
                    if isinstance(screen, EnqueueScreen):
                        screen.show_rips(list(rips))
            case Notice(message=message, severity=severity):
                self.notify(message, severity=severity, markup=False)  # type: ignore[arg-type]

    async def _resync(self, snapshot: Snapshot) -> None:
        """Replace everything: what vanished while we were away disappears too."""
        mark("resync in")
        where = [snapshot.mode]
        if snapshot.context:
            where.append(snapshot.context)
        if snapshot.namespace and snapshot.mode != "local":
            where.append(f"ns {snapshot.namespace}")
        if snapshot.read_only:
            where.append("read-only")
        self._where = " · ".join(where)
        self._show_runner_owner()
        self.permissions = snapshot.permissions
        self.sources = {source.name: source for source in snapshot.sources}
        self._show_sources()
        self.job_list.set_jobs(snapshot.jobs)
        self.ponies.set_compact(self.size.height < self.COMPACT_BELOW)
        await self.ponies.resync(snapshot.nodes, cluster=snapshot.mode != "local")
        self.ponies.set_jobs(snapshot.jobs)
        self.status.ponies = self.ponies.count
        self._refresh_keys()
        counts = f"{len(snapshot.nodes)} nodes, {len(snapshot.jobs)} items"
        mark(f"resync applied ({counts})")
        self.call_after_refresh(mark, f"painted ({counts})")

    def _show_sources(self) -> None:
        sources = tuple(self.sources.values())
        self.status.sources = tuple(s for s in sources if _api_source(s.name))
        self.ponies_stale.sources = sources
        self.jobs_stale.sources = sources

    def _jobs_changed(self) -> None:
        self.status.set_counts([j.state for j in self.job_list.jobs.values()])
        self.ponies.set_jobs(self.job_list.jobs.values())
        self._refresh_keys()

    @on(JobList.Highlighted)
    def job_highlighted(self, event: JobList.Highlighted) -> None:
        self.summary.job = event.job
        self._refresh_keys()

    @on(JobList.Opened)
    def job_opened(self, event: JobList.Opened) -> None:
        self.push_screen(JobDetailScreen(self.backend, event.job, self.clock))

    # --- actions -------------------------------------------------------------------

    _KEYS_THAT_DIM = ("enqueue", "retry", "cancel_job", "retry_all", "cordon", "drain", "wake")
    _keys_shown: tuple[bool | None, ...] | None = None

    def _refresh_keys(self) -> None:
        """Refresh the footer only when a key's state changes: a refresh rebuilds every
        footer key (~13 % of the console's CPU while an encode ran, one per progress event).
        Never while the app is closing (no screen left to refresh)."""
        if not self.is_running or not self.screen_stack or self._closing:
            return
        shown = tuple(self.check_action(action, ()) for action in self._KEYS_THAT_DIM)
        if shown != self._keys_shown:
            self._keys_shown = shown
            self.refresh_bindings()

    def refusal(self, action: str) -> str | None:
        """Why the backend will not do ``action`` now (read-only, RBAC, disconnected), if so."""
        need = ACTION_NEEDS.get(action)
        if need is None or not hasattr(self, "permissions"):
            return None
        refusal = self.permissions.refusal(need)
        if refusal is None:
            lost = [s for s in self.sources.values() if not s.connected and _api_source(s.name)]
            if lost and self.backend.mode != "local" and need is not Action.WAKE:
                refusal = f"disconnected ({lost[0].name}: {lost[0].error}); try again once back"
        return refusal

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim keys that make no sense for the selection or are not allowed (shown, unusable)."""
        if not hasattr(self, "job_list"):
            return True
        if self.refusal(action):
            return None
        job = self.job_list.selected
        if action == "retry":
            return True if job is not None and job.state.retryable else None
        if action == "cancel_job":
            return True if job is not None and job.state.cancellable else None
        if action == "retry_all":
            return True if self._failed() else None
        return True

    def on_key(self, event: textual_events.Key) -> None:
        """A dimmed key that is refused by policy says why, instead of doing nothing."""
        for binding in APP_BINDINGS:
            if binding.key == event.key:
                refusal = self.refusal(binding.action)
                if refusal:
                    event.stop()
                    self.notify(refusal, title="Not allowed", severity="warning", markup=False)
                return

    def _failed(self) -> list[Job]:
        return [j for j in self.job_list.jobs.values() if j.state is JobState.FAILED]

    async def _act(self, done: Callable[[Any], str], call: Awaitable[Any]) -> None:
        """Await one backend action; report its outcome or its error, never crash."""
        try:
            result = await call
        except NotAllowed as error:
            self.notify(str(error), title="Not allowed", severity="error", timeout=8, markup=False)
        except BackendError as error:
            self.notify(str(error), title="Refused", severity="error", timeout=8, markup=False)
        except Exception as error:  # a backend bug must not take the console down
            self.notify(
                f"{type(error).__name__}: {error}", title="Failed", severity="error", markup=False
            )
        else:
            self.notify(done(result), markup=False)

    def action_enqueue(self) -> None:
        def enqueued(job: Job | None) -> None:  # the dialog enqueued it (refusals shown there)
            if job is not None:
                to = f"{job.library}/{Path(job.output).name}" if job.output else job.library
                self.notify(f"Enqueued {job.name} ({job.preset}) as {to}", markup=False)

        self.push_screen(EnqueueScreen(self.backend), enqueued)

    def action_retry(self) -> None:
        job = self.job_list.selected
        if job is None or not job.state.retryable:
            return
        self.run_worker(
            self._act(
                lambda j: f"Retrying {j.name} (retry {j.retries})", self.backend.retry(job.id)
            )
        )

    @work
    async def action_retry_all(self) -> None:
        failed = self._failed()
        if not failed:
            self.notify("No failed jobs to retry.")
            return
        plural = "job" if len(failed) == 1 else "jobs"
        names = ", ".join(j.name for j in failed[:5]) + (" …" if len(failed) > 5 else "")
        if await self.push_screen_wait(
            Confirm(f"Retry {len(failed)} failed {plural}?", names, yes="Retry")
        ):
            await self._act(
                lambda jobs: f"Retrying {len(jobs)} failed {plural}", self.backend.retry_failed()
            )

    @work
    async def action_cancel_job(self) -> None:
        job = self.job_list.selected
        if job is None or not job.state.cancellable:
            return
        what = (
            "HandBrake is stopped and its partial output removed."
            if job.state is JobState.RUNNING
            else "It leaves the queue; r brings it back."
        )
        if await self.push_screen_wait(Confirm(f"Cancel {job.name}?", what, yes="Cancel job")):
            await self._act(lambda j: f"Cancelled {j.name}", self.backend.cancel(job.id))

    def _target_node(self) -> Node | None:
        """The pony a key acts on: the focused tile or line, else the selected job's pony."""
        job = self.job_list.selected
        return self.ponies.selected_node(job.node if job is not None else None)

    def action_cordon(self) -> None:
        node = self._target_node()
        if node is None:
            self.notify("Select a pony first (tab to the tiles).", severity="warning")
            return
        cordon = not node.cordoned

        def done(updated: Node) -> str:
            if updated.cordoned:
                busy = " (its current encode finishes)" if self.ponies.busy(updated.name) else ""
                return f"Cordoned {updated.name}: no new jobs{busy}"
            return f"Uncordoned {updated.name}: it takes jobs again"

        self.run_worker(self._act(done, self.backend.set_cordoned(node.name, cordon)))

    @work
    async def action_drain(self) -> None:
        node = self._target_node()
        if node is None:
            self.notify("Select a pony first (tab to the tiles).", severity="warning")
            return
        name = node.name
        try:
            plan = await self.backend.drain_plan(name)
        except BackendError as error:
            self.notify(str(error), title="Refused", severity="error", timeout=8, markup=False)
            return
        listed = "\n".join(f"• {pod}" for pod in plan[:12]) + ("\n…" if len(plan) > 12 else "")
        what = (
            f"{name} is cordoned, then these pods are evicted (PodDisruptionBudgets respected):"
            f"\n{listed}"
            if plan
            else f"{name} is cordoned; no pod runs there, nothing is evicted."
        )
        if await self.push_screen_wait(Confirm(f"Drain {name}?", what, yes="Drain")):

            def done(result: DrainResult) -> str:
                refused = "; ".join(f"{pod}: {why}" for pod, why in result.refused)
                text = f"Drained {result.node}: {len(result.evicted)} evicted"
                return text + (f", refused: {refused}" if refused else "")

            await self._act(done, self.backend.drain(name))

    @work
    async def action_wake(self) -> None:
        node = self._target_node()
        if node is None:
            self.notify("Select a pony first (tab to the tiles).", severity="warning")
            return
        if not node.mac:
            self.notify(
                f"{node.name}: no MAC address (set the node's ponyconsole/mac annotation)",
                title="Cannot wake",
                severity="error",
                markup=False,
            )
            return
        state = "not ready" if not node.ready else "ready: it looks awake already"
        what = f"A Wake-on-LAN magic packet for {node.mac} is broadcast. {node.name} is {state}."
        if await self.push_screen_wait(Confirm(f"Wake {node.name}?", what, yes="Wake")):
            await self._act(
                lambda sent: f"Waking {node.name}: {sent}", self.backend.wake(node.name)
            )

    def action_filter(self) -> None:
        box = self.filter_box
        box.add_class("-visible")
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.job_list.query_text = event.value
        self.ponies.query_text = event.value
        self.status.filter_text = event.value

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        self.filter_box.remove_class("-visible")
        self.job_list.focus()

    def key_escape(self) -> None:
        box = self.filter_box
        if box.has_class("-visible") or box.value:
            box.value = ""
            box.remove_class("-visible")
            self.job_list.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    @work
    async def action_quit(self) -> None:
        running = [j for j in self.job_list.jobs.values() if j.state is JobState.RUNNING]
        if not getattr(self.backend, "owns_encodes", False):
            self.exit()  # attached to serve, or a cluster: the encodes go on without us
            return
        if running:
            one = len(running) == 1
            if not await self.push_screen_wait(
                Confirm(
                    f"Quit? {len(running)} {'encode is' if one else 'encodes are'} running.",
                    f"{'It stops' if one else 'They stop'} now and "
                    f"{'starts' if one else 'start'} again from the beginning when the "
                    "console next opens; nothing is lost. (`ponyconsole serve` keeps "
                    "encoding with no console open.)",
                    yes="Quit",
                )
            ):
                return
        self.exit()

    async def on_unmount(self) -> None:
        await self.backend.stop()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in APP_BINDINGS:
            if binding.action == "quit":
                continue
            yield SystemCommand(
                f"{binding.description} ({key_label(binding)})",
                binding.tooltip or binding.description,
                lambda action=binding.action: self.run_action(action),
            )
