"""CircleApp: builds the services once, pushes screens, handles worker errors in one place.

``make_app`` is the one factory used by the CLI and by the tests (fixed size,
frozen clock and no cursor blink come from the tests' arguments).

The UI talks one way. Screens post requests (:class:`CohortOpenRequested`,
:class:`MeetingOpenRequested`) and the app answers them; the app sets what
screens show (the sync status, through :attr:`CircleApp.sync_status_signal`).

Concurrency, one rule: the view of a cohort changes only under its
``store.lock``. The sync service ingests on its own thread (``store.ingest``
takes the lock), writes come from the UI thread (``store.record`` takes it
too), and each change reaches the screens as a :class:`ViewChanged` message
(``post_message`` is thread-safe). Every UI read of a view holds
``svc.store.lock`` or uses what the screen's last read returned (see
:mod:`circle.screens.base`).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.actions import ActionParseResult
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal
from textual.theme import Theme
from textual.worker import Worker, WorkerState, get_current_worker

from circle.errors import CircleError
from circle.messages import (
    AgreementOpenRequested,
    CohortOpened,
    CohortOpenFailed,
    CohortOpening,
    CohortOpenRequested,
    CohortsOpened,
    CreditsOpenRequested,
    GoalsOpenRequested,
    MeetingOpenRequested,
    PrivateOpenRequested,
    Unlocked,
    ViewChanged,
)
from circle.models.text import clean, shorten
from circle.store.cohort import CohortStore
from circle.store.frontpage import Front
from circle.store.service import CohortService
from circle.store.session import Home, Session
from circle.sync.status import SyncStatus

HIGH_CONTRAST = Theme(
    name="circle-high-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#ffff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    success="#00ff00",
    warning="#ffff00",
    error="#ff5555",
    boost="#ffffff",
    dark=True,
    variables={"footer-key-foreground": "#ffff00", "block-cursor-background": "#ffff00", "block-cursor-foreground": "#000000"},
)
THEMES = ("textual-dark", "textual-light", "circle-high-contrast")
NOTIFY_TITLE_CHARS = 80  # a notification is a few words: a hostile 10,000-character name must not fill the screen
NOTIFY_CHARS = 400


QUIT_ASKED = "quit-asked"  # the question Ctrl+Q asks over a form with typed text (see CircleApp.action_quit)


def _typed(form: Any) -> bool:
    """Whether a form's text boxes hold other than what they opened with (a choice alone is not typing)."""
    values = form.values()
    return any(not f.options and values.get(f.name, "") != f.value for f in form.fields)


class CircleApp(App[None]):
    """The circle TUI.

    Args:
        home: the circle home.
        identity: the identity to preselect on the unlock screen.
        sync: an object with ``status() -> SyncStatus``, or None ("sync off").
        sync_factory: builds the sync service for a session once it is unlocked
            (what the CLI passes); it runs in the background while the app is open.
        clock: the clock every session uses (tests freeze it).
        session: an already unlocked session (skips the unlock screen).
    """

    CSS_PATH = "app.tcss"
    TITLE = "circle"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        Binding("f2", "cycle_theme", "Theme", show=False),
        Binding("f1", "help", "Help", show=False),
    ]

    def __init__(
        self,
        home: Home,
        *,
        identity: str | None = None,
        sync: Any = None,
        clock: Callable[[], float] = time.time,
        session: Session | None = None,
        theme: str = "textual-dark",
        cursor_blink: bool = True,
        sync_factory: Callable[[Session], Any] | None = None,
    ) -> None:
        super().__init__()
        self.sync_factory = sync_factory
        self.cursor_blink = cursor_blink
        self.home = home
        self.identity = identity
        self.sync = sync
        self.clock = clock
        self.session: Session | None = session
        self._services: dict[str, CohortService] = {}
        self._watched: list[CohortStore] = []
        self.open_failures: dict[str, str] = {}  # cohort id -> why it did not open
        self.opening_progress: dict[str, tuple[int, int]] = {}  # cohort id -> (events opened, of how many) while it opens without a snapshot
        #: Each cohort's front page (what the home screen showed when circle last closed), read at sign-in: shown until the cohort is open.
        self.front_pages: dict[str, Front] = {}
        # One cohort opens at a time: the background opener and a screen that needs a cohort now.
        self._open_lock = threading.Lock()
        self._joins_lock = threading.Lock()  # one look for join answers at a time (poll_joins)
        self._joins_busy = self._joins_again = False
        self.register_theme(HIGH_CONTRAST)
        self.theme = theme
        #: The sync service's status as last read (None: sync is off); published on :attr:`sync_status_signal` when it changes.
        self.sync_status: SyncStatus | None = None
        self.sync_status_signal: Signal[SyncStatus | None] = Signal(self, "sync-status")
        #: Items of mine that moved to a later meeting and whose move I was told of (once per item).
        self.told_moved: set[str] = set()

    # ---- services ------------------------------------------------------
    def meetings(self, cohort_id: str) -> CohortService:
        """The service of a cohort, opening the cohort here if the background has not yet."""
        if cohort_id not in self._services:
            assert self.session is not None
            with self._open_lock:
                svc = self.session.cohort(cohort_id)
            self._add_service(svc)
        return self._services[cohort_id]

    def opened(self, cohort_id: str) -> CohortService | None:
        """The service of a cohort if it is open, without waiting for it."""
        return self._services.get(cohort_id)

    def _add_service(self, svc: CohortService) -> None:
        self.watch_cohort(svc.store)
        self._services.setdefault(svc.id, svc)
        self.open_failures.pop(svc.id, None)

    def watch_cohort(self, store: CohortStore) -> None:
        """Turn every change of a cohort's view into a :class:`ViewChanged` message."""
        if any(w is store for w in self._watched):
            return
        self._watched.append(store)
        # Listeners fire on the thread that changed the view (the sync thread for an ingest); post_message is thread-safe.
        store.listeners.append(lambda s, count: self.post_message(ViewChanged(s.id, count)))

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_cohorts(self, session: Session) -> None:
        """Open every cohort (snapshot, then what came after it) off the UI thread, one message each.

        A folded cohort is a large, long-lived heap (100k events: millions of
        objects), and each full pass of the cyclic collector over it paused
        both threads for 100-150 ms. So the collector rests while cohorts
        open, and what they hold is then frozen out of its later passes.
        """
        worker = get_current_worker()
        gc.disable()
        try:
            for cid in session.cohort_ids():
                if worker.is_cancelled:
                    return
                try:
                    with self._open_lock:
                        svc = session.cohort(cid, lambda n, total, cid=cid: self.post_message(CohortOpening(session, cid, n, total)))
                except CircleError as exc:
                    self.post_message(CohortOpenFailed(session, cid, exc.title, exc.hint or ""))
                    continue
                self.post_message(CohortOpened(session, cid, svc))
        finally:
            gc.freeze()
            gc.enable()
        self.post_message(CohortsOpened(session))

    @on(CohortOpening)
    def cohort_opening(self, event: CohortOpening) -> None:
        if event.session is self.session and self.opened(event.cohort) is None:
            self.opening_progress[event.cohort] = (event.opened, event.total)
            self.refresh_screen()

    @on(CohortOpened)
    def cohort_opened(self, event: CohortOpened) -> None:
        from circle.screens.base import CircleScreen

        if event.session is self.session:
            self.opening_progress.pop(event.cohort, None)
            self._add_service(event.service)
            for screen in self.screen_stack:  # screens painted from the front page become the real ones, where they are
                if isinstance(screen, CircleScreen) and screen.early is not None and screen.cohort_id == event.cohort:
                    screen.attach(event.service)
            self.refresh_screen()

    @on(CohortOpenFailed)
    def cohort_open_failed(self, event: CohortOpenFailed) -> None:
        from circle.screens.base import CircleScreen

        if event.session is self.session:
            self.opening_progress.pop(event.cohort, None)
            self.open_failures[event.cohort] = f"{event.title}: {event.hint}" if event.hint else event.title
            self.notify(event.hint or " ", title=event.title, severity="error")
            for screen in self.screen_stack:  # a screen painted from the front page stays read-only and says so
                if isinstance(screen, CircleScreen) and screen.early is not None and screen.cohort_id == event.cohort:
                    screen.open_failed(self.open_failures[event.cohort])
            self.refresh_screen()

    @on(CohortsOpened)
    def cohorts_opened(self, event: CohortsOpened) -> None:
        # Sync starts once every cohort is open: its ingest folds into the services opened here.
        if event.session is self.session and self.sync_factory is not None:
            self._start_sync(event.session)

    # ---- screens -------------------------------------------------------
    def on_mount(self) -> None:
        self.sync_timer = self.set_interval(1.0, self.poll_sync_status)
        self.set_interval(3.0, self.poll_joins)
        if self.session is not None:
            self._signed_in()
        else:
            from circle.screens.unlock import UnlockScreen

            self.push_screen(UnlockScreen(self.home, self.identity))

    def _signed_in(self) -> None:
        from circle.screens.home import HomeScreen

        assert self.session is not None
        self.session.clock = self.clock
        # Paint first: the home screen lists each cohort from its front page (or as "opening…") until it is folded.
        self.front_pages = self.session.front_pages()
        self.push_screen(HomeScreen())
        self.open_cohorts(self.session)

    def _start_sync(self, session: Session) -> None:
        """Run the sync service in the background: it ingests on its own thread, under each store's lock."""
        self.sync = self.sync_factory(session)
        self.sync.start(focus=None)

    def poll_sync_status(self) -> None:
        """Read the sync service's status (once a second, for every badge) and publish it when it changed."""
        status = None
        if self.sync is not None:
            try:
                status = self.sync.status()
            except Exception:  # the status must never take the app down; say so calmly
                status = SyncStatus("problem", "sync status unavailable")
        if status != self.sync_status:
            self.sync_status = status
            self.sync_status_signal.publish(status)

    # ---- joining (the services behind the screens' keys; each returns text to read) ----
    def mailbox(self) -> Any:
        """The replica as the mailbox of the short-code exchange (see circle.exchange)."""
        from circle.exchange import ReplicaMailbox

        assert self.session is not None
        return ReplicaMailbox(self.session)

    def invite(self, cohort_id: str) -> str:
        """A short invite to a cohort, as text to read aloud (the same validity as the command line)."""
        from circle.store.joining import offer_invite

        assert self.session is not None
        offered = offer_invite(self.session, self.meetings(cohort_id), self.mailbox())
        return "\n".join([*offered.lines(), "When they have joined, press d here and type the code."])

    def admit(self, cohort_id: str, code: str, role: str = "participant") -> str:
        """Admit the newcomer who joined with an invite code (or its number; a long join code works too); returns what to compare aloud."""
        from circle.store.joining import admit_with_code

        assert self.session is not None
        svc = self.meetings(cohort_id)
        with svc.store.lock:
            admitted = admit_with_code(svc, code, self.mailbox(), role=role)
        return "\n\n".join(admitted.lines())

    def add_anonymous_line(self, cohort_id: str, meeting_id: str, text: str) -> None:
        """Put one line in a meeting's anonymous round, on the cohort's replica (from a worker thread: it may take a moment)."""
        from circle.sync import litestream as ls
        from circle.sync.drop import ReplicaDrop

        assert self.session is not None
        svc = self.meetings(cohort_id)
        with ls.bounded():  # a replica out of reach costs one wait, not one per slot tried
            svc.add_anonymous_line(meeting_id, text, ReplicaDrop(self.session, svc.store))

    def join(self, invite_code: str, where: str = "") -> str:
        """Ask to join a cohort with an invite code and where its replica is; returns the fingerprint to read aloud.

        ``where`` is a folder, an ``sftp://`` or ``s3://`` URL, or the path of an invite card.
        """
        from circle.store.joining import is_short_code, join_with_code, read_card
        from circle.sync.location import parse_location

        assert self.session is not None
        location = None
        if where.strip():
            card = Path(where.strip()).expanduser()
            location = parse_location(**read_card(card.read_text(encoding="utf-8"))) if card.is_file() else parse_location(where)
        elif is_short_code(invite_code):
            from circle.store.service import FieldError

            raise FieldError("where", "where is the cohort's replica?", "the person who invited you says: a folder, sftp://… or s3://…, or an invite card file")
        joined = join_with_code(self.session, invite_code, location, self.mailbox())
        self.meetings(joined.cohort_id)
        if self.sync is not None and self.sync_factory is not None:
            self.sync.set_focus(joined.cohort_id)  # push the request now, then watch for the admission
        return "\n\n".join(joined.lines())

    def poll_joins(self) -> None:
        """Look for inviters' answers to joins with a short code (every few seconds while one waits)."""
        if self.session is None:
            return
        from circle.store.joining import awaiting_answer

        if not awaiting_answer(self.session):
            return
        # One look at a time. A call while one is under way asks it to look once more, instead of
        # cancelling it (a thread runs on when its worker is cancelled, and whoever waits on it is told it failed).
        with self._joins_lock:
            if self._joins_busy:
                self._joins_again = True
                return
            self._joins_busy = True
        self._answers(self.session)

    @work(thread=True, group="answers", exit_on_error=False)
    def _answers(self, session: Session) -> None:
        try:
            while True:
                self._look_for_answers(session)
                with self._joins_lock:
                    if not self._joins_again:
                        break
                    self._joins_again = False
        finally:
            with self._joins_lock:
                self._joins_busy = self._joins_again = False

    def _look_for_answers(self, session: Session) -> None:
        from circle.store.joining import answer, awaiting_answer

        for cid in awaiting_answer(session):
            svc = self._services.get(cid)
            if svc is None:
                continue
            with svc.store.lock:
                state = answer(session, cid, self.mailbox())
            if state == "answered":
                if self.sync is not None:
                    self.sync.set_focus(cid)  # follow the inviter's journal now: the admission is there
            elif state in ("refused", "spent"):
                self.call_from_thread(self._join_refused, cid, state)

    def _join_refused(self, cid: str, state: str) -> None:
        self._services.pop(cid, None)
        hint = "Check the code with the person who invited you and join again (j)." if state == "refused" else "The invite is spent; ask for a new one."
        self.notify(hint, title="The invite code was wrong", severity="warning")
        self.refresh_screen()

    def _stop_sync(self) -> None:
        if self.sync_factory is not None and self.sync is not None:
            self.sync.stop()
            self.sync = None

    def on_unmount(self) -> None:
        self._stop_sync()

    def close_session(self) -> None:
        """Stop opening cohorts and write what is worth keeping (heads, snapshots) for those open."""
        self.workers.cancel_group(self, "open")
        if self.session is not None:
            with self._open_lock:  # not while a cohort is half open
                self.session.close(front_page=self._front_page)

    def _front_page(self, svc: CohortService) -> dict[str, Any]:
        """What the home screen shows of an open cohort now, as its front page holds it (written when the session closes)."""
        from circle.screens.cohort import page_of as cohort_page
        from circle.screens.home import page_of, read_cohort
        from circle.screens.room import page_of as room_page
        from circle.store.service import today_at

        assert self.session is not None
        today = today_at(self.session.now())
        line = read_cohort(svc, self.session.id, today)
        page = page_of(line, today)
        # What Enter and m open first: the cohort screen and the next meeting's room, as they would paint now.
        page["cohort"] = cohort_page(svc, today)
        page["room"] = room_page(svc, line.next_meeting) if line.next_meeting else None
        return page

    @on(Unlocked)
    def signed_in(self, event: Unlocked) -> None:
        self.session = event.session
        if isinstance(self.screen, Screen) and self.screen.id == "unlock":
            self.pop_screen()
        self._signed_in()
        if event.recovery:
            from circle.screens.modals import ReadModal

            self.push_screen(
                ReadModal(
                    "Your recovery code: write it down now",
                    f"{event.recovery}\n\n"
                    "Write it on paper and keep it away from this laptop; it is shown once.\n"
                    "With it and a recovery kit ('circle recovery-kit -o FILE' writes one, for example to a USB stick), "
                    "'circle recover FILE' brings your identity back on a new laptop, or after a forgotten passphrase.",
                )
            )

    def open_early(self, what: str, cohort_id: str, meeting_id: str | None = None) -> bool:
        """Push the cohort screen (``what`` "cohort") or the meeting room ("meeting") of a cohort not open yet, painted from its front page.

        False (nothing pushed) when the cohort is open already, failed to
        open, or its front page does not hold that screen (for the room: of
        that meeting). The screen is read-only until the cohort is open, then
        :meth:`cohort_opened` makes it the real one.
        """
        from circle.screens.cohort import CohortScreen, early_cohort
        from circle.screens.meeting import MeetingScreen
        from circle.screens.room import early_room
        from circle.store.service import today_at

        front = self.front_pages.get(cohort_id)
        if self.session is None or front is None or cohort_id in self._services or cohort_id in self.open_failures:
            return False
        today = today_at(self.session.now())
        screen: Screen | None = None
        if what == "cohort" and (early := early_cohort(cohort_id, front, today)) is not None:
            screen = CohortScreen(None, early=early)
        elif what == "meeting" and meeting_id and (early := early_room(cohort_id, front, today, meeting_id)) is not None:
            screen = MeetingScreen(None, meeting_id, early=early)
        if screen is None:
            return False
        self.push_screen(screen)
        self._focus_sync(cohort_id)
        return True

    async def run_action(
        self, action: str | ActionParseResult, default_namespace: DOMNode | None = None, namespaces: Mapping[str, DOMNode] | None = None
    ) -> bool:
        """Run an action, except one of a screen painted from a front page that waits for the fold (it runs then)."""
        from circle.screens.base import CircleScreen

        target, name, _params = self._parse_action(action, self if default_namespace is None else default_namespace, namespaces)
        if isinstance(target, CircleScreen) and target.waits(name):
            target.wait_for_fold(action)
            return True
        return await super().run_action(action, default_namespace, namespaces)

    @on(CohortOpenRequested)
    def open_cohort_screen(self, event: CohortOpenRequested) -> None:
        from circle.screens.cohort import CohortScreen

        self.push_screen(CohortScreen(self.meetings(event.cohort)))
        self._focus_sync(event.cohort)

    @on(MeetingOpenRequested)
    def open_meeting_room(self, event: MeetingOpenRequested) -> None:
        from circle.screens.meeting import MeetingScreen

        self.push_screen(MeetingScreen(self.meetings(event.cohort), event.meeting))
        self._focus_sync(event.cohort)

    @on(PrivateOpenRequested)
    def open_private(self, event: PrivateOpenRequested) -> None:
        from circle.screens.private import PrivateScreen

        self.push_screen(PrivateScreen(self.meetings(event.cohort), event.peer or None))
        self._focus_sync(event.cohort)

    @on(AgreementOpenRequested)
    def open_agreement(self, event: AgreementOpenRequested) -> None:
        from circle.screens.agreement import AgreementScreen

        self.push_screen(AgreementScreen(self.meetings(event.cohort)))
        self._focus_sync(event.cohort)

    @on(CreditsOpenRequested)
    def open_credits(self, event: CreditsOpenRequested) -> None:
        from circle.screens.credits import CreditsScreen

        self.push_screen(CreditsScreen(self.meetings(event.cohort)))
        self._focus_sync(event.cohort)

    @on(GoalsOpenRequested)
    def open_goals(self, event: GoalsOpenRequested) -> None:
        from circle.screens.goals import GoalsScreen

        self.push_screen(GoalsScreen(self.meetings(event.cohort)))
        self._focus_sync(event.cohort)

    def _focus_sync(self, cohort_id: str) -> None:
        """Live followers for the cohort on screen; the others are polled."""
        if self.sync_factory is not None and self.sync is not None:
            self.sync.set_focus(cohort_id)

    @on(ViewChanged)
    def refresh_screen(self, event: ViewChanged | None = None) -> None:
        """Have the screen on top read the view again (it skips the read when nothing it shows changed)."""
        if event is not None and event.cohort not in self._services:
            # A pending join was admitted: its cohort took its real id (see CohortStore._adopt).
            self._services = {svc.id: svc for svc in self._services.values()}
        refresh = getattr(self.screen, "refresh_view", None)
        if refresh is not None:
            refresh()

    def action_lock(self) -> None:
        """Forget the unlocked session and return to the unlock screen."""
        from circle.screens.unlock import UnlockScreen

        self._stop_sync()
        self.close_session()
        self.session = None
        self._services.clear()
        self._watched.clear()
        self.open_failures.clear()
        self.opening_progress.clear()
        self.front_pages = {}
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(UnlockScreen(self.home, self.identity))

    async def action_quit(self) -> None:
        """Quit; but a form holding what the person typed and has not saved asks first (Ctrl+Q lost a half-typed note).

        Ctrl+Q again at that question quits.
        """
        from circle.screens.modals import ConfirmModal, FormModal

        if isinstance(self.screen, ConfirmModal) and self.screen.id == QUIT_ASKED:
            self.exit()
            return
        typed = next((s for s in reversed(self.screen_stack) if isinstance(s, FormModal) and _typed(s)), None)
        if typed is None:
            self.exit()
            return
        question = f"Quit, and lose what you typed in “{shorten(clean(typed.form_title), 60)}”?"
        ask = ConfirmModal(question, yes="Quit", no="Keep typing", default_yes=False)
        ask.id = QUIT_ASKED
        self.push_screen(ask, lambda quit_now: self.exit() if quit_now else None)

    # ---- help, themes, palette ----------------------------------------
    def action_help(self) -> None:
        from circle.screens.modals import HelpModal

        if isinstance(self.screen, HelpModal):
            return
        screen_keys = [(b.key_display or _key_name(b.key), b.tooltip or b.description) for b in _bindings(self.screen) if b.description]
        list_keys = [
            ("↑ ↓  PgUp PgDn", "move in a list"),
            ("[  ]", "previous / next page of a long list"),
            ("Enter", "open / start / toggle the highlighted row"),
            ("Tab  Shift+Tab", "move between panels"),
            ("Space", "tick a person present (People tab)"),
        ]
        app_keys = [("?  F1", "this help"), ("Ctrl+P", "command palette"), ("F2", "next theme: dark, light, high contrast"), ("Ctrl+Q", "quit")]
        sections = [(f"This screen ({(self.screen.id or 'screen').replace('-', ' ')})", screen_keys), ("Lists", list_keys), ("Everywhere", app_keys)]
        self.push_screen(HelpModal(sections))

    def action_cycle_theme(self) -> None:
        i = THEMES.index(self.theme) if self.theme in THEMES else -1
        self.theme = THEMES[(i + 1) % len(THEMES)]
        self.notify(self.theme.replace("textual-", "").replace("circle-", ""), title="Theme")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # No screenshot: an SVG of the screen would put plaintext on disk.
        for cmd in super().get_system_commands(screen):
            if cmd.title != "Screenshot":
                yield cmd
        yield SystemCommand("Help", "Show every key of this screen", self.action_help)
        yield SystemCommand("High contrast", "Switch to the high-contrast theme", lambda: setattr(self, "theme", "circle-high-contrast"))
        if self.session is not None:
            yield SystemCommand("Lock", "Lock circle and return to the unlock screen", self.action_lock)
        yield from self.screen_commands(screen)

    def screen_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key of the screen, the footer's and those kept off it, as commands to search by name: each says its key.

        Only the screen's and the app's own: a focused field's keys (cursor moves) are not commands.
        """
        said = {"Help", "Quit", "Theme", "Keys", "Lock", "Back"}
        for active in screen.active_bindings.values():
            b = active.binding
            if active.node not in (screen, self) or b.system or not b.description or not active.enabled or b.description in said:
                continue
            said.add(b.description)
            what = active.tooltip or b.tooltip or b.description
            yield SystemCommand(b.description, f"{what} (key: {self.get_key_display(b)})", partial(self.run_action, b.action, active.node))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.notify("Screenshots are off: they would write meeting content to disk unencrypted.", title="Not available", severity="warning")

    # ---- notifications -------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information", timeout: float | None = None, markup: bool = False) -> None:
        """Every notification as plain, cleaned text, cut to a few lines: titles and hints name people and quote what they wrote.

        ``markup`` is accepted (widgets pass it) and ignored: nothing here is ever read as markup.
        """
        super().notify(
            shorten(clean(message, multiline=True), NOTIFY_CHARS),
            title=shorten(clean(title), NOTIFY_TITLE_CHARS),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # ---- worker errors and crashes ------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, CircleError):
            self.notify(error.hint or " ", title=error.title, severity="error")
        else:
            self.notify("Run with CIRCLE_DEBUG=1 and report it.", title=f"Internal error ({type(error).__name__})", severity="error")

    def _handle_exception(self, error: Exception) -> None:
        """Replace Textual's crash report: its traceback shows local variables, which can hold plaintext."""
        if os.environ.get("CIRCLE_DEBUG"):
            super()._handle_exception(error)
            return
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        if isinstance(error, CircleError):
            message = f"circle stopped: {error.line()}"
        else:
            message = (
                f"circle stopped on an internal error ({type(error).__name__}). Everything already saved is safe. "
                "Run again with CIRCLE_DEBUG=1 to see the details, and report it."
            )
        self._exit_renderables.append(Text(clean(message)))
        self._close_messages_no_wait()

    def _fatal_error(self) -> None:
        self._exit_renderables.append(Text("circle stopped on an internal error. Run again with CIRCLE_DEBUG=1 to see the details."))
        self._close_messages_no_wait()


def _key_name(key: str) -> str:
    return key.split(",")[0].replace("question_mark", "?").replace("escape", "Esc").replace("enter", "Enter")


def _bindings(screen: Screen) -> list[Binding]:
    seen: set[str] = set()
    out: list[Binding] = []
    for cls in type(screen).__mro__:
        for b in getattr(cls, "BINDINGS", []) if "BINDINGS" in cls.__dict__ else []:
            if isinstance(b, tuple):
                b = Binding(*b)
            if b.action in seen or b.action.startswith("app.help"):
                continue
            seen.add(b.action)
            out.append(b)
    return out


def make_app(
    home_root: Path | str,
    *,
    identity: str | None = None,
    sync: Any = None,
    clock: Callable[[], float] | None = None,
    session: Session | None = None,
    theme: str = "textual-dark",
    cursor_blink: bool = True,
    sync_factory: Callable[[Session], Any] | None = None,
) -> CircleApp:
    """The one factory for the CLI and the tests (tests pass a frozen clock and ``cursor_blink=False``)."""
    return CircleApp(
        Home(Path(home_root)),
        identity=identity,
        sync=sync,
        clock=clock or time.time,
        session=session,
        theme=theme,
        cursor_blink=cursor_blink,
        sync_factory=sync_factory,
    )


def run_app(home_root: Path | str, identity: str | None = None, sync: bool = True) -> None:
    """Open the TUI on a home (what `circle` with no command runs), syncing in the background."""
    from circle.sync.service import SyncService

    app = make_app(home_root, identity=identity, sync_factory=SyncService if sync else None)
    app.run()
    app.close_session()
