"""`?`: every key of the console, read from the bindings themselves."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ponyconsole.ui.keys import KEY_HELP


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", justify="right")
        table.add_column()
        for section, rows in KEY_HELP:
            table.add_row("", f"[b]{section}[/b]")
            for key, text in rows:
                table.add_row(key, text)
            table.add_row("", "")
        with VerticalScroll(id="dialog"):
            yield Static("[b]ponyconsole keys[/b]  (escape closes)", id="help-title")
            yield Static(table, id="help-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
