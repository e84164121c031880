"""Library names and output names (domain/naming.py), and the no-overwrite move (publish.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponyconsole.backends.local.publish import publish
from ponyconsole.domain.naming import (
    NameRefused,
    check_library,
    clean_stem,
    library_problem,
    numbered,
    partial_name,
    shown,
    unique_name,
)

BAD_LIBRARIES = {
    "../x": "slash",
    "/etc": "slash",
    "a/../../b": "slash",
    "": "empty",
    ".x": "starts with a dot",
    ".": "leave the output folder",
    "..": "leave the output folder",
    "a\x00b": "NUL",
    "tv\nshows": "control character",
    "back\\slash": "slash",
    " movies": "space",
    os.fsdecode(b"caf\xe9"): "not valid UTF-8",
    "x" * 256: "longer than 255 bytes",
}


@pytest.mark.parametrize("name", list(BAD_LIBRARIES), ids=repr)
def test_bad_library_names_are_refused_with_the_reason(name: str) -> None:
    with pytest.raises(NameRefused, match=f"^refused: .*{BAD_LIBRARIES[name]}"):
        check_library(name)


@pytest.mark.parametrize("name", ["movies", "tv", "Kids' films", "映画", "a.b", "4K HDR"])
def test_good_library_names_pass(name: str) -> None:
    assert check_library(name) == name


@given(st.text())
def test_an_accepted_library_is_one_plain_folder_name(name: str) -> None:
    if library_problem(name) is None:
        assert Path(name).name == name and not name.startswith(".")
        assert os.path.normpath(os.path.join("/lib", name)) == f"/lib/{name}"
        name.encode("utf-8")


def test_numbered_names_are_the_ones_plex_users_know() -> None:
    assert unique_name("a.mkv", []) == "a.mkv"
    assert unique_name("a.mkv", ["a.mkv"]) == "a (2).mkv"
    assert unique_name("a.mkv", ["A.MKV", "a (2).mkv"]) == "a (3).mkv"  # case-insensitive shares
    assert numbered("Film (1992).mkv", 2) == "Film (1992) (2).mkv"
    assert unique_name("noext", {"noext"}) == "noext (2)"


def test_output_stems_are_printable_utf8_and_never_hidden() -> None:
    assert clean_stem("new\nline", "x") == "new line"
    assert clean_stem("a/b", "x") == "a-b"
    assert clean_stem("...", "job1") == "job1"
    assert clean_stem(".hidden", "x") == "hidden"
    assert clean_stem(os.fsdecode(b"caf\xe9"), "x") == "caf\ufffd"
    assert len((clean_stem("é" * 300, "x") + " (2).mkv").encode()) <= 255


def test_partials_are_per_job_and_hidden() -> None:
    a, b = partial_name("Film.mkv", "job1"), partial_name("Film.mkv", "job2")
    assert a == ".Film.job1.partial.mkv" and a != b


def test_shown_never_raises_and_is_utf8() -> None:
    for text in ["plain", os.fsdecode(b"\xff\xfe"), "\ud800lone", "ok 映画"]:
        shown(text).encode("utf-8")
    assert shown(os.fsdecode(b"a\xffb")) == "a\ufffdb"


def test_publish_never_replaces_a_library_file(tmp_path: Path) -> None:
    final = tmp_path / "Film.mkv"
    final.write_bytes(b"the user's film")
    (tmp_path / "Film (2).mkv").write_bytes(b"another")
    partial = tmp_path / ".Film.job1.partial.mkv"
    partial.write_bytes(b"new encode")
    placed = publish(partial, final)
    assert placed == tmp_path / "Film (3).mkv"
    assert placed.read_bytes() == b"new encode" and not partial.exists()
    assert final.read_bytes() == b"the user's film"
    assert (tmp_path / "Film (2).mkv").read_bytes() == b"another"
    fresh = tmp_path / ".Other.job2.partial.mkv"
    fresh.write_bytes(b"x")
    assert publish(fresh, tmp_path / "Other.mkv") == tmp_path / "Other.mkv"
