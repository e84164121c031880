"""Which backend the console opens: the cluster where one is configured, else this machine.

The kubeconfig is found the way kubectl finds it (``--kubeconfig``, then
``KUBECONFIG``, then ``~/.kube/config``, then the in-cluster config of a pod);
``--local`` forces local mode, and so does a local-only option (``--data-dir``,
``--pony``, ...). A broken kubeconfig stops here with one line; an unreachable
API server does not: the console opens disconnected and says so, and the
backend keeps reconnecting. Backends are imported only here, lazily, so ui/
itself never imports one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ponyconsole.backends.protocol import Backend

LOCAL_ONLY = ("data_dir", "output_dir", "pony", "concurrency")  # options that mean local mode
DEFAULT_STALL_SECONDS = 300.0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port (1-65535): {text!r}")
    return int(text)


def _broadcast(text: str) -> tuple[str, int]:
    """ "255.255.255.255:9" (the port may be left out: 9)."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "9")
    if not host:
        raise argparse.ArgumentTypeError(f"not ADDRESS[:PORT]: {text!r}")
    return host, _port(port)


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "cluster mode",
        "Opened where a cluster is configured: --kubeconfig, else $KUBECONFIG, else "
        "~/.kube/config, else the in-cluster config of a pod (as kubectl).",
    )
    group.add_argument("--kubeconfig", help="the kubeconfig file to use")
    group.add_argument("--context", help="the kubeconfig context to use (default: current)")
    group.add_argument(
        "--namespace", "-n", help="namespace of the ponyconsole Jobs (default: the context's)"
    )
    group.add_argument("--local", action="store_true", help="local mode even if a cluster is set")
    group.add_argument(
        "--read-only", action="store_true", help="show everything, change nothing (cluster)"
    )
    group.add_argument(
        "--stall-seconds",
        type=_positive,
        default=DEFAULT_STALL_SECONDS,
        metavar="S",
        help="a running transcode whose progress has not moved this long shows as stalled "
        "(default 300)",
    )
    group.add_argument(
        "--agent-port",
        type=_port,
        default=9977,
        metavar="PORT",
        help="port of the node agents (`ponyconsole agent`) at each node's InternalIP "
        "(default 9977)",
    )
    group.add_argument(
        "--no-agents", action="store_true", help="do not read the node agents (tiles: no agent)"
    )
    group.add_argument(
        "--wol-broadcast",
        type=_broadcast,
        default=("255.255.255.255", 9),
        metavar="ADDRESS:PORT",
        help="where `p` sends Wake-on-LAN magic packets (default 255.255.255.255:9)",
    )


def wants_cluster(args: argparse.Namespace) -> bool:
    """Cluster mode unless --local (or a local-only option), or no cluster is configured."""
    kubeconfig = getattr(args, "kubeconfig", None)
    context = getattr(args, "context", None)
    local_options = [name for name in LOCAL_ONLY if getattr(args, name, None) is not None]
    if getattr(args, "local", False):
        if kubeconfig or context:
            raise SystemExit("ponyconsole: --local and --kubeconfig/--context: choose one")
        return False
    if kubeconfig or context:
        if local_options:
            flags = ", ".join("--" + name.replace("_", "-") for name in local_options)
            raise SystemExit(f"ponyconsole: {flags} are local-mode options; add --local")
        return True
    if local_options:
        return False
    from ponyconsole.backends.kube.config import cluster_configured

    return cluster_configured(None)


def open_backend(args: argparse.Namespace, local: Callable[[], Backend]) -> Backend:
    """The backend the options ask for; a broken kubeconfig exits with one line."""
    if not wants_cluster(args):
        return local()
    from ponyconsole.backends.kube.backend import KubeBackend
    from ponyconsole.backends.protocol import BackendError

    inbox = getattr(args, "inbox", None)
    try:
        return KubeBackend(
            getattr(args, "kubeconfig", None),
            getattr(args, "context", None),
            getattr(args, "namespace", None),
            read_only=bool(getattr(args, "read_only", False)),
            inbox=str(inbox) if inbox is not None else "",
            stall_seconds=float(getattr(args, "stall_seconds", DEFAULT_STALL_SECONDS)),
            agent_port=int(getattr(args, "agent_port", 9977)),
            agents=not getattr(args, "no_agents", False),
            wol_broadcast=getattr(args, "wol_broadcast", ("255.255.255.255", 9)),
        )
    except BackendError as error:
        raise SystemExit(f"ponyconsole: {error}") from None
