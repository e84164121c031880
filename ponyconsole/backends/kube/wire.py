"""The fields of Nodes, Jobs and Pods the console reads, and fast decoders that keep only them.

A list of 3,000 Pods is ~14 MB of JSON, ~40 % of it ``managedFields``.
``json.loads`` builds every field as Python objects (~60 MiB held for 3,000
Pods, ~1 s of CPU); msgspec decoding into these ``TypedDict`` schemas skips
what is not named here without building it (~15 MiB, ~0.15 s) and still
yields plain dicts, so ``convert`` and ``store`` read them as before.

Leaves are ``Any``: a value of an unexpected type is kept as sent rather than
failing the whole list (``convert`` already copes with odd values). A field
that ``convert``, ``store`` or ``backend`` starts to read must be added here,
or it reads as missing; ``tests/test_kube_wire.py`` checks that every field
they read today survives.
"""

from __future__ import annotations

from typing import Any, TypedDict

import msgspec


class _Owner(TypedDict, total=False):
    kind: Any
    name: Any


class _Meta(TypedDict, total=False):
    name: Any
    namespace: Any
    uid: Any
    resourceVersion: Any
    creationTimestamp: Any
    deletionTimestamp: Any
    labels: dict[str, Any]
    annotations: dict[str, Any]
    ownerReferences: list[_Owner]


class _Condition(TypedDict, total=False):
    type: Any
    status: Any
    reason: Any
    message: Any
    lastTransitionTime: Any


# -- nodes ---------------------------------------------------------------------------


class _Address(TypedDict, total=False):
    type: Any
    address: Any


class _NodeInfo(TypedDict, total=False):
    kubeletVersion: Any


class _NodeSpec(TypedDict, total=False):
    unschedulable: Any


class _NodeStatus(TypedDict, total=False):
    conditions: list[_Condition]
    addresses: list[_Address]
    allocatable: dict[str, Any]
    nodeInfo: _NodeInfo


class NodeWire(TypedDict, total=False):
    metadata: _Meta
    spec: _NodeSpec
    status: _NodeStatus


# -- jobs ------------------------------------------------------------------------------


class _JobStatus(TypedDict, total=False):
    conditions: list[_Condition]
    startTime: Any
    completionTime: Any


class JobWire(TypedDict, total=False):
    metadata: _Meta
    status: _JobStatus


# -- pods --------------------------------------------------------------------------------


class _Resources(TypedDict, total=False):
    requests: dict[str, Any]


class _Container(TypedDict, total=False):
    name: Any
    resources: _Resources


class _PodSpec(TypedDict, total=False):
    nodeName: Any
    containers: list[_Container]


class _Terminated(TypedDict, total=False):
    exitCode: Any
    message: Any
    reason: Any


class _ContainerState(TypedDict, total=False):
    terminated: _Terminated


class _ContainerStatus(TypedDict, total=False):
    name: Any
    state: _ContainerState


class _PodStatus(TypedDict, total=False):
    phase: Any
    message: Any
    reason: Any
    conditions: list[_Condition]
    containerStatuses: list[_ContainerStatus]
    startTime: Any


class PodWire(TypedDict, total=False):
    metadata: _Meta
    spec: _PodSpec
    status: _PodStatus


# -- lists and watch events -------------------------------------------------------------

_ListMeta = TypedDict("_ListMeta", {"resourceVersion": Any, "continue": Any}, total=False)


class _Event(TypedDict, total=False):
    type: Any
    object: msgspec.Raw  # decoded once its type says how (an ERROR is a Status)


class _BookmarkMeta(TypedDict, total=False):
    resourceVersion: Any
    annotations: dict[str, Any] | None


class _Bookmark(TypedDict, total=False):
    """A BOOKMARK's object: an empty object of the kind but for its version. Decoded on its
    own: a Pod's comes with ``"containers": null``, which the Pod schema refuses, and every
    bookmark (about one a minute) then cost a full re-list of the Pods."""

    metadata: _BookmarkMeta


class _NodeList(TypedDict, total=False):
    metadata: _ListMeta
    items: list[NodeWire]


class _JobList(TypedDict, total=False):
    metadata: _ListMeta
    items: list[JobWire]


class _PodList(TypedDict, total=False):
    metadata: _ListMeta
    items: list[PodWire]


class _AnyList(TypedDict, total=False):
    metadata: _ListMeta
    items: list[dict[str, Any]]


class Decoders:
    """``page(bytes)`` -> {"metadata", "items"}; ``event(bytes)`` -> {"type", "object"}."""

    def __init__(self, item_type: Any, list_type: Any) -> None:
        self._page = msgspec.json.Decoder(list_type)
        self._object = msgspec.json.Decoder(item_type)
        self._any = msgspec.json.Decoder(dict[str, Any])
        self._event = msgspec.json.Decoder(_Event)
        self._bookmark = msgspec.json.Decoder(_Bookmark)

    def page(self, data: bytes) -> dict[str, Any]:
        page: dict[str, Any] = self._page.decode(data)
        return page

    def event(self, line: bytes) -> dict[str, Any]:
        event: dict[str, Any] = dict(self._event.decode(line))
        raw = event.get("object")
        if raw is None:
            event["object"] = {}
        elif event.get("type") == "ERROR":
            event["object"] = self._any.decode(raw)  # a Status: code, reason, message
        elif event.get("type") == "BOOKMARK":
            event["object"] = self._bookmark.decode(raw)
        else:
            event["object"] = self._object.decode(raw)
        return event


NODE = Decoders(NodeWire, _NodeList)
JOB = Decoders(JobWire, _JobList)
POD = Decoders(PodWire, _PodList)
WHOLE = Decoders(dict[str, Any], _AnyList)  # every field (kinds without a schema here)
