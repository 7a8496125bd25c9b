"""The in-memory view of a cohort: a deterministic fold over its events.

The fold is commutative and idempotent: the same set of events, in any order
and with duplicates, gives the same view. Editable fields are last-writer-wins
registers ordered by (lamport, author, event id); attested facts (notes,
attendance history, handoffs, anonymous lines) are kept in full. Events whose
author is not a member, or that a removal cut off, are held aside and never
shown; a membership change refolds everything, so arrival order cannot matter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from circle.models.events import Event

MEMBERSHIP_KINDS = frozenset({"cohort.created", "member.admitted", "member.removed"})
PHASES = ("check-in", "agenda", "feedback", "actions", "wrap-up")

# For each kind that edits a register: the entity type, the body key holding its
# id, and the fields a person may set with it.
_REGISTERS: dict[str, tuple[str, str | None, frozenset[str]]] = {
    "cohort.created": ("cohort", None, frozenset({"name", "purpose", "cadence", "meeting_minutes", "confidentiality", "feedback_norms"})),
    "cohort.charter_set": ("cohort", None, frozenset({"name", "purpose", "cadence", "meeting_minutes", "confidentiality", "feedback_norms"})),
    "member.admitted": ("member", "member", frozenset({"name", "profession", "role", "public", "journal", "replica_path"})),
    "member.updated": ("member", "member", frozenset({"name", "profession", "role", "away"})),
    "meeting.scheduled": ("meeting", "meeting", frozenset({"at", "title", "minutes"})),
    "meeting.updated": ("meeting", "meeting", frozenset({"at", "title", "minutes", "cancelled"})),
    "meeting.phase_set": ("meeting", "meeting", frozenset({"phase"})),
    "agenda.added": ("agenda", "item", frozenset({"meeting", "title", "owner", "minutes", "carried_from"})),
    "agenda.updated": ("agenda", "item", frozenset({"meeting", "title", "owner", "minutes", "status"})),
    "agenda.current_set": ("meeting", "meeting", frozenset({"current_item", "item_started"})),
    "action.added": ("action", "action", frozenset({"meeting", "title", "owner", "due"})),
    "action.updated": ("action", "action", frozenset({"title", "owner", "due", "status"})),
}
_FACT_KINDS = frozenset(
    {"note.added", "attendance.marked", "anon.line_added", "meeting.handoff", "meeting.held", "rota.swapped", "rota.given_back", "keys.epoch_started", "self.note_added"}
)


@dataclass(frozen=True)
class Cohort:
    id: str
    name: str = ""
    purpose: str = ""
    cadence: str = "fortnightly"
    meeting_minutes: int = 60
    confidentiality: str = ""
    feedback_norms: str = ""
    founder: str = ""


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    role: str
    profession: str = ""
    away: bool = False
    active: bool = True
    journal: str = ""
    public: str = ""
    replica_path: str = ""
    joined_lamport: int = 0


@dataclass(frozen=True)
class Meeting:
    id: str
    at: str
    title: str = ""
    minutes: int = 60
    phase: str = ""
    current_item: str = ""
    item_started: float = 0.0
    cancelled: bool = False
    held: bool = False
    facilitator: str = ""  # who held the role when the meeting was marked held
    lamport: int = 0


@dataclass(frozen=True)
class AgendaItem:
    id: str
    meeting: str
    title: str
    owner: str = ""
    minutes: int = 10
    status: str = "open"  # open, done, carried
    carried_from: str = ""
    lamport: int = 0


@dataclass(frozen=True)
class Action:
    id: str
    meeting: str
    title: str
    owner: str = ""
    due: str = ""
    status: str = "open"  # open, done, dropped
    lamport: int = 0


@dataclass(frozen=True)
class Note:
    id: str
    meeting: str
    item: str
    author: str
    text: str
    kind: str  # note or decision
    ts: float
    lamport: int


class View:
    """The folded state of one cohort, read by screens, CLI and exports."""

    def __init__(self, cohort_id: str) -> None:
        self.cohort_id = cohort_id
        self._events: dict[str, Event] = {}
        self._admissions: dict[str, Event] = {}  # every admission seen, valid yet or not
        self._reset()

    # ---- folding -------------------------------------------------------
    def _reset(self) -> None:
        self._reg: dict[tuple[str, str], dict[str, tuple[tuple[int, str, str], Any]]] = defaultdict(dict)
        self._facts: dict[str, dict[str, Event]] = defaultdict(dict)
        self._members: dict[str, tuple[str, int | None]] = {}  # id -> (journal, cut seq or None)
        self._founder = ""
        self._held_aside: set[str] = set()
        self.max_lamport = 0
        self._memo: dict[tuple, Any] = {}

    def __len__(self) -> int:
        return len(self._events)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._events

    @property
    def events(self) -> Iterable[Event]:
        return self._events.values()

    def apply(self, events: Iterable[Event]) -> int:
        """Fold events in; returns how many were new. Duplicates are ignored."""
        fresh = [e for e in events if e.id not in self._events and e.cohort == self.cohort_id]
        for e in fresh:
            self._events[e.id] = e
            if e.kind == "member.admitted":
                self._admissions[e.id] = e
        if not fresh:
            return 0
        self._memo.clear()
        if self._held_aside or any(e.kind in MEMBERSHIP_KINDS for e in fresh):
            self._refold()
        else:
            for e in fresh:
                self._fold_one(e)
        return len(fresh)

    def _refold(self) -> None:
        self._reset()
        ordered = sorted(self._events.values(), key=lambda e: e.stamp)
        for e in ordered:  # membership first: who may write, and up to where
            if e.kind in MEMBERSHIP_KINDS:
                self._fold_membership(e)
        for e in ordered:
            self._fold_one(e)

    def _fold_membership(self, e: Event) -> None:
        if e.kind == "cohort.created" and not self._founder:
            self._founder = e.author
            self._members[e.author] = (e.journal, None)
            return
        if e.author not in self._members or not self._allowed(e):
            return
        if e.kind == "member.admitted":
            mid = e.body.get("member")
            if isinstance(mid, str) and mid not in self._members:
                self._members[mid] = (str(e.body.get("journal", "")), None)
        elif e.kind == "member.removed":
            mid, cut = e.body.get("member"), e.body.get("cut_seq")
            if mid in self._members and mid != e.author and isinstance(cut, int):
                journal, old = self._members[mid]
                self._members[mid] = (journal, cut if old is None else min(old, cut))

    def _allowed(self, e: Event) -> bool:
        m = self._members.get(e.author)
        if m is None:
            return False
        journal, cut = m
        return e.journal == journal and (cut is None or e.seq <= cut)

    def _fold_one(self, e: Event) -> None:
        if not self._allowed(e):
            self._held_aside.add(e.id)
            return
        self._held_aside.discard(e.id)
        self.max_lamport = max(self.max_lamport, e.lamport)
        spec = _REGISTERS.get(e.kind)
        if spec is not None:
            etype, id_key, fields = spec
            eid = self.cohort_id if id_key is None else e.body.get(id_key)
            if not isinstance(eid, str):
                return
            reg = self._reg[(etype, eid)]
            self._set(reg, "_created", e.stamp, e.lamport, keep_min=True)
            if e.kind == "cohort.created":
                self._set(reg, "founder", e.stamp, e.author)
            for name in fields & e.body.keys():
                self._set(reg, name, e.stamp, e.body[name])
        if e.kind in _FACT_KINDS:
            self._facts[e.kind][e.id] = e

    @staticmethod
    def _set(reg: dict, name: str, stamp: tuple, value: Any, keep_min: bool = False) -> None:
        old = reg.get(name)
        if old is None or (stamp < old[0] if keep_min else stamp > old[0]):
            reg[name] = (stamp, value)

    def _fields(self, etype: str, eid: str) -> dict[str, Any]:
        return {k: v for k, (_, v) in self._reg.get((etype, eid), {}).items()}

    def _ids(self, etype: str) -> list[str]:
        return [eid for (t, eid) in self._reg if t == etype]

    def _sorted_facts(self, kind: str) -> list[Event]:
        return sorted(self._facts.get(kind, {}).values(), key=lambda e: e.stamp)

    # ---- queries -------------------------------------------------------
    @property
    def held_aside(self) -> int:
        """Events not shown because their author is unknown or was cut off."""
        return len(self._held_aside)

    def cohort(self) -> Cohort:
        f = self._fields("cohort", self.cohort_id)
        f.pop("_created", None)
        return Cohort(id=self.cohort_id, **{k: v for k, v in f.items() if k in Cohort.__dataclass_fields__})

    def members(self, include_removed: bool = False) -> list[Member]:
        key = ("members", include_removed)
        if key not in self._memo:
            self._memo[key] = self._members_list(include_removed)
        return list(self._memo[key])

    def _members_list(self, include_removed: bool) -> list[Member]:
        out = []
        for mid in self._ids("member"):
            if mid not in self._members:
                continue
            f = self._fields("member", mid)
            active = self._members[mid][1] is None
            if not active and not include_removed:
                continue
            out.append(
                Member(
                    id=mid,
                    name=str(f.get("name", "?")),
                    role=str(f.get("role", "participant")),
                    profession=str(f.get("profession", "")),
                    away=bool(f.get("away", False)),
                    active=active,
                    journal=str(f.get("journal", "")),
                    public=str(f.get("public", "")),
                    replica_path=str(f.get("replica_path", "")),
                    joined_lamport=int(f.get("_created", 0)),
                )
            )
        return sorted(out, key=lambda m: (m.joined_lamport, m.id))

    def member(self, member_id: str) -> Member | None:
        if "by_id" not in self._memo:
            self._memo["by_id"] = {m.id: m for m in self.members(include_removed=True)}
        return self._memo["by_id"].get(member_id)

    def name_of(self, member_id: str) -> str:
        m = self.member(member_id)
        return m.name if m else "someone"

    def meetings(self) -> list[Meeting]:
        if "meetings" not in self._memo:
            self._memo["meetings"] = self._meetings_list()
        return list(self._memo["meetings"])

    def _meetings_list(self) -> list[Meeting]:
        held = {e.body.get("meeting"): e for e in self._sorted_facts("meeting.held")}
        out = []
        for mid in self._ids("meeting"):
            f = self._fields("meeting", mid)
            if "at" not in f:
                continue
            h = held.get(mid)
            out.append(
                Meeting(
                    id=mid,
                    at=str(f["at"]),
                    title=str(f.get("title", "")),
                    minutes=int(f.get("minutes", 60)),
                    phase=str(f.get("phase", "")),
                    current_item=str(f.get("current_item", "")),
                    item_started=float(f.get("item_started", 0.0)),
                    cancelled=bool(f.get("cancelled", False)),
                    held=h is not None,
                    facilitator=str(h.body.get("facilitator", "")) if h else "",
                    lamport=int(f.get("_created", 0)),
                )
            )
        return sorted(out, key=lambda m: (m.at, m.id))

    def meeting(self, meeting_id: str) -> Meeting | None:
        return next((m for m in self.meetings() if m.id == meeting_id), None)

    def agenda(self, meeting_id: str | None = None) -> list[AgendaItem]:
        out = []
        for iid in self._ids("agenda"):
            f = self._fields("agenda", iid)
            if "meeting" not in f or (meeting_id is not None and f["meeting"] != meeting_id):
                continue
            out.append(
                AgendaItem(
                    id=iid,
                    meeting=str(f["meeting"]),
                    title=str(f.get("title", "")),
                    owner=str(f.get("owner", "")),
                    minutes=int(f.get("minutes", 10)),
                    status=str(f.get("status", "open")),
                    carried_from=str(f.get("carried_from", "")),
                    lamport=int(f.get("_created", 0)),
                )
            )
        return sorted(out, key=lambda i: (i.lamport, i.id))

    def actions(self, meeting_id: str | None = None) -> list[Action]:
        out = []
        for aid in self._ids("action"):
            f = self._fields("action", aid)
            if "title" not in f or (meeting_id is not None and f.get("meeting") != meeting_id):
                continue
            out.append(
                Action(
                    id=aid,
                    meeting=str(f.get("meeting", "")),
                    title=str(f["title"]),
                    owner=str(f.get("owner", "")),
                    due=str(f.get("due", "")),
                    status=str(f.get("status", "open")),
                    lamport=int(f.get("_created", 0)),
                )
            )
        return sorted(out, key=lambda a: (a.lamport, a.id))

    def notes(self, meeting_id: str | None = None, item_id: str | None = None) -> list[Note]:
        out = []
        for e in self._sorted_facts("note.added"):
            b = e.body
            if meeting_id is not None and b.get("meeting") != meeting_id:
                continue
            if item_id is not None and b.get("item") != item_id:
                continue
            out.append(Note(e.id, str(b.get("meeting", "")), str(b.get("item", "")), e.author, str(b.get("text", "")), str(b.get("kind", "note")), e.ts, e.lamport))
        return out

    def attendance(self, meeting_id: str) -> dict[str, bool]:
        """Who was marked present or absent at a meeting (latest mark wins)."""
        marks: dict[str, tuple[tuple, bool]] = {}
        for e in self._sorted_facts("attendance.marked"):
            if e.body.get("meeting") == meeting_id and isinstance(e.body.get("member"), str):
                marks[e.body["member"]] = (e.stamp, bool(e.body.get("present")))
        return {m: present for m, (_, present) in marks.items()}

    def anonymous_lines(self, meeting_id: str) -> list[str]:
        """The anonymous round: texts only, in an order that does not reveal authors."""
        lines = [str(e.body.get("text", "")) for e in self._sorted_facts("anon.line_added") if e.body.get("meeting") == meeting_id]
        return sorted(lines)

    def held_facts(self) -> list[Event]:
        """The attested "meeting held" facts, in fold order."""
        return self._sorted_facts("meeting.held")

    def handoffs(self, meeting_id: str | None = None) -> list[Event]:
        return [e for e in self._sorted_facts("meeting.handoff") if meeting_id is None or e.body.get("meeting") == meeting_id]

    def rota_changes(self) -> list[Event]:
        return sorted(self._sorted_facts("rota.swapped") + self._sorted_facts("rota.given_back"), key=lambda e: e.stamp)

    def mentioned_journals(self) -> dict[str, tuple[str, str]]:
        """Journals named by any admission seen, even one not yet valid: journal -> (public, replica path).

        A member admitted by someone whose own admission sits in a journal not
        fetched yet must still learn where to look; what is fetched folds only
        when the chain of admissions back to the founder holds.
        """
        out: dict[str, tuple[str, str]] = {}
        for e in sorted(self._admissions.values(), key=lambda e: e.stamp):
            j, pub = e.body.get("journal"), e.body.get("public")
            if isinstance(j, str) and isinstance(pub, str) and j:
                out.setdefault(j, (pub, str(e.body.get("replica_path", ""))))
            roster = e.body.get("roster")  # the admitter's roster, so a newcomer finds every journal
            if isinstance(roster, dict):
                for rj, v in roster.items():
                    if isinstance(rj, str) and isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v):
                        out.setdefault(rj, (v[0], v[1]))
        return out

    def fingerprint_material(self) -> bytes:
        """Roster material for a cohort-wide fingerprint everyone can compare."""
        return "\n".join(sorted(f"{m.id}:{m.public}" for m in self.members())).encode()

    def digest(self) -> dict[str, Any]:
        """A plain, comparable rendering of everything visible (for tests and sync checks)."""
        return {
            "cohort": self.cohort(),
            "members": self.members(include_removed=True),
            "meetings": self.meetings(),
            "agenda": self.agenda(),
            "actions": self.actions(),
            "notes": self.notes(),
            "attendance": {m.id: self.attendance(m.id) for m in self.meetings()},
            "anon": {m.id: self.anonymous_lines(m.id) for m in self.meetings()},
            "handoffs": [e.id for e in self.handoffs()],
            "rota": [e.id for e in self.rota_changes()],
            "held_aside": sorted(self._held_aside),
        }
