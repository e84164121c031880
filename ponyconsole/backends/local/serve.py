"""Run the local backend headless: `python -m ponyconsole.backends.local.serve`.

Prints one JSON line per job change (what the crash tests read to find the
running HandBrake) and stops cleanly on SIGTERM/SIGINT. Useful on a pony with
no terminal attached, and as the "console" a test can kill -9.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.backends.protocol import JobChanged
from ponyconsole.domain.models import EnqueueRequest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir")
    parser.add_argument("--inbox")
    parser.add_argument("--output")
    parser.add_argument("--pony")
    parser.add_argument("--preset")
    parser.add_argument("--settle", type=float, default=None)
    parser.add_argument("--enqueue", action="append", default=[], metavar="PATH")
    parser.add_argument("--exit-when-idle", action="store_true")
    return parser


async def serve(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {"progress_interval": 0.5, "poll_interval": 0.5}
    if args.settle is not None:
        overrides["settle_seconds"] = args.settle
    if args.preset:
        overrides["default_preset"] = args.preset
    settings = LocalSettings.load(
        data_dir=args.data_dir,
        inbox_dir=args.inbox,
        output_dir=args.output,
        pony_name=args.pony,
        **overrides,
    )
    backend = LocalBackend(settings)
    events = backend.events()
    await backend.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    for path in args.enqueue:
        job = await backend.enqueue(EnqueueRequest(path, "", settings.default_preset))
        print(json.dumps({"enqueued": job.id}), flush=True)

    async def report() -> None:
        async for event in events:
            if isinstance(event, JobChanged):
                row = await asyncio.to_thread(backend._q.get, event.job.id)
                pid = row.pid if row else None
                job = event.job
                line = {"job": job.id, "state": job.state.value, "pid": pid, "reason": job.reason}
                print(json.dumps(line), flush=True)
            if args.exit_when_idle and not any(
                not j.state.finished for j in backend.snapshot().jobs
            ):
                stop.set()

    reporter = asyncio.create_task(report())
    await stop.wait()
    await backend.stop()
    reporter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reporter
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(serve(build_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
