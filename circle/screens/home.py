"""Home: your cohorts, each with its next meeting, who facilitates it and open actions."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, Static

from circle.models.meeting import next_meeting
from circle.screens.base import CircleScreen
from circle.screens.modals import Field, FormModal
from circle.widgets import SyncBadge, WindowedList


class HomeScreen(CircleScreen):
    """The first screen after unlocking."""

    BINDINGS = [
        Binding("enter", "open_cohort", "Open cohort", show=True),
        Binding("m", "open_meeting", "Meeting room"),
        Binding("c", "create_cohort", "New cohort"),
        Binding("l", "app.lock", "Lock"),
    ]

    def __init__(self) -> None:
        super().__init__(id="home")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="topbar"):
            yield Label(f"circle · {self.circle.session.name}", classes="topbar-title")
            yield SyncBadge(self.circle.sync)
        with Horizontal(id="home-body"):
            with Vertical(id="home-left"):
                yield Label("Your cohorts", classes="section-title")
                yield WindowedList(id="home-cohorts", empty="No cohorts yet. Press c to create one.", page_size=200)
            with Vertical(id="home-right"):
                yield Static(id="home-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#home-cohorts").focus()

    def refresh_view(self) -> None:
        rows = []
        for info in self.circle.session.cohorts():
            svc = self.circle.meetings(info.id)
            nxt = next_meeting(svc.view)
            line = Text()
            line.append(info.name, style="bold")
            line.append(f"\n  {info.members} members · ", style="dim")
            line.append(f"next {nxt.at}" if nxt else "no meeting scheduled", style="dim")
            rows.append((info.id, line))
        lst = self.query_one("#home-cohorts", WindowedList)
        lst.set_rows(rows)
        self.show_detail(lst.highlighted_id)

    @on(WindowedList.OptionHighlighted, "#home-cohorts")
    def highlighted(self, event: WindowedList.OptionHighlighted) -> None:
        self.show_detail(event.option.id)

    def show_detail(self, cid: str | None) -> None:
        detail = self.query_one("#home-detail", Static)
        if not cid or cid.startswith("_"):
            detail.update(Text("Create a cohort with c, or ask a cohort's facilitator for an invite.", style="dim"))
            return
        svc = self.circle.meetings(cid)
        view = svc.view
        me = self.circle.session.id
        out = Text()
        out.append(view.cohort().name + "\n", style="bold")
        nxt = next_meeting(view)
        if nxt:
            fac = svc.facilitator(nxt.id)
            out.append("Next meeting  ", style="dim")
            out.append(f"{nxt.at}  {nxt.title}\n")
            out.append("Facilitator   ", style="dim")
            out.append(view.name_of(fac) if fac else "nobody eligible", style="bold")
            out.append("  (you)\n" if fac == me else "\n")
            out.append("Agenda        ", style="dim")
            out.append(f"{len(view.agenda(nxt.id))} items\n")
        else:
            out.append("No meeting scheduled.\n", style="dim")
        open_actions = [a for a in view.actions() if a.status == "open"]
        out.append(f"\nOpen actions ({len(open_actions)})\n", style="bold")
        for a in sorted(open_actions, key=lambda a: (a.owner != me, a.due, a.title))[:8]:
            mark = "▸ " if a.owner == me else "  "
            out.append(f"{mark}{a.title}", style="bold" if a.owner == me else "")
            out.append(f" — {view.name_of(a.owner)}{', due ' + a.due if a.due else ''}\n", style="dim")
        if len(open_actions) > 8:
            out.append(f"  … {len(open_actions) - 8} more in the cohort\n", style="dim")
        out.append("\nEnter opens the cohort · m opens the meeting room", style="dim italic")
        detail.update(out)

    def _selected(self) -> str | None:
        return self.query_one("#home-cohorts", WindowedList).highlighted_id

    @on(WindowedList.OptionSelected, "#home-cohorts")
    def action_open_cohort(self) -> None:
        cid = self._selected()
        if cid:
            self.circle.open_cohort(cid)

    def action_open_meeting(self) -> None:
        cid = self._selected()
        if not cid:
            return
        nxt = next_meeting(self.circle.meetings(cid).view)
        if nxt is None:
            self.notify("Schedule one from the cohort screen (s).", title="No meeting scheduled", severity="warning")
            return
        self.circle.open_meeting(cid, nxt.id)

    def action_create_cohort(self) -> None:
        fields = [
            Field("name", "Name", placeholder="e.g. Dietitians North"),
            Field("purpose", "Purpose", placeholder="what the cohort is for"),
            Field("cadence", "Cadence", "fortnightly", options=[("weekly", "weekly"), ("fortnightly", "fortnightly"), ("monthly", "monthly")]),
            Field("role", "Your role", "mentor", options=[("supervising mentor", "mentor"), ("facilitator-eligible peer", "peer"), ("participant", "participant")]),
        ]

        def done(values: dict[str, str] | None) -> None:
            if values:
                svc = self.attempt(self.circle.session.create_cohort, values["name"], purpose=values["purpose"], cadence=values["cadence"], role=values["role"])
                if svc is not None:
                    self.circle.watch_cohort(svc)
                    self.refresh_view()
                    self.query_one("#home-cohorts", WindowedList).set_rows(self.query_one("#home-cohorts", WindowedList)._rows, keep=svc.id)
                    self.notify(f"{values['name'].strip()} created", title="Cohort created")

        self.app.push_screen(FormModal("New cohort", fields, submit="Create"), done)
