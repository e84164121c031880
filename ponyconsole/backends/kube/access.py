"""What the console may change, learned from the API before the user presses a key.

Like k9s's ``CanForResource``: one SelfSubjectAccessReview per verb an action
needs, so a viewer's console dims the keys and says which rights are
missing, instead of answering a key press with a 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client
from kubernetes.client import ApiClient, ApiException

from ponyconsole.backends.kube.errors import to_backend_error
from ponyconsole.backends.protocol import Action, Permissions

READ_ONLY_REASON = "read-only mode (--read-only): nothing is changed"
REQUEST_TIMEOUT = (5, 15)


@dataclass(frozen=True, slots=True)
class Right:
    """One verb on one resource, in one namespace ("" = cluster-wide or every namespace)."""

    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str = ""

    def label(self, namespace: str) -> str:
        """ "create pods/eviction", "delete jobs", "list pods (all namespaces)"."""
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        text = f"{self.verb} {what}"
        if self.namespace == "" and self.resource not in _CLUSTER_SCOPED:
            text += " (all namespaces)"
        return text


_CLUSTER_SCOPED = {"nodes"}


def needed_rights(namespace: str) -> dict[Action, tuple[Right, ...]]:
    """The rights each action needs; a drain touches pods of every namespace on the node."""
    create_jobs = Right("create", "jobs", "batch", namespace=namespace)
    delete_jobs = Right("delete", "jobs", "batch", namespace=namespace)
    patch_nodes = Right("patch", "nodes")
    return {
        Action.ENQUEUE: (create_jobs,),
        Action.RETRY: (create_jobs, delete_jobs),
        Action.CANCEL: (delete_jobs,),
        Action.CORDON: (patch_nodes,),
        Action.DRAIN: (
            patch_nodes,
            Right("list", "pods"),
            Right("create", "pods", subresource="eviction"),
        ),
    }


def _allowed(authz: client.AuthorizationV1Api, right: Right) -> bool:
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=right.verb,
                resource=right.resource,
                group=right.group,
                subresource=right.subresource or None,
                namespace=right.namespace or None,
            )
        )
    )
    answer = authz.create_self_subject_access_review(review, _request_timeout=REQUEST_TIMEOUT)
    return bool(answer.status and answer.status.allowed)


def whoami(api: ApiClient) -> str | None:
    """The user the API server sees (SelfSubjectReview), or None if it will not say."""
    try:
        review = client.AuthenticationV1Api(api).create_self_subject_review(
            client.V1SelfSubjectReview(), _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException:
        return None
    info = review.status.user_info if review.status else None
    return info.username if info and info.username else None


def learn_permissions(api: ApiClient, namespace: str, read_only: bool) -> Permissions:
    """Ask the API which actions this user may take in ``namespace``.

    Wake (the agents issue) is never allowed here yet. Raises BackendError
    when the API cannot be asked.
    """
    if read_only:
        return Permissions(allowed=frozenset(), reason=READ_ONLY_REASON)
    authz = client.AuthorizationV1Api(api)
    needs = needed_rights(namespace)
    answers: dict[Right, bool] = {}
    try:
        for rights in needs.values():
            for right in rights:
                if right not in answers:
                    answers[right] = _allowed(authz, right)
    except Exception as e:
        raise to_backend_error(e) from e
    allowed = frozenset(a for a, rights in needs.items() if all(answers[r] for r in rights))
    missing = [r.label(namespace) for r, ok in answers.items() if not ok]
    if not missing:
        return Permissions(allowed=allowed, reason="")
    who = whoami(api)
    suffix = f" (as {who})" if who else ""
    return Permissions(allowed=allowed, reason=f"not allowed by RBAC: {', '.join(missing)}{suffix}")
