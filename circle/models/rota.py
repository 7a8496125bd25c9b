"""The facilitator rota, derived from a cohort's events.

Every device computes the same rota from the same set of events, in any
order: the computation reads only the folded :class:`~circle.models.view.View`,
which is itself order-independent, and breaks every tie by (lamport, author,
id) or by member id.

The rules, as people in a cohort expect them:

- Turns go round-robin over facilitator-eligible members (role ``peer``; if a
  cohort has none, its mentors) in the order they joined.
- A member marked absent for a meeting, or away (for meetings not yet held),
  or removed, is skipped for that meeting and keeps no claim on it.
- A swap exchanges who holds two meetings' turns (it never touches the cycle).
- A member who gives a turn back exchanges it with the next upcoming turn held
  by someone else: that person takes this meeting, the giver takes theirs.
  Swaps and give-backs apply in (lamport, author, id) order.
- During a meeting the facilitator may hand the role to another member; a
  handoff counts only when its author held the role (or is a mentor).
"""

from __future__ import annotations

from dataclasses import dataclass

from circle.models.view import Meeting, Member, View

ELIGIBLE_ROLE = "peer"
SUPERVISOR_ROLE = "mentor"


@dataclass(frozen=True)
class Turn:
    """Who holds one meeting's facilitator turn.

    Attributes:
        meeting: the meeting id.
        at: when the meeting is (ISO text), for display.
        member: the member whose turn it is ("" when nobody is eligible).
        facilitated_by: who actually held the role at the end (after handoffs).
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

    def turn(self, meeting_id: str) -> Turn | None:
        return next((t for t in self.turns if t.meeting == meeting_id), None)

    def facilitator(self, meeting_id: str) -> str:
        """Who facilitates a meeting now (turn holder, then handoffs)."""
        t = self.turn(meeting_id)
        return t.facilitated_by if t else ""

    def upcoming(self) -> list[Turn]:
        return [t for t in self.turns if not t.held]


def eligible_members(view: View) -> list[Member]:
    """Facilitator-eligible members in rota order (joined order, then id); removed ones included."""
    members = view.members(include_removed=True)
    peers = [m for m in members if m.role == ELIGIBLE_ROLE]
    return peers or [m for m in members if m.role == SUPERVISOR_ROLE]


def _absent(view: View, meeting: Meeting) -> set[str]:
    return {mid for mid, present in view.attendance(meeting.id).items() if not present}


def apply_handoffs(view: View, meeting_id: str, start: str) -> str:
    """Who holds the role after the meeting's handoffs, in (lamport, author, id) order.

    A handoff counts when its author held the role at that point or is a
    supervising mentor, and it names an active member.
    """
    holder = start
    for e in view.handoffs(meeting_id):
        to = e.body.get("to")
        author = view.member(e.author)
        target = view.member(to) if isinstance(to, str) else None
        if target is None or not target.active:
            continue
        if e.author == holder or (author is not None and author.role == SUPERVISOR_ROLE):
            holder = to
    return holder


def compute_rota(view: View) -> Rota:
    """The rota of a cohort, from its folded view (pure and deterministic)."""
    cycle = eligible_members(view)
    ids = [m.id for m in cycle]
    by_id = {m.id: m for m in cycle}
    changes = view.rota_changes()
    meetings = [m for m in view.meetings() if not m.cancelled]
    base: dict[str, str] = {}
    notes: dict[str, str] = {}
    pointer = 0
    for mt in meetings:
        excluded = _absent(view, mt)
        if not mt.held:
            excluded |= {m.id for m in cycle if m.away or not m.active}
        pick = ""
        for step in range(len(ids)):
            cand = ids[(pointer + step) % len(ids)]
            if cand in excluded:
                notes.setdefault(mt.id, f"{by_id[cand].name} skipped")
                continue
            pick = cand
            pointer = (pointer + step + 1) % len(ids)
            break
        base[mt.id] = pick
    # Swaps and give-backs, in (lamport, author, id) order. A swap exchanges two
    # meetings' turns; giving a turn back exchanges it with the next turn held by
    # someone else (they take mine, I take theirs).
    swapped: set[str] = set()
    held = {m.id for m in meetings if m.held}
    order = [m.id for m in meetings]
    for e in changes:
        if e.kind == "rota.swapped":
            a, b = e.body.get("meeting_a"), e.body.get("meeting_b")
            if a in base and b in base and a != b:
                base[a], base[b] = base[b], base[a]
                swapped |= {a, b}
                notes[a] = notes[b] = "swapped"
        elif e.kind == "rota.given_back":
            x = e.body.get("meeting")
            if x not in base or base[x] != e.author:
                continue
            later = order[order.index(x) + 1 :]
            y = next((m for m in later if base[m] and base[m] != e.author), None)
            if y is not None:
                base[x], base[y] = base[y], base[x]
                notes[x] = f"{by_id[e.author].name} gave it back"
                notes[y] = "owed a turn"
            else:
                mt = next(m for m in meetings if m.id == x)
                excluded = _absent(view, mt) | {m.id for m in cycle if m.away or not m.active} | {e.author}
                i = ids.index(e.author) if e.author in ids else -1
                nxt = next((ids[(i + k) % len(ids)] for k in range(1, len(ids) + 1) if ids[(i + k) % len(ids)] not in excluded), "")
                base[x] = nxt
                notes[x] = f"{by_id[e.author].name} gave it back"
    recorded: dict[str, str] = {}
    for e in sorted(view.held_facts(), key=lambda e: e.stamp):
        f = e.body.get("facilitator")
        if isinstance(f, str) and f and view.member(f) is not None:
            recorded[e.body.get("meeting")] = f  # history is what was attested when the meeting was held
    turns = []
    for mt in meetings:
        who = base[mt.id]
        turns.append(
            Turn(
                meeting=mt.id,
                at=mt.at,
                member=who,
                facilitated_by=recorded.get(mt.id) or apply_handoffs(view, mt.id, who),
                held=mt.id in held,
                swapped=mt.id in swapped,
                note=notes.get(mt.id, ""),
            )
        )
    return Rota(eligible=tuple(ids), turns=tuple(turns))
