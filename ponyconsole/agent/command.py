"""`ponyconsole agent`: serve this pony's figures to the console and to Prometheus."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ponyconsole.agent.kasa_plug import KasaPlug


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=9977, help="listen port (default 9977)")
    parser.add_argument(
        "--node",
        default=os.environ.get("NODE_NAME") or socket.gethostname(),
        help="the Kubernetes node name, the `node` label (env NODE_NAME; default hostname)",
    )
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--idle-watts", type=float, default=6.0, help="estimate: watts at idle")
    parser.add_argument("--max-watts", type=float, default=28.0, help="estimate: watts flat out")
    parser.add_argument(
        "--rapl-glob",
        default="/sys/class/powercap/intel-rapl:*",
        help="where the RAPL package zones are (sysfs)",
    )
    plug = parser.add_argument_group("smart plug (python-kasa): the best power source")
    plug.add_argument(
        "--kasa-host",
        metavar="HOST[:PORT]",
        help="the Kasa/Tapo plug this pony is plugged into (legacy plugs: TCP 9999)",
    )
    plug.add_argument(
        "--kasa-hosts",
        metavar="FILE",
        help="one `node host[:port]` a line (a ConfigMap for the DaemonSet): this node's plug",
    )
    plug.add_argument(
        "--kasa-credentials",
        metavar="PATH",
        help="TP-Link account for KLAP firmware: a file (username, password lines) or a"
        " folder with username and password files; default env KASA_USERNAME/KASA_PASSWORD",
    )
    plug.add_argument(
        "--kasa-timeout", type=float, default=3.0, help="seconds a plug may take to answer"
    )
    parser.add_argument(
        "--energy-history",
        type=float,
        default=48.0,
        metavar="HOURS",
        help="how long the joules history for Wh per Job is kept (default 48 h, 5 s steps)",
    )


def _plug(args: argparse.Namespace) -> KasaPlug | None:
    """The configured plug (not yet started), None without one; ValueError/OSError if the
    options are wrong (the message names the option, never a credential)."""
    from ponyconsole.agent.kasa_plug import KasaPlug, load_account, parse_plug, plug_for_node

    where = args.kasa_host
    if where is None and args.kasa_hosts and not Path(args.kasa_hosts).exists():
        print(f"ponyconsole agent: no plug list at {args.kasa_hosts}", file=sys.stderr)
    elif where is None and args.kasa_hosts:
        where = plug_for_node(Path(args.kasa_hosts), args.node)
        if where is None:
            print(
                f"ponyconsole agent: no plug for node {args.node} in {args.kasa_hosts}",
                file=sys.stderr,
            )
    if where is None:
        return None
    host, port = parse_plug(where)
    try:
        account = load_account(args.kasa_credentials)
    except (OSError, ValueError) as error:
        raise ValueError(f"--kasa-credentials: {error}") from None
    return KasaPlug(host, port, account, args.interval, args.kasa_timeout)


def run(args: argparse.Namespace) -> int:
    from ponyconsole.agent.energy import EnergyHistory
    from ponyconsole.agent.metrics import MetricsSampler
    from ponyconsole.agent.server import Sampling, make_server
    from ponyconsole.domain.models import PowerSource

    if args.interval <= 0:
        print("ponyconsole agent: --interval must be positive", file=sys.stderr)
        return 2
    try:
        plug = _plug(args)
    except (OSError, ValueError) as error:
        print(f"ponyconsole agent: {error}", file=sys.stderr)
        return 2
    sampler = MetricsSampler(
        args.idle_watts, args.max_watts, args.rapl_glob, plug=plug, node=args.node
    )
    history = EnergyHistory(span=max(0.01, args.energy_history) * 3600.0)
    sampling = Sampling(sampler, args.interval, history)
    try:
        server = make_server(args.address, args.port, sampling, args.node)
    except OSError as error:
        print(
            f"ponyconsole agent: cannot listen on {args.address}:{args.port}: {error.strerror}",
            file=sys.stderr,
        )
        return 1
    if plug is not None:
        plug.start()
        plug.wait_first(args.kasa_timeout + 1)  # the first figures say kasa if it answers
    sampling.start()
    latest = sampling.latest
    note = latest.power_note if latest else None
    if plug is not None and latest is not None and latest.power_source is PowerSource.KASA:
        note = f"kasa plug {plug.where}" + (f" ({plug.model})" if plug.model else "")
    print(
        f"ponyconsole agent: node {args.node} on http://{args.address}:{args.port}"
        f" (/v1/metrics, /metrics, /v1/energy, /healthz)" + (f"; power: {note}" if note else ""),
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()

    def shutdown(signum: int, frame: object) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    server.serve_forever(poll_interval=0.5)
    sampling.stop()
    if plug is not None:
        plug.stop()
    server.server_close()
    return 0
