"""Domain events: what people did, as plain data inside an envelope.

An event's plaintext is compact JSON with a version; the kind, the cohort,
the author, the clocks and the citations live here, inside the ciphertext,
never in the clear.

Citations ("deps") say what the author had seen: for other journals of the
cohort, the newest (seq, event hash) the author had verified when writing.
A batch cites only what changed since the author's previous citation, so a
journal's citations up to an event add up to everything its author had seen
then (:meth:`circle.models.view.View.seen_by`). Authority is judged there,
and a removal cuts a member exactly where the remover had seen them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from circle.errors import InvalidEnvelope
from circle.models.text import lone_surrogate

PAYLOAD_VERSION = 1

# Every kind of event circle writes. Body schemas: models/schema.py; rules: models/governance.py and models/view.py.
KINDS = frozenset(
    {
        "cohort.created",
        "cohort.charter_set",
        "cohort.seen",
        "member.admitted",
        "member.updated",
        "member.removed",
        "member.device_added",
        "member.device_removed",
        "member.join_requested",
        "keys.epoch_started",
        "meeting.scheduled",
        "meeting.updated",
        "meeting.phase_set",
        "meeting.handoff",
        "meeting.held",
        "rota.swapped",
        "rota.swap_accepted",
        "rota.given_back",
        "agenda.added",
        "agenda.updated",
        "agenda.current_set",
        "agenda.extended",
        "note.added",
        "note.edited",
        "entry.redacted",
        "action.added",
        "action.updated",
        "attendance.marked",
        "self.note_added",
        "dyad.message",
        "dyad.feedback_requested",
        "dyad.feedback_declined",
        "dyad.phase_set",
        "keys.wrapped",
        "member.join_hello",
        "invite.offered",
        "invite.answered",
        "invite.refused",
        "agreement.proposed",
        "agreement.signed",
        "attendance.attested",
        "credit.rule_set",
        "credit.cycle_set",
        "goal.set",
        "goal.checked_in",
        "goal.status_set",
    }
)

Dep = tuple[str, int, str]  # (journal id, seq, the cited event's id cut to DEP_HASH_LEN hex digits)
DEP_HASH_LEN = 32  # 128 bits of the cited event's id: enough to tell two events at one position apart


@dataclass(frozen=True, slots=True)
class Event:
    """One opened, verified event.

    Attributes:
        id: hash of the envelope (hex).
        journal: the journal it came from (hex).
        seq: its place in that journal.
        kind: one of :data:`KINDS`.
        cohort: cohort id (hex).
        author: identity id of the author (hex).
        lamport: logical clock, for ordering edits.
        ts: the author's wall clock in seconds; for display, never for decisions.
        body: the kind-specific fields.
        deps: the heads of other journals the author cites (see the module docstring).
    """

    id: str
    journal: str
    seq: int
    kind: str
    cohort: str
    author: str
    lamport: int
    ts: float
    body: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    deps: tuple[Dep, ...] = field(default=(), hash=False, compare=False)

    @property
    def stamp(self) -> tuple[int, str, str]:
        """Total order for last-writer-wins: lamport, then author, then id."""
        return (self.lamport, self.author, self.id)


def _maker() -> Callable[[str, str, int, str, str, str, int, float, dict[str, Any], tuple[Dep, ...]], Event]:
    """:class:`Event` made by setting its slots, without the frozen dataclass's ``__init__``.

    That ``__init__`` goes through ``object.__setattr__`` for each field: 1.9 µs
    an event against 0.8 µs here, for the 100k events a snapshot makes and the
    notes a view makes again from columns (:mod:`circle.models.places`). The
    event is the same (fields, equality, hash, immutability): nothing in
    ``__init__`` checks or converts a value.
    """
    new = object.__new__
    sid, sjournal, sseq, skind, scohort, sauthor, slamport, sts, sbody, sdeps = (
        Event.__dict__[f].__set__ for f in ("id", "journal", "seq", "kind", "cohort", "author", "lamport", "ts", "body", "deps")
    )

    def make(
        id: str, journal: str, seq: int, kind: str, cohort: str, author: str, lamport: int, ts: float, body: dict[str, Any], deps: tuple[Dep, ...]
    ) -> Event:
        e = new(Event)
        sid(e, id)
        sjournal(e, journal)
        sseq(e, seq)
        skind(e, kind)
        scohort(e, cohort)
        sauthor(e, author)
        slamport(e, lamport)
        sts(e, ts)
        sbody(e, body)
        sdeps(e, deps)
        return e

    return make


make_event = _maker()


def encode_payload(*, kind: str, cohort: str, author: str, lamport: int, ts: float, body: dict[str, Any], deps: tuple[Dep, ...] = ()) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    doc: dict[str, Any] = {"v": PAYLOAD_VERSION, "k": kind, "c": cohort, "a": author, "l": lamport, "t": round(ts, 3), "b": body}
    if deps:
        doc["d"] = {j: [s, h] for j, s, h in deps}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _deps(raw: Any) -> tuple[Dep, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or len(raw) > 10_000:
        raise InvalidEnvelope("event citations malformed")
    out = []
    for j, v in raw.items():
        if not (isinstance(j, str) and isinstance(v, list) and len(v) == 2 and type(v[0]) is int and 1 <= v[0] < MAX_CLOCK and isinstance(v[1], str)):
            raise InvalidEnvelope("event citations malformed")
        out.append((j, v[0], v[1]))
    return tuple(sorted(out))


class Elsewhere:
    """A note's text left in its journal instead of memory: read again when something shows it.

    A history of 100k events held about 80 MB of notes' text that no screen
    showed. The store (:class:`circle.store.texts.Texts`) leaves a note's text
    in its journal once its shape is checked (the body holds :class:`Later`);
    :func:`text_of` names it as one of these, which reads it back from the
    envelope at ``journal``/``seq`` whose id is ``id`` (a cache keeps the ones
    read lately). Only this device makes them: no payload decodes to one.
    ``str()`` is the text; equal texts compare equal, wherever they are held.
    """

    __slots__ = ("reader", "journal", "seq", "id")

    def __init__(self, reader: Callable[[Elsewhere], str], journal: str, seq: int, id: str) -> None:
        self.reader, self.journal, self.seq, self.id = reader, journal, seq, id

    def __str__(self) -> str:
        return self.reader(self)

    def __eq__(self, other: object) -> bool:
        return str(self) == (str(other) if isinstance(other, Elsewhere) else other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"Elsewhere({self.journal[:8]}, {self.seq})"

    def __copy__(self) -> Elsewhere:
        return self  # a place never changes: a copy is the same place (``dataclasses.asdict`` copies what it holds)

    def __deepcopy__(self, memo: dict[int, Any]) -> Elsewhere:
        return self


class Later:
    """What a note's body holds for a text left in its journal: the text is at the note's own place (its event's journal, seq and id).

    One per store, in every note body it left: so a body names no place, and
    the notes of one agenda item (same meeting, item and kind) share one body
    dict. At 100k events a body and a mark per note were 19 MiB. Only this
    device makes them, as :class:`Elsewhere`, and only in a body that has its
    kind's shape (:meth:`circle.store.texts.Texts.leave`): the fold does not
    check such a body again. :func:`text_of` reads a note's text through it.
    """

    __slots__ = ("reader",)

    def __init__(self, reader: Callable[[Elsewhere], str]) -> None:
        self.reader = reader

    def at(self, e: Event) -> Elsewhere:
        return Elsewhere(self.reader, e.journal, e.seq, e.id)

    def __repr__(self) -> str:
        return "Later()"


def text_of(e: Event) -> str | Elsewhere:
    """The text of a note or a note's edit as held: its words, or where they are left (:class:`Later` at the event's place)."""
    text = e.body["text"]
    return text.at(e) if type(text) is Later else text


def said(v: str | Elsewhere) -> str:
    """A text as held: itself, or read back from its journal."""
    return v if type(v) is str else str(v)


def as_written(e: Event) -> dict[str, Any]:
    """An event's body as its author wrote it: a text left in its journal read back (to encode it again, or compare)."""
    if type(e.body.get("text")) is Later:
        return {**e.body, "text": said(text_of(e))}
    return e.body


NAMING = frozenset(
    {
        "meeting",
        "item",
        "action",
        "owner",
        "member",
        "facilitator",
        "to",
        "from",
        "goal",
        "agreement",
        "request",
        "entry",
        "kind",
        "status",
        "phase",
        "current_item",
        "carried_from",
    }
)
"""Body fields whose value names something (an id, or a word of a few): many bodies repeat one value."""


class Shared:
    """One copy of each repeated value while many events are read: journal and member ids, kinds and citations.

    JSON decoding makes a new string for every occurrence: a history of 20k
    events held each cited journal's id about 6,000 times. Equal values are
    interchangeable (strings and tuples are immutable), so one copy stands
    for all: 49 MiB -> 20 MiB for bench_fold's 20k events loaded from a
    snapshot (bench/README.md, "Memory"). Of body values only those that name
    something are shared (:data:`NAMING`): sharing them all saved a tenth more for
    twice the cost.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[Any, Any] = {}

    def keys(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with one copy of each key: JSON shares a key only within one document, and a payload is one (a snapshot's
        frame holds 2,000): 100k bodies read one by one held their own "meeting", "item", "kind" (24 MiB)."""
        one = self._seen.setdefault
        return {one(k, k): (one(v, v) if k in NAMING and type(v) is str else v) for k, v in body.items()}

    def names(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` (one this reader owns) with one copy of each id or word it names: a meeting, an item, a member, a status.

        At 100k events, 28,925 bodies named one of 980 meetings, each with its own copy
        of the meeting's id (1.8 MiB); items, owners, actions and statuses 3.5 MiB more.
        """
        one = self._seen.setdefault
        for k, v in body.items():
            if k in NAMING and type(v) is str:
                body[k] = one(v, v)
        return body

    def event(
        self, id: str, journal: str, seq: int, kind: str, cohort: str, author: str, lamport: int, ts: float, body: dict[str, Any], deps: tuple[Dep, ...]
    ) -> Event:
        one = self._seen.setdefault
        if deps:
            deps = tuple([one(d, d) for d in deps])  # each citation (journal, seq, hash) met before is the same tuple
        return make_event(id, one(journal, journal), seq, one(kind, kind), one(cohort, cohort), one(author, author), lamport, ts, body, deps)


MAX_CLOCK = 2**63
"""A Lamport clock, and a cited position, is below this where a payload is decoded (what SQLite and every reader holds).
Every member's next event takes the highest clock seen plus one: a clock of 4,300 digits, which JSON still decodes,
left every honest member unable to write one that it encodes."""
CLOCK_CEILING = 2**62
"""The fold refuses an event whose clock is at or past this, and it moves no one's clock: an altered client that wrote
one just under :data:`MAX_CLOCK` would otherwise have every member number their next event past what decodes. An
event that cites one need not be past it. Honest clocks, one a second for a million years, stay far below."""
CLOCK_PER_ENVELOPE = 2**10
"""An event's clock is at most this many times the envelopes it stands on: its seq, plus, of every other journal, how far
its journal has cited it (docs/FORMAT.md, "Clocks"). A ceiling alone did not stop an altered client: one event just
under it, followed by everyone, had every member's next event past it. An honest clock is at most the number of events
its writer had seen, which its journal cites, so it stays far below; reaching the ceiling takes 2**52 envelopes. Seqs
and citations are what every member reads of an event whether or not they can open the events it cites (a newcomer
cannot open what was said before they joined), so every device judges it alike."""
MAX_TIME = 1e11
"""An author's wall clock is below this (the year 5138): screens and exports show it as a date, which a time of 1e308
could not be."""
MAX_DEPTH = 16
"""How deep a payload may nest (the document is level 1): circle writes four levels at most (an agreement's sections).
JSON decodes some hundreds, but each later writer of a body (a snapshot, an export) has the stack it is called with."""


def _depth(doc: Any) -> int:
    """How many levels of objects and lists ``doc`` has (a loop, not recursion)."""
    deepest, todo = 0, [(doc, 1)]
    while todo:
        v, level = todo.pop()
        if type(v) is dict:
            v = list(v.values())
        if type(v) is list:
            deepest = max(deepest, level)
            todo += [(x, level + 1) for x in v]
    return deepest


def decode_payload(raw: bytes, *, id: str, journal: str, seq: int, shared: Shared | None = None) -> Event:
    try:
        doc = json.loads(raw.decode("utf-8"))
        if doc["v"] != PAYLOAD_VERSION:
            raise InvalidEnvelope(f"event payload version {doc['v']} is not supported")
        kind, cohort, author, lamport, ts, body = doc["k"], doc["c"], doc["a"], doc["l"], doc["t"], doc["b"]
        deps = _deps(doc.get("d"))
    except InvalidEnvelope:
        raise
    except RecursionError as exc:  # nested deeper than the decoder goes: only an altered client writes that
        raise InvalidEnvelope("event payload malformed: nested too deep") from exc
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError) as exc:
        raise InvalidEnvelope("event payload malformed") from exc
    if (
        kind not in KINDS
        or not isinstance(cohort, str)
        or not isinstance(author, str)
        or type(lamport) is not int
        or not 0 <= lamport < MAX_CLOCK
        or not isinstance(ts, (int, float))
        or isinstance(ts, bool)
        or not 0 <= ts < MAX_TIME
        or not isinstance(body, dict)
    ):
        raise InvalidEnvelope("event payload malformed")
    if lone_surrogate(raw, doc):  # not text: no UTF-8 spells it (only an altered client's escapes can)
        raise InvalidEnvelope("event payload malformed: it holds a lone surrogate")
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(doc) > MAX_DEPTH:
        raise InvalidEnvelope("event payload malformed: nested too deep")
    if shared is not None:
        return shared.event(id, journal, seq, kind, cohort, author, lamport, float(ts), shared.keys(body), deps)
    return Event(id, journal, seq, kind, cohort, author, lamport, float(ts), body, deps)
