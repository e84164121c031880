"""Baseline for bench_console_cost.py: the smallest idle Textual app (a Static and a Footer).

.venv/bin/python bench/idle_textual_app.py
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static

MARKER = "idle baseline app"


class IdleApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static(f"{MARKER}: nothing changes here")
        yield Footer()


if __name__ == "__main__":
    IdleApp().run()
