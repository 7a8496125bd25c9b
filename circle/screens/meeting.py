"""The meeting room: phases, the agenda with a countdown, notes, actions, attendance, the anonymous round.

Only the current facilitator (or the supervising mentor) advances phases and
items; anyone present adds notes, agenda items and actions. The screen reads
the folded view in one pass (:func:`circle.models.meeting.room`; in a worker,
after the first paint, for a big cohort), turns it into rows of text
(:func:`room_rows`), and reads again when the view changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Label, SelectionList, Static, TabbedContent, TabPane
from textual.widgets.selection_list import Selection

from circle.errors import CircleError
from circle.messages import TimeUp
from circle.models.meeting import Carried, Room, room, timer
from circle.models.view import Action, AgendaItem, Meeting, Note
from circle.screens.base import CircleScreen, rota_of
from circle.screens.modals import ConfirmModal, Field, FormModal, PickModal, ReadModal
from circle.store.service import CohortService
from circle.widgets import Countdown, PhaseBar, WindowedList
from circle.widgets.member_text import BLOCK_CHARS, NAME_CHARS, block, line, name

PHASE_HINTS = {
    "": "Not started. The facilitator presses n to begin with check-in.",
    "check-in": "Check-in: one minute each: how are you arriving today? Mark who is here in People (3).",
    "agenda": "Agenda: Enter starts the highlighted item; x closes it and starts the next.",
    "feedback": "Feedback & reflection: what helped? Press r to add one anonymous line to the round (4).",
    "actions": "Action items: t adds one with an owner and a due date (tab 2).",
    "wrap-up": "Wrap-up: w marks the meeting held and carries unfinished business to the next one.",
}

OPENING = "Opening the meeting…"
NOTES_PAGE = 25  # notes per window: each is up to a few lines, and Textual wraps a whole window before painting it
NOTE_CHARS = 320  # longer notes are cut in the list; Enter reads the whole note
NOTE_LINES = 6  # and so are notes of more lines than this
TITLE_CHARS = 80  # the meeting's and the running item's title in one-line places (the top bar, the countdown)


@dataclass
class RoomRead:
    """The meeting room as rows of text, built from a :class:`~circle.models.meeting.Room` (no widgets)."""

    room: Room
    title: Text
    meta: Text
    hint: Text
    caption: str
    agenda_title: str
    agenda_rows: list[tuple[str, Text]]
    notes: dict[str | None, list[tuple[str, Text]]]  # item id (None: the whole meeting) -> rows
    carried: dict[str, tuple[str, Text]]  # item id -> its "last time you said…" row
    long_notes: dict[str, tuple[str, str]]  # note id -> (title, whole text) of notes cut in the list
    action_rows: list[tuple[str, Text]]
    action_status: dict[str, str]
    roster: list[tuple[str, str]]
    round: Text

    @property
    def meeting(self) -> Meeting:
        return self.room.meeting

    @property
    def items(self) -> tuple[AgendaItem, ...]:
        return self.room.items

    @property
    def attendance(self) -> Mapping[str, bool]:
        return self.room.attendance

    def note_rows(self, item_id: str | None) -> list[tuple[str, Text]]:
        head = [self.carried[item_id]] if item_id in self.carried else []
        return head + self.notes.get(item_id, [])


def read_room(svc: CohortService, meeting_id: str) -> RoomRead:
    """Read one meeting from the folded view (under the cohort's lock), then make its rows."""
    with svc.store.lock:
        view = svc.view
        r = room(view, rota_of(view), meeting_id, svc.me)
    return room_rows(r)


def room_rows(r: Room) -> RoomRead:
    """Everything the meeting room shows, as text rows; what members wrote is cleaned and cut to fit."""
    m = r.meeting
    titles = {i.id: i.title for i in r.items}
    rows: dict[str, Text] = {}
    long_notes: dict[str, tuple[str, str]] = {}
    for n in r.notes_on(None):
        rows[n.id], whole = note_row(r, n, titles.get(n.item, m.title or "the meeting"))
        if whole is not None:
            long_notes[n.id] = whole
    notes = {key: [(n.id, rows[n.id]) for n in item_notes] for key, item_notes in r.notes.items()}
    cur = r.current
    return RoomRead(
        room=r,
        title=Text(f"{line(m.title, TITLE_CHARS) or 'Meeting'} · {line(m.at, 40)}"),
        meta=meta_line(r),
        hint=Text(PHASE_HINTS.get(m.phase, "") if not m.held else "This meeting is held; its record is read-only except for notes.", style="italic"),
        caption=f"{line(cur.title, TITLE_CHARS)} — {_name(r, cur.owner)}" if cur else "No item running. Enter on an item starts it.",
        agenda_title=f"Agenda {r.done}/{len(r.items)} done",
        agenda_rows=[(i.id, agenda_row(r, i)) for i in r.items],
        notes=notes,
        carried={item_id: ("_carried", carried_row(r, c)) for item_id, c in r.carried.items()},
        long_notes=long_notes,
        action_rows=[(a.id, action_row(r, a)) for a in r.actions],
        action_status={a.id: a.status for a in r.actions},
        roster=[(f"{name(p.name)}{' (you)' if p.id == r.me else ''}{' · away' if p.away else ''}", p.id) for p in r.roster],
        round=round_text(r),
    )


def _name(r: Room, member_id: str) -> str:
    return name(r.name_of(member_id))


def meta_line(r: Room) -> Text:
    """Who facilitates, how many are present, whether the meeting is held."""
    meta = Text()
    meta.append("Facilitator ", style="dim")
    meta.append(_name(r, r.facilitator) if r.facilitator else "nobody eligible", style="bold")
    if r.facilitator == r.me:
        meta.append(" (you)", style="bold")
    elif r.supervising:
        meta.append(" · you supervise", style="dim")
    meta.append(f" · {r.present}/{len(r.roster)} present", style="dim")
    if r.meeting.held:
        meta.append(" · held", style="italic")
    return meta


def agenda_row(r: Room, i: AgendaItem) -> Text:
    current = i.id == r.meeting.current_item
    t = Text()
    t.append("▶ " if current else ("✓ " if i.status == "done" else ("↻ " if i.carried_from else "• ")), style="bold" if current else "")
    t.append(line(i.title), style="strike dim" if i.status == "done" else ("bold" if current else ""))
    t.append(f"\n  {_name(r, i.owner)} · {i.minutes} min", style="dim")
    return t


def note_start(text: str) -> str | None:
    """The start of a note too long for a row, to show with "Enter reads it all" (None when the whole note fits)."""
    lines = text.split("\n")
    if len(text) <= NOTE_CHARS and len(lines) <= NOTE_LINES:
        return None
    head = "\n".join(lines[:NOTE_LINES])
    if len(head) > NOTE_CHARS:
        head = head[:NOTE_CHARS].rsplit(" ", 1)[0]
    return head + " …"


def note_row(r: Room, n: Note, on: str) -> tuple[Text, tuple[str, str] | None]:
    """A note's row, and (title, whole text) when the row shows only its start."""
    t = Text()
    if n.kind == "decision":
        t.append("Decision: ", style="bold")
    text = block(n.text)
    start = note_start(text)
    whole = None
    if start is not None:
        t.append(start)
        t.append("  Enter reads it all", style="dim italic")
        whole = (f"{'Decision' if n.kind == 'decision' else 'Note'} on “{line(on, NAME_CHARS)}” — {_name(r, n.author)}", n.text)
    else:
        t.append(text)
    t.append(f"\n  {_name(r, n.author)}", style="dim")
    return t, whole


def carried_row(r: Room, c: Carried) -> Text:
    """The "last time you said…" row of a carried item: the action it follows up, or where it was left unfinished."""
    t = Text("Last time you said… ", style="bold italic")
    if c.action is not None:
        a = c.action
        title = line(a.title)
        t.append(f"{_name(r, a.owner)} would {title[:1].lower() + title[1:]}" + (f" (due {line(a.due, 40)})" if a.due else ""), style="italic")
        t.append(f" — {line(a.status, 20)}", style="dim")
    elif c.source is not None:
        t.append(f"unfinished at the {line(c.origin_at[:10]) if c.origin_at else 'last'} meeting", style="italic")
        for n in c.notes:
            t.append(f"\n  {'Decision: ' if n.kind == 'decision' else ''}{line(n.text, NOTE_CHARS)}", style="dim")
    return t


def action_row(r: Room, a: Action) -> Text:
    t = Text()
    t.append("✓ " if a.status == "done" else ("✗ " if a.status == "dropped" else "☐ "))
    t.append(line(a.title), style="dim" if a.status != "open" else "")
    t.append(f"\n  {_name(r, a.owner)}{' · due ' + line(a.due, 40) if a.due else ''}", style="dim")
    if a.meeting != r.meeting.id:
        t.append(" · from an earlier meeting", style="dim italic")
    return t


def round_text(r: Room) -> Text:
    """The anonymous round, every line in full (the panel scrolls)."""
    rnd = Text()
    rnd.append("Anonymous round: one line each, shown without names.\n\n", style="dim")
    for text in r.anonymous:
        rnd.append(f"“{line(text, BLOCK_CHARS)}”\n")
    if not r.anonymous:
        rnd.append("No lines yet. Press r to add yours.", style="dim italic")
    else:
        n = len(r.anonymous)
        rnd.append(f"\n{n} line{'s' if n != 1 else ''}. Press r to add yours.", style="dim")
    return rnd


class MeetingScreen(CircleScreen):
    """The live screen of one meeting."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "next_phase", "Phase", tooltip="Next phase"),
        Binding("b", "back_phase", "Previous phase", show=False),
        Binding("x", "finish_item", "Done", tooltip="Close the current item, start the next"),
        Binding("a", "add_item", "Item", tooltip="Add an agenda item (anyone)", show=False),
        Binding("o", "add_note", "Note", tooltip="Add a note to the highlighted item"),
        Binding("d", "add_decision", "Decision", tooltip="Record a decision on the highlighted item", show=False),
        Binding("t", "add_action", "Action", tooltip="Add an action item with owner and due date"),
        Binding("h", "handoff", "Handoff", tooltip="Hand the facilitator role to another member"),
        Binding("r", "anonymous", "Anonymous line", show=False),
        Binding("w", "wrap_up", "Wrap up (mark held)", show=False),
        Binding("1", "tab('notes')", "Notes", show=False),
        Binding("2", "tab('actions')", "Actions", show=False),
        Binding("3", "tab('people')", "People", show=False),
        Binding("4", "tab('round')", "Round", show=False),
    ]

    def __init__(self, service: CohortService, meeting_id: str) -> None:
        super().__init__(id="meeting")
        self.service = service
        self.meeting_id = meeting_id
        self.rows: RoomRead | None = None  # what the last read showed
        self._roster: list[tuple[str, str]] = []
        self._reads = 0  # how many reads were shown: the notes follow the newest
        self._notes_shown: tuple[int, str | None] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="topbar"):
            yield Label("", classes="topbar-title", id="meeting-title")
            yield self.sync_badge()
        yield Static("", id="meeting-meta")
        yield PhaseBar(id="meeting-phases")
        yield Countdown(id="meeting-timer")
        with Horizontal(id="meeting-body"):
            with Vertical(id="meeting-left"):
                yield Label("Agenda", classes="section-title", id="meeting-agenda-title")
                yield WindowedList(id="meeting-agenda", page_size=200, empty=OPENING)
            with TabbedContent(initial="notes", id="meeting-tabs"):
                with TabPane("1 Notes", id="notes"):
                    yield WindowedList(id="meeting-notes", page_size=NOTES_PAGE, empty=OPENING)
                with TabPane("2 Actions", id="actions"):
                    yield WindowedList(id="meeting-actions", page_size=300, empty=OPENING)
                with TabPane("3 People", id="people"):
                    yield SelectionList[str](id="meeting-people")
                with TabPane("4 Round", id="round"):
                    with VerticalScroll():
                        yield Static(id="meeting-round")
        yield Static("", id="meeting-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#meeting-timer", Countdown).meeting = self.meeting_id
        self.refresh_view()
        agenda = self.query_one("#meeting-agenda")
        agenda.focus()
        # Follow the highlight as it moves, not a message later: the notes change in the same frame.
        self.watch(agenda, "highlighted", lambda _old, _new: self.show_notes(), init=False)
        self.set_interval(1.0, self.tick)

    # ---- reading -------------------------------------------------------
    def events_to_read(self) -> int:
        return len(self.service.view)

    def read_stamp(self) -> object:
        view = self.service.view
        return view, len(view), view.rounds_changed

    def read(self) -> RoomRead:
        return read_room(self.service, self.meeting_id)

    def tick(self) -> None:
        if self.rows is not None:
            self.query_one("#meeting-timer", Countdown).state = timer(self.rows.meeting, self.rows.items, self.service.now())

    def _item(self, item_id: str | None) -> AgendaItem | None:
        return self.rows.room.item(item_id) if self.rows else None

    def selected_item(self) -> AgendaItem | None:
        return self._item(self.query_one("#meeting-agenda", WindowedList).highlighted_id)

    def show_read(self, rows: RoomRead) -> None:
        self.rows = rows
        self._reads += 1
        m = rows.meeting
        self.query_one("#meeting-title", Label).update(rows.title)
        self.query_one("#meeting-meta", Static).update(rows.meta)
        bar = self.query_one("#meeting-phases", PhaseBar)
        bar.phase, bar.held = m.phase, m.held
        self.query_one("#meeting-hint", Static).update(rows.hint)

        agenda = self.query_one("#meeting-agenda", WindowedList)
        agenda.empty = "No items yet. Press a to add one."
        agenda.set_rows(rows.agenda_rows)
        self.query_one("#meeting-agenda-title", Label).update(rows.agenda_title)

        timer_widget = self.query_one("#meeting-timer", Countdown)
        timer_widget.caption = rows.caption
        timer_widget.state = timer(m, rows.items, self.service.now())
        self.show_notes()

        actions = self.query_one("#meeting-actions", WindowedList)
        actions.empty = "No open actions. t adds one."
        actions.set_rows(rows.action_rows)

        # Rebuild the people list only when the roster changes: rebuilding loses the highlight.
        people = self.query_one("#meeting-people", SelectionList)
        if rows.roster != self._roster:
            self._roster = rows.roster
            people.clear_options()
            people.add_options([Selection(Text(label), mid, rows.attendance.get(mid, False)) for label, mid in rows.roster])
        else:
            for _label, mid in rows.roster:  # select/deselect post no SelectionToggled: no loop back
                (people.select if rows.attendance.get(mid, False) else people.deselect)(mid)
        self.query_one("#meeting-round", Static).update(rows.round)

    def show_notes(self) -> None:
        """The notes of the highlighted agenda item (all of the meeting's when none is)."""
        if self.rows is None:
            return
        item = self.selected_item()
        key = (self._reads, item.id if item else None)
        if key == self._notes_shown:
            return
        self._notes_shown = key
        notes = self.query_one("#meeting-notes", WindowedList)
        notes.empty = "No notes for this item yet. o adds a note, d a decision."
        notes.set_rows(self.rows.note_rows(item.id if item else None), last_page=True)

    @on(WindowedList.OptionSelected, "#meeting-notes")
    def read_note(self, event: WindowedList.OptionSelected) -> None:
        full = self.rows.long_notes.get(event.option.id or "") if self.rows else None
        if full is not None:
            self.app.push_screen(ReadModal(*full))

    # ---- acting --------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        self.query_one("#meeting-tabs", TabbedContent).active = tab
        target = {"notes": "#meeting-notes", "actions": "#meeting-actions", "people": "#meeting-people"}.get(tab)
        if target:
            widget = self.query_one(target)
            widget.focus()
            if getattr(widget, "highlighted", 0) is None and getattr(widget, "option_count", 0):
                widget.highlighted = 0

    def action_next_phase(self) -> None:
        with self.view_lock():
            m = self.service.meeting(self.meeting_id)
        if m.phase == "wrap-up":
            self.action_wrap_up()
            return
        self.attempt(self.service.advance_phase, self.meeting_id)

    def action_back_phase(self) -> None:
        self.attempt(self.service.back_phase, self.meeting_id)

    @on(WindowedList.OptionSelected, "#meeting-agenda")
    def start_item(self, event: WindowedList.OptionSelected) -> None:
        if event.option.id and not event.option.id.startswith("_"):
            self.do(self.service.start_item, self.meeting_id, event.option.id)

    def action_finish_item(self) -> None:
        nxt = self.attempt(self.service.finish_item, self.meeting_id)
        if nxt is not None:
            self.notify(f"Now: {line(nxt.title)}", title="Next item")

    def _member_options(self) -> list[tuple[str, str]]:
        me = self.service.me
        with self.view_lock():
            members = sorted(self.service.view.members(), key=lambda m: (m.id != me, m.name))
        return [(f"{name(m.name)}{' (you)' if m.id == me else ''}", m.id) for m in members]

    def action_add_item(self) -> None:
        fields = [
            Field("title", "Item", placeholder="what you bring"),
            Field("owner", "Brought by", self.service.me, options=self._member_options()),
            Field("minutes", "Timebox (minutes)", "10"),
        ]

        def done(values: dict[str, str] | None) -> None:
            if values:
                minutes = int(values["minutes"]) if values["minutes"].strip().isdigit() else 0
                self.do(self.service.add_item, self.meeting_id, values["title"], values["owner"], minutes)

        self.app.push_screen(FormModal("Add an agenda item", fields, submit="Add"), done)

    def _note(self, decision: bool) -> None:
        item = self.selected_item()
        where = f" on “{line(item.title, NAME_CHARS)}”" if item else ""

        def done(values: dict[str, str] | None) -> None:
            if values:
                self.do(self.service.add_note, self.meeting_id, values["text"], item.id if item else "", decision)

        label = "Decision" if decision else "Note"
        self.app.push_screen(FormModal(f"{label}{where}", [Field("text", label, placeholder="one or two sentences")], submit="Add"), done)

    def action_add_note(self) -> None:
        self._note(False)

    def action_add_decision(self) -> None:
        self._note(True)

    def action_add_action(self) -> None:
        fields = [
            Field("title", "Action", placeholder="what will be done"),
            Field("owner", "Owner", self.service.me, options=self._member_options()),
            Field("due", "Due (YYYY-MM-DD, optional)"),
        ]

        def done(values: dict[str, str] | None) -> None:
            if values:
                self.do(self.service.add_action, self.meeting_id, values["title"], values["owner"], values["due"])

        self.app.push_screen(FormModal("Add an action item", fields, submit="Add"), done)

    @on(WindowedList.OptionSelected, "#meeting-actions")
    def toggle_action(self, event: WindowedList.OptionSelected) -> None:
        status = self.rows.action_status.get(event.option.id or "") if self.rows else None
        if status is not None:
            self.do(self.service.set_action_status, event.option.id, "open" if status == "done" else "done")

    @on(SelectionList.SelectionToggled, "#meeting-people")
    def toggle_attendance(self, event: SelectionList.SelectionToggled) -> None:
        # Flip what the view says, not what the widget shows: a refresh may have run in between.
        member = event.selection.value
        with self.view_lock():
            present = not self.service.view.attendance(self.meeting_id).get(member, False)
            self.do(self.service.mark_attendance, self.meeting_id, member, present)

    def action_handoff(self) -> None:
        with self.view_lock():
            fac = self.service.facilitator(self.meeting_id)
            may = self.service.can_lead(self.meeting_id)
            who = name(self.service.view.name_of(fac))
        if not may:
            self.notify(f"{who} (or the supervising mentor) hands the role over.", title="Only the facilitator hands off", severity="warning")
            return
        options = [(mid, label) for label, mid in self._member_options() if mid != fac]

        def done(to: str | None) -> None:
            if to and self.do(self.service.handoff, self.meeting_id, to):
                with self.view_lock():
                    who = name(self.service.view.name_of(to))
                self.notify(f"{who} facilitates from here.", title="Handoff")

        self.app.push_screen(PickModal("Hand the facilitator role to…", options), done)

    def action_anonymous(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values:
                self.notify("Sending your line to the round…", title="Anonymous round", timeout=2)
                self.send_anonymous(values["text"])

        self.app.push_screen(FormModal("Your line for the anonymous round", [Field("text", "One line, shown without your name")], submit="Add"), done)

    @work(thread=True, group="anonymous", exit_on_error=False)
    def send_anonymous(self, text: str) -> None:
        """Put the line on the replica (it goes in no journal): off the UI thread, a remote store may take a moment."""
        try:
            self.app.add_anonymous_line(self.service.id, self.meeting_id, text)
        except CircleError as exc:
            self.app.call_from_thread(self.notify, exc.hint or " ", title=exc.title, severity="warning")
            return
        self.app.call_from_thread(self.notify, "Your line is in the round, without your name.", title="Anonymous round")

    def action_wrap_up(self) -> None:
        with self.view_lock():
            may = self.service.can_lead(self.meeting_id)
            open_items = [i for i in self.service.view.agenda(self.meeting_id) if i.status == "open"]
        if not may:
            self.notify("The facilitator wraps the meeting up.", title="Only the facilitator wraps up", severity="warning")
            return
        q = "Mark this meeting held?"
        if open_items:
            q += f"\n{len(open_items)} unfinished item{'s' if len(open_items) != 1 else ''} and the open actions will carry over to the next meeting."

        def done(yes: bool | None) -> None:
            if yes:
                nxt = self.attempt(self.service.mark_held, self.meeting_id)
                self.notify(
                    "Unfinished business is on the next meeting's agenda." if nxt else "Schedule the next meeting to carry unfinished business over.",
                    title="Meeting held",
                )

        self.app.push_screen(ConfirmModal(q, yes="Mark held"), done)

    @on(TimeUp)
    def time_is_up(self, event: TimeUp) -> None:
        item = self._item(event.item)
        self.app.bell()
        self.notify(
            f"Time is up for “{line(item.title, NAME_CHARS) if item else 'this item'}”. Wrap up, or agree a few more minutes.", title="Time's up", timeout=8
        )
