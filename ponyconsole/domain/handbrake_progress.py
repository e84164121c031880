"""Streaming parser of HandBrakeCLI's progress output, text and ``--json`` forms.

Fed bytes as they arrive (chunks split anywhere, even inside a UTF-8
character), it yields one ``Progress`` per update HandBrake printed:

- text form, ``\\r``-separated: ``Encoding: task 1 of 2, 45.67 %`` with an
  optional `` (123.45 fps, avg 110.20 fps, ETA 00h01m02s)``, ``Muxing: this
  may take awhile...``, ``Scanning title 1 of 1, preview 3, 30.00 %``;
- ``--json`` form: pretty-printed ``Progress: {...}`` blocks (states WORKING,
  PAUSED, SEARCHING, SCANNING, SCANDONE, MUXING, WORKDONE);
- stderr merged in or not: "Encode done!", "Encode failed (error 3).", "No
  title found.", "ERROR: ...", "Invalid preset ...", "Missing input ...".

Scanning is done by one regex over the whole decoded chunk; only the few
characters of an unfinished line or block are carried to the next feed.
The parser never raises on garbage, invalid UTF-8 or truncated output.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from ponyconsole.domain.handbrake_json import Incomplete, Malformed, decode_block
from ponyconsole.domain.models import Progress, ProgressState

_MARKER = re.compile(
    r"(?P<json>Progress: ?\{)"
    r"|(?P<enc>Encoding: task )"
    r"|(?P<mux>Muxing: )"
    r"|(?P<scan>Scanning title )"
    r"|(?P<done>Encode done!)"
    r"|(?P<fail>Encode failed|Encode canceled|No title found)"
    # only at the start of a line: "udfread ERROR: ..." is printed by every
    # successful encode of a plain file and means nothing
    r"|[\r\n](?P<err>ERROR: |Invalid preset |Missing input )"
)
_KEEP = 24  # > the longest marker, so a marker split across feeds is still found
_EOL = re.compile(r"[\r\n]")
_MAX_LINE = 2048  # an unterminated "line" longer than this is garbage
_MAX_BLOCK = 1 << 18  # a progress block is < 1 KB; never buffer more than this

_ENCODING = re.compile(
    r"Encoding: task (\d+) of (\d+), (Searching for start time, )?(\d+(?:\.\d+)?) %"
    r"(?: \((?:(\d+(?:\.\d+)?) fps, avg (\d+(?:\.\d+)?) fps, )?ETA (\d+)h(\d+)m(\d+)s\))?"
)
_SCANNING = re.compile(r"Scanning title (\d+) of (\d+)(?:, preview (\d+))?, (\d+(?:\.\d+)?) %")
_FAILED = re.compile(r"Encode failed \(error ([0-9a-fA-F]+)\)")

# HandBrake's hb_error_code, for the WorkDone.Error of the --json form
_ERROR_CODES = {1: "canceled", 2: "wrong input", 3: "initialization", 4: "unknown", 5: "read"}
_JSON_STATES = {
    "WORKING": ProgressState.WORKING,
    "PAUSED": ProgressState.PAUSED,
    "SEARCHING": ProgressState.SEARCHING,
    "SCANNING": ProgressState.SCANNING,
    "SCANDONE": ProgressState.SCANNING,
    "MUXING": ProgressState.MUXING,
    "WORKDONE": ProgressState.WORKDONE,
}
_MAX_ERRORS = 20


def _num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if value != value or value in (float("inf"), float("-inf")):  # NaN / Infinity
        return default
    return float(value)


class ProgressParser:
    """One HandBrake run's (or one log's) output, fed as it arrives."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # a virtual newline, so "ERROR: " on the very first line counts as a line start
        self._pending = "\n"
        self._retry_len = 0  # an incomplete block is retried once the text grows past this
        self._last: Progress | None = None
        self._errors: list[str] = []
        self._succeeded = False
        # the run whose overall_percent must never go backwards
        self._pass = 0
        self._passes = 0
        self._percent = 0.0
        self._overall = 0.0
        self._finished = False

    # -- public API -------------------------------------------------------

    def feed(self, data: bytes) -> list[Progress]:
        """Updates completed by this chunk, in order."""
        text = self._decoder.decode(bytes(data), final=False)
        return self._scan(text, final=False)

    def close(self) -> list[Progress]:
        """Flush what is pending at EOF (a last line without a terminator)."""
        text = self._decoder.decode(b"", final=True)
        return self._scan(text, final=True)

    @property
    def last(self) -> Progress | None:
        return self._last

    @property
    def errors(self) -> list[str]:
        return list(self._errors)

    @property
    def failure_reason(self) -> str | None:
        """What the runner shows when HandBrake failed: "HandBrake: No title found."."""
        if not self._errors or self._succeeded:
            return None
        generic = ("Encode failed", "Encode canceled")
        specific = [e for e in self._errors if not e.startswith(generic)]
        return "HandBrake: " + (specific[0] if specific else self._errors[0])

    # -- scanning ---------------------------------------------------------

    def _scan(self, new: str, final: bool) -> list[Progress]:
        text = self._pending + new if new else self._pending
        if not final and len(text) < self._retry_len and "}" not in new:
            self._pending = text
            return []
        self._retry_len = 0
        out: list[Progress] = []
        pos = 0
        keep = -1
        search = _MARKER.search
        while (m := search(text, pos)) is not None:
            kind = m.lastgroup
            if kind == "json":
                brace = m.end() - 1
                try:
                    value, end = decode_block(text, brace, final)
                except Incomplete:
                    if len(text) - brace > _MAX_BLOCK:
                        pos = m.end()
                        continue
                    keep = m.start()
                    self._retry_len = len(text) + max(64, (len(text) - brace) // 4)
                    break
                except Malformed:
                    pos = m.end()
                    continue
                self._json(value, out)
                pos = end
                continue
            start = m.start(kind)
            eol_match = _EOL.search(text, m.end())
            if eol_match is None:
                if not final:
                    if len(text) - start <= _MAX_LINE:
                        keep = m.start()
                        break
                    pos = m.end()
                    continue
                eol = len(text)
            else:
                eol = eol_match.start()
            if eol - start > _MAX_LINE:
                eol = start + _MAX_LINE
            self._line(kind, text, start, eol, out)
            pos = eol  # the terminator may start the next "\nERROR: " line
        if keep < 0:
            keep = max(pos, len(text) - _KEEP)
        self._pending = "" if final else text[keep:]
        return out

    # -- one update -------------------------------------------------------

    def _line(self, kind: str | None, text: str, start: int, eol: int, out: list[Progress]) -> None:
        if kind == "enc":
            m = _ENCODING.match(text, start, eol)
            if m is None:
                return
            task, tasks, searching, pct, fps, avg, h, mi, s = m.groups()
            eta = int(h) * 3600 + int(mi) * 60 + int(s) if h is not None else None
            self._working(
                ProgressState.SEARCHING if searching else ProgressState.WORKING,
                int(task),
                int(tasks),
                float(pct),
                float(fps) if fps is not None else None,
                float(avg) if avg is not None else None,
                eta,
                "Searching for start time" if searching else None,
                out,
            )
        elif kind == "mux":
            self._muxing(None, out)
        elif kind == "scan":
            m = _SCANNING.match(text, start, eol)
            if m is not None:
                title, titles, preview, pct = m.groups()
                self._scanning(int(title), int(titles), int(preview or 0), float(pct), out)
        elif kind == "done":
            self._workdone(0, out)
        elif kind == "fail":
            line = text[start:eol].strip()
            if line.startswith("Encode failed"):
                m = _FAILED.match(line)
                self._workdone(int(m.group(1), 16) if m else 4, out)
            elif line.startswith("Encode canceled"):
                self._workdone(1, out)
            else:
                self._error("No title found.")
        else:  # err: a line starting with ERROR: / Invalid preset / Missing input
            line = text[start:eol].strip()
            if line.startswith("ERROR: "):
                line = line[7:].strip()
            elif line.startswith("Missing input"):
                line = line.split(". ", 1)[0].rstrip(".") + "."
            if line:
                self._error(line)

    def _json(self, value: dict[str, Any], out: list[Progress]) -> None:
        state = _JSON_STATES.get(str(value.get("State")))
        if state is None:
            return
        if state is ProgressState.WORKDONE:
            done = value.get("WorkDone")
            code = done.get("Error", 0) if isinstance(done, dict) else 0
            self._workdone(int(_num(code)), out)
        elif state is ProgressState.MUXING:
            mux = value.get("Muxing")
            pct = _num(mux.get("Progress"), 1.0) * 100.0 if isinstance(mux, dict) else None
            self._muxing(pct, out)
        elif state is ProgressState.SCANNING:
            scan = value.get("Scanning")
            if not isinstance(scan, dict):
                return
            pct = 100.0 if value.get("State") == "SCANDONE" else _num(scan.get("Progress")) * 100
            title, titles = int(_num(scan.get("Title"))), int(_num(scan.get("TitleCount")))
            self._scanning(title, titles, int(_num(scan.get("Preview"))), pct, out)
        else:
            w = value.get("Working")
            if not isinstance(w, dict):
                return
            known = _num(w.get("Hours"), -1.0) >= 0  # -1 until HandBrake has a rate
            pass_id = w.get("PassID")
            message = "Subtitle scan" if pass_id == -1 else None
            if state is ProgressState.PAUSED:
                message = "Paused"
            elif state is ProgressState.SEARCHING:
                message = "Searching for start time"
            eta = int(_num(w.get("ETASeconds"))) if known else None
            self._working(
                state,
                int(_num(w.get("Pass"), 1.0)),
                int(_num(w.get("PassCount"), 1.0)),
                _num(w.get("Progress")) * 100.0,
                _num(w.get("Rate")) if known else None,
                _num(w.get("RateAvg")) if known else None,
                eta,
                message,
                out,
            )

    def _working(
        self,
        state: ProgressState,
        pass_: int,
        passes: int,
        percent: float,
        fps: float | None,
        avg: float | None,
        eta: int | None,
        message: str | None,
        out: list[Progress],
    ) -> None:
        passes = max(1, min(passes, 1000))
        pass_ = max(1, min(pass_, passes))
        percent = 0.0 if percent < 0.0 else 100.0 if percent > 100.0 else percent
        if (
            self._finished
            or passes != self._passes
            or pass_ < self._pass
            or (pass_ == self._pass and percent < self._percent - 5.0)
        ):  # a new run: the log holds more than one encode
            self._overall = 0.0
            self._finished = False
        overall = ((pass_ - 1) + percent / 100.0) / passes * 100.0
        if overall < self._overall:
            overall = self._overall
        self._pass, self._passes, self._percent, self._overall = pass_, passes, percent, overall
        self._emit(
            Progress(state, pass_, passes, percent, overall, fps, avg, eta, message),
            out,
        )

    def _muxing(self, percent: float | None, out: list[Progress]) -> None:
        passes = self._passes or 1
        pct = 100.0 if percent is None else max(0.0, min(100.0, percent))
        self._overall = 100.0
        self._emit(
            Progress(ProgressState.MUXING, passes, passes, pct, 100.0, message="Muxing"), out
        )

    def _scanning(self, title: int, titles: int, preview: int, pct: float, out: list) -> None:
        pct = max(0.0, min(100.0, pct))
        message = f"Scanning title {title} of {titles}"
        if preview:
            message += f", preview {preview}"
        self._emit(Progress(ProgressState.SCANNING, 1, 1, pct, 0.0, message=message), out)

    def _workdone(self, code: int, out: list[Progress]) -> None:
        last = self._last
        if last is not None and last.state is ProgressState.WORKDONE and self._finished:
            return  # the same end seen twice: JSON block and stderr line
        passes = self._passes or 1
        if code == 0:
            self._succeeded = True
            progress = Progress(
                ProgressState.WORKDONE, passes, passes, 100.0, 100.0, message="Encode done"
            )
        else:
            self._succeeded = False
            reason = "Encode canceled." if code == 1 else f"Encode failed (error {code:x})."
            self._error(reason)
            progress = Progress(
                ProgressState.WORKDONE,
                self._pass or 1,
                passes,
                self._percent,
                self._overall,
                message=f"{reason[:-1]}: {_ERROR_CODES.get(code, 'unknown')}"
                if code != 1
                else reason[:-1],
            )
        self._finished = True
        self._emit(progress, out)

    def _error(self, message: str) -> None:
        message = message[:300]
        if message not in self._errors and len(self._errors) < _MAX_ERRORS:
            self._errors.append(message)

    def _emit(self, progress: Progress, out: list[Progress]) -> None:
        self._last = progress
        out.append(progress)


def parse_all(data: bytes) -> list[Progress]:
    """Every update in complete captured output."""
    parser = ProgressParser()
    return parser.feed(data) + parser.close()
