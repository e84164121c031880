"""List and watch one collection through the official client's ``ApiClient``, untyped.

``CoreV1Api`` and ``BatchV1Api`` import every typed model their methods name
(kubernetes 37: 274 pydantic models for ``CoreV1Api``, ~1 s of CPU and tens
of MiB at start) and validate each call's arguments with pydantic; the
informers read raw JSON and need neither. ``RawList`` builds the same GET
with the same ``ApiClient`` (configuration, authentication, TLS, connection
pool, ``ApiException`` on a non-2xx answer) and returns the undecoded
response, like the typed method called with ``_preload_content=False``.
Actions, which are rare, still use the typed API classes.
"""

from __future__ import annotations

from typing import Any

NODES_PATH = "/api/v1/nodes"


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


def jobs_path(namespace: str) -> str:
    return f"/apis/batch/v1/namespaces/{namespace}/jobs"


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class RawList:
    """``list_call`` of an informer ``Kind``: the typed list method's keyword arguments."""

    def __init__(self, api_client: Any, path: str) -> None:
        self.api_client = api_client
        self.path = path

    def __call__(
        self,
        *,
        _preload_content: bool = False,
        _request_timeout: Any = None,
        _continue: str | None = None,
        label_selector: str | None = None,
        limit: int | None = None,
        watch: bool | None = None,
        allow_watch_bookmarks: bool | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
    ) -> Any:
        if _preload_content:
            raise ValueError("RawList returns the raw response only (_preload_content=False)")
        query = _query(
            allowWatchBookmarks=allow_watch_bookmarks,
            labelSelector=label_selector,
            limit=limit,
            resourceVersion=resource_version,
            timeoutSeconds=timeout_seconds,
            watch=watch,
            **{"continue": _continue},
        )
        return raw_get(self.api_client, self.path, query, _request_timeout)


class RawPodLogs:
    """``read_namespaced_pod_log`` with ``_preload_content=False``, untyped.

    The log followers start on the event loop; the typed ``CoreV1Api`` would
    import its 274 models there (~1 s) the first time a transcode is followed.
    """

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    def read_namespaced_pod_log(
        self,
        name: str,
        namespace: str,
        *,
        _preload_content: bool = False,
        _request_timeout: Any = None,
        container: str | None = None,
        follow: bool | None = None,
        tail_lines: int | None = None,
    ) -> Any:
        if _preload_content:
            raise ValueError("RawPodLogs returns the raw response only (_preload_content=False)")
        query = _query(container=container, follow=follow, tailLines=tail_lines)
        path = f"{pods_path(namespace)}/{name}/log"
        # The body is plain text whatever is accepted; the API server refuses a text/plain
        # Accept (406), and the typed client sends application/json too.
        return raw_get(self.api_client, path, query, _request_timeout)


def _query(**params: object) -> list[tuple[str, str]]:
    return [(key, _text(value)) for key, value in sorted(params.items()) if value is not None]


def raw_get(
    api_client: Any,
    path: str,
    query: list[tuple[str, str]],
    request_timeout: Any,
) -> Any:
    """GET ``path`` through ``api_client``; the undecoded urllib3 response, or ApiException."""
    from kubernetes.client.exceptions import ApiException

    request = api_client.param_serialize(
        method="GET",
        resource_path=path,
        query_params=query,
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    answer = api_client.call_api(*request, _request_timeout=request_timeout)
    if not 200 <= answer.status <= 299:
        answer.read()
        raise ApiException.from_response(http_resp=answer, body=None, data=None)
    return answer.response
