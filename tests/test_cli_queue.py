"""The queue commands as real processes: outputs, exit codes (0 done, 1 refused, 2 usage),
the --json shape, id prefixes, and that none of them imports Textual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ponyconsole.backends.local.queue import JobQueue
from ponyconsole.domain.models import JobState
from tests.local_support import TEST_PRESET, place
from tests.serve_support import ROOT, env_for, local_options, ponyconsole

pytestmark = pytest.mark.handbrake

JSON_FIELDS = {
    "id", "name", "state", "progress_percent", "fps", "eta_seconds", "library", "preset",
    "title", "source", "output", "node", "retries", "reason", "created_at", "started_at",
    "finished_at",
}  # fmt: skip


def fake_jobs(root: Path, ids: dict[str, JobState]) -> None:
    """Rows with chosen ids (for prefixes) in chosen states, written through JobQueue.

    Listed in the given order (created_at); finished ones are claimed first, alone."""
    order = {job_id: n for n, job_id in enumerate(ids)}
    finished = (JobState.FAILED, JobState.SUCCEEDED)
    with JobQueue(root / "data" / "queue.sqlite3") as queue:
        for job_id in sorted(ids, key=lambda i: ids[i] not in finished):
            queue.enqueue(
                job_id=job_id, source=str(root / "inbox" / "movies" / f"{job_id}.mkv"),
                library="movies", preset=TEST_PRESET, title=None,
                output=str(root / "library" / f"{job_id}.mkv"), source_size=1,
                source_duration=60.0, now=1_800_000_000.0 + order[job_id],
            )  # fmt: skip
            state = ids[job_id]
            if state in finished:
                claimed = queue.claim_next("testpony")
                assert claimed is not None and claimed.job.id == job_id
                reason = "HandBrake exited with code 3" if state is JobState.FAILED else None
                queue.finish(job_id, state, reason, ())
            elif state is JobState.CANCELLED:
                queue.cancel(job_id)


def jobs_json(root: Path, *args: str) -> list[dict[str, object]]:
    done = ponyconsole(root, "jobs", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_jobs_on_an_empty_queue(tmp_path: Path) -> None:
    done = ponyconsole(tmp_path, "jobs")
    assert (done.returncode, done.stdout, done.stderr) == (0, "no jobs\n", "")
    assert jobs_json(tmp_path) == []


def test_enqueue_with_no_runner_then_jobs_table_and_json(clip: Path, tmp_path: Path) -> None:
    rip = place(clip, tmp_path / "inbox" / "movies" / "A Clip.mp4")
    done = ponyconsole(tmp_path, "enqueue", str(rip))
    assert done.returncode == 0, done.stderr
    assert "no runner is active" in done.stderr and "ponyconsole serve" in done.stderr
    (job,) = jobs_json(tmp_path)
    assert set(job) == JSON_FIELDS
    assert job["name"] == "A Clip.mp4" and job["state"] == "queued"
    assert job["library"] == "movies" and job["preset"] == TEST_PRESET
    assert job["source"] == str(rip) and job["progress_percent"] is None
    assert isinstance(job["created_at"], float) and job["retries"] == 0
    assert done.stdout.split()[:2] == [str(job["id"])[:8], "queued"]

    table = ponyconsole(tmp_path, "jobs").stdout.splitlines()
    assert table[0].split() == ["ID", "STATE", "PROGRESS", "LIBRARY", "NAME", "REASON"]
    assert table[1].split() == [str(job["id"])[:8], "queued", "movies", "A", "Clip.mp4"]

    again = ponyconsole(tmp_path, "enqueue", str(rip), "--preset", "Fast 720p30")
    assert again.returncode == 0 and len(jobs_json(tmp_path)) == 1  # the same rip is one job


def test_enqueue_refusals(tmp_path: Path) -> None:
    missing = ponyconsole(tmp_path, "enqueue", str(tmp_path / "inbox" / "movies" / "nope.mkv"))
    assert missing.returncode == 1 and missing.stderr.startswith("ponyconsole enqueue: ")
    assert missing.stdout == "" and jobs_json(tmp_path) == []
    assert ponyconsole(tmp_path, "enqueue").returncode == 2
    assert ponyconsole(tmp_path, "enqueue", "x.mkv", "--title", "two").returncode == 2


def test_retry_cancel_and_id_prefixes(tmp_path: Path) -> None:
    fake_jobs(
        tmp_path,
        {
            "abc111111111": JobState.FAILED,
            "abc222222222": JobState.FAILED,
            "def333333333": JobState.QUEUED,
            "fed444444444": JobState.SUCCEEDED,
        },
    )
    ambiguous = ponyconsole(tmp_path, "retry", "abc")
    assert ambiguous.returncode == 1
    assert "ambiguous" in ambiguous.stderr
    assert "abc111111111" in ambiguous.stderr and "abc222222222" in ambiguous.stderr
    unknown = ponyconsole(tmp_path, "cancel", "0123")
    assert (unknown.returncode, unknown.stderr) == (1, "ponyconsole cancel: no job 0123\n")

    one = ponyconsole(tmp_path, "retry", "abc1")
    assert one.returncode == 0, one.stderr
    assert one.stdout.split()[:4] == ["abc11111", "queued", "retry", "1"]
    refused = ponyconsole(tmp_path, "retry", "def")
    assert refused.returncode == 1 and "already waiting to run" in refused.stderr
    refused = ponyconsole(tmp_path, "retry", "fed4")
    assert refused.returncode == 1 and "only failed or cancelled" in refused.stderr

    every = ponyconsole(tmp_path, "retry", "--all-failed")
    assert every.returncode == 0 and every.stdout.startswith("abc22222  queued  retry 1")
    none = ponyconsole(tmp_path, "retry", "--all-failed")
    assert (none.returncode, none.stderr) == (1, "ponyconsole retry: no failed jobs\n")

    cancelled = ponyconsole(tmp_path, "cancel", "DEF")  # ids are case-insensitive hex
    assert cancelled.returncode == 0 and cancelled.stdout.split()[:2] == ["def33333", "cancelled"]
    again = ponyconsole(tmp_path, "cancel", "def3")
    assert again.returncode == 1 and "nothing to cancel" in again.stderr
    states = {j["id"]: j["state"] for j in jobs_json(tmp_path)}
    assert states == {
        "abc111111111": "queued",
        "abc222222222": "queued",
        "def333333333": "cancelled",
        "fed444444444": "succeeded",
    }
    queued = jobs_json(tmp_path, "--state", "queued")
    assert [j["id"] for j in queued] == ["abc111111111", "abc222222222"]
    assert len(jobs_json(tmp_path, "--state", "queued", "--state", "succeeded")) == 3
    done = jobs_json(tmp_path, "--state", "succeeded")[0]
    assert done["progress_percent"] == 100.0 and isinstance(done["finished_at"], float)

    for usage in (["retry"], ["retry", "abc1", "--all-failed"], ["cancel"]):
        assert ponyconsole(tmp_path, *usage).returncode == 2, usage
    assert ponyconsole(tmp_path, "jobs", "--state", "bogus").returncode == 2


def test_cordon_and_uncordon(tmp_path: Path) -> None:
    done = ponyconsole(tmp_path, "cordon")
    assert (done.returncode, done.stdout) == (0, "testpony  cordoned\n")
    with JobQueue(tmp_path / "data" / "queue.sqlite3") as queue:
        assert queue.get_setting("cordoned") == "1"
    other = ponyconsole(tmp_path, "cordon", "rarity")
    assert other.returncode == 1 and "no pony named rarity" in other.stderr
    done = ponyconsole(tmp_path, "uncordon", "testpony")
    assert (done.returncode, done.stdout) == (0, "testpony  uncordoned\n")
    with JobQueue(tmp_path / "data" / "queue.sqlite3") as queue:
        assert queue.get_setting("cordoned") == "0"
    assert ponyconsole(tmp_path, "cordon", "a", "b").returncode == 2


NO_TEXTUAL = """
import sys
from ponyconsole.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "kubernetes"))
assert not heavy, heavy
sys.exit(code)
"""


@pytest.mark.parametrize(
    "command", [["jobs", "--json"], ["cordon"], ["retry", "--all-failed"], ["cancel", "x"]]
)
def test_queue_commands_never_import_textual(tmp_path: Path, command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_TEXTUAL, *command, *local_options(tmp_path)],
        cwd=ROOT, env=env_for(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert "AssertionError" not in done.stderr


def test_serve_prints_and_installs_its_unit(tmp_path: Path) -> None:
    printed = ponyconsole(tmp_path, "serve", "--print-unit")
    assert printed.returncode == 0, printed.stderr
    (exec_start,) = [line for line in printed.stdout.splitlines() if line.startswith("ExecStart=")]
    argv = exec_start.removeprefix("ExecStart=").split()
    assert Path(argv[0]).is_absolute() and "serve" in argv
    assert argv[argv.index("--data-dir") + 1] == str(tmp_path / "data")
    assert "WantedBy=default.target" in printed.stdout and "KillMode=mixed" in printed.stdout
    env = {**env_for(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    installed = subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", "serve", "--install-unit",
         *local_options(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    unit = tmp_path / "xdg" / "systemd" / "user" / "ponyconsole.service"
    assert unit.read_text() == printed.stdout
    assert "systemctl --user enable --now ponyconsole" in installed.stdout
