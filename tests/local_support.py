"""Helpers shared by the tests/test_local_*.py files (real HandBrake, real processes)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import TypeVar

import psutil

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.demo import copy_settled, make_clip
from ponyconsole.domain.models import Disc, Job, JobState

TEST_PRESET = "Very Fast 480p30"
T = TypeVar("T")

place = copy_settled  # the tests' word for dropping a finished rip into an inbox


def settings_for(root: Path, **overrides: object) -> LocalSettings:
    values: dict[str, object] = {
        "default_preset": TEST_PRESET,
        "settle_seconds": 1.0,
        "progress_interval": 0.1,
        "poll_interval": 0.3,
        "metrics_interval": 0.2,
    }
    values.update(overrides)
    return LocalSettings.load(
        data_dir=root / "data",
        inbox_dir=root / "inbox",
        output_dir=root / "library",
        pony_name="testpony",
        env={"PONYCONSOLE_CONFIG": os.devnull},  # hermetic: no user config file
        **values,
    )


async def wait_job(
    backend: LocalBackend, job_id: str, states: Iterable[JobState], timeout: float = 30.0
) -> Job:
    wanted = set(states)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = next((j for j in backend.snapshot().jobs if j.id == job_id), None)
        if job is not None and job.state in wanted:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} not in {wanted} after {timeout} s: {job}")


def handbrakes_under(root: Path) -> list[psutil.Process]:
    """Live HandBrakeCLI processes working on files under ``root`` (ours, not another test's)."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        try:
            cmd = proc.info["cmdline"] or []
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any("HandBrakeCLI" in part for part in cmd[:1]) and any(
                str(root) in part for part in cmd
            ):
                found.append(proc)
        except psutil.Error:
            continue
    return found


async def wait_for_handbrakes(root: Path, timeout: float = 30.0) -> list[psutil.Process]:
    """Our HandBrakeCLI processes under ``root`` once there is one; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := await asyncio.to_thread(handbrakes_under, root)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no HandBrakeCLI working on files under {root} after {timeout} s")
        await asyncio.sleep(0.05)
    return found


async def within(step: Awaitable[T], timeout: float, what: str) -> T:
    """Await ``step``; fail naming ``what`` if it takes longer than ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(step, timeout)
    except TimeoutError:
        raise AssertionError(f"{what} did not finish within {timeout} s") from None


def long_clip_in(media_dir: Path) -> Path:
    """About 3 s of encoding here: long enough to act on an encode in progress. Made once."""
    path = media_dir / "long.mp4"
    if not path.exists():
        make_clip(path.with_name("long.tmp.mp4"), seconds=20, size="640x480").rename(path)
    return path


async def settled_rips(backend: LocalBackend) -> list[Disc]:
    """The inbox listing once the backend has watched it for the settle time (inbox.py)."""
    await backend.list_rips()
    await asyncio.sleep(backend.settings.settle_seconds + 0.05)
    return await backend.list_rips()
