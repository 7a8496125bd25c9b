"""The facilitator rota computed the simple way: the reference the fast one in circle/models/rota.py must agree with.

This is ``circle/models/rota.py`` at commit 8b4f6d0 (it rebuilt the set of
meeting ids once per wrap-up and copied the rest of the schedule for every
give-back, so it was quadratic in meetings: about 1 s at 1,000 meetings
held), with the rule that a held meeting goes round the members eligible
when it was wrapped up, stated as plainly as it can be: for every meeting
held, fold the governance events before its wrap-up again from nothing
(:func:`roster_before`), and for every handoff the same before the handoff.
The round goes on after the last member who took a turn, in joined order.
The property tests in ``tests/unit/test_rota.py`` and ``bench/bench_fold.py``
run both on the same histories.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING

from circle.models.governance import State
from circle.models.rota import ELIGIBLE_ROLE, SUPERVISOR_ROLE, Rota, Turn

if TYPE_CHECKING:
    from circle.models.events import Event
    from circle.models.records import Meeting
    from circle.models.view import View

_START = (0, "", "")


def roster_before(view: View, stamp: tuple[int, str, str] | None) -> State:
    """The roster as the governance events that count before ``stamp`` give it (None: all of them), folded from nothing."""
    s = State()
    for g in view.governance_events():
        if stamp is None or g.stamp < stamp:
            s.apply(g)
    return s


def eligible_then(view: View, stamp: tuple[int, str, str] | None) -> list[str]:
    """Facilitator-eligible members just before ``stamp`` (None: now) in rota order (joined order, then id); removed ones included."""
    members = sorted(roster_before(view, stamp).members.values(), key=lambda m: (m.joined[0], m.id))
    peers = [m.id for m in members if m.role == ELIGIBLE_ROLE]
    return peers or [m.id for m in members if m.role == SUPERVISOR_ROLE]


class _Turns:
    """The turns of every meeting, given which meetings are held; records what it refuses."""

    def __init__(self, view: View, meetings: list[Meeting], held: dict[str, tuple[int, str, str]]) -> None:
        self.view = view
        self.meetings = meetings
        self.held = held  # meeting -> stamp of its wrap-up
        self.cycles = {m.id: eligible_then(view, held.get(m.id)) for m in meetings}  # held: as of its wrap-up; others: now
        self.ids = eligible_then(view, None)
        everyone = view.members(include_removed=True)
        self.joined = {m.id: (m.joined_lamport, m.id) for m in everyone}
        self.names = {m.id: m.name for m in everyone}
        self.gone = {m.id for m in everyone if m.away or not m.active}
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
        last = None  # the last member who took a turn
        backdated = self.view.backdated()
        for mt in self.meetings:
            excluded = self._excluded(mt.id)
            if mt.id in backdated:  # its scheduler's; the round goes on without it
                self.base[mt.id] = "" if mt.creator in excluded else mt.creator
                self.notes[mt.id] = "dated before meetings already held"
                continue
            cycle = self.cycles[mt.id]
            if last is not None:  # those who joined after the last to take a turn, then the others from the start
                cycle = [m for m in cycle if self.joined[m] > self.joined[last]] + [m for m in cycle if self.joined[m] <= self.joined[last]]
            pick = ""
            for cand in cycle:
                if cand in excluded:
                    self.notes.setdefault(mt.id, f"{self.names[cand]} skipped")
                    continue
                pick = last = cand
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
        later = self.meetings[self.position[x] + 1 :]
        y = next((m.id for m in later if self.base[m.id] and self.base[m.id] != e.author), None)
        name = self.names.get(e.author, "someone")
        if y is not None:
            self.base[x], self.base[y] = self.base[y], self.base[x]
            self.notes[x], self.notes[y] = f"{name} gave it back", "owed a turn"
            return
        excluded = self._excluded(x) | self.gone | {e.author}
        ids = self.cycles[x]
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
            for e in by_meeting.get(mt.id, ()):
                then = roster_before(self.view, e.stamp).members.get(e.body["to"])  # a member then; for a meeting to come, still now
                if then is None or not then.active or (mt.id not in self.held and not self.view.member(e.body["to"]).active):
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
    candidates = [e for e in view.held_candidates() if e.body["meeting"] in {m.id for m in meetings}]
    # First without knowing which wrap-ups count (held meetings keep away members' turns), then with it.
    first_held: dict[str, tuple[int, str, str]] = {}
    for e in candidates:
        first_held.setdefault(e.body["meeting"], e.stamp)
    first = _Turns(view, meetings, first_held)
    lines = first.timelines()
    recorded: dict[str, str] = {}
    held_at: dict[str, tuple[int, str, str]] = {}
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
    final = _Turns(view, meetings, held_at)
    lines = final.timelines()
    for e, why in [*final.refused.values(), *refused.values()]:
        view.late_refusal(e, why)
    turns = tuple(
        Turn(mt.id, mt.at, final.base[mt.id], recorded.get(mt.id) or lines[mt.id][-1][1], mt.id in recorded, mt.id in final.swapped, final.notes.get(mt.id, ""))
        for mt in meetings
    )
    return Rota(tuple(final.ids), turns, lines)
