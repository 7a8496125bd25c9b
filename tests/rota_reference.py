"""The facilitator rota as circle first computed it: the simple reference the fast one in circle/models/rota.py must agree with.

This is ``circle/models/rota.py`` at commit 8b4f6d0, kept word for word but
for this docstring: it rebuilt the set of meeting ids once per wrap-up and
copied the rest of the schedule for every give-back, so it was quadratic in
meetings (about 1 s at 1,000 meetings held). The property tests in
``tests/unit/test_rota.py`` and ``bench/bench_rota.py`` run both on the same
histories.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING

from circle.models.rota import ELIGIBLE_ROLE, SUPERVISOR_ROLE, Rota, Turn

if TYPE_CHECKING:
    from circle.models.events import Event
    from circle.models.records import Meeting, Member
    from circle.models.view import View

_START = (0, "", "")


def eligible_members(view: View) -> list[Member]:
    """Facilitator-eligible members in rota order (joined order, then id); removed ones included."""
    members = view.members(include_removed=True)
    peers = [m for m in members if m.role == ELIGIBLE_ROLE]
    return peers or [m for m in members if m.role == SUPERVISOR_ROLE]


class _Turns:
    """The turns of every meeting, given which meetings are held; records what it refuses."""

    def __init__(self, view: View, meetings: list[Meeting], cycle: list[Member], held: dict[str, tuple[int, str, str]]) -> None:
        self.view = view
        self.meetings = meetings
        self.held = held  # meeting -> stamp of its wrap-up
        self.ids = [m.id for m in cycle]
        self.names = {m.id: m.name for m in cycle}
        self.gone = {m.id for m in cycle if m.away or not m.active}
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
        pointer, n = 0, len(self.ids)
        backdated = self.view.backdated()
        for mt in self.meetings:
            excluded = self._excluded(mt.id)
            if mt.id in backdated:  # its scheduler's; the round goes on without it
                self.base[mt.id] = "" if mt.creator in excluded else mt.creator
                self.notes[mt.id] = "dated before meetings already held"
                continue
            pick = ""
            for step in range(n):
                cand = self.ids[(pointer + step) % n]
                if cand in excluded:
                    self.notes.setdefault(mt.id, f"{self.names[cand]} skipped")
                    continue
                pick, pointer = cand, (pointer + step + 1) % n
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
        n = len(self.ids)
        i = self.ids.index(e.author) if e.author in self.ids else -1
        self.base[x] = next((self.ids[(i + k) % n] for k in range(1, n + 1) if self.ids[(i + k) % n] not in excluded), "")
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
                target = self.view.member(e.body["to"])
                if target is None or not target.active:
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
    cycle = eligible_members(view)
    meetings = view.schedule()
    candidates = [e for e in view.held_candidates() if e.body["meeting"] in {m.id for m in meetings}]
    # First without knowing which wrap-ups count (held meetings keep away members' turns), then with it.
    first_held: dict[str, tuple[int, str, str]] = {}
    for e in candidates:
        first_held.setdefault(e.body["meeting"], e.stamp)
    first = _Turns(view, meetings, cycle, first_held)
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
    final = _Turns(view, meetings, cycle, held_at)
    lines = final.timelines()
    for e, why in [*final.refused.values(), *refused.values()]:
        view.late_refusal(e, why)
    turns = tuple(
        Turn(mt.id, mt.at, final.base[mt.id], recorded.get(mt.id) or lines[mt.id][-1][1], mt.id in recorded, mt.id in final.swapped, final.notes.get(mt.id, ""))
        for mt in meetings
    )
    return Rota(tuple(final.ids), turns, lines)
