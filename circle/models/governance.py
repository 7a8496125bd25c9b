"""Governance: who is a member, in which role, up to where in their journals, and which key epochs hold.

Every device settles governance from the same events with the same rules, so
an altered client can write what it likes and still change nothing it was not
entitled to. The rules (docs/FORMAT.md, "Authority"):

- The cohort is founded once: ``cohort.created`` counts only if the cohort
  id derives from its author, its journal and its nonce
  (:func:`cohort_id_for`); the founder's own admission follows it, as the
  first mentor.
- Admission, removal, roles and the charter: a mentor. Nobody changes their
  own role. A member's keys never change: a re-admission must carry the keys
  they were first admitted with, and a new journal.
- Each event is judged where its author stood: by the governance events its
  author had seen (its journal's citations, :func:`Settled.in_past`), and by
  removals and demotions that cut the author's journal before it.
- A removal cuts each of the member's journals exactly where the remover had
  seen it; nothing after the cut counts. Removals and demotions are judged
  where their author stood only, so concurrent removals never cancel each
  other: every member removed by a valid removal stays removed, whatever the
  order of delivery.
- A new identity for someone who lost their laptop without a recovery kit is
  admitted by a mentor with ``replaces``: the earlier identity, removed first.
- A member adds a device (another laptop: a new journal of theirs, written
  with the same identity) themselves; a device is removed (a lost laptop) by
  its member or a mentor, cutting that journal where the remover had seen it.
- A key epoch starts with an event of an active member that names exactly
  the active members it had seen as recipients, a commitment to the key, an
  epoch number above every epoch it had seen and the hash of one of them.

Events that fail are refused with a reason, never raised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from circle.models.citations import Seen as Cited
from circle.models.events import Event

LABEL_COHORT_ID = b"circle/v1/cohort-id"
GOVERNANCE_KINDS = frozenset(
    {
        "cohort.created",
        "cohort.charter_set",
        "member.admitted",
        "member.updated",
        "member.removed",
        "keys.epoch_started",
        "member.device_added",
        "member.device_removed",
    }
)
CHARTER_FIELDS = (
    "name",
    "purpose",
    "cadence",
    "meeting_minutes",
    "confidentiality",
    "feedback_norms",
    "mentees_per_mentor",
    "goal_nudge_weeks",
    "history",
)
# What a newcomer reads of epochs from before they joined when the charter's ``history`` is "joining": who is a
# member with which keys, the charter and its agreement, the schedule, the rota and attendance (what the fold needs
# to agree on the roster and the rota), never what was said. Sealed under each epoch's roster key (circle/store/keys.py).
ROSTER_KINDS = GOVERNANCE_KINDS | frozenset(
    {
        "cohort.seen",
        "meeting.scheduled",
        "meeting.updated",
        "meeting.phase_set",
        "meeting.handoff",
        "meeting.held",
        "rota.swapped",
        "rota.swap_accepted",
        "rota.given_back",
        "attendance.marked",
        "attendance.attested",
        "agreement.proposed",
        "agreement.signed",
        "credit.rule_set",
        "credit.cycle_set",
    }
)
MENTOR = "mentor"
MAX_ROUNDS = 6  # settling again with the cuts found; two rounds suffice unless removed members' admissions chain

Seen = Callable[[Event], Cited | dict[str, int]]  # what an event's journal had cited up to it: read with .get
CutFor = Callable[[Event, str, set[str]], int]  # (removal or role change, journal of the member, journals of other members) -> cut


def cohort_id_for(founder: str, journal: str, nonce: str) -> str:
    """The id of a cohort founded by ``founder`` in ``journal`` with ``nonce`` (all hex): nobody else can found it."""
    return hashlib.sha256(LABEL_COHORT_ID + bytes.fromhex(founder) + bytes.fromhex(journal) + bytes.fromhex(nonce)).hexdigest()[:32]


@dataclass
class MemberState:
    """One member as governance knows them (mutable while settling)."""

    id: str
    name: str
    role: str
    public: str
    profession: str = ""
    away: bool = False
    active: bool = True
    journals: list[str] = field(default_factory=list)
    joined: tuple[int, str, str] = (0, "", "")
    admitted_by: str = ""
    replica_paths: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # field -> stamp of the value kept
    devices: dict[str, str] = field(default_factory=dict)  # journal -> device name, for journals added as devices
    gone: set[str] = field(default_factory=set)  # journals of devices removed
    replaces: str = ""  # the earlier identity of this person (lost without a recovery kit), linked by a mentor
    readers: dict[str, str] = field(default_factory=dict)  # journal -> the reading keys (hex) of the device that writes it, where not the identity's

    def copy(self) -> MemberState:
        return MemberState(
            self.id,
            self.name,
            self.role,
            self.public,
            self.profession,
            self.away,
            self.active,
            list(self.journals),
            self.joined,
            self.admitted_by,
            dict(self.replica_paths),
            dict(self.stamps),
            dict(self.devices),
            set(self.gone),
            self.replaces,
            dict(self.readers),
        )


@dataclass(frozen=True)
class Epoch:
    """A key epoch that started validly."""

    key_id: str
    number: int
    recipients: frozenset[str]
    commit: str
    prev: str
    author: str
    stamp: tuple[int, str, str]
    excluded: frozenset[str] = frozenset()  # journals of removed devices its author had seen: its key was not wrapped to them
    roster: str = ""  # commitment to the epoch's roster key ("" for epochs started before roster keys existed)


@dataclass
class State:
    """What governance events folded so far say: the founder, members, epochs, the charter."""

    founder: str = ""
    founder_journal: str = ""
    members: dict[str, MemberState] = field(default_factory=dict)
    epochs: dict[str, Epoch] = field(default_factory=dict)
    charter: dict[str, tuple[tuple[int, str, str], Any]] = field(default_factory=dict)

    def copy(self) -> State:
        return State(self.founder, self.founder_journal, {k: m.copy() for k, m in self.members.items()}, dict(self.epochs), dict(self.charter))

    def active(self) -> set[str]:
        return {m.id for m in self.members.values() if m.active}

    def apply(self, e: Event) -> None:
        b = e.body
        if e.kind == "cohort.created":
            self.founder, self.founder_journal = e.author, e.journal
            for f in CHARTER_FIELDS:
                if f in b:
                    self._charter(f, e.stamp, b[f])
        elif e.kind == "cohort.charter_set":
            for f in CHARTER_FIELDS:
                if f in b:
                    self._charter(f, e.stamp, b[f])
        elif e.kind == "member.admitted":
            mid = b["member"]
            m = self.members.get(mid)
            if m is None:
                m = self.members[mid] = MemberState(mid, b["name"], b["role"], b["public"], b.get("profession", ""), joined=e.stamp, admitted_by=e.author)
                m.replaces = b.get("replaces", "")
            else:  # re-admitted: active again, in the role given now, with a new journal
                m.active, m.role, m.admitted_by = True, b["role"], e.author
                m.stamps["role"] = e.stamp
            m.stamps["admitted"] = e.stamp  # the newest admission (what a newcomer's keys start from)
            if b["journal"] not in m.journals:
                m.journals.append(b["journal"])
            m.replica_paths[b["journal"]] = b.get("replica_path", "")
            if b.get("reading"):  # joined from a second device of theirs: that device reads with keys of its own
                m.readers[b["journal"]] = b["reading"]
        elif e.kind == "member.removed":
            if b["member"] in self.members:  # a state of what one author had seen may lack an admission another had
                self.members[b["member"]].active = False
        elif e.kind == "member.device_added":
            m = self.members.get(b["member"])
            if m is not None and b["journal"] not in m.journals:
                m.journals.append(b["journal"])
                m.replica_paths[b["journal"]] = b.get("replica_path", "")
                m.devices[b["journal"]] = b.get("device", "")
                m.readers[b["journal"]] = b["reading"]
        elif e.kind == "member.device_removed":
            m = self.members.get(b["member"])
            if m is not None:
                m.gone.add(b["journal"])
        elif e.kind == "member.updated":
            m = self.members.get(b["member"])
            if m is None:
                return
            for f in ("name", "profession", "role", "away"):
                if f in b and e.stamp > m.stamps.get(f, (0, "", "")):
                    setattr(m, f, b[f])
                    m.stamps[f] = e.stamp
        elif e.kind == "keys.epoch_started":
            self.epochs[b["key_id"]] = Epoch(
                b["key_id"], b["epoch"], frozenset(b["recipients"]), b["commit"], b.get("prev", ""), e.author, e.stamp, roster=b.get("roster", "")
            )

    def _charter(self, f: str, stamp: tuple[int, str, str], value: Any) -> None:
        old = self.charter.get(f)
        if old is None or stamp > old[0]:
            self.charter[f] = (stamp, value)


@dataclass
class Settled:
    """Governance settled from a set of events.

    Attributes:
        state: the final state (valid events folded in stamp order).
        valid: the governance events that count, in stamp order.
        refused: event id -> why it does not count.
        cuts: journal id -> the last seq of that journal that counts (its owner was removed).
        role_changes: valid role changes in stamp order, each with where it cuts the member's journals.
        owners: journal id -> the member it belongs to.
        journal_roles: journal id -> the role its owner was admitted with for it.
    """

    state: State = field(default_factory=State)
    valid: list[Event] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    cuts: dict[str, int] = field(default_factory=dict)
    role_changes: list[tuple[Event, dict[str, int]]] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    journal_roles: dict[str, str] = field(default_factory=dict)

    def cut_at(self, journal: str, seq: int) -> bool:
        """Whether the event at ``seq`` of ``journal`` comes after a removal's cut."""
        cut = self.cuts.get(journal)
        return cut is not None and seq > cut

    def role_at(self, journal: str, seq: int) -> str:
        """The role of the journal's owner for its event at ``seq``: their admission role, then each role change from its cut on."""
        role = self.journal_roles.get(journal, "")
        owner = self.owners.get(journal)
        for ev, cuts in self.role_changes:
            if ev.body["member"] == owner and journal in cuts and cuts[journal] < seq:
                role = ev.body["role"]
        return role

    def counts(self, journal: str, seq: int) -> bool:
        """Whether an event at ``seq`` of ``journal`` is by a member, before any removal's cut."""
        return journal in self.owners and not self.cut_at(journal, seq)

    @staticmethod
    def in_past(g: Event, e: Event, seen: Cited | dict[str, int]) -> bool:
        """Whether ``g`` is among what ``e``'s author had seen when writing ``e``."""
        if g.journal == e.journal:
            return g.seq < e.seq
        return g.seq <= seen.get(g.journal, 0)


def _restrictive(e: Event, s: State) -> bool:
    """Removals and demotions: judged where their author stood only, never cut by what happened concurrently."""
    if e.kind in ("member.removed", "member.device_removed"):
        return True
    if e.kind == "member.updated" and "role" in e.body:
        target = s.members.get(e.body["member"])
        return target is not None and target.role == MENTOR and e.body["role"] != MENTOR
    return False


class _Pass:
    """One settling pass over governance events in stamp order."""

    def __init__(self, order: list[Event], seen: Seen, cohort_id: str, known: Settled | None, cut_for: CutFor | None) -> None:
        self.order = order
        self.seen = seen
        self.cut_for = cut_for or (lambda change, j, _protectors: self.seen(change).get(j, 0))
        self.cohort_id = cohort_id
        self.out = Settled()
        if known is not None:  # cuts and demotions found by the previous pass count from the start of this one
            self.out.cuts = dict(known.cuts)
            self.out.role_changes = list(known.role_changes)
        self._changes = {ev.id for ev, _ in self.out.role_changes}

    def run(self) -> Settled:
        running = State()
        newest: dict[str, int] = {}  # journal -> newest seq of a valid event so far
        for e in self.order:
            seen = self.seen(e)
            sequential = all((seq < e.seq) if j == e.journal else (seq <= seen.get(j, 0)) for j, seq in newest.items())
            past = running if sequential else self._fold(e, seen)
            reason = self._check(e, past, running, seen)
            if reason is not None:
                self.out.refused[e.id] = reason
                continue
            self._effects(e, past, seen)
            self.out.valid.append(e)
            running.apply(e)
            if e.kind == "keys.epoch_started":
                running.epochs[e.body["key_id"]] = replace(
                    running.epochs[e.body["key_id"]], excluded=frozenset(j for m in past.members.values() for j in m.gone)
                )
            newest[e.journal] = max(newest.get(e.journal, 0), e.seq)
            if e.kind == "member.admitted" and e.body["journal"] not in self.out.owners:
                self.out.owners[e.body["journal"]] = e.body["member"]
                self.out.journal_roles[e.body["journal"]] = e.body["role"]
            elif e.kind == "member.device_added" and e.body["journal"] not in self.out.owners:
                self.out.owners[e.body["journal"]] = e.body["member"]
                self.out.journal_roles[e.body["journal"]] = past.members[e.body["member"]].role
        self.out.state = running
        self.out.role_changes.sort(key=lambda c: c[0].stamp)
        return self.out

    def _fold(self, e: Event, seen: Cited | dict[str, int]) -> State:
        s = State()
        for g in self.out.valid:
            if Settled.in_past(g, e, seen):
                s.apply(g)
        return s

    def _effects(self, e: Event, past: State, seen: Cited | dict[str, int]) -> None:
        """Where a removal or a role change cuts the member's journals: where its author had seen each."""
        target = past.members.get(e.body.get("member", ""))
        if target is not None and e.kind == "member.device_removed":  # one journal cut, where the remover had seen it
            protectors = {j for m in past.members.values() if m.active for j in m.journals if j != e.body["journal"]}
            j = e.body["journal"]
            c = self.cut_for(e, j, protectors)
            self.out.cuts[j] = min(self.out.cuts.get(j, c), c)
            return
        if target is None or e.kind not in ("member.removed", "member.updated") or (e.kind == "member.updated" and "role" not in e.body):
            return
        protectors = {j for m in past.members.values() if m.active and m.id != target.id for j in m.journals}
        cuts = {j: self.cut_for(e, j, protectors) for j in target.journals}
        if e.kind == "member.removed":
            for j, c in cuts.items():
                self.out.cuts[j] = min(self.out.cuts.get(j, c), c)
        elif e.id not in self._changes:
            self.out.role_changes.append((e, cuts))
            self._changes.add(e.id)

    def _mentor_then(self, e: Event, author: MemberState, restrictive: bool, seen: Cited | dict[str, int]) -> bool:
        """A mentor where the author stood; for what only widens rights, not after a demotion's cut either."""
        if author.role != MENTOR:
            return False
        if restrictive:
            return True
        return not any(
            ev.body["member"] == author.id and ev.body["role"] != MENTOR and cuts.get(e.journal, e.seq) < e.seq and not Settled.in_past(ev, e, seen)
            for ev, cuts in self.out.role_changes
        )

    def _check(self, e: Event, past: State, running: State, seen: Cited | dict[str, int]) -> str | None:
        b = e.body
        if e.kind == "cohort.created":
            if running.founder:
                return "the cohort was founded already"
            if e.cohort != cohort_id_for(e.author, e.journal, b["nonce"]):
                return "not this cohort's founding event"
            return None
        if not past.founder:
            return "written before its author had seen the cohort founded"
        if e.kind == "member.admitted" and not past.members and e.author == past.founder and b["member"] == e.author:
            if e.journal != past.founder_journal:
                return "the founder admits themselves from the founding journal"
            if b["role"] != MENTOR:
                return "the founder is the first mentor"
            return self._admission(e, past, running)
        author = past.members.get(e.author)
        if author is None or not author.active:
            return "its author was not a member then"
        if e.journal not in author.journals:
            return "not written in its author's journal"
        if e.journal in author.gone:
            return "written from a device its member no longer uses (it was removed)"
        restrictive = _restrictive(e, past)
        if not restrictive and self.out.cut_at(e.journal, e.seq):
            return "written after its author was removed"
        mentor = self._mentor_then(e, author, restrictive, seen)
        if e.kind == "member.admitted":
            if not mentor:
                return "only a mentor admits members"
            return self._admission(e, past, running)
        if e.kind == "member.removed":
            target = past.members.get(b["member"])
            if not mentor:
                return "only a mentor removes members"
            if target is None or not target.active:
                return "removes someone who was not an active member"
            if target.id == e.author:
                return "nobody removes themselves this way"
            return None
        if e.kind == "member.updated":
            target = past.members.get(b["member"])
            if target is None:
                return "updates someone who is not a member"
            if "role" in b:
                if target.id == e.author:
                    return "nobody changes their own role"
                if not mentor:
                    return "only a mentor changes roles"
            elif target.id != e.author and not mentor:
                return "only the member themselves or a mentor changes their details"
            return None
        if e.kind == "member.device_added":
            if b["member"] != e.author:
                return "only the member themselves adds a device of theirs"
            if b["journal"] in self.out.owners or any(b["journal"] in m.journals for m in running.members.values()):
                return "names a journal that is someone else's or used before"
            return None
        if e.kind == "member.device_removed":
            target = past.members.get(b["member"])
            if target is None or b["journal"] not in target.devices and b["journal"] not in target.journals:
                return "removes a device that is not that member's"
            if target.id != e.author and not mentor:
                return "only the member themselves or a mentor removes a device"
            if b["journal"] == e.journal:
                return "a device does not remove itself"
            if not (set(target.journals) - target.gone - {b["journal"]}):
                return "removes the member's last device: remove the member instead"
            return None
        if e.kind == "cohort.charter_set":
            return None if mentor else "only a mentor changes the charter"
        if e.kind == "keys.epoch_started":
            return self._epoch(e, past, running)
        return f"not a governance event: {e.kind}"

    def _admission(self, e: Event, past: State, running: State) -> str | None:
        b = e.body
        mid = b["member"]
        if not b["public"].startswith(mid):
            return "the member id is not the one in their public keys"
        if mid in past.members and past.members[mid].active:
            return "already an active member"
        known = past.members.get(mid) or running.members.get(mid)
        if known is not None and known.public != b["public"]:
            return "a member's keys never change: a re-admission carries the keys first admitted"
        if b["journal"] in self.out.owners:
            return "names a journal that is someone else's or used before"
        if old := b.get("replaces"):
            earlier = past.members.get(old)
            if earlier is None or old == mid:
                return "links to an earlier identity that is not a member's"
            if earlier.active:
                return "links to an earlier identity that is still active: it is removed first"
            if any(m.replaces == old for m in running.members.values() if m.id != mid):
                return "that earlier identity is linked to someone else already"
            if known is not None and known.replaces != old:
                return "a member's link to an earlier identity never changes"
        return None

    def _epoch(self, e: Event, past: State, running: State) -> str | None:
        b = e.body
        if sorted(b["recipients"]) != sorted(past.active()):
            return "its recipients are not the active members its author had seen"
        if b["key_id"] in running.epochs:
            return "reuses a key id"
        highest = max((ep.number for ep in past.epochs.values()), default=0)
        if b["epoch"] <= highest:
            return "its number is not above every epoch its author had seen"
        prevs = {ep.commit for ep in past.epochs.values()}
        if prevs and b.get("prev", "") not in prevs:
            return "does not bind an epoch its author had seen"
        return None


def settle(events: Iterable[Event], seen: Seen, cohort_id: str, cut_for: CutFor | None = None) -> Settled:
    """Settle governance from schema-checked events of one cohort (any order, duplicates ignored).

    A pass learns cuts and demotions as it meets them in stamp order; what
    an altered client wrote with an early lamport clock after its own cut is
    caught by passing again with everything the previous pass found.
    """
    order = sorted({e.id: e for e in events}.values(), key=lambda e: e.stamp)
    known: Settled | None = None
    result = Settled()
    for _ in range(MAX_ROUNDS):
        result = _Pass(order, seen, cohort_id, known, cut_for).run()
        if known is not None and [e.id for e in result.valid] == [e.id for e in known.valid]:
            break
        known = result
    return result


def current_epoch(s: Settled) -> Epoch | None:
    """The epoch new events are sealed with: the newest whose recipients include nobody removed, started by someone
    who had seen every removal of a member's device.

    None when every epoch still names a removed member or was started without
    seeing a device's removal (concurrent removals): a member must start a new
    one before writing.
    """
    removed = {m.id for m in s.state.members.values() if not m.active}
    gone = {j for m in s.state.members.values() if m.active for j in m.gone}
    clean = [ep for ep in s.state.epochs.values() if not (ep.recipients & removed) and gone <= ep.excluded]
    if not clean:
        return None
    return min(clean, key=lambda ep: (-ep.number, ep.stamp))  # concurrent starts of one number: the earliest
