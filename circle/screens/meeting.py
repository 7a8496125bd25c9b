"""The meeting room: phases, the agenda with a countdown, notes, actions, attendance, the anonymous round.

Only the current facilitator (or the supervising mentor) advances phases and
items; anyone present adds notes, agenda items and actions, and edits or
redacts what they wrote. The screen reads the folded view in one pass
(:func:`circle.models.meeting.room`; in a worker, after the first paint, for a
big cohort), turns it into rows of text (:func:`circle.screens.room.room_rows`), and reads again
when the view changes. The hint under the lists always says what the keys do
in the panel that has the focus, and the focused panel's title is marked.

Before its cohort is folded the room of the cohort's next meeting can paint
from the cohort's front page (:func:`circle.screens.room.page_of` wrote what it showed when
circle last closed, a few KB: the agenda, the newest notes of the first
item, actions, people), marked and read-only until the fold is done (see
:class:`circle.screens.base.Early`).
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Label, Static, TabbedContent, TabPane

from circle.errors import CircleError
from circle.messages import TimeUp
from circle.models.meeting import timer
from circle.models.records import AgendaItem
from circle.screens.base import CircleScreen, Early, rota_is_current
from circle.screens.modals import ConfirmModal, Field, FormModal, PickModal, ReadModal
from circle.screens.room import EARLY_HINT, RoomPage, RoomRead, held_question, read_room, redact_question, versions_text
from circle.store.service import MORE_TIME, CohortService, today_at
from circle.widgets import Countdown, PhaseBar, WindowedList
from circle.widgets.member_text import NAME_CHARS, line, name

PANEL_HINTS = {  # what the keys do in the focused panel
    "agenda": "Here: ↑↓ and Enter start an item · e edits · Del redacts · v versions",
    "agenda-member": "Here: a adds an item, e edits one of yours, v shows its versions",
    "notes": "Notes: ↑↓ then Enter reads one whole · e edits · Del redacts · Esc: agenda",
    "actions": "Actions: Enter ticks done (again: open) · e edits · Del redacts · Esc: agenda",
    "people": "People: ↑↓, Enter or Space: present/absent · P: rest present · Esc: agenda",
    "round": "Round: r adds your line, shown without your name · Esc back to the agenda",
    "round-closed": "Round: closed with the meeting; no more lines · Esc back to the agenda",
}
REDACT_NOTE = (
    "It leaves every screen and export. It cannot be erased: the encrypted event stays in its author's journal and every replica, "
    "and anyone who holds this key epoch (everyone who was a member then) can still decrypt it. To keep a corrected version, add it again."
)

OPENING = "Opening the meeting…"
NOTES_PAGE = 25  # notes per window: each is up to a few lines, and Textual wraps a whole window before painting it


class MeetingScreen(CircleScreen):
    """The live screen of one meeting."""

    BINDINGS = [
        Binding("escape", "back", "Back", show=False),
        Binding("n", "next_phase", "Phase", tooltip="Next phase (the facilitator)"),
        Binding("x", "finish_item", "Next item", tooltip="Close the running item, start the next (the facilitator)"),
        Binding("plus", "more_time", "5 min", key_display="+", tooltip="Five more minutes for the running item (the facilitator)"),
        Binding("o", "add_note", "Note", tooltip="Add a note to the highlighted item"),
        Binding("t", "add_action", "Action", tooltip="Add an action item with owner and due date"),
        Binding("w", "wrap_up", "Wrap up", tooltip="Wrap up: mark held, carry unfinished items and open actions to the next meeting"),
        Binding("b", "back_phase", "Previous phase", show=False),
        Binding("a", "add_item", "Item", tooltip="Add an agenda item (anyone)", show=False),
        Binding("d", "add_decision", "Decision", tooltip="Record a decision on the highlighted item", show=False),
        Binding("e", "edit", "Edit", tooltip="Edit the highlighted item, note or action (its author, the facilitator or a mentor)", show=False),
        Binding("delete", "redact", "Redact", key_display="Del", tooltip="Redact the highlighted item, note or action: hide it everywhere", show=False),
        Binding("v", "versions", "Versions", tooltip="Every version of the highlighted item, note or action", show=False),
        Binding("h", "handoff", "Handoff", tooltip="Hand the facilitator role to another member", show=False),
        Binding("r", "anonymous", "Anonymous line", show=False),
        Binding("space", "toggle_person", "Present/absent", tooltip="Mark the highlighted person present or absent (People)", show=False),
        Binding("P", "all_present", "Everyone present", tooltip="Mark everyone not marked yet present, in one go (the facilitator)", show=False),
        Binding("0", "focus_agenda", "Agenda", tooltip="Back to the agenda list (Esc too)", show=False),
        Binding("1", "tab('notes')", "Notes", show=False),
        Binding("2", "tab('actions')", "Actions", show=False),
        Binding("3", "tab('people')", "People", show=False),
        Binding("4", "tab('round')", "Round", show=False),
    ]

    PANELS = {"meeting-agenda": "agenda", "meeting-notes": "notes", "meeting-actions": "actions", "meeting-people": "people"}
    LEADING = frozenset({"next_phase", "back_phase", "finish_item", "more_time", "wrap_up", "handoff"})  # nothing left to lead once held

    EARLY_ACTIONS = CircleScreen.EARLY_ACTIONS | {"focus_agenda"}

    def __init__(self, service: CohortService | None, meeting_id: str, *, early: Early | None = None) -> None:
        super().__init__(id="meeting")
        self.service = service
        self.early = early
        self.meeting_id = meeting_id
        self.rows: RoomRead | None = None  # what the last read showed
        self._reads = 0  # how many reads were shown: the notes follow the newest
        self._notes_shown: tuple[int, str | None] | None = None
        self._was_phase: str | None = None
        self._placed: str | None = None  # the agenda item the room itself last highlighted (opening on it, following the running one)

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
                    yield WindowedList(id="meeting-people", page_size=300, empty=OPENING)
                with TabPane("4 Round", id="round"):
                    with VerticalScroll(id="meeting-round-scroll"):
                        yield Static(id="meeting-round")
        yield Static("", id="meeting-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#meeting-timer", Countdown).meeting = self.meeting_id
        if self.early is not None and self.service is None:
            self.show_early(self.early)
        self.refresh_view()
        agenda = self.query_one("#meeting-agenda")
        agenda.focus()
        # Follow the highlight as it moves, not a message later: the notes change in the same frame.
        self.watch(agenda, "highlighted", lambda _old, _new: self.show_notes(), init=False)
        self.watch(self, "focused", lambda _old, _new: self.show_hint(), init=False)
        self.set_interval(1.0, self.tick)

    # ---- reading -------------------------------------------------------
    def events_to_read(self) -> int:
        return len(self.service.view)

    def read_is_quick(self) -> bool:
        return rota_is_current(self.service.view)

    def read_stamp(self) -> object:
        view = self.service.view
        return view, len(view), view.rounds_changed

    def read(self) -> RoomRead:
        return read_room(self.service, self.meeting_id)

    def tick(self) -> None:
        if self.rows is not None:
            self.query_one("#meeting-timer", Countdown).state = timer(self.rows.meeting, self.rows.items, self.service.now())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A held meeting has no phases, items or time left to lead: those keys show greyed and do nothing.

        Before that they stay live for everyone: pressed by someone who does
        not lead, they say who does (their tooltips say "the facilitator").
        Painted from the front page, the keys that change something wait (greyed)."""
        if self.waits(action):
            return None
        if action in self.LEADING and self.rows is not None and self.rows.meeting.held:
            return None
        return True

    def _item(self, item_id: str | None) -> AgendaItem | None:
        return self.rows.room.item(item_id) if self.rows else None

    def selected_item(self) -> AgendaItem | None:
        return self._item(self.query_one("#meeting-agenda", WindowedList).highlighted_id)

    def show_read(self, rows: RoomRead) -> None:
        held_changed = self.rows is None or self.rows.meeting.held != rows.meeting.held
        was_running = None if self.rows is None else self.rows.meeting.current_item
        self.rows = rows
        self._reads += 1
        if held_changed:
            self.refresh_bindings()  # the footer greys the leading keys once the meeting is held
        m = rows.meeting
        self.query_one("#meeting-title", Label).update(rows.title)
        self.query_one("#meeting-meta", Static).update(rows.meta)
        bar = self.query_one("#meeting-phases", PhaseBar)
        bar.phase, bar.held = m.phase, m.held

        agenda = self.query_one("#meeting-agenda", WindowedList)
        agenda.set_rows(rows.agenda_rows, empty="No items yet. Press a to add one.")
        self.follow_running(agenda, was_running, m.current_item)
        self.query_one("#meeting-agenda-title", Label).update(rows.agenda_title)

        timer_widget = self.query_one("#meeting-timer", Countdown)
        timer_widget.caption = rows.caption
        timer_widget.state = timer(m, rows.items, self.service.now())
        self.show_notes()

        actions = self.query_one("#meeting-actions", WindowedList)
        actions.set_rows(rows.action_rows, empty="No actions here. t adds one.")
        people = self.query_one("#meeting-people", WindowedList)
        people.set_rows(rows.people_rows, empty="Nobody in the roster yet.")
        self.query_one("#meeting-round", Static).update(rows.round)
        if self._was_phase is not None and m.phase == "agenda" and self._was_phase != "agenda":
            agenda.focus()  # the agenda phase starts: Enter starts the highlighted item, as the hint says
            self.query_one("#meeting-tabs", TabbedContent).active = "notes"  # and the item's notes show beside it
        self._was_phase = m.phase
        self.show_hint()
        self.tell_moved(rows)

    def follow_running(self, agenda: WindowedList, was: str | None, now: str) -> None:
        """Keep a person who follows along on the running item: o and d add to the highlighted one.

        The room opens on the running item (``was`` None: the first read). When
        another item starts (on any laptop), the highlight moves to it if it
        was on the item that ran before, or still where the room put it; one
        moved elsewhere on purpose stays. A read comes only while the room is
        on top, so nothing moves behind an open dialog: it catches up when the
        dialog closes, if it was following.
        """
        if was is None:  # the first read; on the front page's paint the person may have moved already
            if now and (self._placed is None or agenda.highlighted_id == self._placed):
                agenda.highlight(now)
            self._placed = agenda.highlighted_id
        elif now and now != was:
            following = agenda.highlighted_id in (was, self._placed)
            if following:
                agenda.highlight(now)
            self._placed = agenda.highlighted_id if following else None  # from here on, only the running item is followed

    def show_early(self, early: Early) -> None:
        """The room as the front page holds it, marked; the first real read replaces every part of it."""
        page: RoomPage = early.page
        self.query_one("#meeting-title", Label).update(page.title)
        meta = page.meta.copy()
        meta.append("\n")
        meta.append_text(early.mark())
        self.query_one("#meeting-meta", Static).update(meta)
        bar = self.query_one("#meeting-phases", PhaseBar)
        bar.phase, bar.held = page.phase, page.held
        self.query_one("#meeting-timer", Countdown).caption = page.caption
        agenda = self.query_one("#meeting-agenda", WindowedList)
        agenda.set_rows(page.agenda_rows, empty="No items yet.")
        if page.notes_of is not None:  # the item the room opens on (the running one), whose notes the page holds
            agenda.highlight(page.notes_of)
        self._placed = agenda.highlighted_id
        self.query_one("#meeting-agenda-title", Label).update(page.agenda_title)
        self.show_notes()
        for wid, rows, empty in (
            ("#meeting-actions", page.action_rows, "No actions here."),
            ("#meeting-people", page.people_rows, "Nobody in the roster yet."),
        ):
            self.query_one(wid, WindowedList).set_rows(rows, empty=empty)
        self.query_one("#meeting-round", Static).update(page.round)
        hint = Text(page.hint, style="italic")
        hint.append("\n" + EARLY_HINT)
        self.query_one("#meeting-hint", Static).update(hint)

    def tell_moved(self, rows: RoomRead) -> None:
        """Tell the author, once, that an item of theirs moved here (added after its meeting was wrapped up)."""
        told = self.circle.told_moved
        for iid, title, origin in rows.moved_mine:
            if iid not in told:
                told.add(iid)
                where = f"the {origin[:10]} meeting" if origin else "its meeting"
                self.notify(f"“{line(title, NAME_CHARS)}” was added after {where} was wrapped up, so it is on this meeting's agenda.", title="Your item moved")

    def panel(self) -> str:
        """Which panel has the focus: agenda, notes, actions, people or round."""
        f = self.focused
        if f is not None and f.id in self.PANELS:
            return self.PANELS[f.id]
        if f is not None and f.id == "meeting-round-scroll":
            return "round"
        return "agenda"

    def show_hint(self) -> None:
        """The phase's hint and what the keys do in the focused panel; the focused panel's title is marked."""
        if self.rows is None:
            return
        panel = self.panel()
        key = "agenda" if panel == "agenda" and self._leads() else ("agenda-member" if panel == "agenda" else panel)
        if key == "round" and (self.rows.meeting.held or self.rows.meeting.cancelled):
            key = "round-closed"
        text = Text(self.rows.hint, style="italic")
        text.append("\n" + PANEL_HINTS[key])
        self.query_one("#meeting-hint", Static).update(text)
        title = self.query_one("#meeting-agenda-title", Label)
        title.update(("▸ " if panel == "agenda" else "") + self.rows.agenda_title)

    def _leads(self) -> bool:
        r = self.rows.room if self.rows else None
        return r is not None and not r.meeting.held and (r.facilitator == r.me or r.supervising)

    def show_notes(self) -> None:
        """The notes of the highlighted agenda item (all of the meeting's when none is)."""
        if self.rows is None:
            if self.early is not None:  # from the front page: it holds the notes of one item
                page: RoomPage = self.early.page
                item = self.query_one("#meeting-agenda", WindowedList).highlighted_id
                notes = self.query_one("#meeting-notes", WindowedList)
                notes.set_rows(page.notes if item == page.notes_of else [], last_page=True, empty="Its notes come when it is up to date.")
                self._notes_shown = None
            return
        item = self.selected_item()
        key = (self._reads, item.id if item else None)
        if key == self._notes_shown:
            return
        self._notes_shown = key
        notes = self.query_one("#meeting-notes", WindowedList)
        notes.set_rows(self.rows.note_rows(item.id if item else None), last_page=True, empty="No notes for this item yet. o adds a note, d a decision.")

    @on(WindowedList.OptionSelected, "#meeting-notes")
    def read_note(self, event: WindowedList.OptionSelected) -> None:
        nid = event.option.id or ""
        if self.rows is None or nid.startswith("_"):
            return
        note = next((n for n in self.rows.room.notes_on(None) if n.id == nid), None)
        if note is None:
            return
        title, text = self.rows.reading(note)
        if note.edited:
            with self.view_lock():
                versions = self.service.view.history(nid)
            text += "\n\nEarlier versions (edited):\n\n" + versions_text(versions[:-1], self.rows.room.names)
        self.app.push_screen(ReadModal(title, text))

    # ---- moving around -------------------------------------------------
    def action_back(self) -> None:
        """Escape: back to the agenda from a side panel; from the agenda, out of the room."""
        if self.panel() != "agenda":
            self.action_focus_agenda()
        else:
            self.app.pop_screen()

    def action_focus_agenda(self) -> None:
        self.query_one("#meeting-agenda").focus()

    def action_tab(self, tab: str) -> None:
        self.query_one("#meeting-tabs", TabbedContent).active = tab
        target = {"notes": "#meeting-notes", "actions": "#meeting-actions", "people": "#meeting-people", "round": "#meeting-round-scroll"}.get(tab)
        if target:
            widget = self.query_one(target)
            widget.focus()
            if getattr(widget, "highlighted", 0) is None and getattr(widget, "option_count", 0):
                widget.highlighted = 0

    # ---- acting --------------------------------------------------------
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
            if self.service is None:
                self.wait_for_fold(f"start_item_id('{event.option.id}')")
                return
            self.action_start_item_id(event.option.id)

    def action_start_item_id(self, item_id: str) -> None:
        self.do(self.service.start_item, self.meeting_id, item_id)

    def action_finish_item(self) -> None:
        nxt = self.attempt(self.service.finish_item, self.meeting_id)
        if nxt is not None:
            self.query_one("#meeting-agenda", WindowedList).highlight(nxt.id)  # o and d add to the highlighted item: the running one
            self.notify(f"Now: {line(nxt.title)}", title="Next item")

    def action_more_time(self) -> None:
        item = self.attempt(self.service.give_more_time, self.meeting_id)
        if item is not None:
            self.notify(f"{MORE_TIME} more minutes for “{line(item.title, NAME_CHARS)}”.", title="More time")

    def _member_options(self) -> list[tuple[str, str]]:
        me = self.service.me
        with self.view_lock():
            members = sorted(self.service.view.members(), key=lambda m: (m.id != me, m.name))
        return [(f"{name(m.name)}{' (you)' if m.id == me else ''}", m.id) for m in members]

    def _form(self, title: str, fields: list[Field], submit: str, command, told: str = "", note: str = "") -> None:
        """A form whose command runs on submit; an error keeps the form open with what was typed, beside the field."""

        def check(values: dict[str, str]) -> None:
            with self.view_lock():
                command(values)

        def done(values: dict[str, str] | None) -> None:
            if values and told:
                self.notify(told, title=title)

        self.app.push_screen(FormModal(title, fields, submit=submit, check=check, note=note), done)

    def action_add_item(self) -> None:
        fields = [
            Field("title", "Item", placeholder="what you bring"),
            Field("owner", "Brought by", self.service.me, options=self._member_options()),
            Field("minutes", "Timebox (minutes, 1 to 240)", "10"),
        ]
        self._form("Add an agenda item", fields, "Add", lambda v: self.service.add_item(self.meeting_id, v["title"], v["owner"], v["minutes"]))

    def _note(self, decision: bool) -> None:
        item = self.selected_item()
        where = f" on “{line(item.title, NAME_CHARS)}”" if item else ""
        label = "Decision" if decision else "Note"
        fields = [Field("text", label, placeholder="one or two sentences")]
        self._form(f"{label}{where}", fields, "Add", lambda v: self.service.add_note(self.meeting_id, v["text"], item.id if item else "", decision))

    def action_add_note(self) -> None:
        self._note(False)

    def action_add_decision(self) -> None:
        self._note(True)

    def action_add_action(self) -> None:
        fields = [
            Field("title", "Action", placeholder="what will be done"),
            Field("owner", "Owner", self.service.me, options=self._member_options()),
            Field("due", "Due (YYYY-MM-DD, optional)", placeholder=f"for example {today_at(self.service.now())}"),
        ]
        self._form("Add an action item", fields, "Add", lambda v: self.service.add_action(self.meeting_id, v["title"], v["owner"], v["due"]))

    # ---- edit, redact, versions ----------------------------------------
    def _highlighted(self) -> tuple[str, str] | None:
        """(what, id) of the entry highlighted in the focused panel: an item, a note or an action."""
        panel = self.panel()
        if panel == "notes":
            nid = self.query_one("#meeting-notes", WindowedList).highlighted_id
            return ("note", nid) if nid else None
        if panel == "actions":
            aid = self.query_one("#meeting-actions", WindowedList).highlighted_id
            return ("action", aid) if aid else None
        if panel == "agenda":
            item = self.selected_item()
            return ("item", item.id) if item else None
        return None

    def _entry_or_say(self) -> tuple[str, str] | None:
        target = self._highlighted()
        if target is None:
            self.notify("Highlight an agenda item, a note (1) or an action (2) first.", title="Nothing highlighted", severity="warning")
        return target

    def action_edit(self) -> None:
        target = self._entry_or_say()
        if target is None or self.rows is None:
            return
        what, eid = target
        with self.view_lock():
            try:
                may = self.service.may_edit(what, eid)
            except Exception:  # the entry went away meanwhile
                return
        if not may:
            self.notify("Its author, the facilitator or a mentor edits it.", title=f"Not your {what}", severity="warning")
            return
        r = self.rows.room
        if what == "note":
            note = next(n for n in r.notes_on(None) if n.id == eid)
            fields = [Field("text", "Note", note.text), Field("kind", "Kind", note.kind, options=[("note", "note"), ("decision", "decision")])]
            self._form(
                "Edit the note", fields, "Save", lambda v: self.service.edit_note(eid, v["text"], v["kind"] == "decision"), note="The earlier version is kept."
            )
        elif what == "item":
            item = r.item(eid)
            assert item is not None
            fields = [
                Field("title", "Item", item.title),
                Field("owner", "Brought by", item.owner, options=self._member_options()),
                Field("minutes", "Timebox (minutes, 1 to 240)", str(item.minutes)),
            ]
            self._form(
                "Edit the item", fields, "Save", lambda v: self.service.edit_item(eid, v["title"], v["owner"], v["minutes"]), note="Earlier versions are kept."
            )
        else:
            a = next(a for a in r.actions if a.id == eid)
            fields = [
                Field("title", "Action", a.title),
                Field("owner", "Owner", a.owner, options=self._member_options()),
                Field("due", "Due (YYYY-MM-DD, optional)", a.due),
            ]
            self._form(
                "Edit the action", fields, "Save", lambda v: self.service.edit_action(eid, v["title"], v["owner"], v["due"]), note="Earlier versions are kept."
            )

    def action_redact(self) -> None:
        target = self._entry_or_say()
        if target is None:
            return
        what, eid = target
        with self.view_lock():
            try:
                may = self.service.may_edit(what, eid, redact=True)
            except Exception:
                return
        if not may:
            self.notify("Its author, the facilitator or a mentor redacts it.", title=f"Not your {what}", severity="warning")
            return

        def done(yes: bool | None) -> None:
            if yes and self.do(self.service.redact, what, eid):
                self.notify("Hidden from every screen and export. The encrypted event stays in the journals.", title="Redacted")

        question = redact_question(self.rows.room, what, eid) if self.rows is not None else f"Redact this {what}?"
        self.app.push_screen(ConfirmModal(f"{question}\n\n{REDACT_NOTE}", yes="Redact", no="Keep it", default_yes=False), done)

    def action_versions(self) -> None:
        target = self._entry_or_say()
        if target is None or self.rows is None:
            return
        what, eid = target
        with self.view_lock():
            versions = self.service.view.history(eid)
        self.app.push_screen(ReadModal(f"Versions of this {what}", versions_text(versions, self.rows.room.names)))

    # ---- actions and attendance ----------------------------------------
    @on(WindowedList.OptionSelected, "#meeting-actions")
    def toggle_action(self, event: WindowedList.OptionSelected) -> None:
        aid = event.option.id or ""
        status = self.rows.action_status.get(aid) if self.rows else None
        if status is None:
            return
        new = "open" if status == "done" else "done"
        if self.do(self.service.set_action_status, aid, new):
            a = next(a for a in self.rows.room.actions if a.id == aid)
            if new == "done":
                self.notify(f"Done: {line(a.title, NAME_CHARS)}. Enter on it again opens it again.", title="Action ticked")
            else:
                self.notify(f"Open again: {line(a.title, NAME_CHARS)}.", title="Action unticked")

    @on(WindowedList.OptionSelected, "#meeting-people")
    def person_selected(self, event: WindowedList.OptionSelected) -> None:
        if event.option.id and not event.option.id.startswith("_"):
            self._toggle_person(event.option.id)

    def action_toggle_person(self) -> None:
        if self.panel() == "people":
            pid = self.query_one("#meeting-people", WindowedList).highlighted_id
            if pid:
                self._toggle_person(pid)

    def action_all_present(self) -> None:
        """The register in one go: everyone not marked yet is present (apologies sent ahead stay absent)."""
        with self.view_lock():
            marked = self.service.view.attendance(self.meeting_id)
            todo = {m.id: True for m in self.service.view.members() if m.id not in marked}
        if not todo:
            self.notify("Everyone is marked already; Space changes one person.", title="Register")
            return
        if self.do(self.service.mark_attendance_many, self.meeting_id, todo):
            self.notify(f"{len(todo)} marked present.", title="Register")

    def _toggle_person(self, member: str) -> None:
        # Flip what the view says, not what the list shows: a refresh may have run in between.
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

        def picked(to: str | None) -> None:
            if not to:
                return
            with self.view_lock():
                to_name = name(self.service.view.name_of(to))

            def confirmed(yes: bool | None) -> None:
                if yes and self.do(self.service.handoff, self.meeting_id, to):
                    self.notify(f"{to_name} facilitates from here.", title="Handoff")

            self.app.push_screen(ConfirmModal(f"Hand the facilitator role to {to_name}?\nThey lead the rest of this meeting.", yes="Hand over"), confirmed)

        self.app.push_screen(PickModal("Hand the facilitator role to…", options), picked)

    def action_anonymous(self) -> None:
        if self.rows is not None and (self.rows.meeting.held or self.rows.meeting.cancelled):
            self.notify("The round closed with the meeting; its lines stay, without names.", title="Anonymous round", severity="warning")
            return
        fields = [Field("text", "One line, shown without your name")]

        def check(values: dict[str, str]) -> None:
            with self.view_lock():
                self.service.check_anonymous_line(self.meeting_id, values["text"])  # a closed round or a bad line keeps the form open

        def done(values: dict[str, str] | None) -> None:
            if values:
                self.notify("Sending your line to the round…", title="Anonymous round", timeout=2)
                self.send_anonymous(values["text"])

        self.app.push_screen(FormModal("Your line for the anonymous round", fields, submit="Add", check=check), done)

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
        at = self.rows.meeting.at if self.rows is not None else ""
        q = held_question(at, self.service.now(), len(open_items))

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
        if self.rows is None or self.rows.meeting.held:
            return
        item = self._item(event.item)
        self.app.bell()
        self.notify(
            f"Time is up for “{line(item.title, NAME_CHARS) if item else 'this item'}”. Wrap up, or + for five more minutes.", title="Time's up", timeout=8
        )
