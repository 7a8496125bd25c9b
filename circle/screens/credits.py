"""Credits: every member's attested hours and credits for the cycle, the rule each figure is computed under, and what an audit would miss.

The lower list is your own meetings: a attests your attendance at the one
highlighted (its length by default); hours count once the facilitator or a
mentor has countersigned and the meeting is wrapped up.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Label, Static

from circle.models.credits import ROUNDING, amount, fmt, hours, ledger_for
from circle.screens.base import CircleScreen
from circle.screens.modals import Field, FormModal
from circle.store.credits import CreditService
from circle.store.service import CohortService, today_at
from circle.widgets import WindowedList
from circle.widgets.member_text import line, name

OPENING = "Reading the ledger…"


@dataclass(frozen=True)
class CreditsRead:
    """What the credits screen shows, read from the view in one go (no widgets)."""

    title: Text
    rule: Text
    ledger: list[tuple[str, Text]]
    mine: list[tuple[str, Text]]


def read_credits(service: CohortService, year: int) -> CreditsRead:
    """Every member's figures for the cycle holding ``year``, and my meetings with what is attested (member text cleaned)."""
    with service.store.lock:
        view = service.view
        book = view.credits()
        title = Text("Credits · ")
        title.append(name(view.cohort().name))
        rule = Text()
        rule.append("Rule in force: ", style="bold")
        rule.append(line(book.in_force.describe(), 300))
        rule.append(f"\nCurrent cycle, {year}. Rounding: {ROUNDING}.", style="dim")
        rows = []
        mine_ledger = None
        for m in view.members():
            led = ledger_for(view, m.id)
            if m.id == service.me:
                mine_ledger = led
            cyc = led.current_cycle(year)
            r = led.rule
            t = Text()
            t.append(name(m.name), style="bold")
            if m.id == service.me:
                t.append(" (you)")
            cap = f" of {fmt(r.cap)}" if r.cap > 0 else ""
            t.append(f"  {hours(cyc.minutes)} in {cyc.start}–{cyc.end} → {line(amount(cyc.credits, r.unit), 30)}{cap}")
            if cyc.capped:
                t.append(" (cap reached)", style="italic")
            t.append(f"\n  rule: {line(r.name if not r.default else r.name + ' (default)', 80)}", style="dim")
            gaps = len(led.gaps)
            t.append(f" · {gaps} missing for an audit" if gaps else " · nothing missing", style="dim" if not gaps else "bold")
            rows.append((m.id, t))
        mine = []
        by_meeting = {r.meeting: r for r in mine_ledger.rows} if mine_ledger else {}
        for mt in reversed(view.meetings()):
            if not mt.held or mt.cancelled:
                continue
            row = by_meeting.get(mt.id)
            t = Text()
            t.append(f"{line(mt.at, 40)}  ", style="dim")
            t.append(line(mt.title) or "Meeting")
            if row is None:
                t.append("\n  nothing attested", style="dim")
            else:
                own = hours(row.own) if row.own is not None else "—"
                counter = hours(row.countersigned) if row.countersigned is not None else "—"
                t.append(f"\n  you: {own} · countersigned: {counter} · counted: {hours(row.counted)}", style="dim")
                if row.gap:
                    t.append(f"\n  missing: {line(row.gap, 200)}", style="bold")
            mine.append((mt.id, t))
    return CreditsRead(title, rule, rows, mine)


class CreditsScreen(CircleScreen):
    """The cohort's credit ledger, the rule in force, and your own held meetings to attest."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "attest", "Attest", tooltip="Attest your attendance at the highlighted meeting"),
    ]

    def __init__(self, service: CohortService) -> None:
        super().__init__(id="credits")
        self.service = service

    def compose(self) -> ComposeResult:
        with Horizontal(classes="topbar"):
            yield Label("Credits", classes="topbar-title", id="credits-title")
            yield self.sync_badge()
        yield Static("", id="credits-rule")
        yield WindowedList(id="credits-ledger", page_size=200, empty=OPENING)
        yield Label("Your wrapped-up meetings: a attests your attendance at the highlighted one", id="credits-mine-label")
        yield WindowedList(id="credits-mine", page_size=200, empty=OPENING)
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#credits-mine", WindowedList).focus()

    def year(self) -> int:
        return int(today_at(self.service.now())[:4])

    def events_to_read(self) -> int:
        return len(self.service.view)

    def read_stamp(self) -> object:
        view = self.service.view
        return view, len(view), self.year()

    def read(self) -> CreditsRead:
        return read_credits(self.service, self.year())

    def show_read(self, read: CreditsRead) -> None:
        self.query_one("#credits-title", Label).update(read.title)
        self.query_one("#credits-rule", Static).update(read.rule)
        for wid, rows, empty in (
            ("#credits-ledger", read.ledger, "Nobody here yet."),
            ("#credits-mine", read.mine, "No meeting is wrapped up yet: hours count once one is."),
        ):
            self.query_one(wid, WindowedList).set_rows(rows, empty=empty)

    def action_attest(self) -> None:
        meeting_id = self.query_one("#credits-mine", WindowedList).highlighted_id
        with self.view_lock():
            m = self.service.view.meeting(meeting_id) if meeting_id else None
        if m is None:
            self.notify("Highlight one of your wrapped-up meetings first.", title="No meeting chosen", severity="warning")
            return
        credits = CreditService(self.service)
        done_with: dict[str, int] = {}

        def check(values: dict[str, str]) -> None:
            raw = values["minutes"].strip()
            minutes = int(raw) if raw.isdigit() else -1
            with self.view_lock():
                done_with["minutes"] = credits.attest(m.id, "", minutes)

        def done(values: dict[str, str] | None) -> None:
            if values is not None and "minutes" in done_with:
                self.notify(f"{hours(done_with['minutes'])} at {line(m.at, 40)}: it counts once the facilitator or a mentor countersigns.", title="Attested")

        fields = [Field("minutes", f"Minutes you attended (1 to 600) on {line(m.at, 40)}", str(m.minutes))]
        self.app.push_screen(FormModal("Attest your attendance", fields, submit="Attest", check=check), done)
