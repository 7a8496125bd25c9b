"""The folded view of a cohort: what every device shows, from the same events, under the same rules.

The fold is deterministic: the same set of events, in any order and with
duplicates, gives the same view. It is also where the cohort's rules live. An
event written by an altered client is untrusted input however well signed, so
each one is checked before it counts, on every device:

1. its body has the shape its kind needs (:mod:`circle.models.schema`), its
   lamport clock goes forward, and is no further ahead than its place in its
   journal and what its journal cites allow
   (:data:`~circle.models.events.CLOCK_PER_ENVELOPE`), and its citations only ever grow;
2. governance events (founding, admissions, removals, roles, the charter, key
   epochs) settle by :mod:`circle.models.governance`, judged where their author
   stood; a governance event waits while events it cites are not here yet;
3. every other event counts only from a member's journal and before any cut;
4. what depends on the meeting's facilitator (phases, the running item,
   wrap-up, attendance of others, edits) is checked against the rota
   (:mod:`circle.models.rota`) when it is read.

An event that fails is held aside with its reason (:meth:`View.refused`),
never folded and never raised. Editable fields are last-writer-wins on
(lamport, author, event id); attested facts (notes, attendance, handoffs) are
kept in full.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

from circle.models import schema
from circle.models.agreements import CHARTER, Agreement, fold_agreements
from circle.models.citations import Citations, Seen, histories
from circle.models.credits import CREDIT_KINDS, CreditBook, judge_credits
from circle.models.events import CLOCK_CEILING, CLOCK_PER_ENVELOPE, DEP_HASH_LEN, Dep, Elsewhere, Event, Later, said, text_of
from circle.models.goals import GOAL_KINDS, GoalBook, fold_goals
from circle.models.governance import GOVERNANCE_KINDS, MENTOR, ROSTER_KINDS, Epoch, Settled, current_epoch, settle
from circle.models.places import NOTE, Places
from circle.models.records import Action, AgendaItem, Cohort, Meeting, Member, Note, Redaction, Version
from circle.models.rota import Rota, compute_rota

PHASES = schema.PHASES
Stamp = tuple[int, str, str]


# Events that touch a meeting, an agenda item or an action, by the body key naming it.
_ENTITY = {
    "meeting.scheduled": "meeting",
    "meeting.updated": "meeting",
    "meeting.phase_set": "meeting",
    "agenda.current_set": "meeting",
    "meeting.held": "meeting",
    "meeting.handoff": "meeting",
    "agenda.added": "item",
    "agenda.updated": "item",
    "action.added": "action",
    "action.updated": "action",
}
_FACTS = frozenset(
    {
        "note.added",
        "note.edited",
        "entry.redacted",
        "agenda.extended",
        "attendance.marked",
        "rota.swapped",
        "rota.swap_accepted",
        "rota.given_back",
        "agreement.proposed",
        "agreement.signed",
        *CREDIT_KINDS,
        *GOAL_KINDS,
    }
)
# Other scopes and the joining exchange: never part of the shared view.
_IGNORED = frozenset(
    {
        "self.note_added",
        "member.join_requested",
        "keys.wrapped",
        "member.join_hello",
        "invite.offered",
        "invite.answered",
        "invite.refused",
        *schema.PRIVATE_KINDS,
    }
)
_ITEM_FIELDS = ("title", "owner", "minutes", "status")
_ACTION_FIELDS = ("title", "owner", "due", "status")


_JOURNAL_ORDER = attrgetter("journal", "seq")
_NEVER = float("-inf")
_BACKWARDS = "its clock does not go forward in its journal"
_BEYOND = "its clock is further ahead than its place in its journal and what it cites allow"
_WAIT = "waiting for envelopes it cites"  # not a refusal: see View._beyond


def _cite_up_to(cited: dict[str, int], deps: Iterable[Dep]) -> dict[str, int]:
    """``cited`` (journal -> newest seq cited) raised to what ``deps`` cite; returned."""
    for j, s, _h in deps:
        if s > cited.get(j, 0):
            cited[j] = s
    return cited


# Memoised reads a batch of one kind drops (see View._forget); a kind not here, or a mix, drops them all.
# The current item matters to where items go only in a held meeting (View._place): in one that is not, it moves the meeting's reads alone.
_KEPT_ON = {
    "meeting.phase_set": ("meetings", "order", "credits"),
    "agenda.current_set": ("meetings", "order", "started", "credits"),
    "agenda.extended": ("extensions", "all_items", "items", "hidden", "redactions", "actions"),
}


class _ByItem:
    """Accepted notes by agenda item: the events held as objects, and the places of those kept as columns."""

    __slots__ = ("_events", "_kept")

    def __init__(self) -> None:
        self._events: dict[str, list[Event]] = defaultdict(list)
        self._kept: dict[str, array[int]] = defaultdict(lambda: array("Q"))

    def add(self, e: Event | int, body: dict[str, Any]) -> None:
        if type(e) is int:
            self._kept[body.get("item", "")].append(e)
        else:
            self._events[body.get("item", "")].append(e)  # type: ignore[arg-type]

    def events(self, item_id: str, at: Places) -> list[Event]:
        kept = self._kept.get(item_id)
        return [*self._events.get(item_id, ()), *(at.events_at(kept) if kept else ())]


def _note_of(e: Event) -> Note:
    """A note as its ``note.added`` wrote it."""
    b = e.body
    return Note(e.id, b["meeting"], b.get("item", ""), e.author, text_of(e), b.get("kind", "note"), e.ts, e.lamport)


def _first_version(n: Note) -> Version:
    """A note's first version, read from the note as written (versions are kept only for notes edited since: most never are)."""
    return Version(n.id, n.author, n.ts, {"text": n.held, "kind": n.kind})


def _read(v: Version) -> Version:
    """A version with a text left in its journal read back (only a note's are ever left there)."""
    if type(v.fields.get("text")) is Elsewhere:
        return Version(v.event, v.author, v.ts, {**v.fields, "text": said(v.fields["text"])})
    return v


class View:
    """The folded state of one cohort, read by screens, the CLI and exports."""

    def __init__(self, cohort_id: str) -> None:
        self.cohort_id = cohort_id
        self._events: dict[str, Event] = {}
        self._at = Places(cohort_id)  # journal -> seq -> event, which bodies have their kind's shape, and most notes as columns
        self._newest: dict[str, tuple[int, str]] = {}  # journal -> (seq, id) of its newest event here
        self._extent: dict[str, int] = {}  # journal -> its newest position held, folded or not (its envelopes up to it are verified)
        self._by_journal: dict[str, list[Event]] = defaultdict(list)  # journal -> its events here (sorted by seq when read)
        self._unsorted: set[str] = set()
        self._came_in_order = True  # every journal's events came in seq order (see _refold)
        self._misshapen: dict[str, str] = {}  # event id -> what its body's shape is wrong with (the rest are marked in _at)
        self._cited_at: dict[str, float] = {}  # journal -> ts of its newest event with citations
        self._anonymous: dict[str, tuple[str, ...]] = {}  # meeting -> its round's lines (from outside every journal)
        # Verified envelopes this view does not fold (private channels, self notes, key wraps): (journal, seq) -> envelope id.
        # Members cite them like any other position, so a removal's cut covers a channel's messages its author had seen.
        self._opaque: dict[tuple[str, int], str] = {}
        self._newest_opaque: dict[str, tuple[int, str]] = {}
        # Roster-class events this device opened with an epoch's own key, not its roster key: event id -> key id.
        # Right for epochs from before roster keys; refused where the epoch commits to one (newcomers cannot read them).
        self._full: dict[str, str] = {}
        self.rounds_changed = 0  # bumped when the rounds' lines change: the view's length does not say so
        # Citation forks, kept up to date as events come (events, held positions and envelope ids only ever grow):
        self._fork_scan = 0  # events of _events (in the order they came) whose citations were checked
        self._fork_new: list[Event] = []  # events come since (not read from _events: touching 100k objects costs 3-14 ms)
        # journal -> (where the citation is: the citing event's place and the citation's, the fork)
        self._forks: dict[str, tuple[tuple[int, int], tuple[int, str, str, str]]] = {}
        # cited positions not held when checked -> (where the citation is, its hash, citing journal, citing event id)
        self._unheld: dict[tuple[str, int], list[tuple[tuple[int, int], str, str, str]]] = {}
        self._defer, self._due = 0, False  # inside folding_once; a fold again is owed when it ends
        self._reset()

    # ---- folding -------------------------------------------------------
    def _reset(self) -> None:
        self._gov = Settled()
        self._refused: dict[str, str] = {}
        self._waiting: dict[str, str] = {}  # governance event, or one whose clock needs envelopes it cites, -> what it waits for
        # journal -> how far its roster-class events have cited each other journal, kept only for a journal with citations
        # on another kind (an altered client): for the rest it is what Citations.running says
        self._carried: dict[str, dict[str, int]] = {}
        # Events waiting for their clock: (what they lack, the journals they cite short of what is held -> (cited, held then))
        self._clock_waits: list[tuple[int, dict[str, tuple[int, int]]]] = []
        # Per journal, the highest clock of its events that wait so, and what they cite: a later event must go past the one
        # and cite no less than the other to be taken, as it must once they pass, so that nothing taken now is refused then
        self._pending: dict[str, int] = {}
        self._pending_cites: dict[str, dict[str, int]] = {}
        self._waits_for: set[tuple[str, int]] = set()  # the positions they cite that are not here: what starts the fold again
        self._refused_to: dict[str, int] = {}  # journal -> the newest seq the checks refused or hold back
        self._entities: dict[str, dict[str, list[Event]]] = {"meeting": defaultdict(list), "item": defaultdict(list), "action": defaultdict(list)}
        self._facts: dict[str, list[Event]] = defaultdict(list)
        self._kept_notes: dict[str, array[int]] = defaultdict(lambda: array("Q"))  # meeting -> accepted notes kept as columns (places)
        self._by_meeting: dict[str, dict[str, list[Event]]] = defaultdict(lambda: defaultdict(list))  # kind -> meeting -> facts
        self._cites = Citations()
        self._lowest_cuts: dict[str, int] = {}  # journal -> the lowest cut of any removal or role change
        self._last: dict[str, tuple[int, int]] = {}  # journal -> (newest seq checked, its lamport)
        self._memo: dict[Any, Any] = {}
        self.max_lamport = 0

    def __len__(self) -> int:
        return len(self._events) + self._at.notes

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._events or bool(self._at.find((event_id,)))

    @property
    def events(self) -> Iterator[Event]:
        """Every event held, a journal at a time in seq order (notes kept as columns made again as they are met)."""
        for e in self._walk():
            yield self._at.event_at(e) if type(e) is int else e

    def _walk(self) -> Iterable[Event | int]:
        """Every event held, each journal's in seq order; a note kept as columns as its place (see :meth:`Places.walk`)."""
        events = self._events.values()
        if self._came_in_order:  # each journal's events in seq order: the order they came (and memory's order)
            return self._at.woven(events) if self._at.notes else events
        return self._at.walk(events) if self._at.notes else sorted(events, key=_JOURNAL_ORDER)

    def apply(self, events: Iterable[Event]) -> int:
        """Fold events in; returns how many were new. Duplicates and other cohorts' events are ignored."""
        known, cohort = self._events, self.cohort_id
        at, newest, by_journal, cited_at, last, cuts, opaque, refused_to, extent = (
            self._at,
            self._newest,
            self._by_journal,
            self._cited_at,
            self._last,
            self._lowest_cuts,
            self._opaque,
            self._refused_to,
            self._extent,
        )
        # Whether the fold must start again, decided in the same pass (none of it depends on the order of the events):
        # an event something waits for, a governance event, an event not after what its journal has folded, or one that
        # moves a cut. (Starting again for anything at all while something waits let one citation of a position that
        # never comes, from an altered client, make every note typed cost a whole fold.)
        refold, waits_for = self._due, self._waits_for  # due: the fold is folded again anyway (folding_once)
        fresh: list[Event] = []
        kept = array("Q")  # new notes kept as columns (their places): never held as objects past this loop
        row, marks, cur = [], bytearray(), ""
        for e in events:
            eid = e.id
            if eid in known or e.cohort != cohort or e.kind in _IGNORED:  # held already (or twice in ``events``: the first counts)
                continue
            journal, seq = e.journal, e.seq
            if journal != cur:  # events come a journal at a time, in seq order: the next place is at the end of its row
                row, marks, cur = *at.open(journal), journal
            if 0 <= seq < len(row) and row[seq] is NOTE and at.is_note(journal, seq, eid):
                continue  # a note held already, as columns
            if seq == len(row) and not at.far:
                row.append(e)
                marks.append(0)
                placed = True
            else:
                placed = at.hold(e)
            if placed and opaque and opaque.get((journal, seq), eid) != eid:
                self._fork_scan = -1  # a position judged by another envelope's id: citation forks are read again
            held = newest.get(journal)
            if seq > (held[0] if held else 0):
                newest[journal] = (seq, eid)
                if seq > extent.get(journal, 0):
                    extent[journal] = seq
            elif held is not None or journal in by_journal:  # held: its newest may be a note kept as columns (not in by_journal)
                self._unsorted.add(journal)
                self._came_in_order = False
            if not refold:
                done = last.get(journal)
                refold = (
                    e.kind in GOVERNANCE_KINDS
                    or seq <= (done[0] if done else 0)
                    or bool(waits_for and (journal, seq) in waits_for)
                    or bool(refused_to and seq < refused_to.get(journal, 0))  # it may let one refused after it leap less
                    or bool(cuts and self._moves_a_cut(e))
                    or eid in self._full
                )
            if placed and e.kind == "note.added" and at.keep_note(e):  # cites nothing: no citation index needs it
                kept.append(at.place(journal, seq))
                continue
            known[eid] = e
            fresh.append(e)
            by_journal[journal].append(e)
            if e.deps and e.ts > cited_at.get(journal, _NEVER):
                cited_at[journal] = e.ts
        if not fresh and not kept:
            return 0
        refold = refold or self._clock_may_pass()
        if self._fork_scan < 0:
            self._fork_scan, self._forks, self._unheld, self._fork_new = 0, {}, {}, list(known.values())
        else:
            self._fork_new += fresh  # in the order they came (as ``known`` holds them; a note kept as columns cites nothing)
        if refold:
            self._fold_again()
        else:
            batch: list[Event | int] = [*kept, *fresh]  # the notes kept at their places came first to them (a stable sort keeps that)
            batch.sort(key=self._journal_order)
            filed: list[Event | int] = []
            self._fold_contents(*self._checked(batch), filed)
            self._forget(batch, filed)
        return len(fresh) + len(kept)

    def _journal_order(self, e: Event | int) -> tuple[str, int]:
        return self._at.where(e) if type(e) is int else (e.journal, e.seq)

    def _forget(self, fresh: list[Event | int], notes: list[Event | int]) -> None:
        """Drop what ``fresh`` (folded without starting again) changes of the memoised reads.

        A batch of one kind the meeting room writes live keeps the reads that
        kind cannot change: new notes keep everything but the reads that list
        notes, where they are added (unless an edit or a redaction names one:
        it was refused while the note was not here); a phase, or the current
        item of a meeting that is not held, drops the meetings' reads only;
        more time for an item drops the items' reads, not the notes'. Anything
        else starts every read again. Either way the reads are what a fresh
        fold gives (tests/unit/test_view_incremental.py).
        """
        memo, at = self._memo, self._at
        kinds = {"note.added" if type(e) is int else e.kind for e in fresh} - {"cohort.seen"}  # a citation's carrier changes no read but the citations'
        kind = "cohort.seen" if not kinds else kinds.pop() if len(kinds) == 1 else ""
        if kind == "cohort.seen":
            pass
        elif kind == "note.added":
            ids = {at.kept_id(e) if type(e) is int else e.id for e in notes}
            if any(e.body["note"] in ids for e in self._facts["note.edited"]) or any(e.body["entry"] in ids for e in self._facts["entry.redacted"]):
                memo.clear()
                return
            by_item = memo.get("notes_by_item")
            for e in notes if by_item is not None else ():
                by_item.add(e, at.body_at(e) if type(e) is int else e.body)
        elif kind in _KEPT_ON and (kind != "agenda.current_set" or self._none_held(e.body["meeting"] for e in fresh if type(e) is not int)):
            for key in _KEPT_ON[kind]:
                memo.pop(key, None)
        else:
            memo.clear()
            return
        for key in ("refused", "forks", *(("histories", e.journal) for e in fresh if type(e) is not int)):
            memo.pop(key, None)

    def _none_held(self, meetings: Iterable[str]) -> bool:
        """Whether none of these meetings is held, as the memoised meetings say (False when they are not memoised)."""
        held = self._memo.get("meetings")
        if held is None:
            return False
        by_id = {m.id: m for m in held}
        return all(mid in by_id and not by_id[mid].held for mid in meetings)

    def _moves_a_cut(self, e: Event) -> bool:
        """Whether ``e`` cites a cut journal past its cut: what it saw may protect events there (see :meth:`_cut_for`)."""
        cuts = self._lowest_cuts
        return bool(cuts) and any(j in cuts and s > cuts[j] for j, s, _h in e.deps)

    @contextmanager
    def folding_once(self) -> Iterator[None]:
        """Within it, :meth:`apply`, :meth:`note_opaque` and :meth:`note_sealed_whole` take what they are given and
        fold everything again at most once, when it ends (nothing reads the view in between).

        A journal is folded as it is opened, and what it holds that the view
        does not fold (positions, roster-class events sealed whole) is known only
        after: told in that order, each could start the fold again.
        """
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
            if not self._defer and self._due:
                self._due = False
                self._memo.clear()
                self._refold()

    def _fold_again(self) -> None:
        self._memo.clear()
        if self._defer:
            self._due = True
        else:
            self._refold()

    def _refold(self) -> None:
        events, at = self._events, self._at
        self._reset()
        self._events, self._at = events, at
        # The checks need each journal's events in seq order, and nothing else: each journal is checked apart from
        # the others, and what is folded from the events does not depend on their order. When every journal's events
        # came in seq order, the order they came in is such an order; it is also the order they sit in memory, and
        # walking 100k events journal by journal instead (a sort) cost about a third of the checks in cache misses.
        ok, kept = self._checked(self._walk())
        governance = []
        for e in ok:
            if e.kind in GOVERNANCE_KINDS:
                missing = self._citations_here(e)
                if missing:
                    self._wait(e, missing)
                elif e.id not in self._refused:
                    governance.append(e)
        self._gov = settle(governance, self._cites.seen, self.cohort_id, self._cut_for)
        unreadable = self._unreadable_to_newcomers()
        if unreadable:  # settled again without them: what a newcomer folds, every device folds
            self._refused.update(unreadable)
            ok = [e for e in ok if e.id not in unreadable]
            self._gov = settle([e for e in governance if e.id not in unreadable], self._cites.seen, self.cohort_id, self._cut_for)
        self._refused.update(self._gov.refused)
        lowest = dict(self._gov.cuts)
        for _change, cuts in self._gov.role_changes:
            for j, c in cuts.items():
                lowest[j] = min(lowest.get(j, c), c)
        self._lowest_cuts = lowest
        self._fold_contents(ok, kept)

    def _unreadable_to_newcomers(self) -> dict[str, str]:
        """Roster-class events sealed with the full key of an epoch that commits to a roster key (an altered writer):
        a newcomer given that epoch's roster key cannot open them, so no device folds them."""
        epochs = self._gov.state.epochs
        return {
            eid: "sealed with the epoch's own key, not its roster key: a newcomer could not read it"
            for eid, kid in self._full.items()
            if eid in self._events and (ep := epochs.get(kid)) is not None and ep.roster  # roster-class: never a note kept as columns
        }

    def note_sealed_whole(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Roster-class events opened with an epoch's own key: (event id, key id); see :meth:`_unreadable_to_newcomers`."""
        new = {eid: kid for eid, kid in pairs if self._full.get(eid) != kid}
        if new:
            self._full.update(new)
            if any(eid in self._events for eid in new):  # roster-class events: never notes kept as columns
                self._fold_again()

    def sealed_whole(self) -> list[tuple[str, str]]:
        """What :meth:`note_sealed_whole` was told (for the sealed local snapshot)."""
        return list(self._full.items())

    def _checked(self, events: Iterable[Event | int]) -> tuple[list[Event], array[int]]:
        """The events that pass the checks every event gets, in the order given (each journal's in seq order, after those checked before),
        and apart from them the notes kept as columns that pass (their places: no object is made of them).

        Its body's shape (:mod:`circle.models.schema`; a note whose text the
        store left, :class:`~circle.models.events.Later`, was checked before it
        was left and is not checked again); a clock that goes
        forward in its journal; citations of other journals that only grow
        (:meth:`circle.models.citations.Citations.take`). A batch at a time, with what the loop reads
        held in locals: it runs for every event (100k of them when a cohort
        opens cold, and again whenever the fold starts again).
        """
        at, misshapen, last, refused, cites, problem = self._at, self._misshapen, self._last, self._refused, self._cites, schema.problem
        top, refused_to, per, carried = self.max_lamport, self._refused_to, CLOCK_PER_ENVELOPE, self._carried
        pending = self._pending
        ok: list[Event] = []
        kept = array("Q")
        row, marks, held = (), bytearray(), ""  # the places and shape marks of the journal in hand (events come a journal at a time)
        for e in events:
            if type(e) is int:  # a note kept as columns: its body had its shape when it was kept, and it cites nothing
                journal, seq = at.where(e)
                lamport = at.lamport_at(e)
                why = (
                    _BACKWARDS
                    if lamport <= max(last.get(journal, (0, 0))[1], pending.get(journal, 0) if pending else 0)
                    else self._beyond(journal, seq, lamport, ())
                    if lamport > per * seq
                    else None
                )
                if why is not None:
                    eid = at.kept_id(e)
                    if why is not _WAIT:
                        refused[eid] = why
                    else:
                        self._waiting[eid] = _WAIT
                    refused_to[journal] = max(seq, refused_to.get(journal, 0))
                    continue
                last[journal] = (seq, lamport)
                if lamport > top:
                    top = lamport
                kept.append(e)
                continue
            eid, journal, seq = e.id, e.journal, e.seq
            if journal != held:
                row, marks, held = *at.row(journal), journal
            if 0 <= seq < len(row) and row[seq] is e:  # at its place: the verdict is kept there
                reason = None if marks[seq] else misshapen.get(eid, "?")
                if reason == "?":  # a pure function of the body: once per event, and never again for a note the store left
                    reason = None if type(e.body.get("text")) is Later else problem(e.kind, e.body)
                    if reason is None:
                        marks[seq] = 1
                    else:
                        misshapen[eid] = reason
            else:  # a second event at a position, or far past its journal: checked each time
                reason = problem(e.kind, e.body)
            lamport = e.lamport
            if reason is None and lamport >= CLOCK_CEILING:
                reason = "its clock is past what any member writes"
            if reason is None and lamport <= max(last.get(journal, (0, 0))[1], pending.get(journal, 0) if pending else 0):
                reason = _BACKWARDS
            if reason is None and lamport > per * seq:  # a quiet journal's clock: what it cites lets it be further ahead
                reason = self._beyond(journal, seq, lamport, e.deps if e.kind in ROSTER_KINDS else ())
            if reason is None and pending and journal in pending and e.deps and self._cites_less(journal, e.deps):
                reason = "cites less of a journal than its author had cited before"  # as it will once the one waiting passes
            if reason is None:
                if e.deps and journal not in carried and e.kind not in ROSTER_KINDS:  # from here on the two differ
                    carried[journal] = dict(cites.running.get(journal, {}))
                reason = cites.take(e)
            if reason is not None:
                if reason is not _WAIT:
                    refused[eid] = reason
                else:
                    self._waiting[eid] = _WAIT
                    if e.deps:  # what it cites is claimed as its clock is: see _cites_less
                        _cite_up_to(self._pending_cites.setdefault(journal, {}), e.deps)
                refused_to[journal] = max(e.seq, refused_to.get(journal, 0))
                if e.deps:
                    cites.untracked.add(journal)
                continue
            last[journal] = (e.seq, lamport)
            if lamport > top:
                top = lamport
            if e.deps and journal in carried and e.kind in ROSTER_KINDS:  # what the clock rule counts: citations every member reads
                _cite_up_to(carried[journal], e.deps)
            if e.kind in GOVERNANCE_KINDS:
                cites.keep(e)
            ok.append(e)
        self.max_lamport = top
        return ok, kept

    def _reach(self, journal: str, seq: int, deps: Iterable[Dep]) -> tuple[int, int, dict[str, tuple[int, int]]]:
        """How many envelopes the event at ``seq`` of ``journal`` stands on: its place in its journal and, of every
        other journal, as far as its journal's roster-class events have cited it (``deps``, its own if it is one,
        included), counted as far as this device holds it; the same counted whole (what it could ever stand on); and
        the journals cited further than held: journal -> (cited, held).

        Only roster-class events' citations count: every member reads them, a newcomer who cannot open what was said
        before they joined included (an altered client's citations on a note would count for some devices only).
        """
        mine = self._carried.get(journal)
        cited = _cite_up_to(dict(self._cites.running.get(journal, {}) if mine is None else mine), deps)
        held = whole = seq
        short: dict[str, tuple[int, int]] = {}
        extent = self._extent
        for j, s in cited.items():
            if j != journal:
                have = extent.get(j, 0)
                held += min(s, have)
                whole += s
                if s > have:
                    short[j] = (s, have)
        return held, whole, short

    def _beyond(self, journal: str, seq: int, lamport: int, deps: Iterable[Dep]) -> str | None:
        """Why a clock above :data:`CLOCK_PER_ENVELOPE` times its seq is refused: further ahead than the envelopes its
        event stands on allow (see :meth:`_reach`). None: they allow it. :data:`_WAIT`: they may once more of the
        journals it cites is held, or once an earlier event of its journal that waits so passes (its citations count
        then); the fold starts again only when those journals have grown by what it lacks (:meth:`_clock_may_pass`),
        so a citation of a journal that never grows, or grows little, costs no fold. A later event of its journal is
        taken only past its clock (``_pending``), and judged on its own: one that passes now passes then. Reached
        for an honest event only where its member writes little."""
        held, whole, short = self._reach(journal, seq, deps)
        need = -(-lamport // CLOCK_PER_ENVELOPE)
        if need <= held:
            return None
        if need > whole and journal not in self._pending:
            return _BEYOND
        self._pending[journal] = max(lamport, self._pending.get(journal, 0))
        if short:
            self._clock_waits.append((need - held, short))
        return _WAIT

    def _cites_less(self, journal: str, deps: Iterable[Dep]) -> bool:
        """Whether ``deps`` cite some journal less than an event of ``journal`` waiting for its clock does: taken now,
        such an event would be refused once that one passes and its citations are taken."""
        claimed = self._pending_cites.get(journal, {})
        return any(s < claimed.get(j, 0) for j, s, _h in deps)

    def _clock_may_pass(self) -> bool:
        """Whether the journals some event waiting for its clock cites have grown, within what it cites, by what it lacks."""
        extent = self._extent
        for lack, short in self._clock_waits:
            if sum(min(s, extent.get(j, 0)) - have for j, (s, have) in short.items()) >= lack:
                return True
        return False

    def clock_limit(self, journal: str, seq: int, deps: tuple[Dep, ...]) -> int:
        """The highest clock the fold takes for an event at ``seq`` of ``journal`` citing ``deps`` (roster-class) now."""
        return CLOCK_PER_ENVELOPE * self._reach(journal, seq, deps)[0]

    def clock_at(self, journal: str, seq: int) -> int:
        """The clock of the roster-class event held at a position, which a governance event citing it must be past
        (0: none, or another kind, or one this view does not fold: see :meth:`_citations_here`)."""
        e = self._at.get(journal, seq)
        return e.lamport if e is not None and e.kind in ROSTER_KINDS else 0

    def _wait(self, e: Event, missing: list[tuple[str, int]]) -> None:
        """Hold ``e`` back until the positions it cites that are not here come."""
        self._waits_for.update(missing)
        self._waiting[e.id] = f"waiting for {len(missing)} event{'s' if len(missing) != 1 else ''} it cites"

    def _citations_here(self, e: Event) -> list[tuple[str, int]]:
        """A governance event settles once what it cites is here, is what it says, and is older by the clocks: the
        positions it cites that are not here (none: settled, or refused with the reason in ``_refused``)."""
        missing = []
        for j, s, h in e.deps:
            cited = self._at.get(j, s)  # a note kept as columns made again: few governance events cite, and rarely a note
            if cited is None:
                held = self._opaque.get((j, s))
                if held is None:
                    missing.append((j, s))
                elif len(h) < DEP_HASH_LEN or not held.startswith(h):
                    self._refused[e.id] = "cites an event that is not the one this device holds: one of the two journals forked"
                    return []
            elif len(h) < DEP_HASH_LEN or not cited.id.startswith(h):
                self._refused[e.id] = "cites an event that is not the one this device holds: one of the two journals forked"
                return []
            elif cited.kind in ROSTER_KINDS and e.lamport <= cited.lamport < CLOCK_PER_ENVELOPE * (e.seq + sum(s for _j, s, _h in e.deps)):
                # Past what it cites where every member reads that clock (a newcomer cannot open earlier notes) and where
                # it could number past it (what it stands on, FORMAT.md "Clocks"): no writer can follow further.
                self._refused[e.id] = "its clock is not past an event it cites"
                return []
        return missing

    def _cut_for(self, change: Event, journal: str, protectors: set[str]) -> int:
        """Where a removal or role change cuts one of the member's journals.

        Where its author had seen that journal, and never before what another
        member (one of ``protectors``' journals) had cited of it without
        having seen the change: what the cohort saw stays, whatever an altered
        client claims not to have seen.
        """
        cut = self._cites.seen(change).get(journal, 0)
        for k in protectors:
            if k == change.journal or journal not in self._cites.running.get(k, {}):
                continue
            hist = self._histories(k)
            at, cited = hist.get(change.journal, ([], []))
            i = bisect_left(cited, change.seq)
            saw = at[i] if i < len(at) else None  # where k first cited the change
            at, cited = hist[journal]
            n = bisect_left(at, saw) if saw is not None else len(at)
            if n:
                cut = max(cut, cited[n - 1])
        return cut

    def _histories(self, journal: str) -> dict[str, tuple[list[int], list[int]]]:
        if journal not in self._cites.untracked:
            return self._cites.grew.get(journal, {})  # kept as the fold met the journal's events: the same as reading them back
        key = ("histories", journal)
        if key not in self._memo:
            self._memo[key] = histories(self._journal_events(journal))
        return self._memo[key]

    def _journal_events(self, journal: str) -> list[Event]:
        events = self._by_journal.get(journal, [])
        if journal in self._unsorted:
            events.sort(key=lambda e: e.seq)
            self._unsorted.discard(journal)
        return events

    def _fold_contents(self, events: list[Event], kept: Iterable[int], filed: list[Event | int] | None = None) -> None:
        """File checked events that are not governance, and the notes kept as columns (``kept``, their places): each counts
        only from a member's journal and before any cut. ``filed`` gets the notes filed, if given."""
        gov, refused, entities, facts, by_meeting, at = self._gov, self._refused, self._entities, self._facts, self._by_meeting, self._at
        notes = self._kept_notes
        for p in kept:
            journal, seq = at.where(p)
            if not gov.counts(journal, seq):  # the reason only where it fails: this runs for every note
                refused[at.kept_id(p)] = self._counts_at(journal, seq) or ""
                continue
            notes[at.body_at(p)["meeting"]].append(p)
            if filed is not None:
                filed.append(p)
        for e in events:
            kind = e.kind
            if kind in GOVERNANCE_KINDS:
                continue
            if not gov.counts(e.journal, e.seq):
                refused[e.id] = self._counts_at(e.journal, e.seq) or ""
                continue
            key = _ENTITY.get(kind)
            if key is not None:
                entities[key][e.body[key]].append(e)
            elif kind in _FACTS:
                facts[kind].append(e)
                if "meeting" in e.body:
                    by_meeting[kind][e.body["meeting"]].append(e)
                if filed is not None and kind == "note.added":
                    filed.append(e)

    # ---- governance: who, which role, which keys -----------------------
    def _mentor(self, e: Event) -> bool:
        """Whether ``e``'s author was a supervising mentor when writing it."""
        return self._gov.role_at(e.journal, e.seq) == MENTOR

    def counts(self, e: Event) -> str | None:
        """Why an event of another scope (a private channel) cannot count under the cohort's membership, or None if it can."""
        return self._counts_at(e.journal, e.seq)

    def _counts_at(self, journal: str, seq: int) -> str | None:
        """Why what is at this position cannot count under the cohort's membership, or None if it can."""
        if self._gov.counts(journal, seq):
            return None
        return "written after its author was removed" if journal in self._gov.owners else "its author is not a member"

    def author_of(self, journal: str) -> str:
        """The member a journal belongs to ("" if it is no member's)."""
        return self._gov.owners.get(journal, "")

    def cohort(self) -> Cohort:
        s = self._gov.state
        f = {k: v for k, (_, v) in s.charter.items()}
        return Cohort(id=self.cohort_id, founder=s.founder, **{k: v for k, v in f.items() if k in Cohort.__dataclass_fields__})

    def members(self, include_removed: bool = False) -> list[Member]:
        key = ("members", include_removed)
        if key not in self._memo:
            out = []
            for m in self._gov.state.members.values():
                if not m.active and not include_removed:
                    continue
                journals = tuple((j, m.replica_paths.get(j, "")) for j in m.journals)
                admitted = [j for j in journals if j[0] not in m.devices]  # the journal of their newest admission (devices have their own)
                newest = admitted[-1] if admitted else ("", "")
                devices = tuple(m.devices.items())
                out.append(
                    Member(
                        m.id,
                        m.name,
                        m.role,
                        m.profession,
                        m.away,
                        m.active,
                        newest[0],
                        m.public,
                        newest[1],
                        m.joined[0],
                        journals,
                        devices,
                        frozenset(m.gone),
                        m.replaces,
                        tuple(m.readers.items()),
                        m.stamps.get("admitted", m.joined)[0],
                    )
                )
            self._memo[key] = sorted(out, key=lambda m: (m.joined_lamport, m.id))
        return list(self._memo[key])

    def member(self, member_id: str) -> Member | None:
        if "by_id" not in self._memo:
            self._memo["by_id"] = {m.id: m for m in self.members(include_removed=True)}
        return self._memo["by_id"].get(member_id)

    def name_of(self, member_id: str) -> str:
        m = self.member(member_id)
        return m.name if m else "someone"

    def epochs(self) -> dict[str, Epoch]:
        """Every key epoch that started validly, by key id."""
        return dict(self._gov.state.epochs)

    def current_epoch(self) -> Epoch | None:
        """The epoch new events are sealed with; None while a removal still needs a new one (see :func:`current_epoch`)."""
        return current_epoch(self._gov)

    def event(self, event_id: str) -> Event | None:
        """A folded event by id (None if not held)."""
        e = self._events.get(event_id)
        return e if e is not None else self._at.find((event_id,)).get(event_id)

    def saw(self, e: Event) -> Seen:
        """What the journal of a governance event had cited of each other journal up to it (read with ``get``)."""
        return self._cites.seen(e)

    def admission(self, member_id: str) -> Event | None:
        """The member's newest admission that counts (None if none)."""
        return next((e for e in reversed(self._gov.valid) if e.kind == "member.admitted" and e.body["member"] == member_id), None)

    def governance_events(self) -> tuple[Event, ...]:
        """The governance events that count, in stamp order: the roster at any point is what folding those before it gives
        (the rota reads who was a peer, and who a member, when each meeting was wrapped up)."""
        return tuple(self._gov.valid)

    def cited_by(self, journal: str) -> dict[str, int]:
        """Everything a journal's events have cited so far (its author's newest citations)."""
        return dict(self._cites.running.get(journal, {}))

    def newest_citation_at(self, journal: str) -> float | None:
        """The author's clock at the newest event of ``journal`` that cites anything (None: none does)."""
        return self._cited_at.get(journal)

    def note_opaque(self, positions: Iterable[tuple[str, int, str]]) -> int:
        """Envelopes verified in members' journals that this view does not fold: (journal, seq, envelope id); how many were new.

        Citations may name them (a member cites what they have read of a
        journal, in every scope); a governance event waiting for one settles
        once it is known here, by its id (its clock cannot be read).
        """
        n, awaited = 0, False
        for j, seq, eid in positions:
            if (j, seq) in self._opaque:
                continue
            self._opaque[j, seq] = eid
            n += 1
            awaited = awaited or (j, seq) in self._waits_for
            if seq > self._newest_opaque.get(j, (0, ""))[0]:
                self._newest_opaque[j] = (seq, eid)
            if seq > self._extent.get(j, 0):
                self._extent[j] = seq
        if n:
            self._memo.clear()
            if awaited or self._clock_may_pass() or self._due:  # due: the events just applied may be waiting for these
                self._fold_again()
        return n

    def opaque(self) -> list[tuple[str, int, str]]:
        """What :meth:`note_opaque` was told (for the sealed local snapshot)."""
        return [(j, s, eid) for (j, s), eid in self._opaque.items()]

    def newest_by_journal(self) -> dict[str, tuple[int, str]]:
        """The newest envelope verified of each journal, folded here or not: journal -> (seq, event id). What this device cites when it writes."""
        out = dict(self._newest)
        for j, (seq, eid) in self._newest_opaque.items():
            if seq > out.get(j, (0, ""))[0]:
                out[j] = (seq, eid)
        return out

    def admitted_by(self, member_id: str) -> str:
        """Who admitted a member most recently ("" if nobody validly did)."""
        m = self._gov.state.members.get(member_id)
        return m.admitted_by if m else ""

    def roster_for(self, member: str) -> dict[str, tuple[str, str]]:
        """Journals named by admissions of ``member`` (valid or not yet): journal -> (public, replica path).

        A newcomer learns from their own admission where the cohort's other
        journals are, before anything can settle; once it has, the members'
        journals are what counts (:meth:`members`).
        """
        out: dict[str, tuple[str, str]] = {}
        for e in sorted(self._events.values(), key=lambda e: e.stamp):
            if e.kind != "member.admitted" or e.body.get("member") != member or schema.problem(e.kind, e.body):
                continue
            for j, (pub, path) in (e.body.get("roster") or {}).items():
                out.setdefault(j, (pub, path))
        return out

    @property
    def founded(self) -> bool:
        """Whether this view holds the cohort's valid founding event."""
        return bool(self._gov.state.founder)

    # ---- meetings, agenda, actions -------------------------------------
    def _schedule(self) -> dict[str, Meeting]:
        """Meetings as scheduled and edited (by the one who scheduled them, or a mentor), before the rota's part."""
        if "schedule" in self._memo:
            return self._memo["schedule"]
        out: dict[str, Meeting] = {}
        placed: dict[str, tuple[Stamp, Stamp | None]] = {}  # meeting -> when its date was set, and its first wrap-up
        self._memo["placed"] = placed
        for mid, evs in self._entities["meeting"].items():
            created = [e for e in evs if e.kind == "meeting.scheduled"]
            if not created:
                continue
            first = min(created, key=lambda e: e.stamp)
            wrapped = min((e.stamp for e in evs if e.kind == "meeting.held"), default=None)
            f: dict[str, Any] = {}
            for e in sorted(evs, key=lambda e: e.stamp):
                if e.kind not in ("meeting.scheduled", "meeting.updated"):
                    continue
                if e.author != first.author and not self._mentor(e):
                    self._late_refusal(e, "only the one who scheduled a meeting, or a mentor, changes it")
                    continue
                if e is not first and wrapped is not None and wrapped < e.stamp and ("at" in e.body or "cancelled" in e.body):
                    # Its turn is history: gone from the schedule or moved, it would move every later meeting's turn.
                    self._late_refusal(e, "moves or cancels a meeting already wrapped up")
                    continue
                if "at" in e.body:
                    placed[mid] = (e.stamp, wrapped)
                f.update({k: e.body[k] for k in ("at", "title", "minutes", "cancelled") if k in e.body})
            out[mid] = Meeting(
                mid,
                str(f["at"]).replace("T", " "),
                f.get("title", ""),
                f.get("minutes", 60),
                cancelled=bool(f.get("cancelled", False)),
                lamport=first.lamport,
                creator=first.author,
            )
        self._memo["schedule"] = out
        return out

    def scheduled_when(self) -> dict[str, Stamp]:
        """When each meeting was first scheduled: the stamp of its earliest ``meeting.scheduled`` (the rota's "as it stood
        then" leaves out meetings scheduled after)."""
        if "scheduled_when" not in self._memo:
            self._memo["scheduled_when"] = {
                mid: min(e.stamp for e in evs if e.kind == "meeting.scheduled")
                for mid, evs in self._entities["meeting"].items()
                if any(e.kind == "meeting.scheduled" for e in evs)
            }
        return self._memo["scheduled_when"]

    def schedule(self) -> list[Meeting]:
        """Meetings not cancelled, by date (what the rota goes round)."""
        return sorted((m for m in self._schedule().values() if not m.cancelled), key=lambda m: (m.at, m.id))

    def backdated(self) -> frozenset[str]:
        """Meetings dated, when their date was set, before a meeting that had already been wrapped up (before in the
        round's order: by date, then id, so also at the same time with a smaller id).

        The rota gives them to whoever scheduled them and goes round without
        them: put into the round, a meeting dated last year (a typo, or an
        altered client) would move the turn of every meeting after it, and
        every wrap-up, phase and mark its facilitators wrote would be refused.
        """
        if "backdated" in self._memo:
            return self._memo["backdated"]
        meetings = self.schedule()
        placed = self._memo["placed"]
        out: set[str] = set()
        first_wrap: Stamp | None = None  # the earliest wrap-up among the meetings after the one at hand in the round
        for m in reversed(meetings):  # the round's order: date, then id (one at the same time sorts before or after)
            date_set, wrapped = placed[m.id]
            if first_wrap is not None and date_set > first_wrap:
                out.add(m.id)
            if wrapped is not None and (first_wrap is None or wrapped < first_wrap):
                first_wrap = wrapped
        self._memo["backdated"] = frozenset(out)
        return self._memo["backdated"]

    def _late_refusal(self, e: Event, reason: str) -> None:
        self._memo.setdefault("late", {})[e.id] = reason

    def rota(self) -> Rota:
        """The facilitator rota, worked out from this view (see :mod:`circle.models.rota`)."""
        if "rota" not in self._memo:
            self._memo["rota"] = compute_rota(self)
        return self._memo["rota"]

    def _led(self, e: Event, meeting_id: str) -> bool:
        """Whether ``e``'s author led the meeting when writing it: its facilitator then, or a mentor."""
        return self._mentor(e) or self.rota().holder_at(meeting_id, e.stamp) == e.author

    def meetings(self) -> list[Meeting]:
        if "meetings" in self._memo:
            return list(self._memo["meetings"])
        rota = self.rota()
        out = []
        for mid, base in self._schedule().items():
            phase: tuple[Stamp, str] | None = None
            current: tuple[Stamp, str, float] | None = None
            for e in sorted(self._entities["meeting"][mid], key=lambda e: e.stamp):
                if e.kind not in ("meeting.phase_set", "agenda.current_set"):
                    continue
                if not self._led(e, mid):
                    self._late_refusal(e, "only the meeting's facilitator, or a mentor, leads it")
                    continue
                if e.kind == "meeting.phase_set":
                    phase = (e.stamp, e.body["phase"])
                else:
                    current = (e.stamp, e.body["current_item"], float(e.body.get("item_started", 0.0)))
            turn = rota.turn(mid)
            out.append(
                Meeting(
                    mid,
                    base.at,
                    base.title,
                    base.minutes,
                    phase[1] if phase else "",
                    current[1] if current else "",
                    current[2] if current else 0.0,
                    base.cancelled,
                    rota.is_held(mid),
                    turn.facilitated_by if turn and rota.is_held(mid) else "",
                    base.lamport,
                    base.creator,
                )
            )
        self._memo["meetings"] = sorted(out, key=lambda m: (m.at, m.id))
        return list(self._memo["meetings"])

    def meeting(self, meeting_id: str) -> Meeting | None:
        return next((m for m in self.meetings() if m.id == meeting_id), None)

    # ---- agenda items, actions, notes: versions, placement, redactions ---
    def _wrapup_lists(self) -> dict[str, frozenset[str] | None]:
        """Per held meeting, the items its wrap-up listed (None: a wrap-up from before wrap-ups listed them)."""
        if "wrapup_lists" not in self._memo:
            out: dict[str, frozenset[str] | None] = {}
            for mid, eid in self.rota().wrapups.items():
                e = self._events.get(eid)
                listed = e.body.get("items") if e is not None else None
                out[mid] = None if listed is None else frozenset(listed)
            self._memo["wrapup_lists"] = out
        return self._memo["wrapup_lists"]

    def _started(self) -> dict[str, set[str]]:
        """Per meeting, the items its facilitator (or a mentor) ever started: those it certainly had."""
        if "started" not in self._memo:
            out: dict[str, set[str]] = defaultdict(set)
            for mid, evs in self._entities["meeting"].items():
                for e in evs:
                    if e.kind == "agenda.current_set" and e.body["current_item"] and self._led(e, mid):
                        out[mid].add(e.body["current_item"])
            self._memo["started"] = out
        return self._memo["started"]

    def _meeting_order(self) -> tuple[list[Meeting], dict[str, int]]:
        if "order" not in self._memo:
            order = [m for m in self.meetings() if not m.cancelled]
            self._memo["order"] = (order, {m.id: i for i, m in enumerate(order)})
        return self._memo["order"]

    def _place(self, item_id: str, added_to: str) -> str:
        """The meeting an item is on: where it was added, unless that meeting was wrapped up without it.

        The rule every device applies (docs/FORMAT.md, "Late items and the
        list for the next meeting"): a meeting that is not held keeps the
        items added to it. A held meeting keeps those its wrap-up listed or its
        facilitator started (a wrap-up written before wrap-ups listed items
        kept everything added to it). An item a held meeting did not keep, and
        an item added to no meeting (the list for the next meeting), goes on
        the first later meeting, in date order, that is not held or that kept
        it; while there is none it waits ("").
        """
        order, index = self._meeting_order()
        lists, started = self._wrapup_lists(), self._started()

        def keeps(m: Meeting) -> bool:
            if not m.held or item_id in started.get(m.id, ()):
                return True
            listed = lists.get(m.id)
            return m.id == added_to if listed is None else item_id in listed

        if added_to:
            i = index.get(added_to)
            if i is None or keeps(order[i]):
                return added_to  # a cancelled or unknown meeting keeps what was added to it, as before
            later = order[i + 1 :]
        else:
            later = order
        return next((m.id for m in later if keeps(m)), "")

    def _extensions(self) -> dict[str, int]:
        """Minutes added to each item's timebox by the meeting's facilitator at that point, or a mentor."""
        if "extensions" not in self._memo:
            out: dict[str, int] = defaultdict(int)
            for e in self._facts["agenda.extended"]:
                if not self._led(e, e.body["meeting"]):
                    self._late_refusal(e, "only the meeting's facilitator, or a mentor, gives an item more time")
                    continue
                out[e.body["item"]] += e.body["minutes"]
            self._memo["extensions"] = out
        return self._memo["extensions"]

    def _all_items(self) -> dict[str, AgendaItem]:
        """Every agenda item with its accepted edits, placed, redacted ones included; records each one's versions."""
        if "all_items" in self._memo:
            return self._memo["all_items"]
        out: dict[str, AgendaItem] = {}
        versions = self._memo.setdefault("versions", {})
        extended = self._extensions()
        for iid, evs in self._entities["item"].items():
            created = [e for e in evs if e.kind == "agenda.added"]
            if not created:
                continue
            first = min(created, key=lambda e: e.stamp)  # the same item written again (a carry-over by two devices): the first stands
            added_to = first.body["meeting"]
            placed = self._place(iid, added_to)
            f: dict[str, Any] = {k: first.body[k] for k in ("title", "owner", "minutes", "carried_from") if k in first.body}
            history = [Version(first.id, first.author, first.ts, dict(f))]
            edited = False
            for e in sorted(evs, key=lambda e: e.stamp):
                if e.kind != "agenda.updated":
                    continue
                if e.author != first.author and not self._mentor(e) and not self._led(e, added_to) and not (placed and self._led(e, placed)):
                    self._late_refusal(e, "only the item's author, the facilitator or a mentor edits an item")
                    continue
                changes = {k: e.body[k] for k in _ITEM_FIELDS if k in e.body}
                edited = edited or any(k != "status" and f.get(k) != v for k, v in changes.items())
                f.update(changes)
                history.append(Version(e.id, e.author, e.ts, changes))
            versions[iid] = history
            out[iid] = AgendaItem(
                iid,
                placed,
                f["title"],
                f.get("owner", ""),
                f.get("minutes", 10),
                f.get("status", "open"),
                f.get("carried_from", ""),
                first.lamport,
                first.author,
                added_to,
                extended.get(iid, 0),
                edited,
            )
        self._memo["all_items"] = out
        return out

    def _all_actions(self) -> dict[str, Action]:
        """Every action with its accepted changes, redacted ones included; records each one's versions."""
        if "all_actions" in self._memo:
            return self._memo["all_actions"]
        out: dict[str, Action] = {}
        versions = self._memo.setdefault("versions", {})
        for aid, evs in self._entities["action"].items():
            created = [e for e in evs if e.kind == "action.added"]
            if not created:
                continue
            first = min(created, key=lambda e: e.stamp)
            f: dict[str, Any] = {k: first.body[k] for k in ("meeting", "title", "owner", "due", "status") if k in first.body}
            history = [Version(first.id, first.author, first.ts, {k: v for k, v in f.items() if k != "meeting"})]
            edited = False
            for e in sorted(evs, key=lambda e: e.stamp):
                if e.kind != "action.updated":
                    continue
                if e.author not in (first.author, f.get("owner")) and not self._mentor(e) and not self._led(e, f["meeting"]):
                    self._late_refusal(e, "only the action's author, its owner, the facilitator or a mentor changes it")
                    continue
                changes = {k: e.body[k] for k in _ACTION_FIELDS if k in e.body}
                edited = edited or any(k != "status" and f.get(k) != v for k, v in changes.items())
                f.update(changes)
                history.append(Version(e.id, e.author, e.ts, changes))
            versions[aid] = history
            out[aid] = Action(aid, f["meeting"], f["title"], f.get("owner", ""), f.get("due", ""), f.get("status", "open"), first.lamport, first.author, edited)
        self._memo["all_actions"] = out
        return out

    def _added_notes(self, note_ids: Iterable[str]) -> dict[str, Event]:
        """Accepted ``note.added`` events by id, of those asked for: each note as written, before its edits.

        Every event held as an object is indexed by id already, and a
        ``note.added`` there is accepted (filed among the facts) unless it was
        refused; the notes kept as columns are looked for all at once
        (:meth:`Places.find`): no index of every note (80k at 100k events)
        for the few that edits and redactions name.
        """
        out, rest = {}, []
        for nid in note_ids:
            e = self._events.get(nid)
            if e is None:
                rest.append(nid)
            elif e.kind == "note.added":
                out[nid] = e
        if rest:
            out.update(self._at.find(rest))
        return {nid: e for nid, e in out.items() if nid not in self._refused}

    def _edited_notes(self) -> dict[str, Note]:
        """The notes with accepted edits, as last edited, redacted ones included; records their versions.

        Most notes are never edited: the rest are read from their ``note.added``
        when asked (:meth:`_note`), so a read of one meeting never makes a
        ``Note`` of each of the cohort's notes (80k at 100k events: 0.15 s).
        """
        if "edited_notes" in self._memo:
            return self._memo["edited_notes"]
        versions = self._memo.setdefault("versions", {})
        out: dict[str, Note] = {}
        edits = sorted(self._facts["note.edited"], key=lambda e: e.stamp)
        added_notes = self._added_notes({e.body["note"] for e in edits})
        for e in edits:
            nid = e.body["note"]
            n = out.get(nid)
            if n is None and (added := added_notes.get(nid)) is not None:
                n = _note_of(added)
            if n is None:
                self._late_refusal(e, "edits a note that is not here")
                continue
            if e.author != n.author and not self._mentor(e) and not self._led(e, n.meeting):
                self._late_refusal(e, "only the note's author, the facilitator or a mentor edits a note")
                continue
            changes = {"text": text_of(e), **({"kind": e.body["kind"]} if "kind" in e.body else {})}
            out[n.id] = Note(n.id, n.meeting, n.item, n.author, changes["text"], changes.get("kind", n.kind), n.ts, n.lamport, True)
            versions.setdefault(n.id, [_first_version(n)] if not n.edited else []).append(Version(e.id, e.author, e.ts, changes))
        self._memo["edited_notes"] = out
        return out

    def _note(self, note_id: str, added: dict[str, Event] | None = None) -> Note | None:
        """A note as last edited, redacted or not (None if there is no such note); ``added``: the notes as written, looked up already."""
        edited = self._edited_notes()
        if note_id in edited:
            return edited[note_id]
        e = (self._added_notes((note_id,)) if added is None else added).get(note_id)
        return None if e is None else _note_of(e)

    def _redactions(self) -> dict[str, Redaction]:
        """Valid redactions by entry: the entry's author, the facilitator of its meeting at that point, or a mentor."""
        if "redactions" in self._memo:
            return self._memo["redactions"]
        items, actions = self._all_items(), self._all_actions()
        out: dict[str, Redaction] = {}
        redactions = sorted(self._facts["entry.redacted"], key=lambda e: e.stamp)
        added = self._added_notes({e.body["entry"] for e in redactions if e.body["what"] == "note"})
        for e in redactions:
            entry, what = e.body["entry"], e.body["what"]
            target: AgendaItem | Action | Note | None = self._note(entry, added) if what == "note" else {"item": items, "action": actions}[what].get(entry)
            if target is None:
                self._late_refusal(e, "redacts an entry that is not here")
                continue
            creator = target.author if isinstance(target, Note) else target.creator
            where = (target.added_to, target.meeting) if isinstance(target, AgendaItem) else (target.meeting,)
            if e.author != creator and not self._mentor(e) and not any(m and self._led(e, m) for m in where):
                self._late_refusal(e, "only the entry's author, the facilitator or a mentor redacts it")
                continue
            out.setdefault(entry, Redaction(entry, what, e.author, e.ts, e.id))
        self._memo["redactions"] = out
        return out

    def _hidden(self) -> set[str]:
        """Redacted entries, and the agenda items carried from them (their titles copy what was redacted)."""
        if "hidden" not in self._memo:
            hidden = set(self._redactions())
            children: dict[str, list[str]] = defaultdict(list)
            for it in self._all_items().values():
                if it.carried_from:
                    children[it.carried_from].append(it.id)
            todo = [h for h in hidden if h in children]
            while todo:
                for child in children[todo.pop()]:
                    if child not in hidden:
                        hidden.add(child)
                        todo.append(child)
            self._memo["hidden"] = hidden
        return self._memo["hidden"]

    def _items(self) -> dict[str, AgendaItem]:
        if "items" not in self._memo:
            hidden = self._hidden()
            self._memo["items"] = {i: it for i, it in self._all_items().items() if i not in hidden}
        return self._memo["items"]

    def agenda(self, meeting_id: str | None = None) -> list[AgendaItem]:
        """Agenda items where the view places them, in the order they were added; redacted ones left out.

        ``meeting_id`` "" gives the list for the next meeting: items that
        wait for a meeting to be scheduled (see :meth:`_place` for the rule).
        """
        items = [i for i in self._items().values() if meeting_id is None or i.meeting == meeting_id]
        return sorted(items, key=lambda i: (i.lamport, i.id))

    def _actions(self) -> dict[str, Action]:
        if "actions" not in self._memo:
            hidden = self._hidden()
            self._memo["actions"] = {a: act for a, act in self._all_actions().items() if a not in hidden}
        return self._memo["actions"]

    def actions(self, meeting_id: str | None = None) -> list[Action]:
        """Actions (of one meeting, or all), in the order they were added; redacted ones left out."""
        acts = [a for a in self._actions().values() if meeting_id is None or a.meeting == meeting_id]
        return sorted(acts, key=lambda a: (a.lamport, a.id))

    def _notes_by_item(self) -> _ByItem:
        """Note facts by agenda item, grouped once per change of the view: the room reads each carried item's notes."""
        if "notes_by_item" not in self._memo:
            out = _ByItem()
            for e in self._facts["note.added"]:
                out.add(e, e.body)
            at = self._at
            for places in self._kept_notes.values():
                for p in places:
                    out.add(p, at.body_at(p))
            self._memo["notes_by_item"] = out
        return self._memo["notes_by_item"]

    def _note_facts(self, meeting_id: str | None) -> list[Event]:
        """The accepted ``note.added`` events (of one meeting), the notes kept as columns made again."""
        if meeting_id is None:
            return [*self._facts["note.added"], *(e for places in self._kept_notes.values() for e in self._at.events_at(places))]
        places = self._kept_notes.get(meeting_id)
        return [*self._by_meeting["note.added"].get(meeting_id, []), *(self._at.events_at(places) if places else ())]

    def notes(self, meeting_id: str | None = None, item_id: str | None = None) -> list[Note]:
        """Notes and decisions (of one meeting, of one item), oldest first, as last edited; redacted ones left out."""
        hidden = self._hidden()
        edited = self._edited_notes()
        out = []
        if meeting_id is None and item_id is not None:  # one item's notes, wherever they were written: not a sort of the whole history
            facts = self._notes_by_item().events(item_id, self._at)
        else:
            facts = self._note_facts(meeting_id)
        for e in sorted(facts, key=lambda e: e.stamp):
            if e.id in hidden or (item_id is not None and e.body.get("item", "") != item_id):
                continue
            out.append(edited.get(e.id) or _note_of(e))
        return out

    def history(self, entry_id: str) -> list[Version]:
        """Every accepted version of a note, an item or an action, oldest first ([] for one redacted or unknown)."""
        self._all_items(), self._all_actions(), self._edited_notes()
        if entry_id in self._hidden():
            return []
        kept = self._memo.get("versions", {}).get(entry_id)
        if kept is None and (note := self._note(entry_id)) is not None:
            kept = [_first_version(note)]  # a note never edited
        return [_read(v) for v in kept or []]

    def redacted(self) -> dict[str, Redaction]:
        """What was hidden, by entry id: notes, items and actions no screen or export shows.

        :meth:`notes`, :meth:`agenda` and :meth:`actions` already leave these
        out, and the agenda items carried over from them; an export that reads
        through those methods needs nothing more. This says what was hidden and
        by whom, to report it ("2 entries redacted").
        """
        return dict(self._redactions())

    # ---- attendance and the rota's inputs -------------------------------
    def attendance_marks(self, meeting_id: str) -> list[Event]:
        """Every mark for a meeting that a member wrote, in stamp order (unchecked: see :meth:`attendance`)."""
        return sorted(self._by_meeting["attendance.marked"].get(meeting_id, []), key=lambda e: e.stamp)

    def attendance_marks_unsorted(self, meeting_id: str) -> list[Event]:
        """Every mark for a meeting that a member wrote, in no particular order (unchecked; the rota reads them as of a point)."""
        return self._by_meeting["attendance.marked"].get(meeting_id, [])

    def attendance_by_meeting(self, *, self_or_mentor: bool) -> dict[str, dict[str, bool]]:
        """Latest marks per meeting, each member's own or a mentor's only (what the rota may use) when asked."""
        key = ("attendance", self_or_mentor)
        if key not in self._memo:
            out: dict[str, dict[str, tuple[Stamp, bool]]] = defaultdict(dict)
            for e in self._facts["attendance.marked"]:
                if self_or_mentor and e.author != e.body["member"] and not self._mentor(e):
                    continue
                m, who = e.body["meeting"], e.body["member"]
                if who not in out[m] or e.stamp > out[m][who][0]:
                    out[m][who] = (e.stamp, e.body["present"])
            self._memo[key] = {m: {who: p for who, (_, p) in marks.items()} for m, marks in out.items()}
        return self._memo[key]

    def attendance(self, meeting_id: str) -> dict[str, bool]:
        """Who was marked present or absent (latest mark wins): by themselves, the facilitator then, or a mentor."""
        marks: dict[str, tuple[Stamp, bool]] = {}
        for e in self.attendance_marks(meeting_id):
            who = e.body["member"]
            if e.author != who and not self._led(e, meeting_id):
                self._late_refusal(e, "only the member themselves, the facilitator or a mentor marks attendance")
                continue
            marks[who] = (e.stamp, e.body["present"])
        return {m: present for m, (_, present) in marks.items()}

    def anonymous_lines(self, meeting_id: str) -> list[str]:
        """The anonymous round: texts only, sorted (their order reveals nothing). They come from :meth:`set_anonymous`."""
        return list(self._anonymous.get(meeting_id, ()))

    def set_anonymous(self, rounds: dict[str, list[str]]) -> int:
        """The anonymous rounds' lines, opened by the store (they live outside every journal, so the fold never sees them); how many more than before."""
        before = sum(map(len, self._anonymous.values()))
        new = {m: tuple(sorted(lines)) for m, lines in rounds.items()}
        if new != self._anonymous:
            self._anonymous = new
            self.rounds_changed += 1
        return sum(map(len, self._anonymous.values())) - before

    def held_candidates(self) -> list[Event]:
        """Every "meeting held" fact a member wrote, in stamp order (the rota checks who may write one)."""
        return sorted((e for evs in self._entities["meeting"].values() for e in evs if e.kind == "meeting.held"), key=lambda e: e.stamp)

    def handoffs(self, meeting_id: str | None = None) -> list[Event]:
        evs = (e for mid, es in self._entities["meeting"].items() if meeting_id in (None, mid) for e in es if e.kind == "meeting.handoff")
        return sorted(evs, key=lambda e: e.stamp)

    def rota_changes(self) -> list[Event]:
        """Swaps, acceptances and give-backs in stamp order (the rota checks each)."""
        return sorted(self._facts["rota.swapped"] + self._facts["rota.swap_accepted"] + self._facts["rota.given_back"], key=lambda e: e.stamp)

    def is_mentor_event(self, e: Event) -> bool:
        """Whether ``e``'s author was a supervising mentor when writing it (for the rota's checks)."""
        return self._mentor(e)

    def late_refusal(self, e: Event, reason: str) -> None:
        """Record an event refused while reading (the rota's checks use this)."""
        self._late_refusal(e, reason)

    # ---- agreements -----------------------------------------------------
    def agreement_events(self) -> list[Event]:
        """Every agreement event a member wrote (unchecked: see :meth:`agreements`), in stamp order."""
        return sorted(self._facts["agreement.proposed"] + self._facts["agreement.signed"], key=lambda e: e.stamp)

    def agreements(self) -> dict[str, Agreement]:
        """The cohort's agreements (its charter, :data:`CHARTER`), under :func:`fold_agreements`'s rules.

        A mentor where they stood proposes and amends; the parties are the
        active members; a member removed since keeps the signature they gave
        while a member (their events after the cut never reach this fold).
        """
        if "agreements" not in self._memo:
            ever = {m.id for m in self.members(include_removed=True)}
            mine = []
            for e in self.agreement_events():  # the cohort scope holds one agreement, its charter (a dyad's live in their own scope)
                if e.body.get("id", e.body.get("agreement")) == CHARTER:
                    mine.append(e)
                else:
                    self._late_refusal(e, "the cohort's only agreement is its charter")
            folded = fold_agreements(
                mine,
                kind=CHARTER,
                parties=[m.id for m in self.members()],
                may_propose=self._mentor,
                may_sign=lambda e: e.author in ever,
            )
            for eid, reason in folded.refused.items():
                self._late_refusal(self._events[eid], reason)
            self._memo["agreements"] = folded.agreements
        return dict(self._memo["agreements"])

    def charter_agreement(self) -> Agreement | None:
        """The cohort's charter agreement (None until a mentor proposes one)."""
        return self.agreements().get(CHARTER)

    # ---- continuing-education credits (rules in circle.models.credits) ---
    def credit_facts(self) -> list[Event]:
        """Attestations, credit rules and members' cycle settings that members wrote, in stamp order (unchecked: see :meth:`credits`)."""
        return sorted((e for k in CREDIT_KINDS for e in self._facts[k]), key=lambda e: e.stamp)

    def role_of_event(self, e: Event) -> str:
        """The role ``e``'s author held when writing it."""
        return self._gov.role_at(e.journal, e.seq)

    def credits(self) -> CreditBook:
        """The credit facts that count, judged once per change of the view (see :func:`circle.models.credits.judge_credits`)."""
        if "credits" not in self._memo:
            self._memo["credits"] = judge_credits(self)
        return self._memo["credits"]

    # ---- goals (rules in circle.models.goals) ----------------------------
    def goal_facts(self) -> list[Event]:
        """The shared goals' events members wrote, in stamp order (unchecked: see :meth:`shared_goals`)."""
        return sorted((e for k in GOAL_KINDS for e in self._facts[k]), key=lambda e: e.stamp)

    def shared_goals(self) -> GoalBook:
        """The goals shared with the cohort, folded once per change of the view (private ones live in their channels)."""
        if "goals" not in self._memo:
            book = fold_goals(self.goal_facts(), is_mentor=self._mentor)
            for eid, reason in book.refused.items():
                self._late_refusal(self._events[eid], reason)
            self._memo["goals"] = book
        return self._memo["goals"]

    # ---- reports -------------------------------------------------------
    def refused(self) -> dict[str, str]:
        """Events held aside, with why: event id -> reason. Governance events still waiting for what they cite are not among them."""
        if "refused" not in self._memo:
            (
                self.meetings(),
                self._items(),
                self._actions(),
                self._edited_notes(),
                self._redactions(),
                self._extensions(),
                self.agreements(),
                self.credits(),
                self.shared_goals(),
            )
            for m in self._schedule():
                self.attendance(m)
            self._memo["refused"] = {**self._refused, **self._memo.get("late", {})}
        return dict(self._memo["refused"])

    @property
    def held_aside(self) -> int:
        """How many events are held aside (see :meth:`refused`)."""
        return len(self.refused())

    def citation_forks(self) -> dict[str, tuple[int, str, str, str]]:
        """Journals someone cites at a position where this device holds another event: journal -> (seq, held id, citing journal, citing event id).

        A member who shows one history to some and another to others is found
        as soon as anyone's citation of the one reaches a device holding the
        other, whatever the replica's TXIDs say.
        """
        if "forks" not in self._memo:
            # Only what changed is read: the citations of events that came since the last call, and those
            # of earlier events whose cited position was not held then. The answer is the full scan's:
            # for each journal, the first event (in the order they came) citing another event there.
            at, opaque, forks, unheld = self._at, self._opaque, self._forks, self._unheld

            def judge(place: tuple[int, int], j: str, s: int, h: str, journal: str, eid: str) -> bool:
                held_id = at.id_at(j, s)
                if held_id is None:
                    held_id = opaque.get((j, s))
                if held_id is None:
                    return False
                if not held_id.startswith(h) and (j not in forks or place < forks[j][0]):
                    forks[j] = (place, (s, held_id, journal, eid))
                return True

            for pos in [pos for pos in unheld if at.id_at(*pos) is not None or pos in opaque]:
                for place, h, journal, eid in unheld.pop(pos):
                    judge(place, pos[0], pos[1], h, journal, eid)
            for n, e in enumerate(self._fork_new, self._fork_scan):
                for k, (j, s, h) in enumerate(e.deps):
                    if not judge((n, k), j, s, h, e.journal, e.id):
                        unheld.setdefault((j, s), []).append(((n, k), h, e.journal, e.id))
            self._fork_scan += len(self._fork_new)
            self._fork_new = []
            self._memo["forks"] = {j: fork for j, (_place, fork) in forks.items()}
        return dict(self._memo["forks"])

    def cited_beyond(self) -> dict[str, int]:
        """Journals others cite further than this device holds: journal -> the furthest seq cited (a replica should hold it)."""
        furthest: dict[str, int] = {}
        newest = self.newest_by_journal()
        for k, cites in self._cites.running.items():
            for j, s in cites.items():
                if j != k and s > newest.get(j, (0, ""))[0] and s > furthest.get(j, 0):
                    furthest[j] = s
        return furthest

    def waiting(self) -> dict[str, str]:
        """Events not settled yet because events they cite have not arrived (governance events, and events whose clock
        leaps further than their journal's): event id -> what they wait for."""
        return dict(self._waiting)

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
            "rota": self.rota().turns,
            "epoch": self.current_epoch(),
            "refused": sorted(self.refused().items()),
            "waiting": sorted(self._waiting),
        }
