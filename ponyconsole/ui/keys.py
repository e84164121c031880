"""The console's keys, declared once: the app binds them, `?` and the palette list them."""

from __future__ import annotations

from textual.binding import Binding

from ponyconsole.backends.protocol import Action

APP_BINDINGS: list[Binding] = [
    Binding("e", "enqueue", "Enqueue", tooltip="Enqueue a rip from the inbox"),
    Binding("r", "retry", "Retry", tooltip="Retry the selected failed job"),
    Binding("R", "retry_all", "Retry all", tooltip="Retry every failed job"),
    Binding("x", "cancel_job", "Cancel", tooltip="Cancel the selected job"),
    Binding("c", "cordon", "Cordon", tooltip="Cordon or uncordon the pony"),
    Binding("d", "drain", "Drain", tooltip="Drain the pony: evict its pods (asks first)"),
    Binding("p", "wake", "Wake", tooltip="Wake the pony: a Wake-on-LAN packet (asks first)"),
    Binding("slash", "filter", "Filter", tooltip="Filter jobs by name, library, state, reason"),
    Binding("question_mark", "help", "Help", tooltip="Show every key"),
    Binding("q", "quit", "Quit", tooltip="Quit the console (asks first if an encode would stop)"),
]

# The backend permission each app action needs (the rest need none).
ACTION_NEEDS: dict[str, Action] = {
    "enqueue": Action.ENQUEUE,
    "retry": Action.RETRY,
    "retry_all": Action.RETRY,
    "cancel_job": Action.CANCEL,
    "cordon": Action.CORDON,
    "drain": Action.DRAIN,
    "wake": Action.WAKE,
}

NAVIGATION: list[tuple[str, str]] = [
    ("↑ ↓ j k", "move in the job list"),
    ("PgUp PgDn g G", "page, top, bottom"),
    ("enter", "open the selected job: command and last output"),
    ("tab", "move between the job list and the pony tiles"),
    ("ctrl+p", "command palette: every action by name"),
    ("escape", "close a dialog, clear the filter"),
]


def key_label(binding: Binding) -> str:
    return {"slash": "/", "question_mark": "?"}.get(binding.key, binding.key)


KEY_HELP: list[tuple[str, list[tuple[str, str]]]] = [
    ("Actions", [(key_label(b), b.tooltip or b.description) for b in APP_BINDINGS]),
    ("Moving around", NAVIGATION),
]
