"""The progress parser's promise, as an oracle on its output.

A run is one encode. A new run begins at the first update after an end
(WORKDONE), and at a task update whose task number resets: lower than the
previous task update's in the same run, or out of a different task count.
Within a run ``overall_percent`` never decreases, whatever the percentages
HandBrake printed did (a scan, a mux or a percentage going back included).
"""

from __future__ import annotations

import itertools

from ponyconsole.domain.models import Progress, ProgressState

TASK_STATES = {ProgressState.WORKING, ProgressState.PAUSED, ProgressState.SEARCHING}


def runs(updates: list[Progress]) -> list[list[Progress]]:
    """The updates cut into runs (see the module docstring)."""
    out: list[list[Progress]] = []
    current: list[Progress] = []
    last_task: Progress | None = None
    for p in updates:
        new = bool(current) and current[-1].state is ProgressState.WORKDONE
        if p.state in TASK_STATES and last_task is not None and not new:
            new = p.passes != last_task.passes or p.pass_ < last_task.pass_
        if new:
            out.append(current)
            current, last_task = [], None
        if p.state in TASK_STATES:
            last_task = p
        current.append(p)
    if current:
        out.append(current)
    return out


def assert_never_backwards_within_a_run(updates: list[Progress]) -> None:
    for run in runs(updates):
        for before, after in itertools.pairwise(run):
            assert after.overall_percent >= before.overall_percent, (before, after)
