"""Cohort: charter, roster with roles, the facilitator rota, the meetings and the actions.

Rota changes (swap, give back, away) ask for confirmation; a swap someone
asked of me is named at the top until I answer it (w). Overdue actions are
marked in words.

Before its cohort is folded the screen can paint from the cohort's front
page (:func:`page_of` wrote what it showed when circle last closed, a few KB:
the charter and the first rows of each list), marked and read-only until the
fold is done (see :class:`circle.screens.base.Early`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Label, Static, TabbedContent, TabPane

from circle.messages import AgreementOpenRequested, CreditsOpenRequested, GoalsOpenRequested, MeetingOpenRequested, PrivateOpenRequested
from circle.models.meeting import next_meeting, overdue
from circle.models.records import Action, Meeting, Member
from circle.models.rota import ELIGIBLE_ROLE, SUPERVISOR_ROLE, Turn
from circle.models.schema import HISTORY, HISTORY_SAYS
from circle.models.text import clean
from circle.screens.base import CircleScreen, Early, rota_is_current, rota_of, trouble_text
from circle.screens.modals import ConfirmModal, Field, FormModal, PickModal, ReadModal
from circle.store.frontpage import Front
from circle.store.joining import roster_fingerprint
from circle.store.service import CohortService, today_at
from circle.widgets import OpenList, Rows, WindowedList
from circle.widgets.member_text import block, line, name
from circle.widgets.page_text import cut, rows_data, rows_of, text_data, text_of
from circle.widgets.windowed_list import Row

OPENING = "Opening the cohort…"
ROLE_NAMES = {"mentor": "supervising mentor", "peer": "facilitator-eligible peer", "participant": "participant"}
ROLE_SAYS = {
    "peer": "peer: takes facilitation turns",
    "participant": "participant: takes part, takes no turn",
    "mentor": "supervising mentor: admits, removes, changes roles, may lead any meeting",
}
NOTE = "_note"  # the id of a row that says something about a list (never a meeting)


@dataclass(frozen=True)
class CohortRead:
    """What the cohort screen shows, read from the view in one go (no widgets)."""

    name: Text
    charter: Text
    members: Sequence[Row]  # :class:`Rows` from the view; plain rows from a front page
    rota: Sequence[Row]
    meetings: Sequence[Row]
    actions: Sequence[Row]
    banner: Text = field(default_factory=Text)


def read_cohort(service: CohortService, today: str = "") -> CohortRead:
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
            *((("Newcomers read", HISTORY_SAYS[c.history]),) if c.history != "all" else ()),
        ):
            charter.append(f"{label}\n", style="bold")
            charter.append(f"{block(str(value)) or '—'}\n\n")
        agreement = view.charter_agreement()
        charter.append("Charter agreement\n", style="bold")
        if agreement is None:
            charter.append("None yet: a mentor proposes one (c).\n\n", style="dim")
        else:
            v = agreement.current
            signed = len(agreement.parties) - len(agreement.missing())
            mine = "you have signed" if me in v.signer_ids() else "you have not signed yet"
            charter.append(f"Version {v.number}: signed by {signed} of {len(agreement.parties)}; {mine} (c reads and signs it).\n\n")
        charter.append("More: ", style="dim")
        charter.append("p private channels and your notes · o goals · h hours and credits", style="dim")

        rota = rota_of(view)
        nxt = next_meeting(view)
        next_facilitator = rota.facilitator(nxt.id) if nxt else None
        names = {m.id: m.name for m in view.members(include_removed=True)}  # the rows are made later, without the lock
        items = Counter(i.meeting for i in view.agenda())
        facilitators = {t.meeting: t.facilitated_by for t in rota.turns}
        actions = sorted(view.actions(), key=lambda a: (a.status != "open", not (today and overdue(a.due, today)), a.due or "9999", a.title))
        late_n = sum(1 for a in actions if a.status == "open" and today and overdue(a.due, today))
        note = rota_note(view, rota.eligible, c.name)
        head = [(NOTE, note)] if note.plain else []
        members = Rows(view.members(), lambda m: member_row(m, me, next_facilitator, names), head=head)
        turns = list(reversed(rota.turns))  # upcoming first, then history newest first
        rows = Rows(turns, lambda turn: turn_row(turn, names), attrgetter("meeting"), head=head)
        meetings = Rows(list(reversed(view.meetings())), lambda mt: meeting_row(mt, facilitators.get(mt.id, ""), items[mt.id], names))

        banner = trouble_text(view, service.store.trouble())
        for _rid, who, theirs, mine in service.swap_requests():
            banner.append(
                f"⇄ {name(view.name_of(who))} asks to take your turn on {_at(view, mine)} and give you {_at(view, theirs)}: w answers. ", style="bold"
            )
        if late_n:
            banner.append(f"⚠ {late_n} overdue action{'s' if late_n != 1 else ''}: 5 shows {'them' if late_n != 1 else 'it'}.", style="bold")
    return CohortRead(Text(name(c.name)), charter, members, rows, meetings, Rows(actions, lambda a: action_row(a, today, names)), banner)


def _name(names: Mapping[str, str], member_id: str) -> str:
    return name(names.get(member_id, "someone"))


def rota_note(view, eligible: Sequence[str], cohort_name: str) -> Text:
    """What the rota and roster say when nobody takes turns, and what a mentor does about it ("" when turns go round).

    Only peers take facilitation turns (newcomers are admitted as participants): with none, the supervising mentor
    is rostered for every meeting; with every peer away or removed, nobody is.
    """
    members = {m.id: m for m in view.members(include_removed=True)}
    peers = [members[mid] for mid in eligible if mid in members and members[mid].role == ELIGIBLE_ROLE]
    how = f'a supervising mentor makes members peers with r on this screen (or, with circle closed, circle role "{line(cohort_name, 60)}" "NAME" peer).'
    t = Text()
    if not peers:
        t.append("Nobody takes turns: no member is a peer, so the supervising mentor is rostered for every meeting. ", style="bold")
        t.append(f"For the facilitator to rotate, {how}")
    elif all(m.away or not m.active for m in peers):
        t.append("Nobody is rostered for the meetings to come: every peer is away or removed. ", style="bold")
        t.append(f"Peers mark themselves back with a; or {how}")
    return t


def member_row(m: Member, me: str, next_facilitator: str | None, names: Mapping[str, str]) -> Text:
    t = Text()
    t.append(name(m.name), style="bold")
    if m.id == me:
        t.append(" (you)")
    t.append(f"  {line(ROLE_NAMES.get(m.role, m.role), 40)}", style="dim")
    if m.profession:
        t.append(f" · {line(m.profession, 80)}", style="dim")
    if m.away:
        t.append("  away", style="italic")
    if next_facilitator == m.id:
        t.append("  ★ facilitates next", style="bold")
    if m.replaces:
        t.append(f"\n  new identity: replaces {_name(names, m.replaces)}'s earlier one (removed)", style="dim")
    return t


def turn_row(turn: Turn, names: Mapping[str, str]) -> Text:
    t = Text()
    t.append(f"{line(turn.at, 40)}  ", style="dim" if turn.held else "bold")
    t.append(_name(names, turn.member) if turn.member else "—")
    if turn.facilitated_by and turn.facilitated_by != turn.member:
        t.append(f" → {_name(names, turn.facilitated_by)} (handoff)", style="italic")
    t.append("  facilitated" if turn.held else "  upcoming", style="dim")
    if turn.note:
        t.append(f"  · {line(turn.note)}", style="dim italic")
    return t


def meeting_row(mt: Meeting, facilitator: str, items: int, names: Mapping[str, str]) -> Text:
    t = Text()
    t.append(f"{line(mt.at, 40)}  ", style="dim" if mt.held else "bold")
    t.append(line(mt.title) or "Meeting")
    state = "cancelled" if mt.cancelled else ("held" if mt.held else "upcoming")
    t.append(f"  {state} · {_name(names, facilitator) if facilitator else 'no facilitator'} · {items} item{'s' if items != 1 else ''}", style="dim")
    return t


def action_row(a: Action, today: str, names: Mapping[str, str]) -> Text:
    late = a.status == "open" and bool(today) and overdue(a.due, today)
    t = Text()
    t.append("✓ " if a.status == "done" else ("✗ " if a.status == "dropped" else "☐ "))
    if late:
        t.append("OVERDUE", style="bold reverse")
        t.append(" ")
    t.append(line(a.title), style="dim" if a.status != "open" else ("bold" if late else ""))
    t.append(f"\n  {_name(names, a.owner)}{' · due ' + line(a.due, 40) if a.due else ''}{' · ' + a.status if a.status != 'open' else ''}", style="dim")
    return t


# ---- the front page: what this screen first shows, as plain data (a few KB) ----
PAGE_CHARTER = 3000  # characters of the charter
PAGE_ROWS = {"members": 20, "rota": 6, "meetings": 6, "actions": 6}  # first rows of each list (the screen opens on the charter); the rest comes with the fold


def page_of(service: CohortService, today: str) -> dict[str, Any]:
    """What this screen shows of an open cohort now, cut to a few KB, as its front page section holds it."""
    r = read_cohort(service, today)
    page: dict[str, Any] = {"name": text_data(r.name), "charter": text_data(cut(r.charter, PAGE_CHARTER)), "banner": text_data(cut(r.banner, 600))}
    for key, cap in PAGE_ROWS.items():
        page[key] = rows_data(getattr(r, key), cap)
    return page


def early_cohort(cohort_id: str, front: Front, today: str) -> Early | None:
    """The cohort screen's first paint from a front page (a :class:`CohortRead`), or None if the page holds none of this shape."""
    page = front.page
    section = page.get("cohort")
    try:
        if page.get("id") != cohort_id or not isinstance(section, dict):
            return None
        read = CohortRead(
            text_of(section["name"]),
            text_of(section["charter"]),
            *(rows_of(section[key], PAGE_ROWS[key]) for key in ("members", "rota", "meetings")),
            actions=rows_of(section["actions"], PAGE_ROWS["actions"]),
            banner=text_of(section["banner"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return Early(cohort_id, read, front.moved or page.get("today") != today, front.written)


def _at(view, meeting_id: str) -> str:
    m = view.meeting(meeting_id)
    return line(m.at, 40) if m else "a meeting"


class CohortScreen(CircleScreen):
    """One cohort, in four tabs."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", show=False),
        Binding("m", "open_meeting", "Meeting", tooltip="Meeting room of the next meeting"),
        Binding("s", "schedule", "Schedule", tooltip="Schedule a meeting (unfinished business is carried into the next one)", show=False),
        Binding("w", "swap", "Swap", tooltip="Answer a swap asked of you, or ask to swap your next turn", show=False),  # the banner says w when one waits
        Binding("g", "give_back", "Give turn back", show=False),
        Binding("a", "toggle_away", "Away/back", tooltip="Mark yourself away (the rota skips you) or back", show=False),
        Binding("i", "invite", "Invite", tooltip="Invite someone: a short code to say aloud"),
        Binding("d", "admit", "Admit", tooltip="Admit a newcomer who joined with your code (shows their fingerprint)", show=False),
        Binding("f", "fingerprint", "Fingerprint", tooltip="The cohort fingerprint over the whole roster, for everyone to compare"),
        Binding("p", "private", "Private", tooltip="Private channels with one member, and notes only you read"),
        Binding("e", "export", "Export", tooltip="Export a summary, minutes or certificates (Markdown, HTML, CSV, JSON, PDF)", show=False),
        Binding("c", "agreement", "Agreement", tooltip="The charter agreement: read it, sign it (a mentor proposes or amends it)", show=False),
        Binding("h", "credits", "Credits", tooltip="Continuing-education credits: attested hours, the rule in force, what an audit would miss", show=False),
        Binding("o", "goals", "Goals", tooltip="Goals: measurable outcomes, private with your mentor or shared; check-ins with evidence", show=False),
        Binding("n", "history", "Newcomers read", tooltip="What newcomers read of the cohort's past (a mentor decides)", show=False),
        Binding("r", "set_role", "Role", tooltip="Make a member a peer (takes facilitation turns), a participant or a mentor (a mentor does)", show=False),
        Binding("1", "tab('charter')", "Charter", show=False),
        Binding("2", "tab('roster')", "Roster", show=False),
        Binding("3", "tab('rota')", "Rota", show=False),
        Binding("4", "tab('meetings')", "Meetings", show=False),
        Binding("5", "tab('actions')", "Actions", show=False),
    ]

    EARLY_ACTIONS = CircleScreen.EARLY_ACTIONS | {"open_meeting"}  # m opens the room from the same page when it holds it

    def __init__(self, service: CohortService | None, *, early: Early | None = None) -> None:
        super().__init__(id="cohort")
        self.service = service
        self.early = early

    def compose(self) -> ComposeResult:
        if self.service is None:
            title = self.early.page.name if self.early is not None else Text()
        else:
            with self.view_lock():
                title = Text(name(self.service.view.cohort().name))
        with Horizontal(classes="topbar"):
            yield Label(title, classes="topbar-title", id="cohort-title")
            yield self.sync_badge()
        yield Static("", id="cohort-banner")
        with TabbedContent(initial="charter", id="cohort-tabs"):
            with TabPane("1 Charter", id="charter"):
                with VerticalScroll():
                    yield Static(id="cohort-charter")
            with TabPane("2 Roster", id="roster"):
                yield WindowedList(id="cohort-roster", page_size=200, empty=OPENING)
            with TabPane("3 Rota", id="rota"):
                yield OpenList(id="cohort-rota", page_size=200, empty=OPENING)
            with TabPane("4 Meetings", id="meetings"):
                yield OpenList(id="cohort-meetings", page_size=200, empty=OPENING)
            with TabPane("5 Actions", id="actions"):
                yield WindowedList(id="cohort-actions", page_size=300, empty=OPENING)
        yield Footer()

    def on_mount(self) -> None:
        if self.early is not None and self.service is None:
            self.show_early(self.early)
        self.refresh_view()

    def show_early(self, early: Early) -> None:
        read: CohortRead = early.page
        self.show_read(read)
        banner = self.query_one("#cohort-banner", Static)
        mark = early.mark()
        if read.banner.plain:
            mark.append("\n")
            mark.append_text(read.banner)
        banner.update(mark)
        banner.display = True

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        target = {"roster": "#cohort-roster", "rota": "#cohort-rota", "meetings": "#cohort-meetings", "actions": "#cohort-actions"}.get(tab)
        if target:
            self.query_one(target).focus()

    def events_to_read(self) -> int:
        return len(self.service.view)

    def read_is_quick(self) -> bool:
        return rota_is_current(self.service.view)

    def read_stamp(self) -> object:
        view = self.service.view
        return view, len(view), len(self.service.store.alarms)  # a fork found without a new event still shows

    def read(self) -> CohortRead:
        return read_cohort(self.service, today_at(self.service.now()))

    def show_read(self, read: CohortRead) -> None:
        self.query_one("#cohort-title", Label).update(read.name)
        self.query_one("#cohort-charter", Static).update(read.charter)
        banner = self.query_one("#cohort-banner", Static)
        banner.update(read.banner)
        banner.display = bool(read.banner.plain)
        for wid, rows, empty in (
            ("#cohort-roster", read.members, "Nothing here yet."),
            ("#cohort-rota", read.rota, "Nobody is facilitator-eligible yet."),
            ("#cohort-meetings", read.meetings, "No meetings yet. Press s to schedule one."),
            ("#cohort-actions", read.actions, "No actions yet: they are added in the meeting room (t)."),
        ):
            self.query_one(wid, WindowedList).set_rows(rows, empty=empty)

    @on(WindowedList.OptionSelected, "#cohort-meetings")
    @on(WindowedList.OptionSelected, "#cohort-rota")
    def open_selected(self, event: WindowedList.OptionSelected) -> None:
        if event.option.id and not event.option.id.startswith("_"):
            self._open_meeting(event.option.id)

    def _open_meeting(self, meeting_id: str) -> None:
        if self.service is not None:
            self.post_message(MeetingOpenRequested(self.service.id, meeting_id))
        elif self.early is not None and not self.circle.open_early("meeting", self.early.cohort, meeting_id):
            self.wait_for_fold(f"open_meeting_id('{meeting_id}')")  # the page does not hold that room: it opens with the fold

    def action_open_meeting_id(self, meeting_id: str) -> None:
        self._open_meeting(meeting_id)

    def action_open_meeting(self) -> None:
        if self.service is None:
            nxt_id = self.circle.front_pages[self.early.cohort].page.get("next") if self.early is not None else None
            if not isinstance(nxt_id, str) or not self.circle.open_early("meeting", self.early.cohort, nxt_id):
                self.wait_for_fold("open_meeting")
            return
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
            Field("minutes", "Length in minutes (5 to 600)", clean(str(cohort.meeting_minutes))),
        ]
        scheduled: dict[str, str] = {}

        def check(values: dict[str, str]) -> None:
            with self.view_lock():
                mid = self.service.schedule(values["at"], values["title"], values["minutes"], from_today=True)
                scheduled["at"] = self.service.meeting(mid).at

        def done(values: dict[str, str] | None) -> None:
            if values and scheduled:
                self.notify(f"Meeting on {scheduled['at']} scheduled; unfinished business goes into the next one.", title="Scheduled")

        self.app.push_screen(FormModal("Schedule a meeting", fields, submit="Schedule", check=check), done)

    def _my_next_turn(self) -> str | None:
        with self.view_lock():
            rota = rota_of(self.service.view)
        return next((t.meeting for t in rota.upcoming() if t.facilitated_by == self.service.me), None)

    def action_give_back(self) -> None:
        mine = self._my_next_turn()
        if mine is None:
            self.notify("You have no upcoming turn to give back.", title="Nothing to give back", severity="warning")
            return

        def done(yes: bool | None) -> None:
            if yes and self.do(self.service.give_back, mine):
                with self.view_lock():
                    who = name(self.service.view.name_of(self.service.facilitator(mine)))
                self.notify(f"{who} now facilitates; you take the next turn you can.", title="Turn given back")

        with self.view_lock():
            when = self._at(mine)
        self.app.push_screen(ConfirmModal(f"Give back your turn on {when}?\nThe next member takes it; you take their next turn.", yes="Give it back"), done)

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
                if not rid:
                    return

                def confirmed(yes: bool | None) -> None:
                    if yes and self.do(self.service.accept_swap, rid):
                        self.notify("Turns swapped.", title="Rota")

                label = next(text for r, text in asked if r == rid)
                self.app.push_screen(ConfirmModal(f"{label}.\nAccept the swap?", yes="Swap"), confirmed)

            self.app.push_screen(PickModal("A swap asked of you: Enter picks it, then confirm", asked), accept)
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
            if not other:
                return
            with self.view_lock():
                who = name(view.name_of(self.service.facilitator(other)))
                question = f"Swap the turn on {self._at(first)} with {who}'s on {self._at(other)}?"

            def confirmed(yes: bool | None) -> None:
                if yes and self.do(self.service.swap, first, other):
                    if self.service.is_mentor():
                        self.notify("Turns swapped.", title="Rota")
                    else:
                        self.notify(f"It takes effect when {who} accepts it (w on their cohort screen).", title="Swap asked")

            extra = "" if mentor else f"\nIt takes effect when {who} accepts."
            self.app.push_screen(ConfirmModal(question + extra, yes="Ask to swap" if not mentor else "Swap"), confirmed)

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
        fields = [
            Field("code", "The invite code you gave them (or its number)", placeholder="like 7-amber-falcon"),
            Field(
                "role",
                "Role (only peers take facilitation turns; r changes it later)",
                "participant",
                options=[(ROLE_NAMES[r], r) for r in ("participant", "peer", "mentor")],
            ),
        ]
        self.ask_then_show("Admit a newcomer", fields, "Admit", "Admitted", lambda v: self.circle.admit(self.service.id, v["code"], v["role"]))

    def action_history(self) -> None:
        with self.view_lock():
            now = self.service.view.cohort().history
            mentor = self.service.is_mentor()
        if not mentor:
            self.notify(f"Newcomers read {HISTORY_SAYS[now]}. A supervising mentor decides it.", title="What newcomers read")
            return

        def done(choice: str | None) -> None:
            if choice and choice != now and self.do(self.service.set_history, choice):
                self.notify(f"Newcomers admitted from now on read {HISTORY_SAYS[choice]}.", title="Saved")

        options = [(h, ("• " if h == now else "  ") + HISTORY_SAYS[h][0].upper() + HISTORY_SAYS[h][1:]) for h in HISTORY]
        self.app.push_screen(PickModal("What newcomers read of the past (members admitted before keep theirs)", options), done)

    def action_set_role(self) -> None:
        """A mentor picks a member, then their role: peer (takes facilitation turns), participant or mentor."""
        with self.view_lock():
            view = self.service.view
            mentor = self.service.is_mentor()
            others = [m for m in view.members() if m.id != self.service.me]
        if not mentor:
            self.notify("A supervising mentor makes members peers (they take facilitation turns), participants or mentors.", title="Roles", severity="warning")
            return
        if not others:
            self.notify("Invite someone (i), then admit them (d).", title="Nobody else here yet", severity="warning")
            return
        members = {m.id: m for m in others}

        def picked(member_id: str | None) -> None:
            if not member_id:
                return
            m = members[member_id]
            who = name(m.name)

            def change(role: str) -> None:
                if self.do(self.service.set_role, m.id, role):
                    self.notify(f"{who} is now a {ROLE_NAMES[role]}.", title="Role changed")

            def chosen(role: str | None) -> None:
                if not role or role == m.role:
                    return
                if SUPERVISOR_ROLE in (role, m.role):  # a mentor's powers are given or taken: asked first
                    question = (
                        f"Make {who} a supervising mentor?\nThey can admit and remove members and change roles."
                        if role == SUPERVISOR_ROLE
                        else f"Make {who} a {ROLE_NAMES[role]}?\nThey will no longer admit, remove or change roles."
                    )
                    self.app.push_screen(ConfirmModal(question, yes="Change"), lambda yes: change(role) if yes else None)
                else:
                    change(role)

            options = [(r, ("• " if r == m.role else "  ") + ROLE_SAYS[r]) for r in ("peer", "participant", "mentor")]
            self.app.push_screen(PickModal(f"{who}'s role (now: {ROLE_NAMES.get(m.role, m.role)})", options), chosen)

        options = [(m.id, f"{name(m.name)}  {ROLE_NAMES.get(m.role, m.role)}") for m in others]
        self.app.push_screen(PickModal("Whose role? Only peers take facilitation turns", options), picked)

    def action_toggle_away(self) -> None:
        with self.view_lock():
            me = self.service.view.member(self.service.me)
        if me is None:
            return

        def done(yes: bool | None) -> None:
            if yes and self.do(self.service.set_away, me.id, not me.away):
                self.notify(
                    "The rota skips you until you come back (a)." if not me.away else "You are back in the rota.", title="Away" if not me.away else "Back"
                )

        q = (
            "Mark yourself away?\nThe rota skips you for meetings not yet held until you come back."
            if not me.away
            else "Mark yourself back?\nThe rota counts you again."
        )
        self.app.push_screen(ConfirmModal(q, yes="Away" if not me.away else "Back"), done)

    def action_private(self) -> None:
        self.post_message(PrivateOpenRequested(self.service.id))

    def action_goals(self) -> None:
        self.post_message(GoalsOpenRequested(self.service.id))

    def action_export(self) -> None:
        from circle.screens.export import ExportScreen  # pushed like a modal: the app has no request for it yet

        self.app.push_screen(ExportScreen(self.service))

    def action_agreement(self) -> None:
        self.post_message(AgreementOpenRequested(self.service.id))

    def action_credits(self) -> None:
        self.post_message(CreditsOpenRequested(self.service.id))
