"""Hostile inputs to the pipeline: clashing Job names, `..`, non-UTF-8 names, racing claimers.

Each case either works or is refused with a clear reason, and no rip is ever lost.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest

from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain import kube_names as kn
from ponyconsole.domain.models import EnqueueRequest
from ponyconsole.pipeline import jobchain
from ponyconsole.pipeline.jobchain import Rip, Target, ensure_chain, existing_jobs, render_chain
from ponyconsole.pipeline.share import ClaimLost, Share, claim
from ponyconsole.pipeline.share_inbox import ShareInbox
from ponyconsole.pipeline.watch import Watcher
from tests.pipeline_support import pipeline_jobs

OLD = 1_000_000_000.0  # an mtime long past: a finished copy
BAD = os.fsdecode(b"Caf\xe9 \xff.mkv")  # Latin-1 bytes: not UTF-8


def _share(tmp_path: Path) -> Share:
    share = Share(tmp_path / "share")
    share.ensure("movies")
    return share


def _drop(share: Share, name: str, body: bytes = b"x" * 4096) -> Path:
    rip = share.folder("watch", "movies") / name
    rip.write_bytes(body)
    os.utime(rip, (OLD, OLD))
    return rip


# -- names that are not what they seem -------------------------------------------------


def test_template_syntax_and_shell_in_a_rip_name_reach_the_job_verbatim(tmp_path: Path) -> None:
    name = "${IMAGE} $(rm -rf ~) `id` ' \" ;.mkv"
    transcode, upload = render_chain(Rip("movies", name, 9), Target("ns", _share(tmp_path)))
    source = f"/share/claim/movies/{name}"
    assert transcode["metadata"]["annotations"][kn.SOURCE_ANNOTATION] == source
    args = transcode["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--source") + 1] == source  # one argument, no shell in between
    assert transcode["spec"]["template"]["spec"]["containers"][0]["image"] == "ponyconsole:latest"
    up_args = upload["spec"]["template"]["spec"]["containers"][0]["args"]
    assert up_args[up_args.index("--rip") + 1] == source


def test_the_watcher_leaves_a_non_utf8_rip_in_watch_and_says_why(tmp_path: Path) -> None:
    share = _share(tmp_path)
    rip = _drop(share, BAD)
    said: list[str] = []
    watcher = Watcher(share, Target("ns", share), api=None, settle_seconds=0.0, say=said.append)
    for _ in range(3):
        watcher.poll()
    assert rip.exists() and list(share.folder("claim", "movies").iterdir()) == []
    assert watcher.pending == {}
    refusals = [s for s in said if s.startswith("refused")]
    assert len(refusals) == 1, said  # said once, not every poll
    assert "not valid UTF-8" in refusals[0] and "rename it" in refusals[0]
    assert "Caf\ufffd \ufffd.mkv" in refusals[0]  # shown, never the raw surrogates


def test_a_claimed_non_utf8_rip_is_never_given_jobs(tmp_path: Path) -> None:
    """Adopted from claim/ (an older watcher claimed it): refused before any request."""
    with pytest.raises(jobchain.NameTaken, match="not valid UTF-8"):
        ensure_chain(None, Rip("movies", BAD, 5), Target("ns", _share(tmp_path)))


def test_e_refuses_a_non_utf8_rip_and_leaves_it_in_watch(tmp_path: Path) -> None:
    share = _share(tmp_path)
    rip = _drop(share, BAD)
    inbox = ShareInbox(share.root, settle_seconds=0.0)
    request = EnqueueRequest(str(rip), "", "H.264 MKV 1080p30", None)
    with pytest.raises(BackendError, match="not valid UTF-8"):
        inbox.enqueue(None, request, Target("ns", share))
    assert rip.exists() and list(share.folder("claim", "movies").iterdir()) == []


@pytest.mark.parametrize(
    "crafted",
    [
        "watch/movies/../../claim/movies/Taken.mkv",  # someone else's claimed rip
        "watch/movies/../../../outside.mkv",  # out of the share altogether
    ],
)
def test_e_refuses_a_path_that_climbs_out_of_watch(tmp_path: Path, crafted: str) -> None:
    share = _share(tmp_path)
    taken = share.folder("claim", "movies") / "Taken.mkv"
    taken.write_bytes(b"claimed")
    outside = share.root.parent / "outside.mkv"
    outside.write_bytes(b"not the share's")
    inbox = ShareInbox(share.root, settle_seconds=0.0)
    request = EnqueueRequest(str(share.root / crafted), "", "H.264 MKV 1080p30", None)
    with pytest.raises(BackendError, match=r"refused|no such rip"):
        inbox.enqueue(None, request, Target("ns", share))
    assert taken.read_bytes() == b"claimed" and outside.read_bytes() == b"not the share's"
    assert [p.name for p in share.folder("claim", "movies").iterdir()] == ["Taken.mkv"]


def test_e_with_dot_dot_inside_watch_claims_into_the_real_library(tmp_path: Path) -> None:
    share = _share(tmp_path)
    share.ensure("kids")
    rip = share.folder("watch", "kids") / "Up.mkv"
    rip.write_bytes(b"u" * 100)
    os.utime(rip, (OLD, OLD))
    inbox = ShareInbox(share.root, settle_seconds=0.0)
    crafted = share.root / "watch" / "movies" / ".." / "kids" / "Up.mkv"
    request = EnqueueRequest(str(crafted), "", "H.264 MKV 1080p30", None)
    with mock.patch("ponyconsole.pipeline.share_inbox.ensure_chain") as ensure:
        ensure.side_effect = RuntimeError("API down")
        with pytest.raises(BackendError, match="left in watch/"):
            inbox.enqueue(None, request, Target("ns", share))
    assert ensure.call_args.args[1].library == "kids"
    assert rip.exists(), "the API refused: the rip is back in watch/kids/"


# -- two claimers at once ----------------------------------------------------------------


def test_two_claimers_racing_for_the_same_rips_claim_each_exactly_once(tmp_path: Path) -> None:
    """The watcher and the console's `e` at once, 60 times: one wins, nothing lost or doubled."""
    share = _share(tmp_path)
    rips = [_drop(share, f"Race {n}.mkv", f"rip {n}".encode()) for n in range(60)]
    barrier = threading.Barrier(2)

    def claimer() -> list[Path | None]:
        won: list[Path | None] = []
        for rip in rips:
            barrier.wait(5)
            try:
                won.append(claim(share, rip, "movies"))
            except ClaimLost:
                won.append(None)
        return won

    with ThreadPoolExecutor(2) as pool:
        one, two = pool.map(lambda _: claimer(), range(2))
    for n, (a, b) in enumerate(zip(one, two, strict=True)):
        assert (a is None) != (b is None), f"rip {n}: {a} / {b}"
    claimed = sorted(share.folder("claim", "movies").iterdir())
    assert len(claimed) == 60 and list(share.folder("watch", "movies").iterdir()) == []
    assert sorted(p.read_bytes() for p in claimed) == sorted(f"rip {n}".encode() for n in range(60))


# -- the real API server --------------------------------------------------------------------


def _target(namespace: str, tmp_path: Path) -> Target:
    return Target(namespace, Share(tmp_path), image="ponyconsole:test", share_host_path="/srv/x")


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_two_rips_of_one_job_name_created_at_once_both_get_their_jobs(
    kube_cluster, kube_namespace, tmp_path
) -> None:
    """Film.mkv and FILM.mkv (one DNS name): the one that loses the race is qualified."""
    api = kube_cluster.api_client()
    tgt = _target(kube_namespace, tmp_path)
    first = ensure_chain(api, Rip("movies", "Film.mkv", 1), tgt)
    # the second looked before the first existed (the race window): its look finds nothing
    with mock.patch.object(jobchain, "_read", return_value=None):
        second = ensure_chain(api, Rip("movies", "FILM.mkv", 2), tgt)
    assert first.transcode == "film-mkv-transcode"
    assert second.transcode != first.transcode and second.upload != first.upload
    assert set(second.created) == {second.transcode, second.upload}
    jobs = existing_jobs(api, kube_namespace, second.video)
    assert {j["metadata"]["name"] for j in jobs.values()} == {second.transcode, second.upload}
    upload = jobs[kn.UPLOAD]["spec"]["template"]["spec"]
    assert upload["initContainers"][0]["args"] == [second.transcode]
    assert len(pipeline_jobs(api, kube_namespace)) == 4


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_the_same_rip_ensured_by_two_at_once_gets_one_pair(
    kube_cluster, kube_namespace, tmp_path
) -> None:
    """A restarted watcher adopting claim/ while `e` enqueues the same rip: one pipeline."""
    tgt = _target(kube_namespace, tmp_path)
    rip = Rip("movies", "Twice At Once.mkv", 77)
    barrier = threading.Barrier(4)

    def ensure(_: int) -> jobchain.Chain:
        api = kube_cluster.api_client()
        barrier.wait(10)
        return ensure_chain(api, rip, tgt)

    with ThreadPoolExecutor(4) as pool:
        chains = list(pool.map(ensure, range(4)))
    assert {(c.transcode, c.upload) for c in chains} == {
        ("twice-at-once-mkv-transcode", "twice-at-once-mkv-upload")
    }
    made = [name for c in chains for name in c.created]
    assert sorted(made) == ["twice-at-once-mkv-transcode", "twice-at-once-mkv-upload"]
    assert len(pipeline_jobs(kube_cluster.api_client(), kube_namespace)) == 2
