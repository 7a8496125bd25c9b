"""The facilitator rota, derived from a cohort's events, with the checks only the rota can make.

Every device computes the same rota from the same set of events, in any
order: it reads only the folded :class:`~circle.models.view.View`, which is
itself order-independent, and breaks every tie by (lamport, author, id) or by
member id. It runs in time linear in meetings, attendance marks and changes.

The rules, as people in a cohort expect them:

- Turns go round-robin over facilitator-eligible members (role ``peer``; if a
  cohort has none, its mentors) in the order they joined. A meeting already
  held goes round the members who were eligible when it was wrapped up; one
  not held yet, those eligible now. So a role changed, or a member admitted,
  after a meeting was held leaves who was rostered for it as it was; the round
  goes on from the last member who took a turn, in joined order.
- A member marked absent for a meeting (by themselves or a mentor), or away
  (for meetings not yet held), or removed, is skipped for that meeting and
  keeps no claim on it.
- A swap exchanges who holds two upcoming meetings' turns. Its author must
  hold one of them; it takes effect when the holder of the other accepts
  (``rota.swap_accepted``), at once when a mentor swaps.
- A member who gives a turn back exchanges it with the next upcoming turn held
  by someone else: that person takes this meeting, the giver takes theirs.
  Only the turn's holder gives it back.
- During a meeting the facilitator may hand the role to another member; a
  handoff counts only when its author held the role then (or is a mentor),
  and only to someone who was an active member then (for a meeting not held
  yet, who still is): removing them later does not undo a held meeting.
- A meeting is held when its facilitator then (or a mentor) wraps it up;
  a wrap-up that names someone else as facilitator does not count.

Changes that break a rule are reported to the view as held aside.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from circle.models.events import Event
    from circle.models.records import Meeting, Member
    from circle.models.view import View

ELIGIBLE_ROLE = "peer"
SUPERVISOR_ROLE = "mentor"
_START = (0, "", "")
Stamp = tuple[int, str, str]


@dataclass(frozen=True)
class Turn:
    """Who holds one meeting's facilitator turn.

    Attributes:
        meeting: the meeting id.
        at: when the meeting is (ISO text), for display.
        member: the member whose turn it is ("" when nobody is eligible).
        facilitated_by: who held the role at the end (after handoffs), or as attested when held.
        held: whether the meeting has been marked held.
        swapped: whether a swap moved this turn.
        note: why the turn moved, in a few words ("" when it did not).
    """

    meeting: str
    at: str
    member: str
    facilitated_by: str
    held: bool
    swapped: bool = False
    note: str = ""


@dataclass(frozen=True)
class Rota:
    """The whole rota of a cohort: one turn per meeting that is not cancelled."""

    eligible: tuple[str, ...]
    turns: tuple[Turn, ...]
    timelines: dict[str, tuple[tuple[tuple[int, str, str], str], ...]] = field(default_factory=dict, compare=False, repr=False)
    wrapups: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # meeting -> the wrap-up event that counts

    def wrapup(self, meeting_id: str) -> str:
        """The id of the event that wrapped a meeting up ("" while it is not held)."""
        return self.wrapups.get(meeting_id, "")

    def turn(self, meeting_id: str) -> Turn | None:
        return self._index.get(meeting_id)

    @cached_property
    def _index(self) -> dict[str, Turn]:
        return {t.meeting: t for t in self.turns}

    def facilitator(self, meeting_id: str) -> str:
        """Who facilitates a meeting now (turn holder, then handoffs), or who did when it was held."""
        t = self.turn(meeting_id)
        return t.facilitated_by if t else ""

    def holder_at(self, meeting_id: str, stamp: tuple[int, str, str]) -> str:
        """Who held the meeting's facilitator role just before ``stamp`` (the turn holder, then each handoff)."""
        line = self.timelines.get(meeting_id)
        return _holder(line, stamp) if line else ""

    def is_held(self, meeting_id: str) -> bool:
        t = self.turn(meeting_id)
        return bool(t and t.held)

    def upcoming(self) -> list[Turn]:
        return [t for t in self.turns if not t.held]


def eligible_members(view: View) -> list[Member]:
    """Facilitator-eligible members in rota order (joined order, then id); removed ones included."""
    members = view.members(include_removed=True)
    peers = [m for m in members if m.role == ELIGIBLE_ROLE]
    return peers or [m for m in members if m.role == SUPERVISOR_ROLE]


def _eligible(roles: list[str]) -> tuple[int, ...]:
    """Positions (in joined order) of the facilitator-eligible, given each member's role then ("" before they joined)."""
    peers = tuple(i for i, r in enumerate(roles) if r == ELIGIBLE_ROLE)
    return peers or tuple(i for i, r in enumerate(roles) if r == SUPERVISOR_ROLE)


class _Roster:
    """Who was facilitator-eligible, and who was an active member, at a point of the (lamport, author, id) order.

    The roster at a point is what the governance events that count, before it
    in that order, give (a role is their latest setting: an admission's, then
    each role change). Members are numbered in joined order, so a cycle is a
    sorted tuple of positions. Each cycle wanted is made once, in one walk over
    the role-setting events: linear in them and in the points asked for, times
    the number of members.
    """

    def __init__(self, view: View, points: Iterable[Stamp]) -> None:
        members = view.members(include_removed=True)  # joined order, then id: it never changes for a member
        self.order = [m.id for m in members]
        self.position = {mid: i for i, mid in enumerate(self.order)}
        self.now = tuple(self.position[m.id] for m in eligible_members(view))
        roles: list[Event] = []
        self._spells: dict[str, tuple[list[Stamp], list[bool]]] = {}  # member -> stamps of admissions and removals, and active after each
        for g in view.governance_events():
            if g.kind == "member.admitted" or (g.kind == "member.updated" and "role" in g.body):
                roles.append(g)
            if g.kind in ("member.admitted", "member.removed"):
                stamps, active = self._spells.setdefault(g.body["member"], ([], []))
                stamps.append(g.stamp)
                active.append(g.kind == "member.admitted")
        self._stamps = [g.stamp for g in roles]
        self._cycles: dict[int, tuple[int, ...]] = {len(roles): self.now}
        wanted = sorted({bisect_left(self._stamps, p) for p in points} - self._cycles.keys())
        role = [""] * len(self.order)
        done = 0
        for upto in wanted:
            for g in roles[done:upto]:
                i = self.position[g.body["member"]]
                if g.kind == "member.admitted" or role[i]:  # a role change of someone not admitted yet changes nothing
                    role[i] = g.body["role"]
            done = upto
            self._cycles[upto] = _eligible(role)

    def cycle(self, stamp: Stamp | None) -> tuple[int, ...]:
        """The eligible members (positions) just before ``stamp``; None: now."""
        return self.now if stamp is None else self._cycles[bisect_left(self._stamps, stamp)]

    def was_active(self, member_id: str, stamp: Stamp) -> bool:
        """Whether the member was admitted, and not removed since, just before ``stamp``."""
        spells = self._spells.get(member_id)
        if spells is None:
            return False
        i = bisect_left(spells[0], stamp)
        return i > 0 and spells[1][i - 1]


class _Turns:
    """The turns of every meeting, given which meetings are held; records what it refuses."""

    def __init__(self, view: View, meetings: list[Meeting], roster: _Roster, held: dict[str, tuple[int, str, str]]) -> None:
        self.view = view
        self.meetings = meetings
        self.held = held  # meeting -> stamp of its wrap-up
        self.roster = roster
        self.cycles = {m.id: roster.cycle(held.get(m.id)) for m in meetings}  # a held meeting's as of its wrap-up; others' now
        members = view.members(include_removed=True)
        self.names = {m.id: m.name for m in members}
        self.gone = {m.id for m in members if m.away or not m.active}
        self.removed = {m.id for m in members if not m.active}
        self.absent = {mid: {who for who, present in marks.items() if not present} for mid, marks in view.attendance_by_meeting(self_or_mentor=True).items()}
        self.position = {m.id: i for i, m in enumerate(meetings)}
        self.base: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.swapped: set[str] = set()
        self.refused: dict[str, tuple[Event, str]] = {}
        self._round_robin()
        self._changes()

    def _excluded(self, mid: str) -> set[str]:
        out = set(self.absent.get(mid, ()))
        if mid not in self.held:
            out |= self.gone
        return out

    def _round_robin(self) -> None:
        last = -1  # the position (joined order) of the last member who took a turn: the round goes on after them
        order = self.roster.order
        backdated = self.view.backdated()
        for mt in self.meetings:
            excluded = self._excluded(mt.id)
            if mt.id in backdated:  # its scheduler's; the round goes on without it
                self.base[mt.id] = "" if mt.creator in excluded else mt.creator
                self.notes[mt.id] = "dated before meetings already held"
                continue
            cycle = self.cycles[mt.id]
            n = len(cycle)
            start = bisect_right(cycle, last)
            pick = ""
            for step in range(n):
                k = cycle[(start + step) % n]
                cand = order[k]
                if cand in excluded:
                    self.notes.setdefault(mt.id, f"{self.names[cand]} skipped")
                    continue
                pick, last = cand, k
                break
            self.base[mt.id] = pick

    def _refuse(self, e: Event, why: str) -> None:
        self.refused[e.id] = (e, why)

    def _swap(self, a: str, b: str) -> None:
        self.base[a], self.base[b] = self.base[b], self.base[a]
        self.swapped |= {a, b}
        self.notes[a] = self.notes[b] = "swapped"

    def _was_held(self, mid: str, e: Event) -> bool:
        """Whether meeting ``mid`` had been wrapped up before ``e`` (its turn can no longer change)."""
        return mid in self.held and self.held[mid] < e.stamp

    def _changes(self) -> None:
        proposals: dict[str, Event] = {}
        for e in self.view.rota_changes():
            b = e.body
            if e.kind == "rota.swapped":
                a, c = b["meeting_a"], b["meeting_b"]
                if a not in self.base or c not in self.base or a == c or self._was_held(a, e) or self._was_held(c, e):
                    self._refuse(e, "swaps turns that are not two different upcoming meetings")
                elif self.view.is_mentor_event(e):
                    self._swap(a, c)
                elif e.author not in (self.base[a], self.base[c]):
                    self._refuse(e, "swaps a turn its author does not hold")
                else:
                    proposals[e.id] = e
            elif e.kind == "rota.swap_accepted":
                p = proposals.get(b["swap"])
                if p is None:
                    self._refuse(e, "accepts no open swap")
                    continue
                a, c = p.body["meeting_a"], p.body["meeting_b"]
                mine, other = (a, c) if self.base[a] == p.author else (c, a) if self.base[c] == p.author else ("", "")
                if not mine or self._was_held(a, e) or self._was_held(c, e):
                    self._refuse(e, "the swap's author no longer holds either turn, or one was held")
                elif e.author != self.base[other]:
                    self._refuse(e, "only the holder of the other turn accepts a swap")
                else:
                    self._swap(a, c)
                    del proposals[p.id]
            elif e.kind == "rota.given_back":
                self._give_back(e)

    def _give_back(self, e: Event) -> None:
        x = e.body["meeting"]
        if x not in self.base or self.base[x] != e.author or self._was_held(x, e):
            self._refuse(e, "gives back a turn its author does not hold")
            return
        # Walk on from x without copying the rest of the schedule: the next other holder is usually a turn or two away.
        later = (self.meetings[i].id for i in range(self.position[x] + 1, len(self.meetings)))
        y = next((mid for mid in later if self.base[mid] and self.base[mid] != e.author), None)
        name = self.names.get(e.author, "someone")
        if y is not None:
            self.base[x], self.base[y] = self.base[y], self.base[x]
            self.notes[x], self.notes[y] = f"{name} gave it back", "owed a turn"
            return
        excluded = self._excluded(x) | self.gone | {e.author}
        ids = [self.roster.order[k] for k in self.cycles[x]]
        n = len(ids)
        i = ids.index(e.author) if e.author in ids else -1
        self.base[x] = next((ids[(i + k) % n] for k in range(1, n + 1) if ids[(i + k) % n] not in excluded), "")
        self.notes[x] = f"{name} gave it back"

    def timelines(self) -> dict[str, tuple[tuple[tuple[int, str, str], str], ...]]:
        """Per meeting: who held the role from when (the turn holder from the start, then valid handoffs)."""
        out = {}
        by_meeting: dict[str, list[Event]] = {}
        for e in self.view.handoffs():
            by_meeting.setdefault(e.body["meeting"], []).append(e)
        for mt in self.meetings:
            holder = self.base[mt.id]
            line = [(_START, holder)]
            held = mt.id in self.held
            for e in by_meeting.get(mt.id, ()):
                to = e.body["to"]
                if not self.roster.was_active(to, e.stamp) or (not held and to in self.removed):  # one removed since leads no meeting to come
                    self._refuse(e, "hands the role to someone who is not an active member")
                elif e.author == holder or self.view.is_mentor_event(e):
                    holder = e.body["to"]
                    line.append((e.stamp, holder))
                else:
                    self._refuse(e, "hands over a role its author did not hold")
            out[mt.id] = tuple(line)
        return out


def _holder(line: tuple[tuple[tuple[int, str, str], str], ...], stamp: tuple[int, str, str]) -> str:
    if len(line) == 1:  # no handoff: the turn holder throughout
        return line[0][1]
    i = bisect_left(line, (stamp, ""))
    return line[max(i - 1, 0)][1]


def compute_rota(view: View) -> Rota:
    """The rota of a cohort, from its folded view (pure and deterministic)."""
    meetings = view.schedule()
    scheduled = {m.id for m in meetings}  # once, not once per wrap-up (that was quadratic in meetings)
    candidates = [e for e in view.held_candidates() if e.body["meeting"] in scheduled]
    roster = _Roster(view, (e.stamp for e in candidates))  # the cycle as of every wrap-up that may count
    # First without knowing which wrap-ups count (held meetings keep away members' turns), then with it.
    first_held: dict[str, tuple[int, str, str]] = {}
    for e in candidates:
        first_held.setdefault(e.body["meeting"], e.stamp)
    first = _Turns(view, meetings, roster, first_held)
    lines = first.timelines()
    recorded: dict[str, str] = {}
    held_at: dict[str, tuple[int, str, str]] = {}
    wrapups: dict[str, str] = {}
    refused: dict[str, tuple[Event, str]] = {}
    for e in candidates:
        mid = e.body["meeting"]
        holder = _holder(lines[mid], e.stamp)
        if e.author != holder and not view.is_mentor_event(e):
            refused[e.id] = (e, "only the meeting's facilitator, or a mentor, wraps it up")
        elif e.body.get("facilitator") and e.body["facilitator"] != holder:
            refused[e.id] = (e, "names as facilitator someone who was not")
        elif mid not in recorded:
            recorded[mid] = holder  # history is who held the role when the meeting was wrapped up
            held_at[mid] = e.stamp
            wrapups[mid] = e.id
    final = _Turns(view, meetings, roster, held_at)
    lines = final.timelines()
    for e, why in [*final.refused.values(), *refused.values()]:
        view.late_refusal(e, why)
    turns = tuple(
        Turn(mt.id, mt.at, final.base[mt.id], recorded.get(mt.id) or lines[mt.id][-1][1], mt.id in recorded, mt.id in final.swapped, final.notes.get(mt.id, ""))
        for mt in meetings
    )
    return Rota(tuple(roster.order[k] for k in roster.now), turns, lines, wrapups)
