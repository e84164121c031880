"""Cluster mode against k9s: the console and k9s v0.50.16 side by side on the same test cluster.

Starts its own pony test cluster (cluster/ponycluster.py: real kube-apiserver, etcd,
controller-manager and scheduler, kwok nodes, --disable-qps-limits) and runs each client in a
detached 160x48 tmux pane on a private tmux socket: the console in cluster mode
(`ponyconsole --kubeconfig F --namespace NS`) and k9s in its nodes view (`-c nodes`) and its
jobs view (`-c jobs`), read-only, with a config folder of its own. Issue 11's aims are printed
beside the figures.

  small: 6 ponies + 200 finished ponyconsole Jobs. Idle CPU (% of one core) and RSS of each
         client, all measured over the same window; then again with six transcodes running
         (one per pony) whose pod logs grow at HandBrake's real pace (a real HandBrakeCLI
         capture replayed into the CRI log files kwok serves).
  large: 300 nodes + 3,000 finished Jobs. One client at a time: first full paint (process
         start until the pane shows the full node / Job count), idle CPU and RSS, the API
         requests a minute it makes at idle (the API server's audit log over the window,
         every request not from a control-plane component, kwok or the bench), and for node
         views the p95
         from a node cordoned through the API to the pane showing it (20 samples, the pane
         read every ~20 ms).

    .venv/bin/python bench/bench_cluster_cost.py [--scenario small|large|all] [--seconds 30]
        [--api-seconds 60] [--skip-k9s] [--skip-console] [--baseline REV] [--idle-app]
        [--py-spy SECONDS]

--baseline REV runs the console as it was at a git revision beside this tree's (same load,
same window: the fair before/after on a busy machine); --idle-app adds the smallest idle
Textual app; --py-spy samples the console after the six-transcode window (CPU per thread,
busy stacks by group; needs `pip install py-spy`).

k9s comes from `make k9s` (bench/build-k9s). Everything stops by itself (tmux server killed,
cluster stopped) on errors and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cluster_load as load
from bench_console_cost import Tmux, cpu_seconds, rss_bytes
from handbrake_replay import LogFeeder, cached_capture

from cluster.binaries import cache_dir
from cluster.ponycluster import PONIES, ClusterError, PonyCluster

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
K9S_VERSION = "v0.50.16"
NAMESPACE = "ponyconsole"
PONY_NAMES = [p[0] for p in PONIES]

# Issue 11's aims, and k9s as measured in DESIGN.md.
AIMS = {
    "small idle CPU %": "<= 1 %",
    "small RSS MiB": "<= 150 MB",
    "small 6 transcodes CPU %": "<= 1.5 %",
    "large first paint s": "<= 1 s (k9s 1.3-2.9)",
    "large idle CPU %": "<= 2 % (k9s 10.7-20.6)",
    "large RSS MiB": "<= 150 MB (k9s 261-298 MiB)",
    "large cordon p95 s": "<= 0.25 s (k9s 0.72)",
    "large extra API req/min": "<= 5 (k9s 12-18)",
}
AIM_LIMITS = {
    "small idle CPU %": 1.0,
    "small RSS MiB": 150e6 / 2**20,
    "small 6 transcodes CPU %": 1.5,
    "large first paint s": 1.0,
    "large idle CPU %": 2.0,
    "large RSS MiB": 150e6 / 2**20,
    "large cordon p95 s": 0.25,
    "large extra API req/min": 5.0,
}


def k9s_binary() -> Path:
    return cache_dir().parent / f"k9s-{K9S_VERSION}" / "k9s"


# ---------------------------------------------------------------- clients


@dataclass
class Client:
    """One program in one pane: how to start it and how to read its screen."""

    label: str
    key: str  # "console" | "k9s nodes" | "k9s jobs"
    argv: list[str]
    painted: Callable[[str], bool]  # the screen shows everything (full first paint)
    cordoned: Callable[[str, str], bool] | None  # (screen, node) -> node shown cordoned
    nodes_drawn: Callable[[str], bool] | None = None  # every node shown (items may follow)
    proc: psutil.Process | None = None
    marks: dict[str, float] = field(default_factory=dict)  # "first frame", "all nodes" (s)
    results: dict[str, float] = field(default_factory=dict)
    trace: Path | None = None  # the console's start-up milestones (ponyconsole/startup_trace.py)


# The console's start-up milestones the report shows (seconds from process start): the
# split of its first full paint. Each is the last line of the trace that starts so.
TRACE_MARKS = {
    "imports done": "app imported",
    "lists landed": "listed ",
    "converted": "rebuilt",
    "items painted": "painted (",
}


def trace_marks(trace: Path, started_wall: float) -> dict[str, float]:
    """Seconds from ``started_wall`` to each milestone of ``TRACE_MARKS`` in the trace."""
    out: dict[str, float] = {}
    for line in trace.read_text().splitlines() if trace.exists() else []:
        at, _thread, what = line.split(" ", 2)
        for mark, prefix in TRACE_MARKS.items():
            if what.startswith(prefix):
                out[mark] = float(at) - started_wall
    return out


def _lines_with(screen: str, word: str) -> list[str]:
    pat = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
    return [line for line in screen.splitlines() if pat.search(line)]


def _count(n: int) -> str:
    return rf"(?<![\d,])({n}|{n:,})(?![\d,])"


def console_client(kubeconfig: Path, env: list[str], nodes: int, ok: int, failed: int) -> Client:
    """The console in cluster mode. Painted: its header counts every pony and every item."""
    trace = Path(env[1].split("=", 1)[1]).parent / f"startup-trace-{time.monotonic_ns()}"
    argv = [*env, f"PONYCONSOLE_STARTUP_TRACE={trace}", str(BIN / "ponyconsole")]
    argv += ["--kubeconfig", str(kubeconfig), "--namespace", NAMESPACE]
    wanted = [
        re.compile(_count(nodes) + " ponies"),
        re.compile(_count(ok) + " succeeded"),
        re.compile(_count(failed) + " failed"),
    ]

    def painted(screen: str) -> bool:
        header = "\n".join(screen.splitlines()[:3])
        return all(p.search(header) for p in wanted)

    def cordoned(screen: str, node: str) -> bool:
        return any("cordoned" in line for line in _lines_with(screen, node))

    def nodes_drawn(screen: str) -> bool:
        return bool(wanted[0].search("\n".join(screen.splitlines()[:3])))

    client = Client("ponyconsole (cluster mode)", "console", argv, painted, cordoned, nodes_drawn)
    client.trace = trace
    return client


def baseline_client(
    rev: str, kubeconfig: Path, env: list[str], tmp: Path, nodes: int, done: tuple[int, int]
) -> Client:
    """The console as it was at git revision ``rev`` (its package only, from `git archive`),
    side by side with this tree's in the same run: the two see the same load."""
    root = tmp / f"baseline-{rev}"
    root.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "ponyconsole"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True, timeout=60)
    client = console_client(kubeconfig, env, nodes, *done)
    start = "import sys; from ponyconsole.cli import main; sys.exit(main())"
    client.argv = [*env, f"PYTHONPATH={root}", sys.executable, "-c", start]
    client.argv += ["--kubeconfig", str(kubeconfig), "--namespace", NAMESPACE]
    client.label, client.key = f"console at {rev}", "baseline"
    return client


def k9s_clients(kubeconfig: Path, env: list[str], nodes: int, jobs: int) -> list[Client]:
    """k9s's nodes and jobs views, read-only. Painted: the view's title shows the full count."""
    state = next(e.split("=", 1)[1] for e in env if e.startswith("XDG_STATE_HOME="))
    base = [*env, str(k9s_binary()), "--kubeconfig", str(kubeconfig), "--readonly"]
    base += ["--logFile", str(Path(state) / "k9s.log")]
    node_title = re.compile(rf"Nodes(\([^)]*\))?\[{nodes}\]", re.IGNORECASE)
    job_title = re.compile(rf"Jobs\({NAMESPACE}\)\[{jobs}\]", re.IGNORECASE)

    def cordoned(screen: str, node: str) -> bool:
        return any("SchedulingDisabled" in line for line in _lines_with(screen, node))

    return [
        Client(
            "k9s nodes view", "k9s nodes", [*base, "-c", "nodes"],
            lambda s: bool(node_title.search(s)), cordoned,
        ),
        Client(
            "k9s jobs view", "k9s jobs", [*base, "-n", NAMESPACE, "-c", "jobs"],
            lambda s: bool(job_title.search(s)), None,
        ),
    ]  # fmt: skip


def private_env(root: Path) -> list[str]:
    """`env` prefix giving a client config/state folders of its own (k9s writes its config)."""
    home = root / "home"
    for sub in ("config/k9s", "state", "data", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    # Without this k9s asks GitHub for its latest release at start.
    (home / "config" / "k9s" / "config.yaml").write_text("k9s:\n  skipLatestRevCheck: true\n")
    return [
        "env",
        f"XDG_CONFIG_HOME={home / 'config'}",
        f"XDG_STATE_HOME={home / 'state'}",
        f"XDG_DATA_HOME={home / 'data'}",
        f"XDG_CACHE_HOME={home / 'cache'}",
        f"K9S_CONFIG_DIR={home / 'config' / 'k9s'}",
        "KUBECONFIG=/dev/null",
    ]


# ---------------------------------------------------------------- panes


class ClientFailed(Exception):
    """One client could not be measured (it did not paint, exited, ...); the others still are."""


class Panes:
    """Clients in detached tmux panes of one private tmux server."""

    def __init__(self, width: int, height: int) -> None:
        self.tmux = Tmux()
        self.width, self.height = width, height
        self.sessions: dict[str, Client] = {}

    @staticmethod
    def session(client: Client) -> str:
        return client.key.replace(" ", "-")

    def start(self, client: Client, timeout: float = 90.0) -> float:
        """Start the client; seconds from process start until its full first paint."""
        started, started_wall = time.monotonic(), time.time()
        self.tmux.run(
            "new-session", "-d", "-s", self.session(client), "-x", str(self.width),
            "-y", str(self.height), "-e", "TERM=xterm-256color", *client.argv,
        )  # fmt: skip
        pid = self.tmux.run("display-message", "-p", "-t", self.session(client), "#{pane_pid}")
        client.proc = psutil.Process(int(pid.strip()))
        self.sessions[self.session(client)] = client
        deadline = started + timeout
        while time.monotonic() < deadline:
            screen = self.capture(client)
            now = time.monotonic() - started
            if screen.strip():
                client.marks.setdefault("first frame", now)
            if client.nodes_drawn is not None and client.nodes_drawn(screen):
                client.marks.setdefault("all nodes", now)
            if client.painted(screen):
                if client.trace is not None:
                    time.sleep(0.3)  # the last milestone is written after the frame
                    client.marks.update(trace_marks(client.trace, started_wall))
                return now
            self.check_alive(client)
            time.sleep(0.02)
        raise ClientFailed(
            f"{client.label}: no full paint after {timeout:g} s; pane shows:\n"
            + self.capture(client)
        )

    def capture(self, client: Client) -> str:
        return self.tmux.capture(self.session(client))

    def check_alive(self, client: Client) -> None:
        assert client.proc is not None
        try:
            alive = client.proc.is_running() and client.proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            alive = False
        if not alive:
            raise ClientFailed(f"{client.label} exited; pane shows:\n{self.capture(client)}")

    def stop(self, client: Client) -> None:
        self.tmux.run("kill-session", "-t", self.session(client))
        self.sessions.pop(self.session(client), None)
        if client.proc is not None:
            try:
                client.proc.wait(timeout=10)
            except psutil.TimeoutExpired:
                client.proc.kill()
            except psutil.Error:
                pass

    def close(self) -> None:
        self.tmux.kill_server()


def measure(panes: Panes, clients: list[Client], seconds: float) -> dict[str, tuple[float, float]]:
    """CPU (% of one core) and peak RSS (MiB) of each client over one shared window."""
    start = {c.key: cpu_seconds(c.proc) for c in clients if c.proc}
    rss: dict[str, int] = {c.key: 0 for c in clients}
    t0 = time.monotonic()
    end = t0 + seconds
    while (now := time.monotonic()) < end:
        time.sleep(min(1.0, end - now))
        for c in clients:
            assert c.proc is not None
            rss[c.key] = max(rss[c.key], rss_bytes(c.proc))
    window = time.monotonic() - t0
    out = {}
    for c in clients:
        assert c.proc is not None
        panes.check_alive(c)
        cpu = 100.0 * (cpu_seconds(c.proc) - start[c.key]) / window
        out[c.key] = (cpu, rss[c.key] / 2**20)
    return out


def cordon_latencies(
    panes: Panes, cluster: PonyCluster, client: Client, samples: int, timeout: float = 10.0
) -> list[float]:
    """Seconds from a cordon sent through the API to the pane showing it, ``samples`` times."""
    assert client.cordoned is not None
    screen = panes.capture(client)
    visible = [n for n in cluster.nodes if _lines_with(screen, n)]
    if not visible:
        raise ClientFailed(f"{client.label}: no node name on screen:\n{screen}")
    out = []
    for i in range(samples):
        node = visible[i % len(visible)]
        t0 = time.monotonic()
        load.set_cordoned(cluster, node, True)
        while not client.cordoned(panes.capture(client), node):
            if time.monotonic() - t0 > timeout:
                raise ClientFailed(f"{client.label}: {node} not shown cordoned after {timeout:g} s")
            time.sleep(0.02)
        out.append(time.monotonic() - t0)
        load.set_cordoned(cluster, node, False)
        t1 = time.monotonic()
        while client.cordoned(panes.capture(client), node) and time.monotonic() - t1 < timeout:
            time.sleep(0.05)
        time.sleep(0.2)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


# ---------------------------------------------------------------- scenarios


@contextmanager
def running_cluster(extra_nodes: int, audit: bool = False) -> Iterator[PonyCluster]:
    t0 = time.monotonic()
    for attempt in (1, 2):
        try:
            cluster = PonyCluster.start(
                pod_delay=0.2, extra_nodes=extra_nodes, ready_timeout=180, audit=audit
            )
            break
        except ClusterError as e:
            # Other clusters on this machine may take a port kwokctl picked between its
            # check and its use (the kwok controller then exits): try once more.
            if attempt == 2:
                raise
            print(f"cluster start failed, once more: {str(e).splitlines()[0]}", flush=True)
    try:
        print(f"cluster: {len(cluster.nodes)} nodes Ready after {time.monotonic() - t0:.0f} s")
        load.ensure_namespace(cluster, NAMESPACE)
        load.mark_bench_requests(cluster)
        yield cluster
    finally:
        cluster.stop()


def fill_jobs(cluster: PonyCluster, count: int) -> tuple[int, int]:
    """``count`` finished Jobs; (succeeded, failed)."""
    t0 = time.monotonic()
    load.create_jobs(cluster, NAMESPACE, load.finished_jobs(count))
    ok, failed = load.wait_jobs_finished(cluster, NAMESPACE, count, timeout=max(180, count * 0.4))
    print(f"jobs: {ok} succeeded, {failed} failed, after {time.monotonic() - t0:.0f} s", flush=True)
    return ok, failed


def make_clients(
    args: argparse.Namespace, cluster: PonyCluster, tmp: Path, done: tuple[int, int]
) -> list[Client]:
    env = private_env(tmp)
    nodes = len(cluster.nodes)
    jobs = sum(done)
    clients = []
    if not args.skip_console:
        clients.append(console_client(cluster.kubeconfig, env, nodes, *done))
    if args.baseline:
        clients.append(baseline_client(args.baseline, cluster.kubeconfig, env, tmp, nodes, done))
    if args.idle_app:
        marker = "idle baseline app"
        argv = [*env, sys.executable, str(ROOT / "bench" / "idle_textual_app.py")]
        clients.append(Client("idle Textual app", "idle app", argv, lambda s: marker in s, None))
    if not args.skip_k9s:
        clients += k9s_clients(cluster.kubeconfig, env, nodes, jobs)
    return clients


def small(
    args: argparse.Namespace, tmp: Path, results: dict[str, dict[str, float]], failures: list[str]
) -> None:
    jobs = 200
    capture = cached_capture()
    print(
        f"HandBrakeCLI {capture.version} capture: {len(capture.lines)} lines, "
        f"{capture.rate:.1f} lines/s"
    )
    with running_cluster(0) as cluster:
        done = fill_jobs(cluster, jobs)
        panes = Panes(args.width, args.height)
        try:
            clients = []
            for c in make_clients(args, cluster, tmp, done):
                # One after the other, so they do not slow each other's start.
                try:
                    paint = panes.start(c)
                except ClientFailed as e:
                    failures.append(f"small: {e}")
                    print(f"FAILED: {e}", flush=True)
                    panes.stop(c)
                    continue
                clients.append(c)
                results.setdefault(c.key, {})["small first paint s"] = paint
            if not clients:
                return
            time.sleep(args.settle)
            load_avg = os.getloadavg()
            for key, (cpu, rss) in measure(panes, clients, args.seconds).items():
                results[key]["small idle CPU %"] = cpu
                results[key]["small RSS MiB"] = rss
            print(f"small idle window done (load average {load_avg[0]:.1f})", flush=True)
            files = load.start_live_transcodes(cluster, NAMESPACE, PONY_NAMES, tmp / "podlogs")
            feeder = LogFeeder(capture, files)
            feeder.start()
            try:
                time.sleep(args.settle)
                load_avg = os.getloadavg()
                window = measure(panes, clients, args.seconds)
                if args.py_spy:
                    profile_console(clients, args.py_spy, tmp)
            finally:
                feeder.stop()
            for key, (cpu, rss) in window.items():
                results[key]["small 6 transcodes CPU %"] = cpu
                results[key]["small 6 transcodes RSS MiB"] = rss
            print(
                f"small transcode window done (load average {load_avg[0]:.1f}; "
                f"{feeder.appended} lines appended to each of {len(files)} pod logs)",
                flush=True,
            )
            if args.show:
                for c in clients:
                    print(f"\n{c.label} at the end:\n{panes.capture(c)}")
        finally:
            panes.close()


def settle_load(calm: float, wait: float) -> float:
    """Wait until the 1-minute load average is at most ``calm`` (at most ``wait`` s); the load."""
    deadline = time.monotonic() + wait
    while os.getloadavg()[0] > calm and time.monotonic() < deadline:
        time.sleep(2.0)
    return os.getloadavg()[0]


def large(
    args: argparse.Namespace, tmp: Path, results: dict[str, dict[str, float]], failures: list[str]
) -> None:
    jobs = 3000
    with running_cluster(294, audit=True) as cluster:
        done = fill_jobs(cluster, jobs)
        for c in make_clients(args, cluster, tmp, done):
            panes = Panes(args.width, args.height)
            try:
                r = results.setdefault(c.key, {})
                # The first client used to start while the cluster still settled from 3,000
                # Jobs (load 4+ against ~1 for the next ones): each now starts once it is calm.
                r["large load before start"] = settle_load(args.calm_load, args.calm_wait)
                r["large first paint s"] = panes.start(c, timeout=180)
                for mark, value in c.marks.items():
                    r[f"large {mark} s"] = value
                r["large load at paint"] = os.getloadavg()[0]
                time.sleep(args.settle)
                offset, since = load.audit_offset(cluster), time.time()
                load_avg = os.getloadavg()
                cpu, rss = measure(panes, [c], args.api_seconds)[c.key]
                until = time.time()
                time.sleep(1.0)  # the audit log is written when a response completes
                seen = load.client_requests(cluster, offset, since, until)
                r["large idle CPU %"] = cpu
                r["large RSS MiB"] = rss
                r["large extra API req/min"] = sum(seen.values()) * 60.0 / (until - since)
                print(
                    f"{c.label}: window done (load average {load_avg[0]:.1f}); its requests "
                    f"(audit log): {dict(seen.most_common(8))}",
                    flush=True,
                )
                if c.cordoned is not None:
                    lat = cordon_latencies(panes, cluster, c, args.cordon_samples)
                    r["large cordon p50 s"] = statistics.median(lat)
                    r["large cordon p95 s"] = p95(lat)
                if args.show:
                    print(f"\n{c.label} at the end:\n{panes.capture(c)}")
            except ClientFailed as e:
                failures.append(f"large: {e}")
                print(f"FAILED: {e}", flush=True)
            finally:
                panes.close()


def profile_console(clients: list[Client], seconds: float, tmp: Path) -> None:
    """After the measured window: where the console's CPU goes, two ways at once.

    The CPU time of each of its threads (psutil, exact), named by py-spy (`pip install
    py-spy`), which also samples the stacks (collapsed, per thread, into bench-profile/);
    samples resting in a blocking call (select, recv, a lock) are dropped, as py-spy's own
    idle guess lets many through on this machine.
    """
    console = next((c for c in clients if c.key == "console" and c.proc), None)
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if console is None or console.proc is None or not os.access(spy, os.X_OK):
        print("py-spy: no console or no py-spy (pip install py-spy); no profile", flush=True)
        return
    out = ROOT / "bench-profile" / f"cluster-small-{time.strftime('%H%M%S')}.txt"
    out.parent.mkdir(exist_ok=True)
    before = {t.id: t.user_time + t.system_time for t in console.proc.threads()}
    t0 = time.monotonic()
    done = subprocess.run(
        [spy, "record", "--pid", str(console.proc.pid), "--duration", f"{seconds:g}",
         "--rate", "250", "--threads", "--nonblocking", "--format", "raw", "-o", str(out)],
        capture_output=True, text=True, timeout=seconds + 60, check=False,
    )  # fmt: skip
    after = {t.id: t.user_time + t.system_time for t in console.proc.threads()}
    window = time.monotonic() - t0
    if done.returncode != 0:
        print(f"py-spy failed: {done.stderr.strip()[-400:]}", flush=True)
        return
    used = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    total = 100.0 * sum(used.values()) / window
    print(f"py-spy: {out} ({window:.0f} s, console at {total:.2f} % of a core)", flush=True)
    for line in profile_report(out, used, window):
        print("  " + line)


#: Leaf frames of a thread that waits (not CPU).
WAITING = (
    "selectors.py",
    "Condition.wait",
    "Event.wait",
    "SSLSocket.read ",
    "SSLSocket.recv",
    "socket.py:706",
    "Queue.get",
    "lock.acquire",
    "sleep (",
)

#: Where a sample's CPU goes: the first group one of whose patterns is in the stack.
PROFILE_GROUPS = [
    (
        "log parser (domain)",
        (
            "handbrake_progress",
            "handbrake_json",
            "json_progress",
            "LineDecoder",
            "ProgressFollower._line",
        ),
    ),
    ("log stream reads (urllib3/ssl)", ("LogStream", "log_reader", "line_stream")),
    ("watches (informer)", ("Informer.",)),
    ("backend tick/store/hub", ("KubeBackend", "kube/store.py", "event_hub.py")),
    ("agent poller", ("agents.py", "AgentPoller", "aiohttp")),
    ("app: apply events/set_jobs", ("PonyConsole.connect", "PonyConsole.apply")),
    ("app: timers (_tick, refresh_running)", ("Timer._run",)),
    ("textual compositor/render", ("_compositor", "Compositor", "render", "Strip", "rich/")),
    ("textual driver/output", ("drivers/", "_writer_thread")),
    ("textual messages/other", ("textual/",)),
    ("asyncio loop", ("asyncio/",)),
]


def profile_report(path: Path, used: dict[int, float], window: float) -> list[str]:
    """CPU per thread (named from the samples) and busy samples per group."""
    from collections import Counter

    groups: Counter[str] = Counter()
    names: dict[int, str] = {}
    busy = idle = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        head = re.match(r"thread \((\d+)\): (.*)", frames[0])
        if head:
            names[int(head.group(1))] = head.group(2)
        if any(w in frames[-1] for w in WAITING):
            idle += int(count)
            continue
        busy += int(count)
        text = ";".join(frames[1:])
        group = next((g for g, pats in PROFILE_GROUPS if any(p in text for p in pats)), "other")
        groups[group] += int(count)
    by_name: Counter[str] = Counter()
    for tid, seconds in used.items():
        name = names.get(tid, f"thread {tid}")
        by_name[re.sub(r"^log-.*", "log-<pod> (all log streams)", name)] += seconds
    out = ["CPU by thread (% of a core):"]
    out += [f"{100 * s / window:6.2f} %  {n}" for n, s in by_name.most_common() if s > 0]
    out += [f"busy samples by group ({busy} busy, {idle} resting in a wait, dropped):"]
    out += [f"{100 * n / max(1, busy):5.1f} %  {g}" for g, n in groups.most_common()]
    return out


# ---------------------------------------------------------------- report

ROWS = [
    "small first paint s",
    "small idle CPU %",
    "small RSS MiB",
    "small 6 transcodes CPU %",
    "small 6 transcodes RSS MiB",
    "large first frame s",
    "large all nodes s",
    "large imports done s",
    "large lists landed s",
    "large converted s",
    "large items painted s",
    "large first paint s",
    "large idle CPU %",
    "large RSS MiB",
    "large cordon p50 s",
    "large cordon p95 s",
    "large extra API req/min",
]


COLUMNS = [  # key, heading
    ("console", "console"),
    ("baseline", "baseline"),
    ("idle app", "idle app"),
    ("k9s nodes", "k9s nodes"),
    ("k9s jobs", "k9s jobs"),
]


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    always = ("console", "k9s nodes", "k9s jobs")
    columns = [(k, h) for k, h in COLUMNS if k in results or k in always]
    print()
    print(
        f"Cluster mode against k9s {K9S_VERSION}, {args.width}x{args.height} tmux panes, "
        f"{args.seconds:g} s windows (small), {args.api_seconds:g} s (large); "
        f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if "baseline" in results:
        print(f"(baseline: the console at {args.baseline}, in the same run)")
    head = f"{'':<28}" + "".join(f"{h:>11}" for _, h in columns) + f"{'ratio n/j':>13}  aim"
    print(head)
    print("-" * (len(head) + 28))

    def cell(key: str, row: str) -> str:
        v = results.get(key, {}).get(row)
        return "-" if v is None else f"{v:.2f}" if v < 10 else f"{v:.1f}"

    for row in ROWS:
        if not any(row in results.get(k, {}) for k, _ in columns):
            continue
        mine = results.get("console", {}).get(row)
        ratios = []
        for k in ("k9s nodes", "k9s jobs"):
            theirs = results.get(k, {}).get(row)
            if mine is None or theirs is None:
                ratios.append("-")
            elif theirs == 0:
                ratios.append("inf" if mine > 0 else "1")
            else:
                ratios.append(f"{mine / theirs:.2f}")
        aim = AIMS.get(row, "")
        if mine is not None and row in AIM_LIMITS:
            aim += "  met" if mine <= AIM_LIMITS[row] else "  MISSED"
        cells = "".join(f"{cell(k, row):>11}" for k, _ in columns)
        print(f"{row:<28}{cells}{'/'.join(ratios):>13}  {aim}")
    print("(ratio: console / k9s nodes view / console / k9s jobs view; '-': not measured)")
    three_aims(results)


#: The three figures issue 11 was left open on, against k9s's nodes view (its jobs view never
#: paints 3,000 Jobs in time and has no cordon): (row, what).
THREE = [
    ("large first paint s", "first full paint"),
    ("large RSS MiB", "RSS"),
    ("large cordon p95 s", "cordon -> screen p95"),
]


def three_aims(results: dict[str, dict[str, float]]) -> None:
    mine, theirs = results.get("console", {}), results.get("k9s nodes", {})
    if not any(row in mine for row, _ in THREE):
        return
    print("\nThe three open aims at 300 nodes + 3,000 Jobs, console against k9s's nodes view:")
    for row, what in THREE:
        a, b = mine.get(row), theirs.get(row)
        ratio = "-" if a is None or not b else f"{a / b:.2f}x k9s"
        met = "" if a is None else "met" if a <= AIM_LIMITS[row] else "MISSED"
        a_text = "-" if a is None else f"{a:.2f}"
        b_text = "-" if b is None else f"{b:.2f}"
        print(f"  {what:<22} console {a_text:>7}  k9s {b_text:>7}  {ratio:>12}  {AIMS[row]}  {met}")
    if "large load at paint" in mine:
        before = mine.get("large load before start")
        started = "" if before is None else f"before it started: {before:.1f}, "
        print(
            f"  (load average {started}when the console painted: {mine['large load at paint']:.1f})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["small", "large", "all"], default="small")
    parser.add_argument("--seconds", type=float, default=30.0, help="idle window (small)")
    parser.add_argument(
        "--api-seconds", type=float, default=60.0, help="idle and API-request window (large)"
    )
    parser.add_argument("--settle", type=float, default=5.0, help="pause after start-up")
    parser.add_argument(
        "--calm-load", type=float, default=2.0,
        help="large: start each client once the load average is at most this (default 2.0)",
    )  # fmt: skip
    parser.add_argument(
        "--calm-wait", type=float, default=120.0, help="large: wait at most this long for it"
    )
    parser.add_argument("--cordon-samples", type=int, default=20)
    parser.add_argument("--skip-k9s", action="store_true")
    parser.add_argument("--skip-console", action="store_true")
    parser.add_argument(
        "--baseline", metavar="REV", default="",
        help="also run the console as it was at this git revision, side by side (small)",
    )  # fmt: skip
    parser.add_argument(
        "--idle-app", action="store_true", help="also run an idle Textual app (small)"
    )
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--show", action="store_true", help="print each pane's last screen")
    parser.add_argument(
        "--py-spy", type=float, default=0.0, metavar="SECONDS",
        help="after the six-transcode window, sample the console with py-spy this long",
    )  # fmt: skip
    args = parser.parse_args()
    if args.skip_k9s and args.skip_console:
        raise SystemExit("nothing to measure: both --skip-k9s and --skip-console")
    if not 1 <= args.seconds <= 600 or not 1 <= args.api_seconds <= 600:
        raise SystemExit("--seconds and --api-seconds must be between 1 and 600")
    if shutil.which("tmux") is None:
        raise SystemExit("bench_cluster_cost: tmux is needed")
    if not args.skip_k9s and not os.access(k9s_binary(), os.X_OK):
        raise SystemExit(f"k9s is not built: run `make k9s` (expected {k9s_binary()})")

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    results: dict[str, dict[str, float]] = {}
    failures: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="ponybench-cluster-"))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    try:
        if args.scenario in ("small", "all"):
            small(args, tmp, results, failures)
        if args.scenario in ("large", "all"):
            large(args, tmp, results, failures)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        report(results, args)
        for f in failures:
            print(f"\nFAILED {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
