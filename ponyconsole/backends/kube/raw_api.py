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
        from kubernetes.client.exceptions import ApiException

        if _preload_content:
            raise ValueError("RawList returns the raw response only (_preload_content=False)")
        query = [
            (key, _text(value))
            for key, value in (
                ("allowWatchBookmarks", allow_watch_bookmarks),
                ("continue", _continue),
                ("labelSelector", label_selector),
                ("limit", limit),
                ("resourceVersion", resource_version),
                ("timeoutSeconds", timeout_seconds),
                ("watch", watch),
            )
            if value is not None
        ]
        request = self.api_client.param_serialize(
            method="GET",
            resource_path=self.path,
            query_params=query,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        answer = self.api_client.call_api(*request, _request_timeout=_request_timeout)
        if not 200 <= answer.status <= 299:
            answer.read()
            raise ApiException.from_response(http_resp=answer, body=None, data=None)
        return answer.response
