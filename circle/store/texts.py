"""Notes' text left in the journals, read back when a screen shows it (issue 14: memory bounded by the screen).

Notes are most of a cohort's history and most of its bytes: at 100k events
their text was about 80 MB of the view's memory, though a screen shows one
meeting's notes at a time. Once a note's body is checked against its kind's
schema (as it is opened), :meth:`Texts.leave` swaps its text for the store's
:class:`~circle.models.events.Later`: the text is in the envelope the note came
in, which :func:`~circle.models.events.text_of` names as an
:class:`~circle.models.events.Elsewhere`; the snapshot keeps no text for it.
Reading it back opens that one envelope again: a row from the journal file,
its id checked against the event's (so a file replaced since cannot hand back
other words), its key from the keystore, about 20 µs of decryption. The texts read or written
lately stay in a small cache, so the meeting on screen costs nothing twice.

A text that cannot be read back (its journal file gone or damaged since)
shows as a bracketed line that says so and what to do; nothing is raised
into a screen.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from circle.crypto import envelope
from circle.errors import CircleError, InvalidEnvelope
from circle.models.events import Elsewhere, Event, Later, decode_payload
from circle.models.schema import problem
from circle.store.db import connect
from circle.store.keys import ScopeKey

LEFT = frozenset({"note.added", "note.edited"})  # kinds whose text is left in the journal once folded
CACHE = 4096  # texts kept in memory: a long meeting's notes several times over (about 4 MB at 1 KB a note)


class Unreadable(str):
    """The line shown for a note whose text could not be read back: a type of its own, so that what is written down
    (a snapshot, a signed export) can tell it from a note whose author wrote the same words."""


UNREADABLE = Unreadable("[this note could not be read again from its journal: run 'circle verify']")


def unreadable_now(held: str | Elsewhere) -> bool:
    """Whether a text held as ``held`` was not read back from its journal when it was last asked for; read it if that is not known."""
    if type(held) is not Elsewhere:
        return False
    if isinstance(held.reader, Texts):
        return held.reader.failed(held)
    return isinstance(str(held), Unreadable)


class Texts:
    """Where a cohort's notes' text is read back from, and the ones read lately.

    Args:
        path_of: a journal id -> its file on this device.
        keys: the keys this device opens envelopes with now (id -> key).
        alternates: other keys to try under an id (an epoch not settled yet).
    """

    def __init__(
        self, path_of: Callable[[str], Path], keys: Callable[[], dict[bytes, ScopeKey]], alternates: Callable[[], dict[bytes, list[ScopeKey]]]
    ) -> None:
        self._path_of, self._keys, self._alternates = path_of, keys, alternates
        self._cache: OrderedDict[tuple[str, int, str], str] = OrderedDict()  # (journal, seq, event id): the id is checked here too
        self._conns: dict[str, sqlite3.Connection] = {}
        self.later = Later(self)  # the text of every note body left here
        self._bodies: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}  # a note's meeting, item and kind -> the one body held
        self._lock = threading.Lock()  # screens read from the UI thread while sync folds in another
        self._closed = False
        self.read_back = 0  # texts read from a journal (not from the cache): for benches and tests
        self._keyring: tuple[dict[bytes, ScopeKey], dict[bytes, list[ScopeKey]]] | None = None  # see _candidates
        self._unread: set[tuple[str, int, str]] = set()  # places whose last read failed (a read that succeeds takes its place out)

    def leave(self, events: Iterable[Event]) -> list[Event]:
        """``events``, each note among them whose body has its kind's shape with its text left in the journal.

        Called as they are opened, before the fold, so a cold open never holds
        every note's text at once; the fold's own check of the shape then passes
        the mark (:func:`circle.models.schema.text`), and refuses the rest as before.
        """
        with self._lock:
            return [self._leave(e) for e in events]

    def leave_one(self, e: Event) -> Event:
        """:meth:`leave` for one event (as :func:`circle.store.ingest.open_events` opens them)."""
        with self._lock:
            return self._leave(e)

    def _leave(self, e: Event) -> Event:
        if e.kind in LEFT and type(text := e.body.get("text")) is str and problem(e.kind, e.body) is None:
            self._keep((e.journal, e.seq, e.id), text)
            return Event(e.id, e.journal, e.seq, e.kind, e.cohort, e.author, e.lamport, e.ts, self.left_body(e.kind, e.body), e.deps)
        return e

    def left_body(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """What a note's event holds for ``body`` (with or without its text) once its text is left: the text is :class:`Later`.

        A ``note.added`` of one meeting, item and kind holds the same dict as
        every other note there (a meeting's many notes: one dict, not one each);
        so no body of a left note is ever changed once made.
        """
        if kind == "note.added":  # as a snapshot opens, 80k times at 100k events: no dict built to find the one held
            m, i, k = body.get("meeting"), body.get("item"), body.get("kind")
            others = len(body) - ("text" in body) - (m is not None) - (i is not None) - (k is not None)
            if not others and type(m) is str and type(i) in (str, type(None)) and type(k) in (str, type(None)):
                held = self._bodies.get((m, i, k))
                if held is None:
                    held = self._bodies[(m, i, k)] = {**{f: v for f, v in (("meeting", m), ("item", i), ("kind", k)) if v is not None}, "text": self.later}
                return held
        return {**{f: v for f, v in body.items() if f != "text"}, "text": self.later}

    def __call__(self, where: Elsewhere) -> str:
        pos = (where.journal, where.seq, where.id)
        with self._lock:
            text = self._cache.get(pos)
            if text is not None:
                self._cache.move_to_end(pos)
                return text
            text = self._read(where)
            if self._closed:  # the store let go of its files: a look after that does not hold one open until the process ends
                self._let_go()
            if text is None:
                self._unread.add(pos)
                return UNREADABLE  # not kept: the file may be back (restored) by the next look
            self._unread.discard(pos)
            self.read_back += 1
            self._keep(pos, text)
            return text

    def failed(self, where: Elsewhere) -> bool:
        """Whether the text at ``where`` could not be read back the last time it was asked for (and is not in the cache)."""
        with self._lock:
            return (where.journal, where.seq, where.id) in self._unread

    def _keep(self, pos: tuple[str, int, str], text: str) -> None:
        self._cache[pos] = text
        if len(self._cache) > CACHE:
            self._cache.popitem(last=False)

    def _read(self, where: Elsewhere) -> str | None:
        blob = self._row(where.journal, where.seq)
        if blob is None or envelope.event_id(blob).hex() != where.id:
            return None
        try:
            header = envelope.parse(blob)
        except InvalidEnvelope:
            return None
        for fresh in (False, True):
            for key in self._candidates(header.key_id, fresh):
                try:
                    ev = decode_payload(envelope.open_envelope(blob, header, key.secret), id=where.id, journal=where.journal, seq=where.seq)
                except InvalidEnvelope:
                    continue
                text = ev.body.get("text")
                return text if type(text) is str else None
        return None

    def _candidates(self, kid: bytes, fresh: bool) -> list[ScopeKey]:
        """The keys to try on an envelope sealed under ``kid``: from the keys last asked of the keystore, or (``fresh``)
        from the keystore now. Asking it for every note (its keys decoded, each roster key derived) was a quarter of a
        note's read back: 17 of 67 µs, 1.4 s of a whole-history export at 100k events. A key added or settled since
        is found by the second, fresh look, which :meth:`_read` takes whenever the first opened nothing."""
        if fresh or self._keyring is None:
            for _ in range(3):
                try:  # the keystore's keys, as the sync thread may be adding one
                    self._keyring = (self._keys(), self._alternates())
                    break
                except RuntimeError:  # "dictionary changed size during iteration": look again
                    continue
            else:
                return []
        held, alternates = self._keyring
        return [k for k in (held.get(kid), *alternates.get(kid, ())) if k is not None]

    def _row(self, journal: str, seq: int) -> bytes | None:
        """The envelope at ``seq``, through a connection kept per journal, opened again once if the row is not there
        (the file may have been replaced by a newer copy since)."""
        held = self._conns.get(journal)
        for conn in (held, None) if held is not None else (None,):
            if conn is None:
                conn = self._open(journal)
                if conn is None:
                    return None
            try:
                rows = conn.execute("SELECT blob FROM envelopes WHERE seq = ?", (seq,)).fetchall()  # to the end: no read left open
            except sqlite3.Error:
                rows = []
            if rows and isinstance(rows[0][0], bytes):
                return rows[0][0]
        return None

    def _open(self, journal: str) -> sqlite3.Connection | None:
        old = self._conns.pop(journal, None)
        if old is not None:
            old.close()
        try:
            conn = connect(self._path_of(journal), readonly=True, any_thread=True)
        except (CircleError, sqlite3.Error):
            return None
        self._conns[journal] = conn
        return conn

    def close(self) -> None:
        """Let go of the journal files (the cache stays); a text read after this opens its file and closes it again."""
        with self._lock:
            self._closed = True
            self._let_go()

    def _let_go(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
