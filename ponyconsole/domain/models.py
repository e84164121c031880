"""The immutable objects every backend speaks and every screen renders.

Both backends (local and Kubernetes) produce exactly these, so the UI never
needs to know which one it talks to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ponyconsole.domain.naming import shown


class JobState(StrEnum):
    QUEUED = "queued"
    PENDING = "pending"  # cluster: created, but the scheduler cannot place its pod yet
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)

    @property
    def retryable(self) -> bool:
        return self in (JobState.FAILED, JobState.CANCELLED)

    @property
    def cancellable(self) -> bool:
        return self in (JobState.QUEUED, JobState.PENDING, JobState.RUNNING, JobState.INTERRUPTED)


class ProgressState(StrEnum):
    """What HandBrake says it is doing (its own JSON state names, lower-cased)."""

    SCANNING = "scanning"
    SEARCHING = "searching"
    WORKING = "working"
    PAUSED = "paused"
    MUXING = "muxing"
    WORKDONE = "workdone"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress update of one HandBrake run.

    ``percent`` is within the current pass (task); ``overall_percent`` spreads
    the passes evenly across 0..100 so a 2-pass encode never jumps backwards.
    """

    state: ProgressState
    pass_: int = 1
    passes: int = 1
    percent: float = 0.0
    overall_percent: float = 0.0
    fps: float | None = None
    avg_fps: float | None = None
    eta_seconds: int | None = None
    message: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "pass": self.pass_,
            "passes": self.passes,
            "percent": round(self.percent, 2),
            "overall_percent": round(self.overall_percent, 2),
            "fps": self.fps,
            "avg_fps": self.avg_fps,
            "eta_seconds": self.eta_seconds,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Progress:
        """The inverse of ``as_json`` (what the queue stores and ``ponyconsole transcode`` prints).

        Raises ``ValueError`` (or ``KeyError``/``TypeError``) on a malformed object.
        """
        state = ProgressState(str(data["state"]))

        def number(key: str, default: float | None) -> float | None:
            value = data.get(key, default)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{key} is not a number: {value!r}")
            return float(value)

        def whole(key: str, default: int) -> int:
            value = number(key, default)
            return default if value is None else int(value)

        eta = number("eta_seconds", None)
        message = data.get("message")
        return cls(
            state=state,
            pass_=whole("pass", 1),
            passes=whole("passes", 1),
            percent=number("percent", 0.0) or 0.0,
            overall_percent=number("overall_percent", 0.0) or 0.0,
            fps=number("fps", None),
            avg_fps=number("avg_fps", None),
            eta_seconds=None if eta is None else int(eta),
            message=None if message is None else str(message),
        )


class ProgressDraft:
    """A mutable twin of ``Progress`` (same slots, same order) for hot loops.

    The frozen dataclass's ``__init__`` pays one ``object.__setattr__`` call per
    field (~1 us for nine); filling a draft costs a fifth of that, and
    ``draft.__class__ = Progress`` then turns it, in place, into a genuine
    frozen ``Progress`` (allowed because both layouts are identical; a drift
    between the two classes makes that assignment raise ``TypeError``).
    """

    __slots__ = (  # noqa: RUF023 - the order is the layout, Progress's field order
        "state",
        "pass_",
        "passes",
        "percent",
        "overall_percent",
        "fps",
        "avg_fps",
        "eta_seconds",
        "message",
    )

    def __init__(
        self,
        state: ProgressState,
        pass_: int,
        passes: int,
        percent: float,
        overall_percent: float,
        fps: float | None,
        avg_fps: float | None,
        eta_seconds: int | None,
        message: str | None,
    ) -> None:
        self.state = state
        self.pass_ = pass_
        self.passes = passes
        self.percent = percent
        self.overall_percent = overall_percent
        self.fps = fps
        self.avg_fps = avg_fps
        self.eta_seconds = eta_seconds
        self.message = message


class StageKind(StrEnum):
    TRANSCODE = "transcode"
    UPLOAD = "upload"


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of a rip's pipeline: in cluster mode, one Kubernetes Job."""

    kind: StageKind
    state: JobState
    kube_name: str | None = None
    node: str | None = None
    reason: str | None = None
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One rip's work: one transcode locally; in cluster mode its chain of Jobs (``stages``).

    ``state`` and ``stage`` are the item's as a whole (the stage that is
    current: the failed one, else the running one, else the last);
    ``reason`` is the last failure reason (kept across retries), or, while
    PENDING, the scheduler's own message. ``stalled`` is set by the backend
    when a running transcode's progress has not moved for its stall time.
    """

    id: str
    source: str
    library: str
    preset: str
    state: JobState
    title: int | None = None
    output: str | None = None
    node: str | None = None
    progress: Progress | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    retries: int = 0
    reason: str | None = None
    stage: str = "transcode"
    command: tuple[str, ...] = ()
    stages: tuple[Stage, ...] = ()
    namespace: str | None = None
    kube_name: str | None = None
    stalled: bool = False
    energy_wh: float | None = None  # what its pony drew while it ran (agent or local figures)

    @property
    def name(self) -> str:
        """The rip's file or folder name as a screen can show it (not-UTF-8 bytes as U+FFFD)."""
        return shown(self.source.rstrip("/").rsplit("/", 1)[-1])

    def elapsed(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started_at)


class PowerSource(StrEnum):
    KASA = "kasa"
    RAPL = "rapl"
    ESTIMATE = "estimate"


@dataclass(frozen=True, slots=True)
class NodeMetrics:
    """Health figures of one pony at one instant (from psutil, locally or via its agent)."""

    sampled_at: float
    cpu_percent: float
    per_core: tuple[float, ...] = ()
    mem_used: int = 0
    mem_total: int = 0
    swap_used: int = 0
    swap_total: int = 0
    swap_in_per_s: float = 0.0
    swap_out_per_s: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    temperature_c: float | None = None
    watts: float | None = None
    power_source: PowerSource | None = None
    energy_joules: float | None = None  # cumulative since the sampler started: Wh per job
    power_note: str | None = None  # why the best source is not used ("RAPL not readable: ...")
    node: str = ""  # the Kubernetes node name the figures are of ("" locally)

    @property
    def mem_percent(self) -> float:
        return 100.0 * self.mem_used / self.mem_total if self.mem_total else 0.0

    @property
    def swap_percent(self) -> float:
        return 100.0 * self.swap_used / self.swap_total if self.swap_total else 0.0


@dataclass(frozen=True, slots=True)
class Node:
    """A pony: what the scheduler knows of it, plus its latest metrics if any."""

    name: str
    ready: bool = True
    cordoned: bool = False
    pressures: tuple[str, ...] = ()
    internal_ip: str | None = None
    kubelet_version: str | None = None
    created_at: float | None = None
    is_master: bool = False
    metrics: NodeMetrics | None = None
    has_agent: bool = True
    roles: tuple[str, ...] = ()
    allocatable_cpu_milli: int | None = None
    allocatable_memory: int | None = None
    requested_cpu_milli: int = 0
    requested_memory: int = 0
    mac: str | None = None
    agent_problem: str | None = None  # "agent unreachable since 21:30:05": metrics are stale


class RipKind(StrEnum):
    FILE = "file"
    DVD = "dvd"
    BLURAY = "bluray"
    ISO = "iso"


@dataclass(frozen=True, slots=True)
class Title:
    """One title of a rip, as `HandBrakeCLI --scan --json` reports it."""

    index: int
    duration_seconds: float
    width: int = 0
    height: int = 0
    main_feature: bool = False
    chapters: int = 0
    name: str = ""


@dataclass(frozen=True, slots=True)
class Disc:
    """A rip in the inbox: a video file, a VIDEO_TS/BDMV folder or an ISO."""

    path: str
    library: str
    kind: RipKind
    size: int
    copying: bool = False
    titles: tuple[Title, ...] = field(default=())
    scan_error: str | None = None

    @property
    def name(self) -> str:
        """As a screen can show it; the path itself keeps the exact bytes."""
        return shown(self.path.rstrip("/").rsplit("/", 1)[-1])

    @property
    def main_title(self) -> Title | None:
        for title in self.titles:
            if title.main_feature:
                return title
        return max(self.titles, key=lambda t: t.duration_seconds, default=None)


@dataclass(frozen=True, slots=True)
class EnqueueRequest:
    path: str
    library: str
    preset: str
    title: int | None = None


@dataclass(frozen=True, slots=True)
class JobDetail:
    job: Job
    log_tail: tuple[str, ...] = ()
