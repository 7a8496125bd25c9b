"""Meeting logic with no I/O: phases, the item timer, and carry-over.

Everything here is a pure function of a folded view and, for the timer, of a
time passed in by the caller (the session's injectable clock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from circle.models.view import PHASES, AgendaItem, Meeting, View

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
    total = max(1, item.minutes) * 60
    return TimerState(item.id, total, total - (now - meeting.item_started))


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

    Unfinished agenda items (status open) of held earlier meetings that no
    meeting has picked up yet, and open actions from earlier meetings that are
    not on the target's agenda yet. Items that were themselves carried actions
    are not carried again: the action carries itself while it stays open.
    """
    target = view.meeting(target_id)
    if target is None or target.held:
        return []
    earlier = previous_meetings(view, target)
    earlier_ids = {m.id for m in earlier}
    all_items = view.agenda()
    actions = view.actions()
    action_ids = {a.id for a in actions}
    carried_sources: dict[str, set[str]] = {}
    for it in all_items:
        if it.carried_from:
            carried_sources.setdefault(it.carried_from, set()).add(it.meeting)
    present = {it.id for it in all_items}
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

