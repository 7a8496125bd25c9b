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
"""

from __future__ import annotations

from circle.models.events import Event

_FAR = 1024  # a list grows by at most this many places, or by as many as it holds


class Places:
    """journal -> seq -> the first event held there."""

    __slots__ = ("_rows", "_shaped", "far")

    def __init__(self) -> None:
        self._rows: dict[str, list[Event | None]] = {}
        self._shaped: dict[str, bytearray] = {}  # journal -> 1 at each place whose event has its kind's shape
        self.far: dict[tuple[str, int], Event] = {}  # (journal, seq) -> the event at a place far past its journal's row

    def get(self, journal: str, seq: int) -> Event | None:
        row = self._rows.get(journal)
        if row is not None and 0 <= seq < len(row) and (e := row[seq]) is not None:
            return e
        return self.far.get((journal, seq)) if self.far else None

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
