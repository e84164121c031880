"""`ponyconsole agent`: serve this pony's figures to the console and to Prometheus."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading


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


def run(args: argparse.Namespace) -> int:
    from ponyconsole.agent.metrics import MetricsSampler
    from ponyconsole.agent.server import Sampling, make_server

    if args.interval <= 0:
        print("ponyconsole agent: --interval must be positive", file=sys.stderr)
        return 2
    sampler = MetricsSampler(args.idle_watts, args.max_watts, args.rapl_glob, node=args.node)
    sampling = Sampling(sampler, args.interval)
    try:
        server = make_server(args.address, args.port, sampling, args.node)
    except OSError as error:
        print(
            f"ponyconsole agent: cannot listen on {args.address}:{args.port}: {error.strerror}",
            file=sys.stderr,
        )
        return 1
    sampling.start()
    note = sampling.latest.power_note if sampling.latest else None
    print(
        f"ponyconsole agent: node {args.node} on http://{args.address}:{args.port}"
        f" (/v1/metrics, /metrics, /healthz)" + (f"; power: {note}" if note else ""),
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
    server.server_close()
    return 0
