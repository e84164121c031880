"""`ponyconsole serve`: run the local queue headless (no UI), e.g. as a systemd user service.

One line per job event on stderr (time, job, state, reason), plain text for
journald. SIGTERM/SIGINT stop it cleanly: a running encode becomes
*interrupted* and runs again on the next start. Only one process runs a
queue (an OS lock in the data dir); a second `serve` refuses, a console
opened meanwhile attaches to this one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys
import time
from importlib import resources
from pathlib import Path
from typing import TextIO

from ponyconsole.backends.protocol import BackendError, JobChanged, SourceChanged
from ponyconsole.commands.job_ids import SHORT
from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui.run_console import add_local_arguments, local_settings

UNIT_NAME = "ponyconsole.service"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    unit = parser.add_mutually_exclusive_group()
    unit.add_argument(
        "--print-unit", action="store_true", help="print a systemd user unit that runs this serve"
    )
    unit.add_argument(
        "--install-unit",
        action="store_true",
        help=f"write it to ~/.config/systemd/user/{UNIT_NAME}",
    )
    add_local_arguments(parser)


# -- the systemd unit -------------------------------------------------------------------


def exec_start(args: argparse.Namespace) -> str:
    """This very program with `serve` and the local options given (absolute paths)."""
    script = Path(sys.argv[0])
    if script.name == "ponyconsole" and script.exists():
        argv = [str(script.resolve())]
    else:
        beside = Path(sys.executable).parent / "ponyconsole"
        argv = [str(beside)] if beside.exists() else [sys.executable, "-m", "ponyconsole.cli"]
    argv.append("serve")
    for option in ("data_dir", "inbox", "output_dir"):
        value = getattr(args, option)
        if value is not None:
            argv += [f"--{option.replace('_', '-')}", str(Path(value).expanduser().absolute())]
    if args.pony:
        argv += ["--pony", args.pony]
    if args.concurrency is not None:
        argv += ["--concurrency", str(args.concurrency)]
    return shlex.join(argv)


def unit_text(args: argparse.Namespace) -> str:
    template = resources.files("ponyconsole.data").joinpath(UNIT_NAME).read_text()
    return template.replace("@EXEC_START@", exec_start(args))


def install_unit(args: argparse.Namespace) -> Path:
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = config / "systemd" / "user" / UNIT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(args))
    return path


# -- the log ----------------------------------------------------------------------------


class EventLog:
    """One plain line per job event: '2026-11-28 21:05:03 a1b2c3d4 Movie.mkv running ...'."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._seen: dict[str, tuple[str, float | None, bool]] = {}

    def line(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{stamp} {text}", file=self.out, flush=True)

    def is_news(self, job: Job) -> bool:
        """A state change, or the moment a run's HandBrake started (progress is not news)."""
        if job.state is JobState.RUNNING and not job.command:
            return False  # claimed; the line comes once HandBrake runs (with its pid)
        key = (job.state.value, job.started_at, True)
        if job.state is not JobState.RUNNING:
            key = (job.state.value, job.finished_at, False)
        news = self._seen.get(job.id) != key
        self._seen[job.id] = key
        return news

    def job(self, job: Job, pid: int | None = None) -> None:
        detail = ""
        if job.state is JobState.RUNNING:
            detail = f" (HandBrake pid {pid}, preset {job.preset})" if pid else ""
        elif job.state is JobState.SUCCEEDED:
            elapsed = job.elapsed(time.time())
            detail = f" in {elapsed:.0f} s -> {job.output}" if elapsed is not None else ""
        elif job.state is JobState.QUEUED and job.retries:
            detail = f" (retry {job.retries})"
        reason = f": {' '.join(job.reason.split())}" if job.reason and job.state.finished else ""
        if job.state is JobState.INTERRUPTED and job.reason:
            reason = f": {job.reason.removeprefix('interrupted: ')}"
        self.line(f"{job.id[:SHORT]} {job.name} {job.state.value}{detail}{reason}")


# -- serving ----------------------------------------------------------------------------


async def serve(args: argparse.Namespace, out: TextIO) -> int:
    from ponyconsole.backends.local.backend import LocalBackend

    settings = local_settings(args)
    log = EventLog(out)
    backend = LocalBackend(settings, role="serve", attach=False)
    events = backend.events()
    try:
        await backend.start()
    except BackendError as error:
        print(f"ponyconsole serve: {error}", file=out, flush=True)
        await events.aclose()  # type: ignore[attr-defined]
        return 1
    jobs = backend.snapshot().jobs
    waiting = sum(1 for j in jobs if j.state in (JobState.QUEUED, JobState.INTERRUPTED))
    cordoned = " (cordoned: no new encodes)" if backend.snapshot().nodes[0].cordoned else ""
    log.line(
        f"serving {settings.db_path} as pony {settings.pony_name}{cordoned}, pid {os.getpid()}: "
        f"{len(jobs)} {'job' if len(jobs) == 1 else 'jobs'}, {waiting} waiting"
    )
    for job in backend.recovered:
        log.line(f"{job.id[:SHORT]} {job.name} interrupted: the previous runner died; runs again")
    for job in jobs:
        log.is_news(job)  # the past is not news

    stop = asyncio.Event()
    received: list[str] = []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda sig=sig: (received.append(sig.name), stop.set()))

    async def report() -> None:
        async for event in events:
            if isinstance(event, SourceChanged):  # the queue cannot be written (full disk)
                status = event.status
                log.line(f"queue: {status.error}" if status.error else "queue: writable again")
            if isinstance(event, JobChanged) and log.is_news(event.job):
                job = event.job
                pid = None
                if job.state is JobState.RUNNING and job.command:
                    with contextlib.suppress(BackendError):
                        pid = await backend.handbrake_pid(job.id)
                log.job(job, pid)

    reporter = asyncio.create_task(report(), name="serve-log")
    await stop.wait()
    running = sum(1 for j in backend.snapshot().jobs if j.state is JobState.RUNNING)
    log.line(f"stopping on {received[0]}: {running} running encodes become interrupted")
    await backend.stop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reporter, 10)  # the interrupted events, then the end
    log.line("stopped")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.print_unit:
        print(unit_text(args), end="")
        return 0
    if args.install_unit:
        path = install_unit(args)
        print(f"wrote {path}")
        print("now: systemctl --user daemon-reload && systemctl --user enable --now ponyconsole")
        return 0
    return asyncio.run(serve(args, sys.stderr))
