"""Meeting logic with no I/O: phases, the item timer, and carry-over.

Everything here is a pure function of a folded view and, for the timer, of a
time passed in by the caller (the session's injectable clock). :func:`room`
reads everything the meeting room shows in one pass, as plain data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from circle.errors import NotFound
from circle.models.records import Action, AgendaItem, Meeting, Member, Note
from circle.models.rota import SUPERVISOR_ROLE, Rota
from circle.models.view import PHASES, View

PHASE_TITLES = {
    "": "not started",
    "check-in": "Check-in",
    "agenda": "Agenda",
    "feedback": "Feedback & reflection",
    "actions": "Action items",
    "wrap-up": "Wrap-up",
}
LABEL_CARRY = b"circle/v1/carry-over"


def next_phase(phase: str) -> str | None:
    """The phase after ``phase`` ("" means not started), or None after wrap-up."""
    if phase == "":
        return PHASES[0]
    if phase not in PHASES:
        return PHASES[0]
    i = PHASES.index(phase)
    return PHASES[i + 1] if i + 1 < len(PHASES) else None


def previous_phase(phase: str) -> str | None:
    if phase not in PHASES:
        return None
    i = PHASES.index(phase)
    return PHASES[i - 1] if i > 0 else None


@dataclass(frozen=True)
class TimerState:
    """The countdown of the current agenda item.

    Attributes:
        item: the running item id ("" when none runs).
        total: the item's timebox in seconds.
        remaining: seconds left; negative once over time.
    """

    item: str
    total: int
    remaining: float

    @property
    def running(self) -> bool:
        return bool(self.item)

    @property
    def over(self) -> bool:
        return self.running and self.remaining <= 0

    @property
    def fraction_left(self) -> float:
        if not self.total:
            return 0.0
        return max(0.0, min(1.0, self.remaining / self.total))

    def label(self) -> str:
        """``mm:ss`` left, or ``time's up +mm:ss`` once over."""
        if not self.running:
            return "--:--"
        secs = int(abs(self.remaining) + (0.999 if self.remaining > 0 else 0))
        text = f"{secs // 60:02d}:{secs % 60:02d}"
        return f"time's up +{text}" if self.over else text


def timer(meeting: Meeting, items: list[AgendaItem], now: float) -> TimerState:
    """The timer for the meeting's current item at time ``now``."""
    item = next((i for i in items if i.id == meeting.current_item), None)
    if item is None or not meeting.item_started:
        return TimerState("", 0, 0.0)
    if meeting.held:  # the clock stops with the meeting, whatever a device that was behind wrote
        return TimerState("", 0, 0.0)
    total = (max(1, item.minutes) + item.extended) * 60
    return TimerState(item.id, total, total - (now - meeting.item_started))


def overdue(due: str, today: str) -> bool:
    """Whether a due date (``YYYY-MM-DD``, or "" for none) is before ``today`` (``YYYY-MM-DD``).

    Dates compare as text: both are ISO dates. A malformed due date (the
    schema only checks its shape) is never overdue.
    """
    return len(due) == 10 and due < today


# ---- carry-over ----------------------------------------------------------


@dataclass(frozen=True)
class CarryOver:
    """One unfinished item or open action that belongs on the next meeting's agenda.

    ``item`` is derived from the target meeting and the source, so any device
    that writes the carry-over writes the same item, and the fold merges them.
    """

    item: str
    source: str
    source_kind: str  # "item" or "action"
    title: str
    owner: str
    minutes: int


def carry_item_id(target_meeting: str, source: str) -> str:
    return hashlib.sha256(LABEL_CARRY + target_meeting.encode() + b"\x00" + source.encode()).hexdigest()[:16]


def previous_meetings(view: View, target: Meeting) -> list[Meeting]:
    """Held meetings before ``target`` (by date, then id)."""
    return [m for m in view.meetings() if m.held and not m.cancelled and (m.at, m.id) < (target.at, target.id)]


def carry_over_plan(view: View, target_id: str) -> list[CarryOver]:
    """What should be carried into meeting ``target_id`` and is not there yet.

    Only the next meeting (the first not held, by date) takes unfinished
    business, so an open action is followed up once, in the meeting that comes
    next, never in every upcoming one. It takes the unfinished agenda items
    (status open) of held earlier meetings that no meeting has picked up yet,
    and the open actions of earlier meetings not on its agenda yet. Items that
    were themselves carried actions are not carried again: the action carries
    itself while it stays open.
    """
    target = view.meeting(target_id)
    if target is None or target.held or target.cancelled:
        return []
    nxt = next_meeting(view)
    if nxt is None or nxt.id != target_id:
        return []
    earlier = previous_meetings(view, target)
    earlier_ids = {m.id for m in earlier}
    all_items = view.agenda()
    actions = view.actions()
    action_ids = {a.id for a in actions}
    carried_sources: dict[str, set[str]] = {}
    for it in all_items:
        if it.carried_from:
            carried_sources.setdefault(it.carried_from, set()).add(it.added_to or it.meeting)  # where it was written: it may have moved on
    present = {it.id for it in all_items} | set(view.redacted())  # a redacted copy is not written again
    plan: list[CarryOver] = []
    for it in all_items:
        if it.meeting not in earlier_ids or it.status != "open" or it.carried_from in action_ids:
            continue
        others = carried_sources.get(it.id, set()) - {target_id}
        if others:
            continue  # an earlier meeting already picked it up
        cid = carry_item_id(target_id, it.id)
        if cid not in present:
            plan.append(CarryOver(cid, it.id, "item", it.title, it.owner, it.minutes))
    for a in actions:
        if a.status != "open" or a.meeting not in earlier_ids:
            continue
        cid = carry_item_id(target_id, a.id)
        if cid not in present:
            plan.append(CarryOver(cid, a.id, "action", f"Follow-up: {a.title}", a.owner, 5))
    return sorted(plan, key=lambda c: (c.source_kind != "item", c.title, c.item))


def next_meeting(view: View) -> Meeting | None:
    """The first meeting not held and not cancelled, by date."""
    return next((m for m in view.meetings() if not m.held and not m.cancelled), None)


# ---- the meeting room ------------------------------------------------------


@dataclass(frozen=True)
class Carried:
    """Where a carried-over agenda item came from: "last time you said…".

    Attributes:
        action: the open action the item follows up, when it came from one.
        source: the unfinished item it continues, when it came from one.
        origin_at: when the source item's meeting was ("" when that meeting is unknown).
        notes: what was said on the source item, oldest first.
    """

    action: Action | None = None
    source: AgendaItem | None = None
    origin_at: str = ""
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Room:
    """Everything the meeting room shows of one meeting, read from the view in one pass.

    Attributes:
        meeting: the meeting.
        me: who is reading (member id).
        facilitator: who facilitates it as the rota and handoffs say ("" when nobody is eligible).
        supervising: whether ``me`` is an active supervising mentor.
        roster: the active members, in joined order.
        attendance: member id -> marked present (True) or absent (False).
        items: its agenda, in the order items were added.
        notes: note lists by agenda item id; key None holds every note of the meeting.
        carried: agenda item id -> where the carried-over item came from.
        actions: its own actions, and those still open from earlier meetings.
        anonymous: the anonymous round's lines, in an order that reveals no author.
        names: member id -> name, removed members included.
        moved_from: item id -> when the meeting was that it was added to, for items added after that one was
            wrapped up (they moved here); "" for items from the list for the next meeting.
        is_next: whether this is the next meeting (the first not held).
    """

    meeting: Meeting
    me: str
    facilitator: str
    supervising: bool
    roster: tuple[Member, ...]
    attendance: Mapping[str, bool]
    items: tuple[AgendaItem, ...]
    notes: Mapping[str | None, tuple[Note, ...]]
    carried: Mapping[str, Carried]
    actions: tuple[Action, ...]
    anonymous: tuple[str, ...]
    names: Mapping[str, str] = field(default_factory=dict)
    moved_from: Mapping[str, str] = field(default_factory=dict)
    is_next: bool = False

    @property
    def present(self) -> int:
        """How many are marked present."""
        return sum(1 for p in self.attendance.values() if p)

    @property
    def done(self) -> int:
        """How many agenda items are done."""
        return sum(1 for i in self.items if i.status == "done")

    @property
    def current(self) -> AgendaItem | None:
        """The item running now, if any."""
        return next((i for i in self.items if i.id == self.meeting.current_item), None)

    def item(self, item_id: str | None) -> AgendaItem | None:
        return next((i for i in self.items if i.id == item_id), None) if item_id else None

    def notes_on(self, item_id: str | None) -> tuple[Note, ...]:
        """The notes of one agenda item, or of the whole meeting for None."""
        return self.notes.get(item_id, ())

    def name_of(self, member_id: str) -> str:
        """A member's name ("someone" for an id the cohort does not know, as :meth:`View.name_of`)."""
        return self.names.get(member_id, "someone")


def room(view: View, rota: Rota, meeting_id: str, me: str) -> Room:
    """Read one meeting for the meeting room: each list of the view is gone through once.

    Args:
        view: the cohort's folded view (the caller holds its lock).
        rota: the cohort's rota for that view.
        meeting_id: the meeting.
        me: who is reading.

    Raises:
        NotFound: the view has no such meeting.
    """
    m = view.meeting(meeting_id)
    if m is None:
        raise NotFound("no such meeting", "pick one from the cohort's meetings")
    everyone = view.members(include_removed=True)
    mine = next((p for p in everyone if p.id == me), None)
    all_actions = view.actions()
    actions_by_id = {a.id: a for a in all_actions}
    here = view.agenda(meeting_id)
    first = _first_follow_ups(view, actions_by_id) if not m.held and any(i.carried_from in actions_by_id for i in here) else {}
    # A follow-up of an action shows once, on the first upcoming meeting that carries it; held meetings keep what they had.
    items = tuple(i for i in here if first.get(i.carried_from, meeting_id) == meeting_id)

    notes: dict[str | None, list[Note]] = {None: []}
    for n in view.notes(meeting_id):
        notes[None].append(n)
        notes.setdefault(n.item, []).append(n)

    carried: dict[str, Carried] = {}
    if any(i.carried_from for i in items):
        all_items = {i.id: i for i in view.agenda()}
        for item in items:
            if not item.carried_from:
                continue
            act = actions_by_id.get(item.carried_from)
            src = all_items.get(item.carried_from)
            if act is not None:
                carried[item.id] = Carried(action=act)
            elif src is not None:
                origin = view.meeting(src.meeting)
                carried[item.id] = Carried(source=src, origin_at=origin.at if origin else "", notes=tuple(view.notes(item_id=src.id)))
            else:
                carried[item.id] = Carried()

    return Room(
        meeting=m,
        me=me,
        facilitator=rota.facilitator(meeting_id),
        supervising=mine is not None and mine.active and mine.role == SUPERVISOR_ROLE,
        roster=tuple(p for p in everyone if p.active),
        attendance=view.attendance(meeting_id),
        items=items,
        notes={k: tuple(v) for k, v in notes.items()},
        carried=carried,
        actions=room_actions(view, m, items, all_actions),
        anonymous=tuple(view.anonymous_lines(meeting_id)),
        names={p.id: p.name for p in everyone},
        moved_from={i.id: (origin.at if (origin := view.meeting(i.added_to)) else "") for i in items if i.added_to != meeting_id},
        is_next=(nxt := next_meeting(view)) is not None and nxt.id == meeting_id,
    )


def _first_follow_ups(view: View, actions: Mapping[str, Action]) -> dict[str, str]:
    """For each action followed up on an upcoming meeting: the first such meeting, by date."""
    upcoming = {m.id: (m.at, m.id) for m in view.meetings() if not m.held and not m.cancelled}
    out: dict[str, str] = {}
    for i in view.agenda():
        if i.carried_from in actions and i.meeting in upcoming:
            best = out.get(i.carried_from)
            if best is None or upcoming[i.meeting] < upcoming[best]:
                out[i.carried_from] = i.meeting
    return out


def room_actions(view: View, m: Meeting, items: tuple[AgendaItem, ...], all_actions: list[Action]) -> tuple[Action, ...]:
    """The actions a meeting shows: its own, the earlier ones it follows up, and, in the next meeting, every earlier one still open.

    An earlier action ticked done in the meeting that follows it up stays in
    its list, so it can be unticked there.
    """
    order = {mt.id: (mt.at, mt.id) for mt in view.meetings()}
    here = order.get(m.id)
    followed = {i.carried_from for i in items if i.carried_from}
    nxt = next_meeting(view)
    is_next = nxt is not None and nxt.id == m.id

    def earlier(a: Action) -> bool:
        return here is not None and a.meeting in order and order[a.meeting] < here

    return tuple(a for a in all_actions if a.meeting == m.id or (earlier(a) and (a.id in followed or (is_next and a.status == "open"))))
