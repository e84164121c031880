"""The share's claim: atomic, never overwrites, disc folders too; pod paths and outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ponyconsole.pipeline.share import ClaimLost, Share, claim
from ponyconsole.pipeline.share_inbox import share_root


def test_a_clash_in_claim_gets_a_number_and_nothing_is_overwritten(tmp_path: Path):
    share = Share(tmp_path)
    share.ensure("movies")
    for n, body in enumerate((b"one", b"two", b"three"), 1):
        rip = share.folder("watch", "movies") / "Film.mkv"
        rip.write_bytes(body)
        claimed = claim(share, rip, "movies")
        assert claimed.name == ("Film.mkv" if n == 1 else f"Film ({n}).mkv")
        assert not rip.exists()
    folder = share.folder("claim", "movies")
    assert [(folder / n).read_bytes() for n in ("Film.mkv", "Film (2).mkv", "Film (3).mkv")] == [
        b"one",
        b"two",
        b"three",
    ]


def test_a_disc_folder_is_claimed_whole_and_into_another_library(tmp_path: Path):
    share = Share(tmp_path)
    disc = share.folder("watch", "movies") / "DISC_1"
    (disc / "VIDEO_TS").mkdir(parents=True)
    (disc / "VIDEO_TS" / "VTS_01_1.VOB").write_bytes(b"v" * 100)
    (share.folder("claim", "kids") / "DISC_1").mkdir(parents=True)  # taken, even if empty
    claimed = claim(share, disc, "kids")
    assert claimed == share.folder("claim", "kids") / "DISC_1 (2)"
    assert (claimed / "VIDEO_TS" / "VTS_01_1.VOB").read_bytes() == b"v" * 100
    assert not disc.exists()


def test_a_rip_gone_before_its_claim_is_claim_lost(tmp_path: Path):
    share = Share(tmp_path)
    share.ensure("movies")
    with pytest.raises(ClaimLost):
        claim(share, share.folder("watch", "movies") / "gone.mkv", "movies")
    assert os.listdir(share.folder("claim", "movies")) == []


def test_pod_paths_outputs_and_the_share_from_either_folder(tmp_path: Path):
    share = Share(tmp_path)
    rip = share.folder("claim", "movies") / 'Film: the "cut".mkv'
    assert share.pod_path(rip) == '/share/claim/movies/Film: the "cut".mkv'
    out = share.output_for("movies", "Film\nname.mkv", "abc123")
    assert out == tmp_path / "work" / "movies" / "abc123" / "Film name.mkv"
    assert share.output_for("movies", "VIDEO_TS", "abc123").name == "abc123.mkv"
    (tmp_path / "watch").mkdir()
    assert share_root(tmp_path) == tmp_path.resolve()
    assert share_root(tmp_path / "watch") == tmp_path.resolve()


def _failed(share: Share, name: str, body: bytes, reason: str = "No title found.") -> Path:
    from ponyconsole.pipeline.share import move_to_fail

    rip = share.folder("claim", "movies") / name
    rip.write_bytes(body)
    return move_to_fail(rip, share.folder("fail", "movies"), reason)


def test_reclaim_takes_back_this_rip_only_numbered_or_not(tmp_path: Path):
    from ponyconsole.domain.kube_names import stable_id
    from ponyconsole.pipeline.share import reclaim

    share = Share(tmp_path)
    share.ensure("movies")
    fail = share.folder("fail", "movies")
    other = _failed(share, "Film.mkv", b"another rip of that name failed first")
    ours = _failed(share, "Film.mkv", b"this rip")
    assert (other.name, ours.name) == ("Film.mkv", "Film (2).mkv")
    source = share.folder("claim", "movies") / "Film.mkv"
    video = stable_id("movies", "Film.mkv", len(b"this rip"), None)
    assert reclaim(source, fail, video) == source
    assert source.read_bytes() == b"this rip"
    assert sorted(os.listdir(fail)) == ["Film.mkv", "Film.mkv.reason"], "the other one stays"
    assert reclaim(source, fail, video) is None, "the source is there: nothing to do"
    source.unlink()
    assert reclaim(source, fail, "0123456789ab") is None, "no rip of that id: nothing taken"
    assert (fail / "Film.mkv").read_bytes() == b"another rip of that name failed first"


def test_a_pod_path_maps_into_the_share_only_when_under_it(tmp_path: Path):
    share = Share(tmp_path)
    assert share.local_path("/share/claim/movies/Film.mkv") == tmp_path / "claim/movies/Film.mkv"
    for outside in ("/etc/passwd", "/share/../etc/passwd", "/share/claim/../../x", "/share"):
        assert share.local_path(outside) is None, outside
