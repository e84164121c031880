"""Asking Plex (through plexapi) to scan a library section and whether it shows a file.

The token is a secret: plexapi sends it as a header, but its exceptions carry
URLs and response texts, so every message leaving this module is scrubbed of
it (and of its URL-encoded form). Blocking (HTTP): call from a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, quote_plus

RECENT_ITEMS = 200  # the newest items of the section searched for our file


class PlexError(Exception):
    """A one-line, token-free reason."""


def scrub(text: str, token: str) -> str:
    """``text`` without the token, raw or URL-encoded, on one line."""
    for form in {token, quote(token, safe=""), quote_plus(token)}:
        if form:
            text = text.replace(form, "<token>")
    return " ".join(text.split())


@dataclass
class Plex:
    url: str
    token: str = field(repr=False)
    timeout: float = 10.0

    def _fail(self, what: str, exc: BaseException) -> PlexError:
        from plexapi.exceptions import Unauthorized

        if isinstance(exc, Unauthorized):
            return PlexError(f"Plex at {self.url} refused the token (401 Unauthorized) {what}")
        detail = scrub(f"{type(exc).__name__}: {exc}", self.token)
        if len(detail) > 300:
            detail = detail[:297] + "..."
        return PlexError(f"Plex at {self.url} {what}: {detail}")

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # requests and plexapi errors alike become one clean line
            raise self._fail(what, exc) from None

    def refresh(self, section_name: str) -> Any:
        """Connect, find the section by title and ask Plex to scan it; the section."""
        from plexapi.exceptions import NotFound
        from plexapi.server import PlexServer

        server = self._call(
            "cannot be reached",
            lambda: PlexServer(self.url, self.token, timeout=self.timeout),  # type: ignore[no-untyped-call]
        )
        try:
            section = server.library.section(section_name)
        except NotFound:
            titles = self._call("cannot list sections", server.library.sections)
            names = ", ".join(repr(s.title) for s in titles) or "none"
            raise PlexError(f"Plex has no library section {section_name!r} ({names})") from None
        except Exception as exc:
            raise self._fail("cannot list sections", exc) from None
        self._call(f"refused to refresh section {section_name!r}", section.update)
        return section

    def shows(self, section: Any, file_name: str) -> bool:
        """Whether one of the section's newest items is a file called ``file_name``.

        Matched by file name: Plex may mount the library under another path than this pod.
        """
        data = self._call(
            "cannot list the section",
            lambda: section._server.query(
                f"/library/sections/{section.key}/all",
                params={
                    "sort": "addedAt:desc",
                    "X-Plex-Container-Start": 0,
                    "X-Plex-Container-Size": RECENT_ITEMS,
                },
            ),
        )
        if data is None:
            return False
        return any(
            PurePosixPath(part.attrib.get("file", "")).name == file_name
            for part in data.iter("Part")
        )

    def wait_for(self, section: Any, file_name: str, tries: int, interval: float) -> None:
        """Until Plex shows the file, at most ``tries`` times; PlexError saying so otherwise."""
        for attempt in range(tries):
            if self.shows(section, file_name):
                return
            if attempt + 1 < tries:
                time.sleep(interval)
        waited = interval * max(0, tries - 1)
        raise PlexError(
            f"Plex did not show {file_name!r} in section {section.title!r} "
            f"after {tries} checks over {waited:g} s"
        )
