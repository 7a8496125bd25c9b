"""Goals: the measurable learning outcomes you can read in a cohort, with progress, target, status and who can read each.

Yours come first, then those of members whose mentor you are for a goal
(kept in your private channel with them), then goals shared with the cohort.
Every row says who can read it; a goal with no check-in for the cohort's
number of weeks is marked. n sets a goal (private with your mentor, or shared),
k checks in on the highlighted one, s changes its status.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Label, Static

from circle.models.goals import DOMAINS, STATUSES, Goal
from circle.screens.base import CircleScreen
from circle.screens.modals import Field, FormModal, PickModal
from circle.store.goals import GoalService
from circle.store.service import CohortService
from circle.widgets import WindowedList
from circle.widgets.member_text import line, name

BAR = 10


def progress_bar(progress: int) -> str:
    """``█████░░░░░  50%``: the latest check-in's progress."""
    full = round(progress * BAR / 100)
    return f"{'█' * full}{'░' * (BAR - full)} {progress:3d}%"


def row_id(g: Goal) -> str:
    return f"{g.owner}/{g.partner}/{g.id}"


@dataclass(frozen=True)
class GoalsRead:
    """What the goals screen shows, read in one go (no widgets)."""

    title: Text
    summary: Text
    rows: list[tuple[str, Text]]
    goals: dict[str, Goal]


def read_goals(service: CohortService) -> GoalsRead:
    """Every goal this member can read, as rows (member text cleaned), nudges marked."""
    svc = GoalService(service)
    with service.store.lock:
        view = service.view
        got = svc.read()
        nudged = {row_id(n.goal): n for n in got.nudges}
        title = Text("Goals · ")
        title.append(name(view.cohort().name))
        summary = Text()
        summary.append(f"A goal with no check-in for {got.weeks} week{'s' if got.weeks != 1 else ''} is nudged.", style="dim")
        if got.nudges:
            summary.append(f"  {len(got.nudges)} need{'s' if len(got.nudges) == 1 else ''} a check-in.", style="bold")
        summary.append("\nn sets a goal · k checks in on the highlighted one · s changes its status", style="dim")
        rows = []
        for g in got.goals:
            t = Text()
            n = nudged.get(row_id(g))
            if n is not None:
                t.append(f"⏰ {'never checked in' if n.never else 'no check-in'} for {n.weeks} weeks  ", style="bold reverse")
            t.append(line(g.title), style="bold")
            owner = "You" if g.owner == service.me else name(view.name_of(g.owner))
            t.append(f"\n  {owner} · {g.domain} · ")
            t.append(progress_bar(g.progress), style="bold" if g.status == "active" else "dim")
            t.append(f" · by {g.target} · {g.status}")
            t.append(f"\n  measured by: {line(g.measure, 160)}", style="dim")
            if g.check_ins:
                c = g.check_ins[-1]
                who = "you" if c.author == service.me else name(view.name_of(c.author))
                t.append(f"\n  last check-in by {who}: {line(c.note, 120)}", style="dim")
                if c.evidence:
                    t.append(f" · evidence: {line(c.evidence, 80)}", style="dim")
            badge = svc.readers_line(g)
            t.append(f"\n  {'👥' if g.shared else '🔒'} {name(badge)}", style="italic")
            rows.append((row_id(g), t))
    return GoalsRead(title, summary, rows, {row_id(g): g for g in got.goals})


class GoalsScreen(CircleScreen):
    """A member's goals and the goals they may read in one cohort."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "add", "New goal", tooltip="Set a goal: private with your mentor, or shared with the cohort"),
        Binding("k", "check_in", "Check in", tooltip="Check in on the highlighted goal: progress, what happened, the evidence"),
        Binding("s", "status", "Status", tooltip="Mark your highlighted goal active, achieved, paused or dropped"),
    ]

    def __init__(self, service: CohortService) -> None:
        super().__init__(id="goals")
        self.service = service
        self.goals = GoalService(service)
        self.last: GoalsRead | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="topbar"):
            yield Label("Goals", classes="topbar-title", id="goals-title")
            yield self.sync_badge()
        yield Static("", id="goals-summary")
        yield WindowedList(id="goals-list", page_size=200, empty="Reading goals…")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#goals-list", WindowedList).focus()

    # ---- reading -------------------------------------------------------
    def events_to_read(self) -> int:
        return len(self.service.view)

    def read_stamp(self) -> object:
        st = self.service.store
        return st.view, len(st.view), len(st.private), int(st.clock() // 86400)

    def read(self) -> GoalsRead:
        return read_goals(self.service)

    def show_read(self, read: GoalsRead) -> None:
        self.last = read
        self.query_one("#goals-title", Label).update(read.title)
        self.query_one("#goals-summary", Static).update(read.summary)
        lst = self.query_one("#goals-list", WindowedList)
        lst.set_rows(read.rows, keep=lst.highlighted_id, empty="No goals you can read yet. n sets one: private with your mentor, or shared with the cohort.")

    def highlighted(self) -> Goal | None:
        rid = self.query_one("#goals-list", WindowedList).highlighted_id
        return self.last.goals.get(rid) if self.last and rid else None

    # ---- acting --------------------------------------------------------
    def action_add(self) -> None:
        with self.view_lock():
            view = self.service.view
            mentors = self.goals.mentors()
            others = [m for m in view.members() if m.id != self.service.me and m not in mentors]
            where = [(f"Only you and {m.name} (your mentor)", f"dyad:{m.id}") for m in mentors]
            where += [(f"Only you and {m.name}", f"dyad:{m.id}") for m in others]
            shared = ("Everyone in the cohort (shared)", "cohort")
            where = [*where, shared] if mentors else [shared, *where]  # with no other mentor, no mentee is offered first
        fields = [
            Field("title", "Goal", placeholder="lead a family meeting about end-of-life care"),
            Field("domain", "Kind of outcome", options=[(d.capitalize(), d) for d in DOMAINS]),
            Field("measure", "How success is measured", placeholder="observed twice by my mentor, using the SPIKES checklist"),
            Field("target", "Target date (YYYY-MM-DD)"),
            Field("where", "Who can read it", options=where),
        ]

        def check(v: dict[str, str]) -> None:
            shared = v["where"] == "cohort"
            mentor = "" if shared else v["where"].split(":", 1)[1]
            with self.view_lock():
                self.goals.add(v["title"], v["domain"], v["measure"], v["target"], shared=shared, mentor=mentor)

        note = "A private goal is kept in your one-on-one channel: only the two of you can read it, ever. A shared one, everyone in the cohort."
        self.app.push_screen(FormModal("Set a goal", fields, submit="Set", check=check, note=note))

    def action_check_in(self) -> None:
        g = self.highlighted()
        if g is None:
            self.notify("Highlight a goal first.", title="No goal chosen", severity="warning")
            return
        if not self.goals.may_check_in(g):
            self.notify("Only its owner, their mentor for it, or a mentor (for a shared goal) checks in.", title="Not yours to check in on", severity="warning")
            return
        with self.view_lock():
            badge = self.goals.readers_line(g)
        fields = [
            Field("progress", "Progress, 0 to 100", str(g.progress)),
            Field("note", "What happened", placeholder="what you did, or what you observed"),
            Field("evidence", "Evidence (optional)", placeholder="a document's name, what was observed and when"),
        ]

        def check(v: dict[str, str]) -> None:
            with self.view_lock():
                self.goals.check_in(g, v["progress"], v["note"], v["evidence"])

        self.app.push_screen(FormModal(f"Check in: {line(g.title)}", fields, submit="Check in", check=check, note=f"{badge} can read this."))

    def action_status(self) -> None:
        g = self.highlighted()
        if g is None:
            self.notify("Highlight a goal first.", title="No goal chosen", severity="warning")
            return
        if g.owner != self.service.me:
            self.notify("Only its owner changes a goal's status; k checks in with what you observed.", title="Not your goal", severity="warning")
            return
        options = [(s, s.capitalize()) for s in STATUSES if s != g.status]

        def chosen(status: str | None) -> None:
            if status:
                self.do(self.goals.set_status, g, status)

        self.app.push_screen(PickModal(f"{line(g.title)} is {g.status}: mark it", options), chosen)
