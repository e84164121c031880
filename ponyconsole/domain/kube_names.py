"""The names both the console and the pipeline put on Kubernetes objects.

One place, so the Job templates in ``k8s/``, the watcher that creates Jobs,
and the console that reads them can never disagree. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import re

PART_OF_LABEL = "app.kubernetes.io/part-of"
PART_OF_VALUE = "ponyconsole"
PART_OF_SELECTOR = f"{PART_OF_LABEL}={PART_OF_VALUE}"

JOB_TYPE_LABEL = "ponyconsole/job-type"  # "transcode" | "upload"
VIDEO_LABEL = "ponyconsole/video"  # the rip's stable id: one item in the console per value
LIBRARY_LABEL = "ponyconsole/library"

SOURCE_ANNOTATION = "ponyconsole/source"  # the rip's path as the user knows it
PRESET_ANNOTATION = "ponyconsole/preset"
TITLE_ANNOTATION = "ponyconsole/title"
OUTPUT_ANNOTATION = "ponyconsole/output"
RETRIES_ANNOTATION = "ponyconsole/retries"  # how many times this stage was retried
LAST_REASON_ANNOTATION = "ponyconsole/last-failure"  # kept across retries
MAC_ANNOTATION = "ponyconsole/mac"  # on a Node: where Wake-on-LAN sends its packet

TRANSCODE = "transcode"
UPLOAD = "upload"

_DNS_MAX = 63
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def stable_id(library: str, resolved_path: str, size: int, title: int | None) -> str:
    """The same rip (library, file, size, title) always gets the same id, on every machine."""
    key = json.dumps([library, resolved_path, size, title or 0])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def dns_label(text: str, suffix: str = "", max_length: int = _DNS_MAX) -> str:
    """A DNS-1123 label made from ``text`` plus ``-suffix``, with a short hash when shortened.

    "The Movie (2001).mkv", "transcode" -> "the-movie-2001-mkv-transcode". A
    name that had to be cut, or that had nothing usable, gets an 8-hex hash of
    the original so two long names never collide.
    """
    tail = f"-{suffix}" if suffix else ""
    base = _NOT_DNS.sub("-", text.lower()).strip("-")
    room = max_length - len(tail)
    if base and len(base) <= room:
        return base + tail
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    keep = base[: max(0, room - len(digest) - 1)].rstrip("-")
    return (f"{keep}-{digest}" if keep else digest) + tail


def job_name(rip_name: str, job_type: str) -> str:
    """``<sanitized-name>-transcode`` / ``-upload``, as in the seeds."""
    return dns_label(rip_name, job_type)
