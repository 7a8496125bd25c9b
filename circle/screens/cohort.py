"""Cohort: charter, roster with roles, the facilitator rota and the meetings."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Label, Static, TabbedContent, TabPane

from circle.messages import MeetingOpenRequested
from circle.models.meeting import next_meeting
from circle.models.text import clean
from circle.screens.base import CircleScreen, rota_of
from circle.screens.modals import Field, FormModal, PickModal, ReadModal
from circle.store.joining import roster_fingerprint
from circle.store.service import CohortService
from circle.widgets import WindowedList
from circle.widgets.member_text import block, line, name

OPENING = "Opening the cohort…"
ROLE_NAMES = {"mentor": "supervising mentor", "peer": "facilitator-eligible peer", "participant": "participant"}


@dataclass(frozen=True)
class CohortRead:
    """What the cohort screen shows, read from the view in one go (no widgets)."""

    name: Text
    charter: Text
    members: list[tuple[str, Text]]
    rota: list[tuple[str, Text]]
    meetings: list[tuple[str, Text]]


def read_cohort(service: CohortService) -> CohortRead:
    """The charter, roster, rota and meetings of a cohort, as text (member text cleaned and cut to fit)."""
    with service.store.lock:
        view = service.view
        me = service.me
        c = view.cohort()
        charter = Text()
        for label, value in (
            ("Purpose", c.purpose),
            ("Cadence", f"{c.cadence}, {c.meeting_minutes} minutes"),
            ("Confidentiality", c.confidentiality),
            ("Feedback norms", c.feedback_norms),
        ):
            charter.append(f"{label}\n", style="bold")
            charter.append(f"{block(str(value)) or '—'}\n\n")

        rota = rota_of(view)
        nxt = next_meeting(view)
        next_facilitator = rota.facilitator(nxt.id) if nxt else None
        members = []
        for m in view.members():
            t = Text()
            t.append(name(m.name), style="bold")
            if m.id == me:
                t.append(" (you)")
            t.append(f"  {line(ROLE_NAMES.get(m.role, m.role), 40)}", style="dim")
            if m.profession:
                t.append(f" · {line(m.profession, 80)}", style="dim")
            if m.away:
                t.append("  away", style="italic")
            if nxt and next_facilitator == m.id:
                t.append("  ★ facilitates next", style="bold")
            members.append((m.id, t))

        rows = []
        for turn in reversed(rota.turns):  # upcoming first, then history newest first
            t = Text()
            t.append(f"{line(turn.at, 40)}  ", style="dim" if turn.held else "bold")
            who = name(view.name_of(turn.member)) if turn.member else "—"
            t.append(who)
            if turn.facilitated_by and turn.facilitated_by != turn.member:
                t.append(f" → {name(view.name_of(turn.facilitated_by))} (handoff)", style="italic")
            t.append("  facilitated" if turn.held else "  upcoming", style="dim")
            if turn.note:
                t.append(f"  · {line(turn.note)}", style="dim italic")
            rows.append((turn.meeting, t))

        items = Counter(i.meeting for i in view.agenda())
        facilitators = {t.meeting: t.facilitated_by for t in rota.turns}
        meetings = []
        for mt in reversed(view.meetings()):
            t = Text()
            t.append(f"{line(mt.at, 40)}  ", style="dim" if mt.held else "bold")
            t.append(line(mt.title) or "Meeting")
            state = "cancelled" if mt.cancelled else ("held" if mt.held else "upcoming")
            fac = facilitators.get(mt.id, "")
            t.append(f"  {state} · {name(view.name_of(fac)) if fac else 'no facilitator'} · {items[mt.id]} item{'s' if items[mt.id] != 1 else ''}", style="dim")
            meetings.append((mt.id, t))
    return CohortRead(Text(name(c.name)), charter, members, rows, meetings)


class CohortScreen(CircleScreen):
    """One cohort, in four tabs."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("m", "open_meeting", "Meeting room"),
        Binding("s", "schedule", "Schedule"),
        Binding("w", "swap", "Swap turn"),
        Binding("g", "give_back", "Give turn back"),
        Binding("a", "toggle_away", "Away/back"),
        Binding("i", "invite", "Invite"),
        Binding("d", "admit", "Admit"),
        Binding("f", "fingerprint", "Fingerprint", show=False),
        Binding("e", "export", "Export"),
        Binding("1", "tab('charter')", "Charter", show=False),
        Binding("2", "tab('roster')", "Roster", show=False),
        Binding("3", "tab('rota')", "Rota", show=False),
        Binding("4", "tab('meetings')", "Meetings", show=False),
    ]

    def __init__(self, service: CohortService) -> None:
        super().__init__(id="cohort")
        self.service = service

    def compose(self) -> ComposeResult:
        with self.view_lock():
            title = Text(name(self.service.view.cohort().name))
        with Horizontal(classes="topbar"):
            yield Label(title, classes="topbar-title", id="cohort-title")
            yield self.sync_badge()
        with TabbedContent(initial="charter", id="cohort-tabs"):
            with TabPane("1 Charter", id="charter"):
                with VerticalScroll():
                    yield Static(id="cohort-charter")
            with TabPane("2 Roster", id="roster"):
                yield WindowedList(id="cohort-roster", page_size=200, empty=OPENING)
            with TabPane("3 Rota", id="rota"):
                yield WindowedList(id="cohort-rota", page_size=200, empty=OPENING)
            with TabPane("4 Meetings", id="meetings"):
                yield WindowedList(id="cohort-meetings", page_size=200, empty=OPENING)
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        target = {"roster": "#cohort-roster", "rota": "#cohort-rota", "meetings": "#cohort-meetings"}.get(tab)
        if target:
            self.query_one(target).focus()

    def events_to_read(self) -> int:
        return len(self.service.view)

    def read_stamp(self) -> object:
        view = self.service.view
        return view, len(view)

    def read(self) -> CohortRead:
        return read_cohort(self.service)

    def show_read(self, read: CohortRead) -> None:
        self.query_one("#cohort-title", Label).update(read.name)
        self.query_one("#cohort-charter", Static).update(read.charter)
        for wid, rows, empty in (
            ("#cohort-roster", read.members, "Nothing here yet."),
            ("#cohort-rota", read.rota, "Nobody is facilitator-eligible yet."),
            ("#cohort-meetings", read.meetings, "No meetings yet. Press s to schedule one."),
        ):
            lst = self.query_one(wid, WindowedList)
            lst.empty = empty
            lst.set_rows(rows)

    @on(WindowedList.OptionSelected, "#cohort-meetings")
    @on(WindowedList.OptionSelected, "#cohort-rota")
    def open_selected(self, event: WindowedList.OptionSelected) -> None:
        if event.option.id and not event.option.id.startswith("_"):
            self.post_message(MeetingOpenRequested(self.service.id, event.option.id))

    def action_open_meeting(self) -> None:
        with self.view_lock():
            nxt = next_meeting(self.service.view)
        if nxt is None:
            self.notify("Press s to schedule one.", title="No meeting scheduled", severity="warning")
            return
        self.post_message(MeetingOpenRequested(self.service.id, nxt.id))

    def action_schedule(self) -> None:
        with self.view_lock():
            view = self.service.view
            meetings = view.meetings()
            cohort = view.cohort()
        last = meetings[-1].at[:10] if meetings else ""
        step = {"weekly": 7, "fortnightly": 14, "monthly": 28}.get(cohort.cadence, 14)
        try:
            suggested = (dt.date.fromisoformat(last) + dt.timedelta(days=step)).isoformat() + " 18:00" if last else ""
        except ValueError:
            suggested = ""
        fields = [
            Field("at", "When (YYYY-MM-DD HH:MM)", suggested),
            Field("title", "Theme (optional)"),
            Field("minutes", "Length in minutes", clean(str(cohort.meeting_minutes))),
        ]

        def done(values: dict[str, str] | None) -> None:
            if values:
                minutes = int(values["minutes"]) if values["minutes"].strip().isdigit() else None
                if self.do(self.service.schedule, values["at"], values["title"], minutes):
                    self.notify(f"Meeting on {values['at']} scheduled; unfinished business carried over.", title="Scheduled")

        self.app.push_screen(FormModal("Schedule a meeting", fields, submit="Schedule"), done)

    def _my_next_turn(self) -> str | None:
        with self.view_lock():
            rota = rota_of(self.service.view)
        return next((t.meeting for t in rota.upcoming() if t.facilitated_by == self.service.me), None)

    def action_give_back(self) -> None:
        mine = self._my_next_turn()
        if mine is None:
            self.notify("You have no upcoming turn to give back.", title="Nothing to give back", severity="warning")
            return
        if self.do(self.service.give_back, mine):
            with self.view_lock():
                who = name(self.service.view.name_of(self.service.facilitator(mine)))
            self.notify(f"{who} now facilitates; you take the next turn you can.", title="Turn given back")

    def action_swap(self) -> None:
        """Accept a swap someone asked of me, or ask to swap my next turn (the other holder accepts)."""
        with self.view_lock():
            view = self.service.view
            asked = [
                (rid, f"{name(view.name_of(who))} asks to take your turn on {self._at(mine)} and give you {self._at(theirs)}")
                for rid, who, theirs, mine in self.service.swap_requests()
            ]
        if asked:

            def accept(rid: str | None) -> None:
                if rid and self.do(self.service.accept_swap, rid):
                    self.notify("Turns swapped.", title="Rota")

            self.app.push_screen(PickModal("Accept a swap?", asked), accept)
            return
        mine = self._my_next_turn()
        with self.view_lock():
            view = self.service.view
            rota = rota_of(view)
            mentor = self.service.is_mentor()
            upcoming = [t for t in rota.upcoming() if t.meeting != mine]
            first = mine or (rota.upcoming()[0].meeting if rota.upcoming() else "")
            options = [(t.meeting, f"{line(t.at, 40)}  {name(view.name_of(t.facilitated_by))}") for t in upcoming if t.meeting != first]
        if mine is None and not mentor:
            self.notify("You have no upcoming turn to swap.", title="Nothing to swap", severity="warning")
            return
        if not upcoming:
            self.notify("Schedule another meeting first (s).", title="No other turn to swap with", severity="warning")
            return

        def done(other: str | None) -> None:
            if other and self.do(self.service.swap, first, other):
                if self.service.is_mentor():
                    self.notify("Turns swapped.", title="Rota")
                else:
                    with self.view_lock():
                        who = name(view.name_of(self.service.facilitator(other)))
                    self.notify(f"{who} sees your request and accepts it with w on their cohort screen.", title="Swap asked")

        self.app.push_screen(PickModal("Swap your turn with…", options), done)

    def _at(self, meeting_id: str) -> str:
        m = self.service.view.meeting(meeting_id)
        return line(m.at, 40) if m else "a meeting"

    def action_invite(self) -> None:
        self.show_result("Invite someone", self.circle.invite, self.service.id)

    def action_fingerprint(self) -> None:
        with self.view_lock():
            roster = roster_fingerprint(self.service.view)
            names = ", ".join(name(m.name) for m in self.service.view.members())
        self.app.push_screen(
            ReadModal(
                "Cohort fingerprint",
                f"{roster}\n\nIt covers every member's keys ({names}). Everyone reads theirs aloud at once: if all match, everyone has the same roster.",
            )
        )

    def action_admit(self) -> None:
        self.ask_code("Admit a newcomer", "Their join code", "Admit", "Admitted", lambda code: self.circle.admit(self.service.id, code))

    def action_toggle_away(self) -> None:
        with self.view_lock():
            me = self.service.view.member(self.service.me)
        if me is None:
            return
        if self.do(self.service.set_away, me.id, not me.away):
            self.notify("The rota skips you until you come back (a)." if not me.away else "You are back in the rota.", title="Away" if not me.away else "Back")

    def action_export(self) -> None:
        from circle.screens.export import ExportScreen  # pushed like a modal: the app has no request for it yet

        self.app.push_screen(ExportScreen(self.service))
