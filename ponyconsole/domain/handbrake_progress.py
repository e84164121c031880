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
from collections.abc import Callable, Sequence
from typing import Any

from ponyconsole.domain.handbrake_json import Incomplete, Malformed, decode_block
from ponyconsole.domain.models import Progress, ProgressDraft, ProgressState

# One regex finds every update in a decoded chunk. Every alternative starts
# with a literal character and names its kind with an empty group at its very
# end (so ``m.lastindex`` is that group): this lets the regex engine skip the
# text between updates on a first-character test alone.
#
# The two fast alternatives come first: runs of the updates HandBrake prints
# thousands of times per encode, in exactly the form it prints them; a second
# regex then splits a run into rows with findall, in C. Each accepts only text
# on which the general path (_general) would give the same updates and resume
# at the same place: terminated lines, bounded digits (so a line stays within
# _MAX_LINE and numbers convert exactly), JSON numbers that float() reads as
# json does. Anything else falls through to the general markers.
_D = r"[0-9]{1,9}"
_DEC = rf"{_D}(?:\.{_D})?"
# narrower than what HandBrake could print, so no clamping is needed and the
# small fields convert by table; a task above 99, a percentage above 100 or
# an ETA above 99 h takes the general path
_TASK = r"[1-9][0-9]?"
_PERCENT = r"(?:100(?:\.0{1,9})?|[0-9]{1,2}(?:\.[0-9]{1,9})?)"
_TWO = r"[0-9][0-9]"
_TASKS = {str(i): i for i in range(1, 100)}
_HOURS = {f"{i:02d}": i * 3600 for i in range(100)}
_MINUTES = {f"{i:02d}": i * 60 for i in range(100)}
_SECONDS = {f"{i:02d}": i for i in range(100)}


def _text_line(cap: str) -> str:
    """One ``Encoding: task`` line; ``cap`` opens its number groups: "(" or "(?:"."""
    return (
        rf"Encoding: task {cap}{_TASK}) of {cap}{_TASK}), {cap}{_PERCENT}) %"
        rf"(?: \({cap}{_DEC}) fps, avg {cap}{_DEC}) fps, "
        rf"ETA {cap}{_TWO})h{cap}{_TWO})m{cap}{_TWO})s\))?"
    )


_JINT = r"-?(?:0|[1-9][0-9]{0,14})"  # a JSON integer that survives float() exactly
# non-negative, exponent < 100: float() gives what json + _num give (never inf, never -0.0)
_JNUM = r"(?:0|[1-9][0-9]{0,19})(?:\.[0-9]{1,40})?(?:[eE][-+]?[0-9]{1,2})?"


def _json_block(cap: str) -> str:
    """jansson's pretty-print of one WORKING block, keys sorted."""
    return (
        r'Progress: \{\n    "State": "WORKING",\n    "Working": \{'
        rf'\n        "ETASeconds": {cap}{_JINT}),'
        rf'\n        "Hours": {cap}{_JINT}),'
        rf'\n        "Minutes": {_JINT},'
        rf'\n        "Pass": {cap}{_JINT}),'
        rf'\n        "PassCount": {cap}{_JINT}),'
        rf'\n        "PassID": {cap}{_JINT}),'
        rf'\n        "Paused": {_JINT},'
        rf'\n        "Progress": {cap}{_JNUM}),'
        rf'\n        "Rate": {cap}{_JNUM}),'
        rf'\n        "RateAvg": {cap}{_JNUM}),'
        rf'\n        "Seconds": {_JINT},'
        rf'\n        "SequenceID": {_JINT}'
        r"\n    \}\n\}"
    )


# runs are found without capturing (captures cost time), then split into rows
_LINE, _BLOCK = _text_line("(?:"), _json_block("(?:")
_ERR = r"(?:ERROR: |Invalid preset |Missing input )"
_FAST = (
    # "\r"-separated lines, the last one terminated too
    rf"{_LINE}(?:\r{_LINE})*(?=[\r\n])(?P<textrun>)",
    # blocks one after the other, the first "\n}" closing each
    rf"{_BLOCK}(?:\n{_BLOCK})*(?P<jsonrun>)",
)
_GENERAL = (
    r"Progress: ?\{(?P<json>)",
    r"Encoding: task (?P<enc>)",
    r"Muxing: (?P<mux>)",
    r"Scanning title (?P<scan>)",
    r"Encode done!(?P<done>)",
    r"Encode failed(?P<fail>)",
    r"Encode canceled(?P<fail_canceled>)",
    r"No title found(?P<fail_notitle>)",
    # only at the start of a line: "udfread ERROR: ..." is printed by every
    # successful encode of a plain file and means nothing
    rf"\r{_ERR}(?P<err>)",
    rf"\n{_ERR}(?P<err_lf>)",
)
_MARKER = re.compile("|".join(_FAST + _GENERAL))
_TEXT_RUN = _MARKER.groupindex["textrun"]
_JSON_RUN = _MARKER.groupindex["jsonrun"]
_KIND = {i: name.split("_")[0] for name, i in _MARKER.groupindex.items()}
_TEXT_ROWS = re.compile(_text_line("(")).findall
_JSON_ROWS = re.compile(_json_block("(")).findall
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
# a rate below this prints as "0.00 fps" in HandBrake's own text form: --json
# reports 0.0 until the rate is measured, then 1e-7-ish values for a while
_MIN_RATE = 0.005

# one task update for _advance: state, task, task count, percent, fps, avg fps, ETA, message
_Update = tuple[ProgressState, int, int, float, float | None, float | None, int | None, str | None]


def _num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if value != value or value in (float("inf"), float("-inf")):  # NaN / Infinity
        return default
    return float(value)


def _rate(value: float) -> float | None:
    """A frame rate HandBrake has measured, or None."""
    return value if value >= _MIN_RATE else None


def _bounded(
    state: ProgressState,
    pass_: int,
    passes: int,
    percent: float,
    fps: float | None,
    avg: float | None,
    eta: int | None,
    message: str | None,
) -> tuple[_Update]:
    """One task update of the general path, its numbers within what _advance expects."""
    passes = max(1, min(passes, 1000))
    pass_ = max(1, pass_)
    percent = 0.0 if percent < 0.0 else 100.0 if percent > 100.0 else percent
    return ((state, pass_, passes, percent, fps, avg, eta, message),)


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
        # the run whose overall_percent must never go backwards (see _advance)
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
        restart = True
        while restart:
            restart = False
            for m in _MARKER.finditer(text, pos):
                kind = m.lastindex
                if kind == _TEXT_RUN:
                    self._text_run(text, m.start(), m.end(), out)
                    pos = m.end()
                elif kind == _JSON_RUN:
                    self._json_run(text, m.start(), m.end(), out)
                    pos = m.end()
                else:
                    pos, keep = self._general(m, text, final, out)
                    if keep >= 0:
                        break
                    if pos > m.end():  # the line or block went further than the marker
                        restart = True
                        break
        if keep < 0:
            keep = max(pos, len(text) - _KEEP)
        self._pending = "" if final else text[keep:]
        return out

    def _text_run(self, text: str, start: int, end: int, out: list[Progress]) -> None:
        """Consecutive ``Encoding: task`` lines, converted by table, for _advance."""
        working, tasks_, hours_, minutes_, seconds_ = (
            ProgressState.WORKING, _TASKS, _HOURS, _MINUTES, _SECONDS
        )  # fmt: skip
        self._advance(
            [
                (working, tasks_[task], tasks_[tasks], float(pct), float(fps), float(avg),
                 hours_[h] + minutes_[mi] + seconds_[sec], None)
                if h
                else (working, tasks_[task], tasks_[tasks], float(pct), None, None, None, None)
                for task, tasks, pct, fps, avg, h, mi, sec in _TEXT_ROWS(text, start, end)
            ],
            out,
        )  # fmt: skip

    def _json_run(self, text: str, start: int, end: int, out: list[Progress]) -> None:
        """Consecutive WORKING blocks: what _json does with each, on the captured numbers.

        The integers may be anything JSON allows: bounded here as _bounded does.
        """
        working = ProgressState.WORKING
        self._advance(
            [
                (working, max(1, int(pass_)), max(1, min(int(passes), 1000)),
                 min(float(pct) * 100.0, 100.0), _rate(float(rate)),
                 _rate(float(rate_avg)), int(eta) if int(hours) >= 0 else None,
                 "Subtitle scan" if pass_id == "-1" else None)
                for eta, hours, pass_, passes, pass_id, pct, rate, rate_avg
                in _JSON_ROWS(text, start, end)
            ],
            out,
        )  # fmt: skip

    def _general(
        self, m: re.Match[str], text: str, final: bool, out: list[Progress]
    ) -> tuple[int, int]:
        """One marker of the general path: (where scanning resumes, where to stop or -1)."""
        kind = _KIND[m.lastindex or 0]
        if kind == "json":
            brace = m.end() - 1
            try:
                value, end = decode_block(text, brace, final)
            except Incomplete:
                if len(text) - brace > _MAX_BLOCK:
                    return m.end(), -1
                self._retry_len = len(text) + max(64, (len(text) - brace) // 4)
                return m.end(), m.start()
            except Malformed:
                return m.end(), -1
            self._json(value, out)
            return end, -1
        start = m.start() + 1 if kind == "err" else m.start()  # after the "\n"
        eol_match = _EOL.search(text, m.end())
        if eol_match is None:
            if not final:
                if len(text) - start <= _MAX_LINE:
                    return m.end(), m.start()
                return m.end(), -1
            eol = len(text)
        else:
            eol = eol_match.start()
        if eol - start > _MAX_LINE:
            eol = start + _MAX_LINE
        self._line(kind, text, start, eol, out)
        return eol, -1  # the terminator may start the next "\nERROR: " line

    # -- one update -------------------------------------------------------

    def _line(self, kind: str | None, text: str, start: int, eol: int, out: list[Progress]) -> None:
        if kind == "enc":
            m = _ENCODING.match(text, start, eol)
            if m is None:
                return
            task, tasks, searching, pct, fps, avg, h, mi, s = m.groups()
            eta = int(h) * 3600 + int(mi) * 60 + int(s) if h is not None else None
            self._advance(
                _bounded(
                    ProgressState.SEARCHING if searching else ProgressState.WORKING,
                    int(task),
                    int(tasks),
                    float(pct),
                    float(fps) if fps is not None else None,
                    float(avg) if avg is not None else None,
                    eta,
                    "Searching for start time" if searching else None,
                ),
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
            # Hours, Minutes and Seconds are -1 until HandBrake has an ETA; it may
            # already have a rate (seen on DVD sources and in real --json output)
            known = _num(w.get("Hours"), -1.0) >= 0
            pass_id = w.get("PassID")
            message = "Subtitle scan" if pass_id == -1 else None
            if state is ProgressState.PAUSED:
                message = "Paused"
            elif state is ProgressState.SEARCHING:
                message = "Searching for start time"
            eta = int(_num(w.get("ETASeconds"))) if known else None
            self._advance(
                _bounded(
                    state,
                    int(_num(w.get("Pass"), 1.0)),
                    int(_num(w.get("PassCount"), 1.0)),
                    _num(w.get("Progress")) * 100.0,
                    _rate(_num(w.get("Rate"))),
                    _rate(_num(w.get("RateAvg"))),
                    eta,
                    message,
                ),
                out,
            )

    def _advance(self, updates: Sequence[_Update], out: list[Progress]) -> None:
        """The state machine of task updates, one or a run of many (the hot loop).

        The general path passes its numbers through _bounded first; the fast
        paths' regexes admit only numbers within those bounds.

        A run is one encode: it begins when the task number goes down, the task
        count changes or the previous run ended (WORKDONE). Within a run
        ``overall_percent`` never decreases, whatever the percentages do.
        """
        run_pass, run_passes, run_pct = self._pass, self._passes, self._percent
        run_overall, finished = self._overall, self._finished
        draft, progress = ProgressDraft, Progress
        # a draft becomes a Progress before anyone else sees the list
        append: Callable[[object], None] = out.append  # type: ignore[assignment]
        update = previous = None
        for row in updates:
            if row == previous:  # HandBrake repeats an update while a stage stalls (~1 in 3)
                append(update)  # the same update: the same (immutable) Progress
                continue
            previous = row
            state, pass_, passes, percent, fps, avg, eta, message = row
            if pass_ > passes:  # the callers bound passes to 1..1000, pass_ >= 1, percent
                pass_ = passes
            if finished or passes != run_passes or pass_ < run_pass:
                if finished or run_passes:  # a new run, not the first task of this one
                    run_overall = 0.0
                finished = False
            overall = ((pass_ - 1) + percent / 100.0) / passes * 100.0
            if overall < run_overall:
                overall = run_overall
            run_pass, run_passes, run_pct, run_overall = pass_, passes, percent, overall
            update = draft(state, pass_, passes, percent, overall, fps, avg, eta, message)
            update.__class__ = progress  # type: ignore[assignment]
            append(update)
        self._pass, self._passes, self._percent = run_pass, run_passes, run_pct
        self._overall, self._finished = run_overall, finished
        if update is not None:
            self._last = update  # type: ignore[assignment]

    def _begin(self) -> None:
        """After a run's end, any update but another end begins a new run."""
        if self._finished:
            self._finished = False
            self._pass = self._passes = 0
            self._percent = self._overall = 0.0

    def _muxing(self, percent: float | None, out: list[Progress]) -> None:
        self._begin()
        passes = self._passes or 1
        pct = 100.0 if percent is None else max(0.0, min(100.0, percent))
        self._overall = 100.0
        self._emit(
            Progress(ProgressState.MUXING, passes, passes, pct, 100.0, message="Muxing"), out
        )

    def _scanning(
        self, title: int, titles: int, preview: int, pct: float, out: list[Progress]
    ) -> None:
        self._begin()
        pct = max(0.0, min(100.0, pct))
        message = f"Scanning title {title} of {titles}"
        if preview:
            message += f", preview {preview}"
        overall = self._overall  # a scan inside a run does not take its progress back
        self._emit(Progress(ProgressState.SCANNING, 1, 1, pct, overall, message=message), out)

    def _workdone(self, code: int, out: list[Progress]) -> None:
        if self._finished:  # the last update was this run's end
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
