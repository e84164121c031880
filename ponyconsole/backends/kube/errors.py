"""An API failure, said the way a user can act on it.

The API server explains every refusal in a ``Status`` object (``message``,
``reason``); that sentence is what the user sees, never a traceback or the
client's dump of headers.
"""

from __future__ import annotations

import json

import urllib3.exceptions
from kubernetes.client import ApiException

from ponyconsole.backends.protocol import BackendError, NotAllowed

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError,  # MaxRetryError, ProtocolError, timeouts, SSL errors
    ConnectionError,
    TimeoutError,
)


def api_message(exc: ApiException) -> str:
    """The API server's own sentence for a refused request (its Status.message)."""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            status = json.loads(body)
        except ValueError:
            status = None
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
        if status is None:
            text = str(body).strip().splitlines()
            if text:
                return text[0][:300]
    return str(exc.reason or f"HTTP {exc.status}")


def _connection_reason(exc: BaseException) -> str:
    """The innermost useful reason of a connection failure ("Connection refused")."""
    reason: BaseException = exc
    inner = getattr(exc, "reason", None)
    if isinstance(inner, BaseException):
        reason = inner
    text = str(reason)
    # urllib3 puts the errno sentence last: "<...HTTPSConnection ...>: Failed to ...: [Errno 111]
    # Connection refused"; keep what follows the object's repr.
    if "): " in text:
        text = text.rsplit("): ", 1)[-1]
    elif ">: " in text:
        text = text.split(">: ", 1)[-1]
    return text or type(reason).__name__


def to_backend_error(exc: BaseException) -> BackendError:
    """Turn a kubernetes-client or connection exception into a user-facing BackendError."""
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, ApiException):
        message = api_message(exc)
        if exc.status == 403:
            return NotAllowed(f"not allowed: {message}")
        if exc.status == 404:
            return BackendError(f"no such object: {message}")
        if exc.status == 401:
            return NotAllowed(f"not allowed (not authenticated): {message}")
        if exc.status in (409, 422):
            return BackendError(message)
        if exc.status == 429:
            return BackendError(f"refused for now: {message}")
        if exc.status == 0 or exc.status is None:
            return BackendError(f"disconnected from the API server: {message}")
        return BackendError(f"the API server answered {exc.status}: {message}")
    if isinstance(exc, _CONNECTION_ERRORS):
        return BackendError(f"disconnected from the API server: {_connection_reason(exc)}")
    return BackendError(f"{type(exc).__name__}: {exc}")
