"""A small fake Plex Media Server: only the endpoints the real plexapi client calls here.

``GET /`` (connect), ``/library``, ``/library/sections``,
``/library/sections/{id}/refresh`` (scan) and ``/library/sections/{id}/all``.
A refresh makes the files of the section's folder appear as items, as Plex does;
``show_items=False`` never shows them, ``unauthorized=True`` answers 401 to
everything. It records every token it saw and every refresh asked.
Plex Media Server itself cannot be installed here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import quoteattr

MACHINE_ID = "f4k3p13x0000000000000000000000000000cafe"
SERVER_ATTRS = 'friendlyName="fake-plex" version="1.41.0.8992" platform="Linux" myPlex="0"'
SECTION_ATTRS = 'agent="tv.plex.agents.movie" scanner="Plex Movie" language="en-US"'


@dataclass
class FakePlex:
    token: str
    sections: dict[str, Path]  # title -> folder
    show_items: bool = True
    unauthorized: bool = False
    tokens_seen: list[str] = field(default_factory=list)
    refreshes: list[str] = field(default_factory=list)  # section ids, in order
    requests: list[str] = field(default_factory=list)
    items: dict[str, list[Path]] = field(default_factory=dict)  # section id -> files
    on_request: Callable[[str], None] | None = None  # called with each path, before answering
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakePlex:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- requests ------------------------------------------------------------

    def _ids(self) -> dict[str, tuple[str, Path]]:
        return {str(i): (title, path) for i, (title, path) in enumerate(self.sections.items(), 1)}

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        url = urlsplit(req.path)
        query = parse_qs(url.query)
        token = req.headers.get("X-Plex-Token") or (query.get("X-Plex-Token") or [""])[0]
        self.tokens_seen.append(token)
        self.requests.append(url.path)
        if self.on_request is not None:
            self.on_request(url.path)
        if self.unauthorized or token != self.token:
            self._send(req, 401, "<html><head><title>Unauthorized</title></head>"
                       "<body><h1>401 Unauthorized</h1></body></html>", "text/html")  # fmt: skip
            return
        path = url.path.rstrip("/")
        parts = path.split("/")
        ids = self._ids()
        if path == "":
            body = f'<MediaContainer size="0" machineIdentifier="{MACHINE_ID}" {SERVER_ATTRS}/>'
        elif path == "/library":
            body = (
                '<MediaContainer size="1" title1="Plex Library">'
                '<Directory key="sections" title="Library Sections"/></MediaContainer>'
            )
        elif path == "/library/sections":
            dirs = "".join(
                f'<Directory key="{i}" type="movie" title={quoteattr(title)}'
                f' {SECTION_ATTRS} uuid="sec-{i}">'
                f'<Location id="{i}" path={quoteattr(str(folder))}/></Directory>'
                for i, (title, folder) in ids.items()
            )
            body = (
                f'<MediaContainer size="{len(ids)}" title1="Plex Library">{dirs}</MediaContainer>'
            )
        elif len(parts) == 5 and parts[:3] == ["", "library", "sections"] and parts[3] in ids:
            sid, action = parts[3], parts[4]
            if action == "refresh":
                self.refreshes.append(sid)
                if self.show_items:
                    folder = ids[sid][1]
                    self.items[sid] = sorted(p for p in folder.iterdir() if p.is_file())
                self._send(req, 200, "", "text/plain")
                return
            if action == "all":
                videos = "".join(
                    f'<Video ratingKey="{n}" key="/library/metadata/{n}" type="movie"'
                    f' title={quoteattr(f.stem)}><Media id="{n}">'
                    f'<Part id="{n}" file={quoteattr(str(f))} size="{f.stat().st_size}"/>'
                    "</Media></Video>"
                    for n, f in enumerate(self.items.get(sid, []), 1)
                    if f.exists()
                )
                count = len(self.items.get(sid, []))
                body = f'<MediaContainer size="{count}">{videos}</MediaContainer>'
            else:
                self._send(req, 404, "", "text/plain")
                return
        else:
            self._send(req, 404, "", "text/plain")
            return
        self._send(req, 200, '<?xml version="1.0" encoding="UTF-8"?>\n' + body, "text/xml")

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, body: str, kind: str) -> None:
        data = body.encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", f"{kind}; charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)
