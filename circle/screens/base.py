"""What every signed-in screen shares: the top bar with the sync badge, help, reading the view.

A screen reads the folded view in :meth:`CircleScreen.read` (plain data out,
no widgets touched) and shows that in :meth:`CircleScreen.show_read`. A small
cohort is read on the UI thread, at once; a big one in a worker after the
screen has painted, so a screen never waits for 100k events before it appears
(unless the screen says its read is quick whatever the size:
:meth:`CircleScreen.read_is_quick`).

One read per change: a command does not refresh the screen. Every change of
a view, written here or ingested from a peer, posts one :class:`ViewChanged`,
and the app asks the screen on top to :meth:`~CircleScreen.refresh_view`. A
screen remembers what it last read (:meth:`~CircleScreen.read_stamp`), so the
second message of a command that wrote twice, or coming back from a modal
when nothing changed, reads nothing.

Concurrency: the sync service ingests on its own thread under the cohort's
``store.lock``. So every read of a view from the UI (a handler deciding what
to do, a form's list of members) holds ``self.service.store.lock`` (see
:meth:`CircleScreen.view_lock`) or uses the screen's last read; :meth:`read` takes
the lock itself, and commands run under it (:meth:`CircleScreen.attempt`).

Early: the cohort screen and the meeting room can paint before their cohort
is folded, from its front page (what they showed when circle last closed;
:class:`Early`). Such a screen has no service yet: it is marked as being
brought up to date and is read-only (the keys that would change something,
or need the view, wait). When the cohort is open the app hands the screen
its service (:meth:`CircleScreen.attach`); the same screen then reads the
view as usual, so the tab, the focus and the highlighted rows stay where the
person left them, and the keys that waited run, once the first real read is
shown, if the page was current (nothing moved since it was written);
otherwise they are dropped with a word, since they were pressed against what
has changed since.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import get_current_worker

from circle.errors import CircleError
from circle.messages import ViewRead
from circle.models.rota import Rota, compute_rota
from circle.models.view import View
from circle.widgets import SyncBadge
from circle.widgets.member_text import line, name

if TYPE_CHECKING:
    from circle.app import CircleApp
    from circle.store.service import CohortService

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


def rota_is_current(view: View) -> bool:
    """Whether :func:`rota_of` has the rota of this view as it is now (reading it costs nothing)."""
    hit = _rotas.get(view)
    return hit is not None and hit[0] == len(view)


def trouble_text(view: View, trouble: list[tuple[str, str]]) -> Text:
    """What is wrong with a cohort here (see :meth:`CohortStore.trouble`), one warning a line; member names cleaned."""
    out = Text()
    for who, what in trouble:
        out.append("⚠ ", style="bold")
        if who:
            out.append(f"{name(view.name_of(who))}'s ", style="bold")
        out.append(what + "\n")
    return out


EARLY_MARK = "↻ As when circle last closed ({written}); bringing it up to date… read-only until then."


@dataclass(frozen=True)
class Early:
    """What a screen paints from its cohort's front page before the cohort is folded.

    Attributes:
        cohort: the cohort's id.
        page: the screen's own section of the page, already checked and made into its text (the screen's type).
        stale: the journals moved or the day changed since the page was written.
        written: when the page was written (the session's clock).
    """

    cohort: str
    page: Any
    stale: bool
    written: float
    failed: str = ""  # the cohort did not open: why (the page stays, read-only, and says so)

    def mark(self) -> Text:
        """The line that says what this is: "as when circle last closed; bringing it up to date…" (or that it did not open)."""
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.written))
        if self.failed:
            out = Text(f"⚠ This cohort did not open: {line(self.failed, 300)}. ", style="bold")
            out.append(f"Shown as when circle last closed ({written}), read-only; 'circle doctor' says what is wrong.", style="dim italic")
            return out
        return Text(EARLY_MARK.format(written=written), style="dim italic")


class CircleScreen(Screen[None]):
    """A signed-in screen. Subclasses implement :meth:`read` and :meth:`show_read`."""

    BINDINGS = [
        Binding("question_mark,f1", "app.help", "Help", key_display="?"),
    ]

    service: CohortService | None = None  # the cohort on screen, if the screen shows one
    #: Actions that stay live while the screen shows a front page (moving around, leaving, help); the others wait.
    EARLY_ACTIONS: frozenset[str] = frozenset({"help", "tab", "back", "pop_screen"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_queued = False
        self._resumed = False
        self._stamp: Any = _NEVER
        self.early: Early | None = None  # shown from the cohort's front page, until :meth:`attach`
        self._waiting: list[Any] = []  # actions pressed while early, to run once the real screen is shown

    @property
    def cohort_id(self) -> str:
        """The id of the cohort on screen ("" for none)."""
        if self.service is not None:
            return self.service.id
        return self.early.cohort if self.early is not None else ""

    # ---- early: painted from the front page ------------------------------
    def show_early(self, early: Early) -> None:
        """Put the page's text into the widgets (UI thread); the screen marks it as being brought up to date."""

    def waits(self, action: str) -> bool:
        """Whether ``action`` waits for the fold (the screen is early and the action is not one of :attr:`EARLY_ACTIONS`)."""
        return self.early is not None and action not in self.EARLY_ACTIONS

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While early, the keys that wait show greyed in the footer (read-only); pressed, they wait (see :meth:`wait_for_fold`)."""
        return None if self.waits(action) else True

    def wait_for_fold(self, action: Any) -> None:
        """Keep an action pressed while early, to run once the real screen is shown (the app calls this instead of running it)."""
        if len(self._waiting) < 20:
            self._waiting.append(action)
        self.notify("Read-only until it is up to date: that key runs then.", title="Bringing it up to date…")

    def open_failed(self, why: str) -> None:
        """The cohort did not open: the page stays, read-only, marked with why; the keys that waited are dropped."""
        if self.early is None or self.service is not None:
            return
        self._waiting = []
        self.early = replace(self.early, failed=why)
        self.show_early(self.early)

    def attach(self, service: CohortService) -> None:
        """The cohort is open: read the view and become the real screen, where the person left it."""
        if self.service is not None:
            return
        self.service = service
        self.refresh_bindings()
        self.refresh_view()

    def _shown(self) -> None:
        """After a read was shown: the first real one ends the early screen and runs the keys that waited."""
        early, self.early = self.early, None
        if early is None:
            return
        waiting, self._waiting = self._waiting, []
        self.refresh_bindings()
        if waiting and early.stale:
            self.notify("It changed since circle last closed: press the key again.", title="Up to date")
        elif waiting:
            for action in waiting:
                self.call_after_refresh(self.run_action, action)

    @property
    def circle(self) -> CircleApp:
        return self.app  # type: ignore[return-value]

    def sync_badge(self) -> SyncBadge:
        """The sync badge of the top bar, following the status the app publishes."""
        return SyncBadge(self.circle.sync_status_signal, self.circle.sync_status)

    def view_lock(self) -> contextlib.AbstractContextManager[Any]:
        """The lock of the cohort on screen: hold it to read its view from a handler (nothing to hold without one)."""
        return self.service.store.lock if self.service is not None else contextlib.nullcontext()

    # ---- reading -------------------------------------------------------
    def events_to_read(self) -> int:
        """How many events :meth:`read` goes through (decides between here and a worker)."""
        return 0

    def read_is_quick(self) -> bool:
        """Whether :meth:`read` takes about a frame now however big the cohort is: then a big one is read at once too.

        The meeting room and the cohort screen read in about 10 ms at 100k events once the view's rota is
        current: opening one, when nothing changed, paints its content in the first frame (else "Opening…"
        first, then the read in a worker)."""
        return False

    def read_stamp(self) -> Any:
        """What :meth:`read` depends on, compared with ``==``: the read is skipped while it stays the same.

        A view only grows, so the view and its length say whether it changed
        (the rota cache relies on the same fact). The default reads every time.
        """
        return object()

    def read(self) -> Any:
        """Read what the screen shows from the view. Runs on the UI thread or in a worker: no widgets here."""
        return None

    def show_read(self, read: Any) -> None:
        """Put a :meth:`read` result into the widgets (UI thread)."""

    def refresh_view(self) -> None:
        """Re-read the folded view if it changed and update the widgets: now if it is small, else after the next paint."""
        if self.service is None and self.early is not None:
            return  # painted from the front page: nothing to read until the cohort is open
        stamp = self.read_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        lock = self.service.store.lock if self.service is not None else None
        if self.events_to_read() <= INLINE_EVENTS:
            read = self.read()
        elif lock is not None and self.read_is_quick() and lock.acquire(blocking=False):  # never waits for the sync thread's fold
            try:
                read = self.read()
            finally:
                lock.release()
        else:
            if not self._read_queued:  # changes that come while a read waits for the paint make that one read
                self._read_queued = True
                self.call_after_refresh(self._start_read)
            return
        self.show_read(read)
        self._shown()

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
        self._shown()

    def on_screen_resume(self) -> None:
        # The first resume comes with mounting, which has already read the view.
        if self._resumed:
            self.refresh_view()
        self._resumed = True

    # ---- acting --------------------------------------------------------
    def attempt(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a command under the cohort's lock; a CircleError becomes a calm notification.

        The screen is not refreshed here: the change comes back as :class:`ViewChanged`.
        """
        try:
            with self.view_lock():
                return fn(*args, **kwargs)
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return None

    def do(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Like :meth:`attempt`, but says whether the command succeeded."""
        try:
            with self.view_lock():
                fn(*args, **kwargs)
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return False
        return True

    def show_result(self, title: str, fn: Callable[..., str], *args: Any) -> None:
        """Run an app service that returns text to read (codes, fingerprints) and show it in full.

        Not under the cohort's lock: admitting fetches the newcomer's journal, which can take a while.
        """
        from circle.screens.modals import ReadModal

        try:
            text = fn(*args)
        except CircleError as exc:
            self.notify(exc.hint or " ", title=exc.title, severity="warning")
            return
        self.app.push_screen(ReadModal(title, text))

    def ask_then_show(self, title: str, fields: list[Any], submit: str, result_title: str, fn: Callable[[dict[str, str]], str]) -> None:
        """Ask in a form, run ``fn`` with what was typed, then show the text it returns in full.

        An error keeps the form open with what was typed and says what is
        wrong beside the field it concerns.
        """
        from circle.screens.modals import FormModal, ReadModal

        result: dict[str, str] = {}

        def check(values: dict[str, str]) -> None:
            result["text"] = fn(values)

        def done(values: dict[str, str] | None) -> None:
            if values is not None and "text" in result:
                self.app.push_screen(ReadModal(result_title, result["text"]))

        self.app.push_screen(FormModal(title, fields, submit=submit, check=check), done)


_NEVER = object()  # the stamp of a screen that has not read yet
