"""`e`: pick a rip from the inbox, its title, a preset and a library.

The dialog enqueues itself and stays open on a refusal (bad library name,
still copying, outside the inbox, queue not writable), showing it inline,
so nothing the user chose is lost; it closes with the queued Job.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from ponyconsole.backends.protocol import Backend, BackendError
from ponyconsole.domain.models import Disc, EnqueueRequest, Job
from ponyconsole.domain.naming import library_problem
from ponyconsole.ui.format import fmt_bytes, fmt_duration, printable


def rip_label(rip: Disc) -> Text:
    text = Text(printable(rip.name))
    text.append(f"  {rip.library} · {rip.kind.value} · {fmt_bytes(rip.size)}", style="dim")
    if rip.copying:
        text.append("  copying…", style="italic")
    if rip.scan_error:
        text.append(f"  {rip.scan_error}", style="italic")
    return text


def title_label(disc: Disc, index: int) -> str:
    title = next(t for t in disc.titles if t.index == index)
    main = " (main feature)" if disc.main_title is title else ""
    size = f", {title.width}x{title.height}" if title.width else ""
    return f"title {title.index}: {fmt_duration(title.duration_seconds)}{size}{main}"


def _same_copy(shown: Disc, now: Disc) -> bool:
    """The same finished copy: what a scan said of ``shown`` still holds."""
    return (
        shown.size == now.size
        and shown.library == now.library
        and not shown.copying
        and not now.copying
    )


NEW_LIBRARY = "\x00new"  # the Select's "type a new name" choice (no library can hold NUL)


def library_options(libraries: list[str]) -> list[tuple[str, str]]:
    return [(name, name) for name in libraries] + [("new library…", NEW_LIBRARY)]


class EnqueueScreen(ModalScreen[Job | None]):
    BINDINGS = [
        Binding("escape", "dismiss_none", "Cancel"),
        Binding("ctrl+s", "submit", "Enqueue"),
    ]

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.rips: list[Disc] = []
        self.disc: Disc | None = None
        self.libraries: list[str] = backend.libraries() or ["movies"]
        self._loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("[b]Enqueue a rip[/b]  (enter picks, ctrl+s enqueues, escape cancels)")
            yield OptionList(id="rips")
            yield Static("Looking in the inbox…", id="rip-info")
            with Horizontal(classes="field"):
                yield Static("Title", classes="label")
                yield Select[int](
                    [], id="title", prompt="main feature", allow_blank=True, compact=True
                )
            with Horizontal(classes="field"):
                yield Static("Preset", classes="label")
                presets = self.backend.presets()
                yield Select[str](
                    [(p, p) for p in presets],
                    id="preset",
                    value=presets[0],
                    allow_blank=False,
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Static("Library", classes="label")
                yield Select[str](
                    library_options(self.libraries),
                    id="library",
                    value=self.libraries[0],
                    allow_blank=False,
                    compact=True,
                )
            with Horizontal(classes="field", id="new-library-field"):
                yield Static("New", classes="label")
                yield Input(placeholder="a new library folder name", id="new-library", compact=True)
            yield Static("", id="library-error", classes="error")
            yield Static("", id="enqueue-error", classes="error")
            with Horizontal(id="buttons"):
                yield Button(
                    "Enqueue (ctrl+s)", variant="primary", id="enqueue", disabled=True, compact=True
                )
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        for hidden in ("#new-library-field", "#library-error", "#enqueue-error"):
            self.query_one(hidden).display = False
        self.load_rips()
        # Later changes (a copy that appears, or finishes and becomes pickable) come from
        # the backend's InboxChanged, handed on by the app (show_rips): no polling here.

    @work(exclusive=True, group="rips")
    async def load_rips(self) -> None:
        """The rips once, when the dialog opens."""
        try:
            rips = await self.backend.list_rips()
        except BackendError as error:
            self.query_one("#rip-info", Static).update(Text(f"Cannot read the inbox: {error}"))
            return
        self.show_rips(rips)

    def show_rips(self, rips: list[Disc]) -> None:
        """Show ``rips`` (from the first look or an InboxChanged), keeping the highlight."""
        if not self.is_mounted:
            return  # the first look (load_rips) is still coming
        # InboxChanged carries no scans (the backend never runs HandBrake unasked): a rip
        # already shown, unchanged, keeps what its scan said; a new one is scanned when picked.
        known = {r.path: r for r in self.rips}
        rips = [
            old if (old := known.get(r.path)) is not None and _same_copy(old, r) else r
            for r in rips
        ]
        info = self.query_one("#rip-info", Static)
        self._offer_libraries(self.backend.libraries())
        first = self._loaded is False
        if rips == self.rips and not first:
            return
        self._loaded = True
        options = self.query_one("#rips", OptionList)
        kept = options.highlighted_option.id if options.highlighted_option else None
        self.rips = rips
        options.clear_options()
        options.add_options(
            Option(rip_label(rip), id=rip.path, disabled=rip.copying or bool(rip.scan_error))
            for rip in rips
        )
        if not rips:
            info.update(
                Text(
                    f"The inbox is empty: copy a rip into {self.backend.inbox}/<library>/;"
                    " it shows here once copied."
                )
            )
            return
        ready = [i for i, rip in enumerate(rips) if not rip.copying and not rip.scan_error]
        again = [i for i in ready if rips[i].path == kept]
        if again:
            options.highlighted = again[0]
        elif ready and (first or kept is None):
            options.highlighted = ready[0]
        if first:
            info.update(f"{len(rips)} rip(s) in the inbox. Pick one.")
            options.focus()

    @on(OptionList.OptionHighlighted, "#rips")
    def rip_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        rip = next((r for r in self.rips if r.path == event.option.id), None)
        if rip is None or (self.disc is not None and self.disc.path == rip.path):
            return  # already scanned: keep the title the user chose
        self._choose_library(rip.library)
        self.scan(rip)

    @work(exclusive=True, group="scan")
    async def scan(self, rip: Disc) -> None:
        info = self.query_one("#rip-info", Static)
        button = self.query_one("#enqueue", Button)
        button.disabled = True
        self.disc = None
        info.update(Text(f"Scanning {printable(rip.name)} with HandBrake…"))
        try:
            disc = await self.backend.scan(rip.path)
        except BackendError as error:
            info.update(Text(f"Cannot enqueue {printable(rip.name)}: {error}"))
            return
        self.disc = disc
        titles = self.query_one("#title", Select)
        titles.set_options([(title_label(disc, t.index), t.index) for t in disc.titles])
        main = disc.main_title
        if main is not None:
            titles.value = main.index
        info.update(Text(f"{printable(disc.name)}: {len(disc.titles)} title(s)"))
        button.disabled = False

    @on(OptionList.OptionSelected, "#rips")
    def rip_selected(self) -> None:
        self.query_one("#title", Select).focus()

    # -- library -------------------------------------------------------------

    def _offer_libraries(self, libraries: list[str]) -> None:
        libraries = libraries or ["movies"]
        if libraries == self.libraries:
            return
        select = self.query_one("#library", Select)
        keep = select.value
        self.libraries = libraries
        select.set_options(library_options(libraries))
        if keep in libraries or keep == NEW_LIBRARY:
            select.value = keep

    def _choose_library(self, name: str) -> None:
        """Pick ``name`` in the list; a name the list lacks goes into the new-name field."""
        select = self.query_one("#library", Select)
        if name in self.libraries:
            select.value = name
        else:
            select.value = NEW_LIBRARY
            self.query_one("#new-library", Input).value = name

    def chosen_library(self) -> str:
        value = self.query_one("#library", Select).value
        if value == NEW_LIBRARY:
            return self.query_one("#new-library", Input).value
        return str(value)

    @on(Select.Changed, "#library")
    def library_changed(self, event: Select.Changed) -> None:
        new = event.value == NEW_LIBRARY
        self.query_one("#new-library-field").display = new
        if new:
            self.query_one("#new-library", Input).focus()
        self._check_library()

    @on(Input.Changed, "#new-library")
    def _check_library(self) -> None:
        """Say at once why a typed name cannot be a library; enqueue refuses it anyway."""
        problem = library_problem(self.chosen_library())
        error = self.query_one("#library-error", Static)
        error.update(Text(f"Refused: {problem}") if problem else "")
        error.display = bool(problem)

    # -- submit ----------------------------------------------------------------

    @on(Button.Pressed, "#enqueue")
    def action_submit(self) -> None:
        if self.disc is None:
            self.notify("Pick a rip first (it must have been scanned).", severity="warning")
            return
        title = self.query_one("#title", Select).value
        preset = self.query_one("#preset", Select).value
        if not self.chosen_library():  # to the backend, "" would mean "the rip's folder"
            self._check_library()
            self.query_one("#new-library", Input).focus()
            return
        self.submit(
            EnqueueRequest(
                path=self.disc.path,
                library=self.chosen_library(),
                preset=str(preset),
                title=title if isinstance(title, int) else None,
            )
        )

    @work(exclusive=True, group="submit")
    async def submit(self, request: EnqueueRequest) -> None:
        """Enqueue; a refusal is shown here and the dialog stays, with every choice kept."""
        error = self.query_one("#enqueue-error", Static)
        button = self.query_one("#enqueue", Button)
        button.disabled = True
        error.update(Text("Enqueueing…"))
        error.display = True
        try:
            job = await self.backend.enqueue(request)
        except BackendError as refusal:
            reason = printable(str(refusal)).removeprefix("refused: ")
            error.update(Text(f"Refused: {reason}"))
            button.disabled = False
            return
        except Exception as bug:  # a backend bug must not take the dialog down
            error.update(Text(f"Failed: {type(bug).__name__}: {printable(str(bug))}"))
            button.disabled = False
            return
        self.dismiss(job)

    @on(Button.Pressed, "#cancel")
    def action_dismiss_none(self) -> None:
        self.dismiss(None)
