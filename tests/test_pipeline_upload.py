"""`ponyconsole upload` as a real process, with the real plexapi client against tests/fake_plex.py.

Each failure must keep the rip (moved to fail/ with its reason), delete nothing,
and never show the Plex token.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ponyconsole.pipeline.plex import scrub
from tests.fake_plex import FakePlex

TOKEN = "s3cr3t+T0ken/xyz"  # characters that URL-encode differently, to test the scrub


@dataclass
class Share:
    root: Path
    work: Path
    rip: Path
    library: Path
    fail: Path


@pytest.fixture
def share(tmp_path: Path) -> Share:
    work = tmp_path / "work" / "Ponyo (2008).mkv"
    work.parent.mkdir()
    work.write_bytes(random.Random(1).randbytes(1_000_000))
    rip = tmp_path / "claim" / "movies" / "Ponyo (2008).iso"
    rip.parent.mkdir(parents=True)
    rip.write_bytes(random.Random(2).randbytes(300_000))
    return Share(tmp_path, work, rip, tmp_path / "library" / "movies", tmp_path / "fail")


@pytest.fixture
def plex(share: Share) -> Iterator[FakePlex]:
    fake = FakePlex(TOKEN, {"Movies": share.library}).start()
    yield fake
    fake.stop()


def upload(
    share: Share, url: str, *extra: str, token: str = TOKEN, library: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    token_file = share.root / "plex-token"
    token_file.write_text(token + "\n")
    argv = [
        sys.executable, "-m", "ponyconsole.cli", "upload", str(share.work),
        "--library-dir", str(library or share.library), "--rip", str(share.rip),
        "--fail-dir", str(share.fail), "--section", "Movies", "--plex-url", url,
        "--plex-token-file", str(token_file), "--plex-checks", "3", "--plex-interval", "0.2",
        "--plex-timeout", "5", *extra,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEX_")}
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    return done, time.monotonic() - start


def assert_failed_safely(share: Share, done: subprocess.CompletedProcess[str]) -> str:
    """Exit 1, one line, the rip in fail/ with that reason, the work file kept; the reason."""
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert not share.rip.exists()
    kept = share.fail / share.rip.name
    assert kept.read_bytes() == random.Random(2).randbytes(300_000)
    reason = Path(f"{kept}.reason").read_text().strip()
    assert lines[0].startswith(reason)
    assert share.work.read_bytes() == random.Random(1).randbytes(1_000_000)
    for text in (done.stdout, done.stderr, reason):
        assert TOKEN not in text and "s3cr3t" not in text
    return reason


def test_success_copies_refreshes_then_removes_rip_and_work(share: Share, plex: FakePlex) -> None:
    data = share.work.read_bytes()
    done, _took = upload(share, plex.url)
    assert done.returncode == 0, done.stderr
    placed = share.library / "Ponyo (2008).mkv"
    assert placed.read_bytes() == data
    assert sorted(os.listdir(share.library)) == ["Ponyo (2008).mkv"]  # no partial left
    assert plex.refreshes == ["1"]
    assert set(plex.tokens_seen) == {TOKEN}
    assert not share.rip.exists() and not share.work.exists()
    assert not share.fail.exists()
    assert "Plex shows it" in done.stdout and TOKEN not in done.stdout


def test_token_from_the_environment(share: Share, plex: FakePlex) -> None:
    env = {**os.environ, "PLEX_URL": plex.url, "PLEX_TOKEN": TOKEN}
    argv = [
        sys.executable, "-m", "ponyconsole.cli", "upload", str(share.work),
        "--library-dir", str(share.library), "--rip", str(share.rip),
        "--fail-dir", str(share.fail), "--plex-checks", "3", "--plex-interval", "0.2",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr  # section "movies" matches "Movies"
    assert plex.refreshes == ["1"]


def test_identical_file_already_there_is_skipped(share: Share, plex: FakePlex) -> None:
    share.library.mkdir(parents=True)
    existing = share.library / share.work.name
    existing.write_bytes(share.work.read_bytes())
    before = existing.stat()
    done, _took = upload(share, plex.url)
    assert done.returncode == 0, done.stderr
    assert "already in the library" in done.stdout
    assert sorted(os.listdir(share.library)) == [share.work.name]
    after = existing.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not share.rip.exists() and not share.work.exists()


def test_a_different_file_with_the_name_is_never_replaced(share: Share, plex: FakePlex) -> None:
    share.library.mkdir(parents=True)
    (share.library / share.work.name).write_bytes(b"another film")
    data = share.work.read_bytes()
    done, _took = upload(share, plex.url)
    assert done.returncode == 0, done.stderr
    assert (share.library / share.work.name).read_bytes() == b"another film"
    assert (share.library / "Ponyo (2008) (2).mkv").read_bytes() == data


def test_bad_token_fails_without_showing_it(share: Share, plex: FakePlex) -> None:
    plex.token = "the-right-one"
    done, _took = upload(share, plex.url)
    reason = assert_failed_safely(share, done)
    assert "401" in reason and "refused the token" in reason
    assert plex.refreshes == []


def test_plex_down(share: Share) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done, took = upload(share, f"http://127.0.0.1:{port}")
    reason = assert_failed_safely(share, done)
    assert reason.startswith(f"Plex at http://127.0.0.1:{port} cannot be reached: ")
    assert "ConnectionError" in reason or "Connection refused" in reason
    assert took < 30
    # the verified copy stays in the library: a retry finds it identical and skips it
    assert (share.library / share.work.name).read_bytes() == share.work.read_bytes()


def test_item_that_never_appears_fails_after_bounded_checks(share: Share, plex: FakePlex) -> None:
    plex.show_items = False
    done, took = upload(share, plex.url)
    reason = assert_failed_safely(share, done)
    assert reason == (
        "Plex did not show 'Ponyo (2008).mkv' in section 'Movies' after 3 checks over 0.4 s"
    )
    assert plex.refreshes == ["1"]
    assert plex.requests.count("/library/sections/1/all") == 3
    assert took < 30


def test_unknown_section(share: Share, plex: FakePlex) -> None:
    done, _took = upload(share, plex.url, "--section", "Films")
    reason = assert_failed_safely(share, done)
    assert reason == "Plex has no library section 'Films' ('Movies')"


def test_full_library_disk(share: Share, plex: FakePlex, tiny_disk: Path) -> None:
    library = tiny_disk / "movies"
    done, _took = upload(share, plex.url, library=library)
    reason = assert_failed_safely(share, done)
    assert reason.startswith(f"cannot copy into the library {library}: ")
    assert "No space left on device" in reason
    assert os.listdir(library) == []  # the partial copy is gone
    assert plex.refreshes == []


def test_scrub_removes_the_token_in_every_form() -> None:
    text = f"(401) unauthorized; http://plex:32400/?X-Plex-Token=s3cr3t%2BT0ken%2Fxyz {TOKEN}\n"
    assert scrub(text, TOKEN) == (
        "(401) unauthorized; http://plex:32400/?X-Plex-Token=<token> <token>"
    )


def test_help_names_no_token_option() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", "upload", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    assert "--plex-token-file" in done.stdout
    assert "--plex-token " not in done.stdout


def test_success_removes_the_empty_video_folder_of_work_and_nothing_more(
    share: Share, plex: FakePlex
) -> None:
    """work/<library>/<id>/<film>.mkv: the <id> folder goes once empty; work/<library> stays."""
    folder = share.root / "work" / "movies" / "0123456789ab"
    folder.mkdir(parents=True)
    share.work = share.work.rename(folder / share.work.name)
    done, _took = upload(share, plex.url)
    assert done.returncode == 0, done.stderr
    assert not folder.exists()
    assert (share.root / "work" / "movies").is_dir()


def test_a_video_folder_holding_something_else_is_kept(share: Share, plex: FakePlex) -> None:
    folder = share.root / "work" / "movies" / "0123456789ab"
    folder.mkdir(parents=True)
    share.work = share.work.rename(folder / share.work.name)
    (folder / "notes.txt").write_text("mine")
    done, _took = upload(share, plex.url)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(folder)) == ["notes.txt"]


def test_a_retried_upload_takes_its_rip_back_from_fail(share: Share, plex: FakePlex) -> None:
    """Plex was down: the rip went to fail/; the retry finds it there and finishes."""
    from ponyconsole.domain.kube_names import stable_id

    video = stable_id("movies", share.rip.name, share.rip.stat().st_size, None)
    folder = share.root / "work" / "movies" / video
    folder.mkdir(parents=True)
    share.work = share.work.rename(folder / share.work.name)
    plex.unauthorized = True
    done, _took = upload(share, plex.url)
    assert done.returncode == 1 and (share.fail / share.rip.name).exists()
    plex.unauthorized = False
    done, _took = upload(share, plex.url)
    assert done.returncode == 0, done.stderr
    assert not share.rip.exists() and os.listdir(share.fail) == []
    assert (share.library / "Ponyo (2008).mkv").exists() and not folder.exists()
