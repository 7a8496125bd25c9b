"""What every signed-in screen shares: the top bar with the sync badge, help, reading the view.

A screen reads the folded view in :meth:`CircleScreen.read` (plain data out,
no widgets touched) and shows that in :meth:`CircleScreen.show_read`. A small
cohort is read on the UI thread, at once; a big one in a worker after the
screen has painted, so a screen never waits for 100k events before it appears.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from textual import on, work
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import get_current_worker

from circle.errors import CircleError
from circle.messages import ViewRead
from circle.models.rota import Rota, compute_rota
from circle.models.view import View

if TYPE_CHECKING:
    from circle.app import CircleApp

T = TypeVar("T")

# Above this many events, reading a view takes longer than a frame or two
# (100k events: about half a second, mostly the rota): read it in a worker.
INLINE_EVENTS = 10_000


_rotas: WeakKeyDictionary[View, tuple[int, Rota]] = WeakKeyDictionary()


def rota_of(view: View) -> Rota:
    """The cohort's rota, computed once per state of its view and shared by the screens.

    A view only grows (every change folds new events in) and the fold is
    deterministic, so its length says whether a rota is still current. With a
    thousand meetings the rota takes about 0.4 s; home, cohort and meeting
    room each need it. Callers hold the cohort's lock.
    """
    hit = _rotas.get(view)
    if hit is None or hit[0] != len(view):
        hit = _rotas[view] = (len(view), compute_rota(view))
    return hit[1]


class CircleScreen(Screen[None]):
    """A signed-in screen. Subclasses implement :meth:`read` and :meth:`show_read`."""

    BINDINGS = [
        Binding("question_mark,f1", "app.help", "Help", key_display="?"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_queued = False
        self._resumed = False

    @property
    def circle(self) -> CircleApp:
        return self.app  # type: ignore[return-value]

    # ---- reading -------------------------------------------------------
    def events_to_read(self) -> int:
        """How many events :meth:`read` goes through (decides between here and a worker)."""
        return 0

    def read(self) -> Any:
        """Read what the screen shows from the view. Runs on the UI thread or in a worker: no widgets here."""
        return None

    def show_read(self, read: Any) -> None:
        """Put a :meth:`read` result into the widgets (UI thread)."""

    def refresh_view(self) -> None:
        """Re-read the folded view and update the widgets: now if it is small, else after the next paint."""
        if self.events_to_read() <= INLINE_EVENTS:
            self.show_read(self.read())
            return
        if not self._read_queued:  # a command and the ViewChanged it causes make one read, not two
            self._read_queued = True
            self.call_after_refresh(self._start_read)

    def _start_read(self) -> None:
        self._read_queued = False
        self._read_in_background()

    @work(thread=True, exclusive=True, group="read", exit_on_error=False)
    def _read_in_background(self) -> None:
        worker = get_current_worker()
        result = self.read()
        if not worker.is_cancelled:
            self.post_message(ViewRead(result))

    @on(ViewRead)
    def show_background_read(self, event: ViewRead) -> None:
        event.stop()
        self.show_read(event.read)

    def on_screen_resume(self) -> None:
        # The first resume comes with mounting, which has already read the view.
        if self._resumed:
            self.refresh_view()
        self._resumed = True

    # ---- acting --------------------------------------------------------
    def attempt(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a command; a CircleError becomes a calm notification, and the screen refreshes."""
        try:
            result = fn(*args, **kwargs)
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return None
        self.refresh_view()
        return result

    def show_result(self, title: str, fn: Callable[..., str], *args: Any) -> None:
        """Run a command that returns text to read (codes, fingerprints) and show it in full."""
        from circle.screens.modals import ReadModal

        text = self.attempt(fn, *args)
        if text is not None:
            self.app.push_screen(ReadModal(title, text))

    def ask_code(self, title: str, label: str, submit: str, result_title: str, fn: Callable[[str], str]) -> None:
        """Ask for one pasted code, then :meth:`show_result` of ``fn`` with it."""
        from circle.screens.modals import Field, FormModal

        def done(values: dict[str, str] | None) -> None:
            if values and values["code"].strip():
                self.show_result(result_title, fn, values["code"])

        self.app.push_screen(FormModal(title, [Field("code", label)], submit=submit), done)

    def do(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Like :meth:`attempt`, but says whether the command succeeded."""
        try:
            fn(*args, **kwargs)
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return False
        self.refresh_view()
        return True
