"""Where each event a view holds sits in its journal, and whether its body was found to have its kind's shape.

A journal's seqs run from 1 without a gap (the chain check refuses one), so a
list by seq holds a journal's places at 8 bytes each: at 100k events the dict
per journal this replaces cost 5 MiB, the lists 0.8. A place far past the end
of its journal's list (only a hand-made event has one) is kept in a dict
beside it, so no list grows by more than it already holds.

The fold checks each event's body against its kind's schema once (a pure
function of the body) and must not check it again when it starts over. The
verdict "has its shape" is a byte per place here, not an entry per event id
(another 3.7 MiB at 100k); an event held off its place (a second one at a
position) gets no byte and is checked each time.

Most events of a long history are notes whose text was left in the journal
(:class:`~circle.models.events.Later`), citing nothing. Such a note at its
place is held as columns, not as an object (:meth:`Places.keep_note`): its
id's 32 bytes, its clock, its time and its shared body, 56 bytes beside the
row, where an ``Event`` with its id, clock and time strings and ints cost about
300 (issue 14: 80k notes at 100k events). The row holds :data:`NOTE` there,
and :meth:`get` makes the event again when it is read: equal to the one that
came, field for field.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import Any

from circle.models.events import CLOCK_CEILING, Event, Later, make_event

_FAR = 1024  # a list grows by at most this many places, or by as many as it holds
_ID = 32  # bytes of an event id (64 hex digits)
_SEQ = 1 << 32  # a note's place packed in one int: journal's number << 32 | seq
_CLOCK = CLOCK_CEILING  # an array("q") holds a clock below 2**63; one at or past the ceiling stays an object, which the fold refuses
_UNUSED = bytes(_ID)  # what the id column holds where no note is kept: no note kept has this id


def _seq_of(e: Event) -> int:
    return e.seq


class _Note:
    """What a row holds where a note is kept as columns."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTE"


NOTE: Any = _Note()


class _Columns:
    """One journal's notes kept as columns, by seq (zeros where no note is kept)."""

    __slots__ = ("author", "ids", "lamports", "ts", "bodies")

    def __init__(self, author: str) -> None:
        self.author = author
        self.ids = bytearray()
        self.lamports = array("q")
        self.ts = array("d")
        self.bodies: list[dict[str, Any] | None] = []

    def grow(self, seq: int) -> None:
        """Room for a note at ``seq``: by as many places again as there are, so 100k notes grow each column 20 times, not 100k."""
        n = len(self.bodies)
        if seq >= n:
            more = max(seq + 1 - n, n, 64)
            self.ids.extend(bytes(_ID * more))
            self.lamports.extend(array("q", bytes(8 * more)))
            self.ts.extend(array("d", bytes(8 * more)))
            self.bodies.extend([None] * more)

    def id(self, seq: int) -> bytes:
        """The 32 bytes of the id at ``seq``."""
        return bytes(self.ids[_ID * seq : _ID * seq + _ID])


class Places:
    """journal -> seq -> the first event held there."""

    __slots__ = ("_rows", "_shaped", "far", "cohort", "_columns", "_numbers", "_names", "notes", "_found", "_absent")

    def __init__(self, cohort: str = "") -> None:
        self._rows: dict[str, list[Event | None]] = {}
        self._shaped: dict[str, bytearray] = {}  # journal -> 1 at each place whose event has its kind's shape
        self.far: dict[tuple[str, int], Event] = {}  # (journal, seq) -> the event at a place far past its journal's row
        self.cohort = cohort  # the cohort of every note kept as columns
        self._columns: dict[str, _Columns] = {}
        self._numbers: dict[str, int] = {}  # journal -> its number in a packed place
        self._names: list[str] = []
        self.notes = 0  # notes kept as columns
        self._found: dict[str, int] = {}  # note id -> packed place, for the ids asked for (see find)
        self._absent: set[str] = set()  # ids looked for and not found (see keep_note)

    def get(self, journal: str, seq: int) -> Event | None:
        row = self._rows.get(journal)
        if row is not None and 0 <= seq < len(row) and (e := row[seq]) is not None:
            return self._note(journal, seq) if e is NOTE else e
        return self.far.get((journal, seq)) if self.far else None

    # ---- notes kept as columns --------------------------------------------
    def keep_note(self, e: Event) -> bool:
        """Keep ``e``, held at its place in its row, as columns if it is a note that can be: whether it now is.

        A ``note.added`` of this cohort whose text is left in its journal, that
        cites nothing, whose id is 64 lowercase hex digits, whose clock fits
        64 bits and whose time is a float, written by the author of the journal's other notes kept
        so. Anything else stays an object: what is made again is the event
        that came, field for field.
        """
        if e.deps or e.kind != "note.added" or e.cohort != self.cohort or type(e.body.get("text")) is not Later:
            return False
        journal, seq, eid, lamport = e.journal, e.seq, e.id, e.lamport
        if not 0 < seq < _SEQ or not 0 <= lamport < _CLOCK or len(eid) != 2 * _ID or type(e.ts) is not float:
            return False
        try:
            raw = bytes.fromhex(eid)
        except ValueError:
            return False
        cols, row = self._columns.get(journal), self._rows[journal]
        if (cols is not None and cols.author != e.author) or raw.hex() != eid or raw == _UNUSED or not seq < len(row) or row[seq] is not e:
            return False
        if cols is None:
            cols = self._columns[journal] = _Columns(e.author)
            self._numbers[journal] = len(self._names)
            self._names.append(journal)
        if self._absent:
            self._absent.discard(eid)
        if seq >= len(cols.bodies):
            cols.grow(seq)
        cols.ids[_ID * seq : _ID * seq + _ID] = raw
        cols.lamports[seq] = lamport
        cols.ts[seq] = e.ts
        cols.bodies[seq] = e.body
        row[seq] = NOTE
        self.notes += 1
        return True

    def _note(self, journal: str, seq: int) -> Event:
        cols = self._columns[journal]
        return make_event(
            cols.id(seq).hex(),
            journal,
            seq,
            "note.added",
            self.cohort,
            cols.author,
            cols.lamports[seq],
            cols.ts[seq],
            cols.bodies[seq],
            (),
        )

    def id_at(self, journal: str, seq: int) -> str | None:
        """The id of the event at a place (None if none is held), without making a note kept as columns again."""
        row = self._rows.get(journal)
        if row is not None and 0 <= seq < len(row) and (e := row[seq]) is not None:
            return self._columns[journal].id(seq).hex() if e is NOTE else e.id
        held = self.far.get((journal, seq)) if self.far else None
        return held.id if held is not None else None

    def is_note(self, journal: str, seq: int, event_id: str) -> bool:
        """Whether the note kept as columns at this place has this id."""
        row = self._rows.get(journal)
        return row is not None and 0 <= seq < len(row) and row[seq] is NOTE and self.id_at(journal, seq) == event_id

    def place(self, journal: str, seq: int) -> int:
        """A note's place packed in one int, for indexes of many notes (see :meth:`events_at`)."""
        return self._numbers[journal] * _SEQ + seq

    def where(self, place: int) -> tuple[str, int]:
        """(journal, seq) of a packed place."""
        return self._names[place // _SEQ], place % _SEQ

    def kept_id(self, place: int) -> str:
        """The id of the note kept at a packed place."""
        return self._columns[self._names[place // _SEQ]].id(place % _SEQ).hex()

    def body_at(self, place: int) -> dict[str, Any]:
        """The body of the note kept at a packed place."""
        return self._columns[self._names[place // _SEQ]].bodies[place % _SEQ]  # type: ignore[return-value]

    def lamport_at(self, place: int) -> int:
        """The clock of the note kept at a packed place."""
        return self._columns[self._names[place // _SEQ]].lamports[place % _SEQ]

    def event_at(self, place: int) -> Event:
        """The note kept at a packed place, made again."""
        return self._note(self._names[place // _SEQ], place % _SEQ)

    def events_at(self, places: Iterable[int]) -> list[Event]:
        """The notes kept at packed places, made again."""
        names, note = self._names, self._note
        return [note(names[p // _SEQ], p % _SEQ) for p in places]

    @staticmethod
    def _seqs_of(ids: bytearray, wanted: dict[bytes, str]) -> Iterator[int]:
        """The seqs whose id column holds one of ``wanted``: a search per id for a few, one pass over the column for more.

        A search goes on from the next whole id after a match across two (an
        id made of the end of one and the start of the next matches once).
        """
        if len(wanted) <= 8:
            for raw in wanted:
                i = ids.find(raw)
                while i >= 0:
                    if i % _ID == 0:
                        yield i // _ID
                    i = ids.find(raw, (i // _ID + 1) * _ID)
        else:
            whole = bytes(ids)
            for seq in range(len(whole) // _ID):
                if whole[_ID * seq : _ID * (seq + 1)] in wanted:
                    yield seq

    def woven(self, others: Iterable[Event]) -> Iterator[Event | int]:
        """Every event held, each journal's in seq order, when ``others`` (every event held as an object) already has each
        journal's in seq order: ``others`` in their order, each journal's notes kept as columns woven in before the
        journal's next event (or after its last). The fold walks 100k events in the order they came, which is also
        the order they sit in memory: journal by journal instead cost about a third of its checks in cache misses.
        """
        rows, cols, numbers = self._rows, self._columns, self._numbers
        done: dict[str, int] = {}
        for e in others:
            journal = e.journal
            if journal in cols:
                row, start, seq = rows[journal], done.get(journal, 0) + 1, e.seq
                if seq > start:
                    base = numbers[journal] * _SEQ
                    for s in range(start, min(seq, len(row))):
                        if row[s] is NOTE:
                            yield base + s
                if seq >= start:
                    done[journal] = seq
            yield e
        for journal in cols:
            row, base = rows[journal], numbers[journal] * _SEQ
            for s in range(done.get(journal, 0) + 1, len(row)):
                if row[s] is NOTE:
                    yield base + s

    def walk(self, others: Iterable[Event]) -> Iterator[Event | int]:
        """Every event held, a journal at a time in seq order: ``others`` (every event held as an object, in the order
        they came) merged with the notes kept as columns, each given as its packed place (:meth:`place`).

        At a position holding more than one event, the one at its place (the first to come there) comes first,
        then the rest in the order they came, as a stable sort of every event by (journal, seq) gives them.
        """
        rows, cols = self._rows, self._columns
        off: dict[str, list[Event]] = {}  # events held off their row: a second one at a position, or far past the row
        for e in others:
            row = rows.get(e.journal)
            if row is None or not 0 <= e.seq < len(row) or row[e.seq] is not e:
                off.setdefault(e.journal, []).append(e)
        for journal in sorted(rows.keys() | off.keys()):
            row, extra = rows.get(journal, []), off.get(journal)
            if extra:
                extra.sort(key=_seq_of)
            k, n = 0, len(extra) if extra else 0
            base = self._numbers[journal] * _SEQ if journal in cols else 0
            for seq, slot in enumerate(row):
                while k < n and extra[k].seq < seq:  # type: ignore[index]
                    yield extra[k]  # type: ignore[index]
                    k += 1
                if slot is NOTE:
                    yield base + seq
                elif slot is not None:
                    yield slot
            while k < n:
                yield extra[k]  # type: ignore[index]
                k += 1

    def find(self, event_ids: Iterable[str]) -> dict[str, Event]:
        """The notes kept as columns among ``event_ids``, made again: id -> event.

        Ids asked for before are kept with their place, and those not found
        until a note with one is kept; the rest are looked for in one pass
        over the ids' columns (a note comes once, and a place never changes
        its note). An id is found only as it is written, 64 lowercase hex
        digits: what an object is held under (an edit naming a note in upper
        case finds it on no device).
        """
        found, absent, out = self._found, self._absent, {}
        wanted = {}
        for eid in event_ids:
            p = found.get(eid)
            if p is not None:
                out[eid] = self.event_at(p)
            elif len(eid) == 2 * _ID and eid not in absent:
                try:
                    raw = bytes.fromhex(eid)
                except ValueError:
                    continue
                if raw.hex() == eid and raw != _UNUSED:
                    wanted[raw] = eid
        if wanted and self.notes:
            for journal, cols in self._columns.items():
                row, number = self._rows[journal], self._numbers[journal] * _SEQ
                for seq in self._seqs_of(cols.ids, wanted):
                    eid = wanted[cols.id(seq)]
                    if seq < len(row) and row[seq] is NOTE:
                        found[eid] = number + seq
                        out[eid] = self._note(journal, seq)
        absent.update(eid for eid in wanted.values() if eid not in out)
        return out

    def open(self, journal: str) -> tuple[list[Event | None], bytearray]:
        """:meth:`row`, made if there is none yet: whoever appends an event at ``len(row)`` appends a 0 to the marks too."""
        row = self._rows.get(journal)
        if row is None:
            row = self._rows[journal] = []
            self._shaped[journal] = bytearray()
        return row, self._shaped[journal]

    def hold(self, e: Event) -> bool:
        """Put ``e`` at its place unless another event is there; whether ``e`` is the one there now."""
        journal, seq = e.journal, e.seq
        row = self.open(journal)[0]
        n = len(row)
        if 0 <= seq < n:
            held = row[seq]
            if held is None:
                held = self.far.get((journal, seq), e) if self.far else e
                row[seq] = held
            return held is e
        if n <= seq <= n + max(n, _FAR) and (journal, seq) not in self.far:
            row.extend([None] * (seq - n))
            row.append(e)
            self._shaped[journal].extend(bytes(seq + 1 - n))
            return True
        return self.far.setdefault((journal, seq), e) is e

    def row(self, journal: str) -> tuple[list[Event | None], bytearray]:
        """A journal's events by seq (None where none is held) and its shape marks: 1 where the event there has its kind's shape.

        The fold reads and sets the marks itself, for the event at a place only
        (``row[seq] is e``): a second event at a position is checked each time.
        """
        return self._rows.get(journal, []), self._shaped.get(journal, bytearray())
