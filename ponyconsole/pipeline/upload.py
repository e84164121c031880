"""`ponyconsole upload`: the upload Job's container; the rip goes only once Plex has the film.

Order matters and is the whole point: copy the encode into the library folder
(an identical file there is kept, a different one never replaced), verify it,
ask Plex to scan the section, check with bounded retries that Plex shows the
file, and only then remove the rip and the work file. Any failure moves the rip
to the fail folder next to a ``<rip>.reason`` (the share layout of
pipeline/share.py), deletes nothing, and exits non-zero with the one-line
reason. The Plex token is read from a file or the environment (a Secret), never
from argv, and never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path

from ponyconsole.pipeline.share import REASON_SUFFIX, WORK, move_to_fail, reclaim

__all__ = ["REASON_SUFFIX", "UploadFailed", "move_to_fail", "run", "upload"]


class UploadFailed(Exception):
    """One line, token-free."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("work_file", metavar="WORK_FILE", help="the checked encode (in work/)")
    parser.add_argument("--library-dir", required=True, type=Path, help="the Plex library folder")
    parser.add_argument("--rip", required=True, type=Path, help="the rip, removed on success")
    parser.add_argument(
        "--fail-dir", required=True, type=Path, help="where the rip goes on failure"
    )
    parser.add_argument(
        "--section", help="Plex library section title (default: the library folder's name)"
    )
    parser.add_argument("--plex-url", help="Plex server URL (default: $PLEX_URL)")
    parser.add_argument(
        "--plex-token-file",
        type=Path,
        help="file holding the Plex token (default: $PLEX_TOKEN); never pass the token itself",
    )
    parser.add_argument(
        "--plex-checks",
        type=int,
        default=12,
        metavar="N",
        help="how many times to look for the item in Plex (default 12)",
    )
    parser.add_argument(
        "--plex-interval",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds between those checks (default 5)",
    )
    parser.add_argument(
        "--plex-timeout", type=float, default=10.0, metavar="S", help="per request (default 10)"
    )


def plex_settings(args: argparse.Namespace) -> tuple[str, str]:
    url = args.plex_url or os.environ.get("PLEX_URL", "")
    if not url.strip():
        raise UploadFailed("no Plex URL: set PLEX_URL (the ponyconsole-plex Secret) or --plex-url")
    if args.plex_token_file is not None:
        try:
            token = args.plex_token_file.read_text().strip()
        except OSError as exc:
            raise UploadFailed(
                f"cannot read the Plex token file {args.plex_token_file}: {exc.strerror or exc}"
            ) from None
    else:
        token = os.environ.get("PLEX_TOKEN", "").strip()
    if not token:
        raise UploadFailed("no Plex token: set PLEX_TOKEN (the Secret) or --plex-token-file")
    return url.strip(), token


def upload(args: argparse.Namespace) -> str:
    """The success line; UploadFailed otherwise (nothing removed then)."""
    from ponyconsole.pipeline.library_copy import place_in_library
    from ponyconsole.pipeline.plex import Plex, PlexError

    work: Path = Path(args.work_file)
    if not work.is_file():
        raise UploadFailed(f"work file not found: {work}")
    if work.stat().st_size == 0:
        raise UploadFailed(f"work file is empty: {work}")
    if not args.rip.exists():
        # a retried upload: an earlier try moved the rip to fail/; take it back first
        reclaim(args.rip, args.fail_dir, work.parent.name)
    if not args.rip.exists():
        raise UploadFailed(f"rip not found: {args.rip}")
    url, token = plex_settings(args)
    try:
        placed = place_in_library(work, args.library_dir)
    except OSError as exc:
        raise UploadFailed(f"cannot copy into the library {args.library_dir}: {exc}") from None
    plex = Plex(url, token, args.plex_timeout)
    section_name = args.section or args.library_dir.name
    try:
        section = plex.refresh(section_name)
        plex.wait_for(section, placed.path.name, args.plex_checks, args.plex_interval)
    except PlexError as exc:
        raise UploadFailed(str(exc)) from None
    try:
        _remove(args.rip)
        with contextlib.suppress(FileNotFoundError):
            work.unlink()
        _remove_empty_video_folder(work.parent)
    except OSError as exc:
        raise UploadFailed(f"Plex shows {placed.path.name} but cleaning up failed: {exc}") from None
    how = "copied to" if placed.copied else "already in the library as"
    return f"{how} {placed.path}; Plex shows it in {section_name!r}; rip removed"


def _remove_empty_video_folder(folder: Path) -> None:
    """work/<library>/<video id>/ once its output is gone: only that folder, only if empty."""
    if folder.parent.parent.name != WORK:
        return  # not the share's layout: leave the caller's folder alone
    with contextlib.suppress(OSError):  # not empty (another file in it), or gone: leave it
        folder.rmdir()


def _remove(rip: Path) -> None:
    if rip.is_dir() and not rip.is_symlink():
        shutil.rmtree(rip)
    else:
        rip.unlink()


def run(args: argparse.Namespace) -> int:
    try:
        done = upload(args)
    except UploadFailed as exc:
        reason = " ".join(str(exc).split())
        if args.rip.exists():
            try:
                moved = move_to_fail(args.rip, args.fail_dir, reason)
            except OSError as move_exc:
                reason += (
                    f" (the rip stays in place: cannot move it to {args.fail_dir}: {move_exc})"
                )
            else:
                reason += f" (rip moved to {moved})"
        print(reason, file=sys.stderr, flush=True)
        return 1
    print(done, flush=True)
    return 0
