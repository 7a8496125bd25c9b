"""The meeting room: phases, the agenda with a countdown, notes, actions, attendance, the anonymous round.

Only the current facilitator (or the supervising mentor) advances phases and
items; anyone present adds notes, agenda items and actions. The screen reads
the folded view and re-reads it when events arrive from peers.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Label, SelectionList, Static, TabbedContent, TabPane
from textual.widgets.selection_list import Selection

from circle.messages import TimeUp
from circle.models.view import AgendaItem
from circle.screens.base import CircleScreen
from circle.screens.modals import ConfirmModal, Field, FormModal, PickModal
from circle.store.meeting import MeetingService
from circle.widgets import Countdown, PhaseBar, SyncBadge, WindowedList

PHASE_HINTS = {
    "": "Not started. The facilitator presses n to begin with check-in.",
    "check-in": "Check-in: one minute each: how are you arriving today? Mark who is here in People (3).",
    "agenda": "Agenda: Enter starts the highlighted item; x closes it and starts the next.",
    "feedback": "Feedback & reflection: what helped? Press r to add one anonymous line to the round (4).",
    "actions": "Action items: t adds one with an owner and a due date (tab 2).",
    "wrap-up": "Wrap-up: w marks the meeting held and carries unfinished business to the next one.",
}


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

    def __init__(self, service: MeetingService, meeting_id: str) -> None:
        super().__init__(id="meeting")
        self.service = service
        self.meeting_id = meeting_id
        self._roster: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        with Horizontal(classes="topbar"):
            yield Label("", classes="topbar-title", id="meeting-title")
            yield SyncBadge(self.circle.sync)
        yield Static("", id="meeting-meta")
        yield PhaseBar(id="meeting-phases")
        yield Countdown(id="meeting-timer")
        with Horizontal(id="meeting-body"):
            with Vertical(id="meeting-left"):
                yield Label("Agenda", classes="section-title", id="meeting-agenda-title")
                yield WindowedList(id="meeting-agenda", page_size=200, empty="No items yet. Press a to add one.")
            with TabbedContent(initial="notes", id="meeting-tabs"):
                with TabPane("1 Notes", id="notes"):
                    yield WindowedList(id="meeting-notes", page_size=300, empty="No notes for this item yet. o adds a note, d a decision.")
                with TabPane("2 Actions", id="actions"):
                    yield WindowedList(id="meeting-actions", page_size=300, empty="No open actions. t adds one.")
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
        self.query_one("#meeting-agenda").focus()
        self.set_interval(1.0, self.tick)

    # ---- reading -------------------------------------------------------
    def tick(self) -> None:
        self.query_one("#meeting-timer", Countdown).state = self.service.timer(self.meeting_id)

    def _item(self, item_id: str | None) -> AgendaItem | None:
        return next((i for i in self.service.view.agenda(self.meeting_id) if i.id == item_id), None)

    def selected_item(self) -> AgendaItem | None:
        return self._item(self.query_one("#meeting-agenda", WindowedList).highlighted_id)

    def refresh_view(self) -> None:
        svc, view = self.service, self.service.view
        m = svc.meeting(self.meeting_id)
        me = svc.me
        fac = svc.facilitator(self.meeting_id)
        title = f"{m.title or 'Meeting'} · {m.at}"
        self.query_one("#meeting-title", Label).update(title)
        attendance = view.attendance(self.meeting_id)
        present = sum(1 for p in attendance.values() if p)
        meta = Text()
        meta.append("Facilitator ", style="dim")
        meta.append(view.name_of(fac) if fac else "nobody eligible", style="bold")
        if fac == me:
            meta.append(" (you)", style="bold")
        elif svc.is_mentor():
            meta.append(" · you supervise", style="dim")
        meta.append(f" · {present}/{len(view.members())} present", style="dim")
        if m.held:
            meta.append(" · held", style="italic")
        self.query_one("#meeting-meta", Static).update(meta)
        bar = self.query_one("#meeting-phases", PhaseBar)
        bar.phase, bar.held = m.phase, m.held
        self.query_one("#meeting-hint", Static).update(Text(PHASE_HINTS.get(m.phase, "") if not m.held else "This meeting is held; its record is read-only except for notes.", style="italic"))

        items = view.agenda(self.meeting_id)
        rows = []
        for i in items:
            t = Text()
            mark = "▶ " if i.id == m.current_item else ("✓ " if i.status == "done" else ("↻ " if i.carried_from else "• "))
            t.append(mark, style="bold" if i.id == m.current_item else "")
            t.append(i.title, style="strike dim" if i.status == "done" else ("bold" if i.id == m.current_item else ""))
            t.append(f"\n  {view.name_of(i.owner)} · {i.minutes} min", style="dim")
            rows.append((i.id, t))
        agenda = self.query_one("#meeting-agenda", WindowedList)
        agenda.set_rows(rows)
        done = sum(1 for i in items if i.status == "done")
        self.query_one("#meeting-agenda-title", Label).update(f"Agenda {done}/{len(items)} done")

        cur = self._item(m.current_item)
        timer = self.query_one("#meeting-timer", Countdown)
        timer.caption = f"{cur.title} — {view.name_of(cur.owner)}" if cur else "No item running. Enter on an item starts it."
        timer.state = svc.timer(self.meeting_id)
        self.show_notes()

        actions = [a for a in view.actions() if a.meeting == self.meeting_id or (a.status == "open" and self._earlier(a.meeting))]
        arows = []
        for a in actions:
            t = Text()
            t.append("✓ " if a.status == "done" else ("✗ " if a.status == "dropped" else "☐ "))
            t.append(a.title, style="dim" if a.status != "open" else "")
            t.append(f"\n  {view.name_of(a.owner)}{' · due ' + a.due if a.due else ''}", style="dim")
            if a.meeting != self.meeting_id:
                t.append(" · from an earlier meeting", style="dim italic")
            arows.append((a.id, t))
        self.query_one("#meeting-actions", WindowedList).set_rows(arows)

        # Rebuild the people list only when the roster changes: rebuilding loses the highlight.
        people = self.query_one("#meeting-people", SelectionList)
        roster = [(f"{p.name}{' (you)' if p.id == me else ''}{' · away' if p.away else ''}", p.id) for p in view.members()]
        if roster != self._roster:
            self._roster = roster
            people.clear_options()
            people.add_options([Selection(label, mid, attendance.get(mid, False)) for label, mid in roster])
        else:
            for _label, mid in roster:  # select/deselect post no SelectionToggled: no loop back
                (people.select if attendance.get(mid, False) else people.deselect)(mid)

        lines = view.anonymous_lines(self.meeting_id)
        rnd = Text()
        rnd.append("Anonymous round: one line each, shown without names.\n\n", style="dim")
        for line in lines:
            rnd.append(f"“{line}”\n")
        if not lines:
            rnd.append("No lines yet. Press r to add yours.", style="dim italic")
        else:
            rnd.append(f"\n{len(lines)} line{'s' if len(lines) != 1 else ''}. Press r to add yours.", style="dim")
        self.query_one("#meeting-round", Static).update(rnd)

    def _earlier(self, meeting_id: str) -> bool:
        this = self.service.view.meeting(self.meeting_id)
        other = self.service.view.meeting(meeting_id)
        return this is not None and other is not None and (other.at, other.id) < (this.at, this.id)

    def show_notes(self) -> None:
        view = self.service.view
        item = self.selected_item()
        rows: list[tuple[str, Text]] = []
        if item is not None and item.carried_from:
            src = next((i for i in view.agenda() if i.id == item.carried_from), None)
            act = next((a for a in view.actions() if a.id == item.carried_from), None)
            t = Text("Last time you said… ", style="bold italic")
            if act is not None:
                t.append(f"{view.name_of(act.owner)} would {act.title[0].lower() + act.title[1:]}" + (f" (due {act.due})" if act.due else ""), style="italic")
                t.append(f" — {act.status}", style="dim")
            elif src is not None:
                origin = view.meeting(src.meeting)
                t.append(f"unfinished at the {origin.at[:10] if origin else 'last'} meeting", style="italic")
                for n in view.notes(item_id=src.id):
                    t.append(f"\n  {'Decision: ' if n.kind == 'decision' else ''}{n.text}", style="dim")
            rows.append(("_carried", t))
        for n in view.notes(self.meeting_id, item.id if item else None):
            t = Text()
            if n.kind == "decision":
                t.append("Decision: ", style="bold")
            t.append(n.text)
            t.append(f"\n  {view.name_of(n.author)}", style="dim")
            rows.append((n.id, t))
        self.query_one("#meeting-notes", WindowedList).set_rows(rows, last_page=True)

    @on(WindowedList.OptionHighlighted, "#meeting-agenda")
    def agenda_moved(self) -> None:
        self.show_notes()

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
            self.query_one("#meeting-agenda", WindowedList).set_rows(self.query_one("#meeting-agenda", WindowedList)._rows, keep=event.option.id)

    def action_finish_item(self) -> None:
        nxt = self.attempt(self.service.finish_item, self.meeting_id)
        if nxt is not None:
            self.notify(f"Now: {nxt.title}", title="Next item")

    def _member_options(self) -> list[tuple[str, str]]:
        me = self.service.me
        members = sorted(self.service.view.members(), key=lambda m: (m.id != me, m.name))
        return [(f"{m.name}{' (you)' if m.id == me else ''}", m.id) for m in members]

    def action_add_item(self) -> None:
        fields = [Field("title", "Item", placeholder="what you bring"), Field("owner", "Brought by", self.service.me, options=self._member_options()),
                  Field("minutes", "Timebox (minutes)", "10")]

        def done(values: dict[str, str] | None) -> None:
            if values:
                minutes = int(values["minutes"]) if values["minutes"].strip().isdigit() else 0
                self.do(self.service.add_item, self.meeting_id, values["title"], values["owner"], minutes)

        self.app.push_screen(FormModal("Add an agenda item", fields, submit="Add"), done)

    def _note(self, decision: bool) -> None:
        item = self.selected_item()
        where = f" on “{item.title}”" if item else ""

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
        fields = [Field("title", "Action", placeholder="what will be done"), Field("owner", "Owner", self.service.me, options=self._member_options()),
                  Field("due", "Due (YYYY-MM-DD, optional)")]

        def done(values: dict[str, str] | None) -> None:
            if values:
                self.do(self.service.add_action, self.meeting_id, values["title"], values["owner"], values["due"])

        self.app.push_screen(FormModal("Add an action item", fields, submit="Add"), done)

    @on(WindowedList.OptionSelected, "#meeting-actions")
    def toggle_action(self, event: WindowedList.OptionSelected) -> None:
        a = next((a for a in self.service.view.actions() if a.id == event.option.id), None)
        if a is not None:
            self.do(self.service.set_action_status, a.id, "open" if a.status == "done" else "done")

    @on(SelectionList.SelectionToggled, "#meeting-people")
    def toggle_attendance(self, event: SelectionList.SelectionToggled) -> None:
        # Flip what the view says, not what the widget shows: a refresh may have run in between.
        member = event.selection.value
        present = not self.service.view.attendance(self.meeting_id).get(member, False)
        self.do(self.service.mark_attendance, self.meeting_id, member, present)

    def action_handoff(self) -> None:
        if not self.service.can_lead(self.meeting_id):
            name = self.service.view.name_of(self.service.facilitator(self.meeting_id))
            self.notify(f"{name} (or the supervising mentor) hands the role over.", title="Only the facilitator hands off", severity="warning")
            return
        fac = self.service.facilitator(self.meeting_id)
        options = [(mid, label) for label, mid in self._member_options() if mid != fac]

        def done(to: str | None) -> None:
            if to and self.do(self.service.handoff, self.meeting_id, to):
                self.notify(f"{self.service.view.name_of(to)} facilitates from here.", title="Handoff")

        self.app.push_screen(PickModal("Hand the facilitator role to…", options), done)

    def action_anonymous(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values and self.do(self.service.add_anonymous_line, self.meeting_id, values["text"]):
                self.notify("Your line was added without your name.", title="Anonymous round")

        self.app.push_screen(FormModal("Your line for the anonymous round", [Field("text", "One line, shown without your name")], submit="Add"), done)

    def action_wrap_up(self) -> None:
        if not self.service.can_lead(self.meeting_id):
            self.notify("The facilitator wraps the meeting up.", title="Only the facilitator wraps up", severity="warning")
            return
        open_items = [i for i in self.service.view.agenda(self.meeting_id) if i.status == "open"]
        q = "Mark this meeting held?"
        if open_items:
            q += f"\n{len(open_items)} unfinished item{'s' if len(open_items) != 1 else ''} and the open actions will carry over to the next meeting."

        def done(yes: bool | None) -> None:
            if yes:
                nxt = self.attempt(self.service.mark_held, self.meeting_id)
                self.notify("Unfinished business is on the next meeting's agenda." if nxt else "Schedule the next meeting to carry unfinished business over.",
                            title="Meeting held")

        self.app.push_screen(ConfirmModal(q, yes="Mark held"), done)

    @on(TimeUp)
    def time_is_up(self, event: TimeUp) -> None:
        item = self._item(event.item)
        self.app.bell()
        self.notify(f"Time is up for “{item.title if item else 'this item'}”. Wrap up, or agree a few more minutes.", title="Time's up", timeout=8)
