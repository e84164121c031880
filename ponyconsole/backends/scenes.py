"""Fixed scenes for the memory backend: what screenshots and snapshot tests show.

Times are relative to a fixed `now`, so every render of a scene is identical.
"""

from __future__ import annotations

import dataclasses

from ponyconsole.domain.models import (
    Disc,
    Job,
    JobState,
    Node,
    NodeMetrics,
    PowerSource,
    Progress,
    ProgressState,
    RipKind,
    Stage,
    StageKind,
    Title,
)

NOW = 1_795_000_000.0  # a fixed instant, so renders never drift
GIB = 1024**3

PONIES = ("twilight-sparkle", "rainbow-dash", "pinkie-pie", "fluttershy", "applejack", "rarity")


def metrics(
    cpu: float,
    mem_gib: float,
    watts: float,
    source: PowerSource,
    swap_mib: float = 0,
    swap_in: float = 0.0,
    temp: float | None = 52.0,
) -> NodeMetrics:
    cores = tuple(min(100.0, max(0.0, cpu + d)) for d in (-12, 9, 4, -3))
    return NodeMetrics(
        sampled_at=NOW,
        cpu_percent=cpu,
        per_core=cores,
        mem_used=int(mem_gib * GIB),
        mem_total=16 * GIB,
        swap_used=int(swap_mib * 1024**2),
        swap_total=2 * GIB,
        swap_in_per_s=swap_in,
        swap_out_per_s=swap_in / 2,
        load=(cpu / 25, cpu / 30, cpu / 40),
        temperature_c=temp,
        watts=watts,
        power_source=source,
    )


def _job(n: int, name: str, state: JobState, **kw: object) -> Job:
    library = str(kw.pop("library", "movies"))
    return Job(
        id=f"job{n:04d}",
        source=f"/srv/inbox/{library}/{name}",
        library=library,
        preset=str(kw.pop("preset", "HQ 1080p30 Surround")),
        state=state,
        created_at=NOW - 3600 + n,
        **kw,  # type: ignore[arg-type]
    )


def running(pass_: int, passes: int, percent: float, fps: float, eta: int) -> Progress:
    overall = ((pass_ - 1) + percent / 100) / passes * 100
    return Progress(ProgressState.WORKING, pass_, passes, percent, overall, fps, fps * 0.93, eta)


def scene_jobs(node_names: tuple[str, ...]) -> list[Job]:
    a, b = node_names[0], node_names[min(1, len(node_names) - 1)]
    jobs = [
        _job(
            1,
            "Spirited Away (2001).mkv",
            JobState.RUNNING,
            node=a,
            started_at=NOW - 1510,
            progress=running(2, 2, 41.5, 38.2, 1130),
            command=(
                "HandBrakeCLI",
                "--preset",
                "HQ 1080p30 Surround",
                "--two-pass",
                "-i",
                "/srv/inbox/movies/Spirited Away (2001).mkv",
                "-o",
                "/srv/plex/movies/.Spirited Away (2001).partial.mkv",
            ),
        ),
        _job(
            2,
            "The Iron Giant (1999).iso",
            JobState.RUNNING,
            node=b,
            started_at=NOW - 320,
            progress=running(1, 2, 63.0, 52.7, 900),
            title=1,
        ),
        _job(
            3,
            "Bluey S01 Disc 2",
            JobState.FAILED,
            library="tv",
            started_at=NOW - 4000,
            finished_at=NOW - 3900,
            retries=2,
            reason="HandBrake: No title found.",
        ),
        _job(
            4,
            "Paddington 2 (2017).mkv",
            JobState.FAILED,
            started_at=NOW - 2000,
            finished_at=NOW - 1990,
            reason="HandBrake exited with signal 9 (SIGKILL) after 41 %",
        ),
        _job(
            5,
            "My Neighbor Totoro (1988).mkv",
            JobState.INTERRUPTED,
            reason="interrupted: console stopped during encode",
        ),
        _job(6, "Wallace & Gromit - A Grand Day Out.m2ts", JobState.QUEUED),
        _job(7, "Kiki's Delivery Service (1989).mkv", JobState.QUEUED),
        _job(8, "The Secret of Kells.mkv", JobState.QUEUED, preset="Fast 1080p30"),
        _job(
            9,
            "Song of the Sea.mkv",
            JobState.SUCCEEDED,
            started_at=NOW - 9000,
            finished_at=NOW - 5400,
            output="/srv/plex/movies/Song of the Sea.mkv",
        ),
        _job(10, "Shaun the Sheep Movie.mkv", JobState.CANCELLED, reason="cancelled by user"),
    ]
    return jobs


def local_scene() -> tuple[list[Node], list[Job], list[Disc]]:
    node = Node(
        name="twilight-sparkle",
        internal_ip="192.0.2.10",
        metrics=metrics(87.0, 5.4, 24.6, PowerSource.ESTIMATE, swap_mib=120),
    )
    jobs = [j for j in scene_jobs((node.name,)) if j.id != "job0002"]
    rips = [
        Disc(
            "/srv/inbox/movies/Porco Rosso (1992).mkv",
            "movies",
            RipKind.FILE,
            4_200_000_000,
            titles=(Title(1, 5580.0, 1920, 1080, True, 12),),
        ),
        Disc(
            "/srv/inbox/movies/PONYO_DVD",
            "movies",
            RipKind.DVD,
            7_100_000_000,
            titles=(
                Title(1, 6060.0, 720, 480, True, 20),
                Title(2, 95.0, 720, 480),
                Title(3, 31.0, 720, 480),
            ),
        ),
        Disc("/srv/inbox/tv/Bluey S02 Disc 1.iso", "tv", RipKind.ISO, 2_000_000_000, copying=True),
    ]
    return [node], jobs, rips


def cluster_scene() -> tuple[list[Node], list[Job]]:
    figures = [
        (False, True, 62.0, 6.1, 21.0, PowerSource.KASA, 0, 0.0),
        (False, True, 98.0, 9.8, 31.5, PowerSource.RAPL, 0, 0.0),
        (False, True, 96.0, 14.9, 29.8, PowerSource.RAPL, 1900, 420_000.0),
        (True, True, 3.0, 1.2, 7.1, PowerSource.ESTIMATE, 0, 0.0),
        (False, False, 0.0, 0.0, 0.0, PowerSource.ESTIMATE, 0, 0.0),
        (False, True, 11.0, 2.2, 9.4, PowerSource.KASA, 0, 0.0),
    ]
    nodes = []
    for i, (name, fig) in enumerate(zip(PONIES, figures, strict=True)):
        cordoned, ready, cpu, mem, watts, source, swap, swap_in = fig
        nodes.append(
            Node(
                name=name,
                ready=ready,
                cordoned=cordoned,
                internal_ip=f"127.0.0.{11 + i}",
                kubelet_version="v1.35.4",
                is_master=i == 0,
                pressures=("MemoryPressure",) if swap_in else (),
                metrics=metrics(cpu, mem, watts, source, swap, swap_in) if ready else None,
                has_agent=ready,
            )
        )
    jobs = scene_jobs((PONIES[1], PONIES[2]))
    return nodes, jobs


# --- cluster mode: several pods per pony, pending, stalled, many nodes ------------------

NAMESPACE = "ponyconsole"
CPU_MILLI, MEMORY = 4000, 16 * GIB
TRANSCODE_REQUEST = (2000, 3 * GIB)  # what the transcode Job template requests
UPLOAD_REQUEST = (100, 256 * 1024**2)
SCHEDULER_MESSAGE = (
    "0/6 nodes are available: 1 node(s) were unschedulable, 5 node(s) didn't match "
    "Pod's node affinity/selector. preemption: 0/6 nodes are available: "
    "6 Preemption is not helpful for scheduling."
)


def _kube(job: Job, stage: StageKind = StageKind.TRANSCODE) -> Job:
    """The scene's item as the kube backend gives it: stages, Job names, namespace."""
    base = job.name.rsplit(".", 1)[0].lower()
    slug = "-".join(filter(None, "".join(c if c.isalnum() else "-" for c in base).split("-")))
    transcode_state = job.state if stage is StageKind.TRANSCODE else JobState.SUCCEEDED
    stages = [
        Stage(
            StageKind.TRANSCODE,
            transcode_state,
            f"{slug}-transcode",
            job.node if stage is StageKind.TRANSCODE else "applejack",
            job.reason if stage is StageKind.TRANSCODE else None,
            job.started_at,
        )
    ]
    if stage is StageKind.UPLOAD:
        stages.append(Stage(StageKind.UPLOAD, job.state, f"{slug}-upload", job.node))
    current = stages[-1]
    return dataclasses.replace(
        job,
        stage=current.kind.value,
        stages=tuple(stages),
        namespace=NAMESPACE,
        kube_name=current.kube_name,
        command=(),
    )


def cluster_jobs() -> list[Job]:
    rd, pp, fs, rr = "rainbow-dash", "pinkie-pie", "fluttershy", "rarity"
    jobs = scene_jobs((rd, pp))
    by_id = {job.id: job for job in jobs}
    by_id["job0002"] = dataclasses.replace(by_id["job0002"], stalled=True)
    by_id["job0005"] = dataclasses.replace(
        by_id["job0005"], state=JobState.PENDING, reason=SCHEDULER_MESSAGE
    )
    extra = [
        _job(
            11,
            "Princess Mononoke (1997).mkv",
            JobState.RUNNING,
            node=rd,
            started_at=NOW - 140,
            progress=running(1, 2, 24.0, 47.9, 2300),
        ),
        _job(
            12,
            "Howl's Moving Castle (2004).mkv",
            JobState.RUNNING,
            node=pp,
            started_at=NOW - 40,
        ),
        _job(
            13,
            "Castle in the Sky (1986).mkv",
            JobState.RUNNING,
            node=fs,
            started_at=NOW - 2900,
            progress=running(2, 2, 93.0, 41.0, 95),
        ),
        _job(
            14,
            "Ponyo (2008).mkv",
            JobState.RUNNING,
            node=rr,
            started_at=NOW - 600,
            progress=running(1, 1, 58.0, 88.1, 400),
        ),
    ]
    out = [_kube(by_id[job.id]) for job in jobs]
    out += [_kube(job, StageKind.UPLOAD if job.id == "job0012" else StageKind.TRANSCODE)
            for job in extra]  # fmt: skip
    return out


def _requests(jobs: list[Job], node: str) -> tuple[int, int]:
    cpu = mem = 0
    for job in jobs:
        if job.node == node and job.state is JobState.RUNNING:
            c, m = UPLOAD_REQUEST if job.stage == "upload" else TRANSCODE_REQUEST
            cpu, mem = cpu + c, mem + m
    return cpu, mem


def kube_node(name: str, jobs: list[Job], **kw: object) -> Node:
    cpu, mem = _requests(jobs, name)
    fields: dict[str, object] = {
        "kubelet_version": "v1.35.4",
        "created_at": NOW - 12 * 86400,
        "allocatable_cpu_milli": CPU_MILLI,
        "allocatable_memory": MEMORY,
        "requested_cpu_milli": cpu + 100,  # the node agent's own request
        "requested_memory": mem + 128 * 1024**2,
        "has_agent": False,
    }
    fields.update(kw)
    return Node(name=name, **fields)  # type: ignore[arg-type]


def kube_scene() -> tuple[list[Node], list[Job]]:
    """Six ponies as the cluster shows them today (no agents yet): several pods per pony,
    a pending item with the scheduler's message, a stalled one, a cordoned pony still
    finishing its encode, a NotReady one, one under memory pressure."""
    jobs = cluster_jobs()
    twilight, rainbow, pinkie, flutter, apple, rarity = PONIES
    nodes = [
        kube_node(twilight, jobs, is_master=True, roles=("control-plane",),
                  internal_ip="127.0.0.11"),
        kube_node(rainbow, jobs, internal_ip="127.0.0.12",
                  metrics=metrics(98.0, 9.8, 31.5, PowerSource.RAPL), has_agent=True),
        kube_node(pinkie, jobs, internal_ip="127.0.0.13", pressures=("MemoryPressure",)),
        kube_node(flutter, jobs, internal_ip="127.0.0.14", cordoned=True),
        kube_node(apple, jobs, internal_ip="127.0.0.15", ready=False),
        kube_node(rarity, jobs, internal_ip="127.0.0.16", created_at=NOW - 3 * 3600),
    ]  # fmt: skip
    return nodes, jobs


def kube_agents_scene() -> tuple[list[Node], list[Job]]:
    """The six ponies with their agents: figures from a plug, RAPL and an estimate; one
    agent unreachable (its last figures stale) on a pony that went NotReady, which `p`
    wakes; one pony without an agent. Finished items carry the Wh their pony drew."""
    jobs = [
        dataclasses.replace(j, energy_wh=round(3.1 + 7.7 * i, 2))
        if j.state is JobState.SUCCEEDED
        else j
        for i, j in enumerate(cluster_jobs())
    ]
    twilight, rainbow, pinkie, flutter, apple, rarity = PONIES
    stale = dataclasses.replace(
        metrics(41.0, 5.2, 18.4, PowerSource.KASA), sampled_at=NOW - 95, node=apple
    )
    nodes = [
        kube_node(twilight, jobs, is_master=True, roles=("control-plane",), has_agent=True,
                  internal_ip="127.0.0.11", mac="02:00:00:00:00:11",
                  metrics=metrics(7.0, 2.9, 8.3, PowerSource.ESTIMATE, temp=None)),
        kube_node(rainbow, jobs, internal_ip="127.0.0.12", has_agent=True,
                  mac="02:00:00:00:00:12", metrics=metrics(98.0, 9.8, 31.5, PowerSource.RAPL)),
        kube_node(pinkie, jobs, internal_ip="127.0.0.13", pressures=("MemoryPressure",),
                  has_agent=True, mac="02:00:00:00:00:13",
                  metrics=metrics(96.0, 14.9, 29.8, PowerSource.KASA, 1900, 420_000.0, 81.0)),
        kube_node(flutter, jobs, internal_ip="127.0.0.14", cordoned=True, has_agent=True,
                  mac="02:00:00:00:00:14", metrics=metrics(12.0, 3.1, 9.9, PowerSource.RAPL)),
        kube_node(apple, jobs, internal_ip="127.0.0.15", ready=False, has_agent=True,
                  mac="02:00:00:00:00:15", metrics=stale,
                  agent_problem="agent unreachable since 21:58:12"),
        kube_node(rarity, jobs, internal_ip="127.0.0.16", created_at=NOW - 3 * 3600,
                  agent_problem="no agent"),
    ]  # fmt: skip
    return nodes, jobs


def big_kube_scene(count: int = 300) -> tuple[list[Node], list[Job]]:
    """``count`` ponies (the scale bench's cluster): one line each, every state somewhere."""
    names = [*PONIES, *(f"pony-{i:03d}" for i in range(len(PONIES), count))]
    jobs: list[Job] = []
    for i, name in enumerate(names):
        if i % 3 == 1:
            jobs.append(
                _kube(
                    _job(
                        100 + i,
                        f"Episode {i:03d}.mkv",
                        JobState.RUNNING,
                        library="tv",
                        node=name,
                        started_at=NOW - 60 * (i % 50),
                        progress=running(1, 1, (i * 7) % 100, 60.0, 300),
                        stalled=i % 97 == 1,
                    )
                )
            )
    jobs.append(_kube(_job(99, "Unplaceable.mkv", JobState.PENDING, reason=SCHEDULER_MESSAGE)))
    nodes = []
    for i, name in enumerate(names):
        nodes.append(
            kube_node(
                name,
                jobs,
                is_master=i == 0,
                roles=("control-plane",) if i == 0 else (),
                ready=i % 53 != 7,
                cordoned=i % 41 == 5,
                pressures=("DiskPressure",) if i % 67 == 9 else (),
                internal_ip=f"10.0.{i // 250}.{i % 250 + 1}",
            )
        )
    return nodes, jobs
