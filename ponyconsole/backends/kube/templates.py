"""The manifests of ``k8s/``, read from the package: Job templates filled in, RBAC re-namespaced.

The YAML lives in ``ponyconsole/k8s/`` (``k8s/`` at the top of the repository
is a link to it), so an installed console and the watcher create Jobs from
the very files a user applies with kubectl.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ponyconsole.domain.kube_names import TRANSCODE, UPLOAD

DEFAULT_NAMESPACE = "ponyconsole"

#: Values a Job template may leave out.
DEFAULTS: Mapping[str, str] = {
    "NAMESPACE": DEFAULT_NAMESPACE,
    "IMAGE": "ponyconsole:latest",
    "SHARE_PATH": "/srv/ponyconsole",
}

TEMPLATE_FILES: Mapping[str, str] = {
    TRANSCODE: "job-transcode.yaml",
    UPLOAD: "job-upload.yaml",
}


def manifests_dir() -> Path:
    """The folder holding the YAML (inside the installed package)."""
    return Path(str(resources.files("ponyconsole") / "k8s"))


def manifest_files() -> list[Path]:
    return sorted(manifests_dir().glob("*.yaml"))


def load_yaml(name: str) -> list[dict[str, Any]]:
    """Every document of ``k8s/<name>``, parsed (empty documents dropped)."""
    text = (manifests_dir() / name).read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def placeholders(obj: Any) -> set[str]:
    """The ${NAME}s a parsed template still holds."""
    if isinstance(obj, str):
        found: set[str] = set()
        for match in string.Template.pattern.finditer(obj):
            name = match.group("named") or match.group("braced")
            if name:
                found.add(name)
        return found
    if isinstance(obj, Mapping):
        return set().union(*(placeholders(v) for v in obj.values()), set())
    if isinstance(obj, list):
        return set().union(*(placeholders(v) for v in obj), set())
    return set()


def _fill(obj: Any, values: Mapping[str, str]) -> Any:
    # Substituted in the parsed tree, not in the text: a title or path with a
    # quote, colon or newline cannot change the YAML's structure.
    if isinstance(obj, str):
        return string.Template(obj).substitute(values)
    if isinstance(obj, dict):
        return {_fill(k, values): _fill(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_fill(v, values) for v in obj]
    return obj


def render_template(kind: str, values: Mapping[str, object]) -> dict[str, Any]:
    """The Job of ``kind`` ("transcode" | "upload") with every ${NAME} filled.

    ``values`` are turned into strings (a title number is fine). A missing
    value raises ValueError naming all that are missing.
    """
    if kind not in TEMPLATE_FILES:
        raise ValueError(f"no Job template {kind!r}; one of {sorted(TEMPLATE_FILES)}")
    (template,) = load_yaml(TEMPLATE_FILES[kind])
    merged = {**DEFAULTS, **{k: str(v) for k, v in values.items()}}
    missing = placeholders(template) - merged.keys()
    if missing:
        raise ValueError(f"the {kind} Job template needs {', '.join(sorted(missing))}")
    filled: dict[str, Any] = _fill(template, merged)
    return filled


def in_namespace(doc: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """``doc`` moved from the default namespace to ``namespace``.

    Namespaced objects and ServiceAccount subjects change namespace; the
    Namespace object is renamed; ClusterRoleBindings, named
    "<role>:<namespace>", are renamed so that installs never collide.
    """
    out = copy.deepcopy(dict(doc))
    meta = out.setdefault("metadata", {})
    kind = out.get("kind")
    if kind == "Namespace":
        meta["name"] = namespace
    elif "namespace" in meta:
        meta["namespace"] = namespace
    if kind == "ClusterRoleBinding":
        base, sep, _ = meta["name"].rpartition(":")
        if sep:
            meta["name"] = f"{base}:{namespace}"
    for subject in out.get("subjects") or []:
        if subject.get("kind") == "ServiceAccount" and "namespace" in subject:
            subject["namespace"] = namespace
    return out


def load_manifests(name: str, namespace: str = DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
    """The documents of ``k8s/<name>`` for an install in ``namespace``."""
    return [in_namespace(doc, namespace) for doc in load_yaml(name)]
