"""Home: your cohorts, each with its next meeting, who facilitates it and open actions.

The home screen paints before the cohorts are open. A cohort still being
opened (decrypted and folded in the background) shows its front page, the
line this screen showed when circle last closed (:func:`page_of`, sealed by
:mod:`circle.store.frontpage`), when it still belongs with the cohort's
snapshot; marked as being brought up to date when the journals moved or the
day changed since. Without one it shows as "Opening a cohort…". Either way
the line is replaced by the one read from the folded view when it is ready.
Enter or m on it opens the cohort screen or the meeting room at once from
the same front page when it holds them (read-only, marked, until the cohort
is folded; see :class:`circle.screens.base.Early`), else as soon as it can.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, Static

from circle.messages import CohortOpenRequested, MeetingOpenRequested
from circle.models.meeting import next_meeting, overdue
from circle.models.view import View
from circle.screens.base import CircleScreen, rota_of, trouble_text
from circle.screens.modals import Field, FormModal, ReadModal
from circle.store.channels import ChannelService
from circle.store.frontpage import Front
from circle.store.goals import GoalService
from circle.store.service import CohortService, today_at
from circle.widgets import OpenList, WindowedList
from circle.widgets.member_text import line, name
from circle.widgets.page_text import text_data, text_of
from circle.widgets.sync_badge import sync_report

ASKED = {"cohort": "cohort screen", "meeting": "meeting room"}  # what Enter and m open once a cohort is open


@dataclass(frozen=True)
class CohortLine:
    """One cohort as the home screen shows it."""

    id: str
    name: str
    row: Text
    detail: Text
    opened: bool
    next_meeting: str | None = None
    front: str = ""  # not opened yet, shown from its front page: "current" (nothing moved since) or "stale"


def read_cohort(svc: CohortService, me: str, today: str = "") -> CohortLine:
    """The list row and the detail panel of an open cohort (reads the view only; member text cleaned and cut).

    Overdue actions are marked in words (by ``today``, the local date), and swaps waiting for me to accept are named.
    """
    with svc.store.lock:
        view = svc.view
        cohort_name = view.cohort().name
        title = name(cohort_name) if cohort_name else "(waiting to be admitted)"
        nxt = next_meeting(view)
        open_actions = [a for a in view.actions() if a.status == "open"]
        late = [a for a in open_actions if today and overdue(a.due, today)]
        asked = svc.swap_requests()
        feedback = ChannelService(svc).asked_of_me()
        quiet = GoalService(svc).read().nudges
        members = len(view.members())
        trouble = svc.store.trouble()
        row = Text()
        row.append(title, style="bold")
        if trouble:
            row.append("  ⚠ needs attention", style="bold")
        row.append(f"\n  {members} member{'s' if members != 1 else ''} · ", style="dim")
        row.append(f"next {line(nxt.at, 40)}" if nxt else "no meeting scheduled", style="dim")
        if late:
            row.append(f"\n  ⚠ {len(late)} overdue", style="bold")
        if asked:
            row.append("\n  ⇄ a swap waits for you", style="bold")
        if feedback:
            row.append(f"\n  ✉ feedback asked of you ({len(feedback)})", style="bold")
        if quiet:
            row.append(f"\n  ⏰ {len(quiet)} goal{'s' if len(quiet) != 1 else ''} need{'s' if len(quiet) == 1 else ''} a check-in", style="bold")

        out = Text()
        out.append(title + "\n", style="bold")
        if trouble:
            out.append_text(trouble_text(view, trouble))
            out.append("\n")
        if nxt:
            fac = rota_of(view).facilitator(nxt.id)
            out.append("Next meeting  ", style="dim")
            out.append(f"{line(nxt.at, 40)}  {line(nxt.title)}\n")
            out.append("Facilitator   ", style="dim")
            out.append(name(view.name_of(fac)) if fac else "nobody eligible", style="bold")
            out.append("  (you)\n" if fac == me else "\n")
            out.append("Agenda        ", style="dim")
            n = len(view.agenda(nxt.id))
            out.append(f"{n} item{'s' if n != 1 else ''}\n")
        else:
            out.append("No meeting scheduled.\n", style="dim")
            waiting = len(view.agenda(""))
            if waiting:
                out.append(f"{waiting} item{'s' if waiting != 1 else ''} on the list for the next meeting\n", style="dim")
        for _rid, who, theirs, mine in asked:
            out.append(
                f"\n⇄ Swap asked: {name(view.name_of(who))} asks to take your turn on {_at(view, mine)} and give you {_at(view, theirs)}.\n", style="bold"
            )
            out.append("  Enter, then w on the cohort screen, accepts it.\n", style="dim")
        for r in feedback:
            out.append(f"\n✉ Feedback asked: {name(view.name_of(r.asker))} asks you, privately, for feedback on: ", style="bold")
            out.append(line(r.what), style="bold")
            out.append(f" (by {r.by})\n" if r.by else "\n", style="bold")
            out.append("  Enter, then p on the cohort screen, answers or declines it.\n", style="dim")
        for n in quiet:
            whose = "Your goal" if n.goal.owner == me else f"{name(view.name_of(n.goal.owner))}'s goal"
            out.append(f"\n⏰ {whose} ", style="bold")
            out.append(line(n.goal.title), style="bold")
            out.append(f": {'never checked in' if n.never else 'no check-in'} for {n.weeks} week{'s' if n.weeks != 1 else ''}.\n", style="bold")
            out.append("  Enter, then o on the cohort screen, checks in.\n", style="dim")
        out.append(f"\nOpen actions ({len(open_actions)}{f', {len(late)} overdue' if late else ''})\n", style="bold")
        for a in sorted(open_actions, key=lambda a: (a not in late, a.owner != me, a.due, a.title))[:8]:
            mark = "▸ " if a.owner == me else "  "
            out.append(mark, style="bold")
            if a in late:
                out.append("OVERDUE", style="bold reverse")
                out.append(" ")
            out.append(line(a.title), style="bold" if a.owner == me or a in late else "")
            out.append(f" — {name(view.name_of(a.owner))}{', due ' + line(a.due, 20) if a.due else ''}\n", style="dim")
        if len(open_actions) > 8:
            out.append(f"  … {len(open_actions) - 8} more in the cohort\n", style="dim")
        out.append("\nEnter opens the cohort · m opens the meeting room", style="dim italic")
    return CohortLine(svc.id, title, row, out, True, nxt.id if nxt else None)


def _at(view: View, meeting_id: str) -> str:
    m = view.meeting(meeting_id)
    return line(m.at, 40) if m else "a meeting"


# ---- the front page: this line as plain data, sealed at close and shown first at the next start ----
PAGE_VERSION = 2  # 2: the page also carries the cohort screen's and the meeting room's first paint (their own sections)
STALE_ROW = "\n  ↻ as when circle last closed; bringing it up to date…"


def page_of(line: CohortLine, today: str) -> dict[str, Any]:
    """An open cohort's line as the plain data its front page holds (``today``: the date it was read for)."""
    return {
        "v": PAGE_VERSION,
        "id": line.id,
        "today": today,
        "name": line.name,
        "next": line.next_meeting,
        "row": text_data(line.row),
        "detail": text_data(line.detail),
    }


def front_line(cid: str, front: Front, today: str, asked: str | None = None) -> CohortLine | None:
    """The line of a cohort not open yet, from its front page; None if the page is not one this screen wrote for it.

    Stale when the journals moved since it was written or it was read for
    another day (overdue actions and quiet goals go by the date): then the
    row says so and the detail starts with when it was written (``written``).
    """
    page = front.page
    try:
        if page.get("v") != PAGE_VERSION or page.get("id") != cid or not isinstance(page.get("name"), str):
            return None
        nxt = page.get("next")
        if nxt is not None and not isinstance(nxt, str):
            return None
        row, detail = text_of(page["row"]), text_of(page["detail"])
    except (KeyError, TypeError, ValueError):
        return None
    stale = front.moved or page.get("today") != today
    if stale:
        row.append(STALE_ROW, style="dim italic")
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(front.written))
        old, detail = detail, Text()
        detail.append(f"As when circle last closed ({written}); bringing it up to date…\n\n", style="dim italic")
        detail.append_text(old)
    if asked:
        row.append(f"\n  opening, then its {asked}", style="dim italic")
    return CohortLine(cid, page["name"], row, detail, False, nxt, "stale" if stale else "current")


def opening_line(cid: str, failure: str | None, asked: str | None = None, progress: tuple[int, int] | None = None) -> CohortLine:
    """A cohort not open yet (or one that could not be opened); ``asked``: what opens when it is ready;
    ``progress``: how many events a load without a snapshot has opened, of how many (0: not known)."""
    if failure:
        row = Text("A cohort that did not open", style="bold")
        row.append(f"\n  {line(failure)}", style="dim")
        detail = Text(line(failure, 2000) + "\n\nRun 'circle doctor' to see what is wrong; nothing was changed.", style="dim")
    else:
        row = Text("Opening a cohort…", style="dim italic")
        row.append(f"\n  {'then its ' + asked if asked else 'decrypting on this device'}", style="dim")
        detail = Text("Opening this cohort: its notes are decrypted on this device.\nIt appears here when it is ready.", style="dim italic")
        if progress is not None:
            opened, total = progress
            so_far = f"{opened:,} of {total:,} events" if total else f"{opened:,} events so far"
            row.append(f"\n  {so_far}", style="dim")
            detail.append(f"\n\n{so_far}. The first open on a device takes this long; later ones start from its snapshot.")
    return CohortLine(cid, "", row, detail, False)


class HomeScreen(CircleScreen):
    """The first screen after unlocking."""

    BINDINGS = [
        Binding("enter", "open_cohort", "Open cohort", show=False),
        Binding("m", "open_meeting", "Meeting", tooltip="Meeting room of the highlighted cohort's next meeting"),
        Binding("c", "create_cohort", "New cohort", tooltip="Create a cohort"),
        Binding("j", "join", "Join", tooltip="Join a cohort with the invite code you were told"),
        Binding("y", "sync_status", "Sync", tooltip="Sync status: per cohort, what is not sent yet and each member's journal"),
        Binding("l", "app.lock", "Lock", tooltip="Lock: back to the unlock screen", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="home")
        self.lines: dict[str, CohortLine] = {}
        self._pending: tuple[str, str] | None = None  # ("cohort" | "meeting", cohort id) asked for while opening
        self._keep: str | None = None

    def action_join(self) -> None:
        fields = [
            Field("code", "The invite code you were told", placeholder="like 7-amber-falcon"),
            Field("where", "Where the cohort's replica is", placeholder="a folder, sftp://…, s3://…, or an invite card file"),
        ]
        self.ask_then_show("Join a cohort", fields, "Join", "Asked to join", lambda v: self.circle.join(v["code"], v["where"]))

    def action_sync_status(self) -> None:
        """The sync report, kept current while it is open."""
        circle = self.circle
        self.app.push_screen(ReadModal("Sync", sync_report(circle.sync_status), follow=(circle.sync_status_signal, sync_report)))

    def compose(self) -> ComposeResult:
        with Horizontal(classes="topbar"):
            yield Label(Text(f"circle · {name(self.circle.session.name)}"), classes="topbar-title")
            yield self.sync_badge()
        with Horizontal(id="home-body"):
            with Vertical(id="home-left"):
                yield Label("Your cohorts", classes="section-title")
                yield OpenList(id="home-cohorts", empty="No cohorts yet. Press c to create one.", page_size=200)
            with Vertical(id="home-right"):
                yield Static(id="home-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#home-cohorts").focus()

    # ---- reading -------------------------------------------------------
    def events_to_read(self) -> int:
        circle = self.circle
        return sum(len(s.view) for cid in circle.session.cohort_ids() if (s := circle.opened(cid)) is not None)

    def read_stamp(self) -> object:
        circle = self.circle
        if circle.session is None:
            return None
        cohorts = tuple(
            (cid, s.view, len(s.view), len(s.store.alarms), len(s.store.private)) if (s := circle.opened(cid)) is not None else (cid,)
            for cid in circle.session.cohort_ids()
        )
        return cohorts, tuple(sorted(circle.open_failures.items())), tuple(sorted(circle.opening_progress.items())), self._pending

    def read(self) -> list[CohortLine]:
        circle = self.circle
        session = circle.session
        if session is None:  # locked while this was being read
            return []
        lines = []
        today = today_at(session.now())
        for cid in session.cohort_ids():
            svc = circle.opened(cid)
            asked = ASKED[self._pending[0]] if self._pending and self._pending[1] == cid else None
            if svc is not None:
                lines.append(read_cohort(svc, session.id, today))
                continue
            failure = circle.open_failures.get(cid)
            front = circle.front_pages.get(cid) if failure is None else None
            early = front_line(cid, front, today, asked) if front is not None else None
            lines.append(early or opening_line(cid, failure, asked, circle.opening_progress.get(cid)))
        return sorted(lines, key=lambda c: (not (c.opened or c.front), c.name.lower(), c.id))

    def show_read(self, read: list[CohortLine]) -> None:
        self.lines = {c.id: c for c in read}
        lst = self.query_one("#home-cohorts", WindowedList)
        lst.set_rows([(c.id, c.row) for c in read], keep=self._keep)
        self._keep = None
        self.show_detail(lst.highlighted_id)
        if self._pending and self.lines.get(self._pending[1], None) and self.lines[self._pending[1]].opened:
            what, cid = self._pending
            self._pending = None
            lst.set_rows(lst._rows, keep=cid)
            (self.action_open_cohort if what == "cohort" else self.action_open_meeting)()

    @on(WindowedList.OptionHighlighted, "#home-cohorts")
    def highlighted(self, event: WindowedList.OptionHighlighted) -> None:
        self.show_detail(event.option.id)

    def show_detail(self, cid: str | None) -> None:
        detail = self.query_one("#home-detail", Static)
        line = self.lines.get(cid or "")
        if line is None:
            detail.update(Text("Create a cohort with c, or ask a cohort's facilitator for an invite.", style="dim"))
            return
        detail.update(line.detail)

    # ---- acting --------------------------------------------------------
    def _selected(self) -> CohortLine | None:
        cid = self.query_one("#home-cohorts", WindowedList).highlighted_id
        return self.lines.get(cid) if cid else None

    def _when_open(self, what: str, line: CohortLine) -> bool:
        """Whether the cohort is open; if it is still opening, do ``what`` when it is."""
        if line.opened:
            return True
        if line.id not in self.circle.open_failures:
            if self.circle.open_early(what, line.id, line.next_meeting):
                return False  # painted from its front page, read-only until the cohort is folded (then it is the real screen)
            # Say it in the row, calmly; a notification would linger over the screen that opens.
            self._pending = (what, line.id)
            front = self.circle.front_pages.get(line.id)
            early = front_line(line.id, front, today_at(self.circle.session.now()), ASKED[what]) if front is not None else None
            self.lines[line.id] = early or opening_line(line.id, None, ASKED[what], self.circle.opening_progress.get(line.id))
            self.query_one("#home-cohorts", WindowedList).set_rows([(c.id, c.row) for c in self.lines.values()])
        return False

    @on(WindowedList.OptionSelected, "#home-cohorts")
    def action_open_cohort(self) -> None:
        line = self._selected()
        if line and self._when_open("cohort", line):
            self.post_message(CohortOpenRequested(line.id))

    def action_open_meeting(self) -> None:
        line = self._selected()
        if not line or not self._when_open("meeting", line):
            return
        if line.next_meeting is None:
            self.notify("Schedule one from the cohort screen (s).", title="No meeting scheduled", severity="warning")
            return
        self.post_message(MeetingOpenRequested(line.id, line.next_meeting))

    def action_create_cohort(self) -> None:
        fields = [
            Field("name", "Name", placeholder="e.g. Dietitians North"),
            Field("purpose", "Purpose", placeholder="what the cohort is for"),
            Field("cadence", "Cadence", "fortnightly", options=[("weekly", "weekly"), ("fortnightly", "fortnightly"), ("monthly", "monthly")]),
        ]

        def done(values: dict[str, str] | None) -> None:
            if values:
                svc = self.attempt(self.circle.session.create_cohort, values["name"], purpose=values["purpose"], cadence=values["cadence"])
                if svc is not None:
                    self.circle.meetings(svc.id)  # open already: it was just created here
                    self._keep = svc.id
                    self.refresh_view()
                    self.notify(f"{values['name'].strip()} created", title="Cohort created")

        self.app.push_screen(FormModal("New cohort", fields, submit="Create"), done)
