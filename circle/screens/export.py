"""Export: choose a format and a period, see the Markdown preview and the attendance chart, write a signed export.

The preview is the Markdown export itself, shown as plain ``Text`` (never
markup, never rendered Markdown): what a program lead will read, with every
escape visible. The export runs in a worker; its progress comes back as
messages and moves the progress bar. Everything written goes through
:mod:`circle.export`, which never sees the exporter's private notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Footer, Input, Label, ProgressBar, Select, Static, TabbedContent, TabPane
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from circle import export as ex
from circle.errors import CircleError, UsageError
from circle.export import markdown
from circle.export.summary import Summary, counting_notes
from circle.models.text import clean
from circle.screens.base import CircleScreen, rota_of
from circle.screens.modals import ConfirmModal
from circle.store.service import CohortService
from circle.widgets.member_text import line, name

PREVIEW_CHARS = 60_000  # a year of a busy cohort is about this; more is cut with a note
FORMAT_OPTIONS = [("Markdown", "md"), ("HTML (A4)", "html"), ("CSV tables (zip)", "csv"), ("JSON", "json"), ("PDF + certificates", "pdf")]


@dataclass
class ExportProgress(Message):
    """How far the export worker is: a fraction from 0 to 1 and what it does."""

    done: float
    step: str


@dataclass
class ExportFinished(Message):
    """The export was written (files, bytes) or failed (a calm title and hint)."""

    paths: list[str]
    size: int
    title: str = ""
    hint: str = ""


@dataclass(frozen=True)
class ExportRead:
    summary: Summary | None  # None: nothing can be exported now (the preview says why)
    preview: Text
    points: list[tuple[str, int, int]]
    meetings: list[tuple[str, str]]  # (label, meeting id) for the minutes picker, newest first


def _meetings(view) -> list[tuple[str, str, str, str]]:  # noqa: ANN001
    """Held and upcoming meetings, newest first: (id, date and time, state, title), titles cleaned."""
    out = []
    for m in reversed(view.meetings()):
        if not m.cancelled:
            out.append((m.id, m.at, "held" if m.held else "upcoming", clean(m.title) or "Meeting"))
    return out


class ExportScreen(CircleScreen):
    """Export the cohort on screen: format, period, preview, chart, and a signed file."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+e", "export", "Export", priority=True),
        Binding("ctrl+r", "preview", "Preview", show=False),
        Binding("f3", "tab('preview')", "Preview tab", show=False),
        Binding("f4", "tab('chart')", "Chart tab", show=False),
    ]

    def __init__(self, service: CohortService) -> None:
        super().__init__(id="export")
        self.service = service
        self.options: tuple[str, str, bool, str] = ("", "", False, "")  # from, to, anonymous text, one meeting's id (minutes)
        self._meeting_rows: list[tuple[str, str]] = []
        self._auto_name = ""  # the file name this screen offered last
        self.last: ExportRead | None = None

    def compose(self) -> ComposeResult:
        with self.view_lock():
            title = name(self.service.view.cohort().name)
        with Horizontal(classes="topbar"):
            yield Label(Text(f"Export · {title}"), classes="topbar-title", id="export-title")
            yield self.sync_badge()
        with Horizontal(id="export-form"):
            yield Select(FORMAT_OPTIONS, value="md", allow_blank=False, id="export-format")
            yield Input(placeholder="from YYYY-MM-DD", id="export-from", tooltip="First day of the period, YYYY-MM-DD; Enter previews it")
            yield Input(placeholder="to YYYY-MM-DD", id="export-to", tooltip="Last day of the period, YYYY-MM-DD; Enter previews it")
            yield Checkbox("Anon. text", id="export-anonymous", tooltip="Include the anonymous round's lines (never their authors)")
        with Horizontal(id="export-target"):
            yield Select([("Summary of the period", "")], value="", allow_blank=False, id="export-meeting", tooltip="A summary, or one meeting's minutes")
            yield Label("Save as", id="export-path-label")
            yield Input(id="export-path")
        with TabbedContent(initial="preview", id="export-tabs"):
            with TabPane("Preview", id="preview"):
                with VerticalScroll(id="export-preview-scroll"):
                    yield Static(Text("Reading the cohort…"), id="export-preview")
            with TabPane("Attendance chart", id="chart"):
                yield PlotextPlot(id="export-chart")
        with Horizontal(id="export-status"):
            yield ProgressBar(total=1.0, show_eta=False, id="export-progress")
            yield Label(Text("Ctrl+E writes it and its signature (.sig)."), id="export-step")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()

    # ---- reading -------------------------------------------------------
    def events_to_read(self) -> int:
        return len(self.service.view)

    def read_stamp(self) -> object:
        view = self.service.view
        return view, len(view), self.options

    def read(self) -> ExportRead:
        start, end, anonymous, meeting = self.options
        with self.service.store.lock:
            view = self.service.view
            rows = [(f"Minutes {at} {title}", mid) for mid, at, _state, title in _meetings(view)]
            if meeting and meeting not in {mid for _, mid in rows}:
                meeting = ""
            try:
                summary = ex.summarize(self.service, period_from=start, period_to=end, anonymous=anonymous, meeting=meeting, rota=rota_of(view))
            except CircleError as exc:  # a damaged journal here: say so where the preview would be
                return ExportRead(None, Text(clean(f"Nothing to export: {exc.line()}", multiline=True)), [], rows)
        md = markdown.render(summary, limit=PREVIEW_CHARS)  # a preview: not the whole history's Markdown
        if len(md) > PREVIEW_CHARS:
            md = md[:PREVIEW_CHARS] + "\n\n… (the preview stops here; the export has everything)\n"
        points = [(m.at[:10], len(m.present), len(m.present) + len(m.absent) + len(m.unmarked)) for m in summary.held]
        return ExportRead(summary, Text(clean(md, multiline=True)), points, rows)

    def show_read(self, read: ExportRead) -> None:
        self.last = read
        self.query_one("#export-preview", Static).update(read.preview)
        if read.meetings != self._meeting_rows:
            self._meeting_rows = read.meetings
            picker = self.query_one("#export-meeting", Select)
            with picker.prevent(Select.Changed):
                picker.set_options([("Summary of the period", ""), *((line(label), mid) for label, mid in read.meetings)])
                picker.value = self.options[3] if self.options[3] in {mid for _, mid in read.meetings} else ""
        self._name_path()
        self._draw_chart(read.points)

    def _draw_chart(self, points: list[tuple[str, int, int]]) -> None:
        plot = self.query_one("#export-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Present at each meeting held")
        if points:
            xs = list(range(1, len(points) + 1))
            plt.bar(xs, [p for _, p, _ in points])
            every = max(1, (len(points) + 7) // 8)
            plt.xticks(xs[::every], [label[5:] for label, _, _ in points][::every])
            top = max(1, *(e for _, _, e in points))
            step = max(1, (top + 4) // 5)
            plt.ylim(0, top)
            plt.yticks(list(range(0, top + 1, step)))
        plot.refresh()

    # ---- options ---------------------------------------------------------
    def _format(self) -> str:
        value = self.query_one("#export-format", Select).value
        return value if isinstance(value, str) else "md"

    def action_preview(self) -> None:
        try:
            start = ex.parse_day(self.query_one("#export-from", Input).value, "from")
            end = ex.parse_day(self.query_one("#export-to", Input).value, "to")
            if start and end and start > end:
                raise UsageError("the period ends before it starts", "give a from date before the to date")
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return
        meeting = self.query_one("#export-meeting", Select).value
        self.options = (start, end, self.query_one("#export-anonymous", Checkbox).value, meeting if isinstance(meeting, str) else "")
        self.refresh_view()

    @on(Input.Submitted, "#export-from, #export-to")
    @on(Checkbox.Changed, "#export-anonymous")
    @on(Select.Changed, "#export-meeting")
    def options_changed(self) -> None:
        self.action_preview()

    @on(Select.Changed, "#export-format")
    def format_changed(self) -> None:
        self._name_path()
        path = self.query_one("#export-path", Input)
        typed = Path(path.value.strip())
        if typed.suffix.lower() in ex.EXTENSIONS.values():  # a name of one's own keeps its stem and takes the format's ending
            path.value = str(typed.with_suffix(ex.EXTENSIONS[self._format()]))

    def _name_path(self) -> None:
        """Offer a file name for what is chosen, unless the person typed one of their own."""
        if self.last is None or self.last.summary is None:
            return
        path = self.query_one("#export-path", Input)
        name = ex.default_name(self.last.summary, self._format())
        if not path.value.strip():
            path.value = str(Path.cwd() / name)
        elif Path(path.value).name == self._auto_name:
            path.value = str(Path(path.value).with_name(name))
        else:
            return
        self._auto_name = name

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    # ---- exporting -------------------------------------------------------
    def action_export(self) -> None:
        # Ctrl+E is a priority binding (a field would take it as "end of line"), so it can come before keys typed just
        # ahead of it are in the focused field: the form is read once they are, behind them in that field's queue.
        (self.focused or self).call_later(self._export)

    def _export(self) -> None:
        self.action_preview()
        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self.notify("Type where to save it.", title="No file name", severity="warning")
            return
        try:
            fmt = ex.format_for(Path(raw), self._format())
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return
        path = Path(raw).expanduser()
        if path.is_dir():
            self.notify(f"{path}: give a file name in it", title="That is a folder", severity="warning")
            return
        if not path.exists():
            self._start(fmt, path)
            return
        # As the command refuses without --force: a signed export already there (a program lead's copy) is not replaced unasked.
        question = f"{path.name} exists. Replace it and its signature?"
        ask = ConfirmModal(question, yes="Replace", no="Keep it", default_yes=False)
        self.app.push_screen(ask, lambda replace: self._start(fmt, path) if replace else None)

    def _start(self, fmt: str, path: Path) -> None:
        self.query_one("#export-progress", ProgressBar).update(progress=0.0)
        self.run_export(fmt, path, self.options)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def run_export(self, fmt: str, path: Path, options: tuple[str, str, bool, str]) -> None:
        worker = get_current_worker()
        start, end, anonymous, meeting = options

        def progress(done: int, total: int) -> None:
            if not worker.is_cancelled:
                self.post_message(ExportProgress(0.2 * done / max(total, 1), f"Reading meeting {done} of {total}"))

        try:
            summary = ex.summarize(self.service, period_from=start, period_to=end, anonymous=anonymous, meeting=meeting, progress=progress)
            if worker.is_cancelled:
                return
            notes = sum(len(m.notes) for m in summary.meetings)  # their words are read back from the journals as they are written: most of the time
            self.post_message(ExportProgress(0.25, f"Writing {fmt.upper()}"))
            read = 0

            def tick() -> None:
                nonlocal read
                read += 1
                if read % 2000 == 0 and read <= notes and not worker.is_cancelled:
                    self.post_message(ExportProgress(0.25 + 0.7 * read / notes, f"Writing {fmt.upper()}: {read:,} of {notes:,} notes"))

            with counting_notes(tick):
                written = ex.write(summary, fmt, path, ex.signer_of(self.service.store.author), self.service.now())
        except CircleError as exc:
            self.post_message(ExportFinished([], 0, exc.title, exc.hint or ""))
            return
        except OSError as exc:
            self.post_message(ExportFinished([], 0, "could not write the export", exc.strerror or "check the folder and try again"))
            return
        self.post_message(ExportProgress(1.0, "Done"))
        self.post_message(ExportFinished([str(f) for f, _ in written.files], written.size))

    @on(ExportProgress)
    def show_progress(self, event: ExportProgress) -> None:
        self.query_one("#export-progress", ProgressBar).update(progress=event.done)
        self.query_one("#export-step", Label).update(Text(event.step))

    @on(ExportFinished)
    def export_finished(self, event: ExportFinished) -> None:
        if not event.paths:
            self.query_one("#export-step", Label).update(Text("Not written."))
            self.notify(event.hint or " ", title=event.title, severity="error")
            return
        where = event.paths[0] if len(event.paths) == 1 else f"{len(event.paths)} files"
        self.query_one("#export-step", Label).update(Text(f"Wrote {where} ({event.size:,} bytes) and its signature."))
        self.notify(f"{where} and its .sig: check it with circle verify-export.", title="Exported")
