"""The anonymous round on this device: lines gathered from the replica, and one line given to it.

A line never enters a journal (:mod:`circle.crypto.anonymous` seals it under
a fresh key and nobody signs it). It travels as a one-envelope SQLite file,
shaped like a journal, at the first free slot of the meeting's round under the
cohort's replica location; the sync layer hands in a :class:`Drop` that
reaches that location. What came in is kept in a small local file, as it was
fetched (ciphertext), and :class:`~circle.store.cohort.CohortStore` opens it
into the view.

Who wrote a line is known to nobody but its author: not the replica host,
not a member holding every replica and every key. What the host still
learns (when a slot appeared, from which connection) is in SECURITY.md.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from circle.crypto import anonymous as sealing
from circle.errors import CircleError, InvalidEnvelope, ReplicaOffline, UsageError
from circle.paths import private_dir, storage_problem
from circle.store.db import connect, migrate
from circle.store.journal import read_rows

MAX_SLOTS = 256  # lines one meeting's round holds
LOOKAHEAD = 2  # empty slots looked at past the last line: a writer cut off half-way leaves a gap
RETRY_AFTER = 10.0  # seconds before a slot that is there but holds no line is read again; doubled each time, up to an hour
# (a line still being shipped is read on a later tick; a slot made empty on purpose costs a few reads an hour)


class _Unread:
    """Slots that are there but held no line when read: each is read again only after a while, longer each time.

    A line is written once and read by everyone; a slot that holds nothing
    readable is a writer cut off half-way, or made by an altered client: one
    who made all 256 slots of a round, empty, cost each device 256 restores
    (9 s) on every tick of its sync. Kept per process, by slot name (a name
    is unique to its cohort, meeting, epoch key and slot).
    """

    def __init__(self) -> None:
        self._next: dict[str, tuple[float, float]] = {}  # slot name -> (when it is read again, how long it waited)
        self._lock = threading.Lock()

    def due(self, name: str, now: float) -> bool:
        with self._lock:
            held = self._next.get(name)
            return held is None or now >= held[0]

    def failed(self, name: str, now: float) -> None:
        with self._lock:
            wait = min(3600.0, self._next.get(name, (0.0, RETRY_AFTER / 2))[1] * 2)
            self._next[name] = (now + wait, wait)
            if len(self._next) > 100_000:  # never more than a few rounds' worth in use: forget the oldest
                for old in list(self._next)[:50_000]:
                    del self._next[old]

    def read(self, name: str) -> None:
        with self._lock:
            self._next.pop(name, None)


UNREAD = _Unread()


class Drop(Protocol):
    """How lines reach the cohort's replica location (the sync layer gives one; see ``circle.sync.drop``)."""

    def exists(self, name: str) -> bool:
        """Whether anything is at ``name`` under the location."""
        ...

    def fetch(self, name: str, out: Path) -> bool:
        """Restore the first file shipped to ``name`` into ``out``; False if there is none.

        The first, not the latest: two members who push to one slot at once
        both read back the first, and the one whose line is not there moves
        on, so no line is lost to another shipped over it.
        """
        ...

    def push(self, db: Path, name: str) -> None:
        """Ship the SQLite file ``db`` to ``name``."""
        ...


Names = Callable[[int], str]  # slot number -> its name under the location


class RoundCache:
    """Lines fetched for every meeting of one cohort, as they came (sealed).

    Args:
        path: the cache file (made on first write).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self, write: bool) -> Iterator[sqlite3.Connection | None]:
        if not write and not self.path.exists():
            yield None
            return
        private_dir(self.path.parent)
        conn = connect(self.path, readonly=not write)
        try:
            if write:
                conn.execute("CREATE TABLE IF NOT EXISTS lines (meeting TEXT, key TEXT, slot INTEGER, blob BLOB NOT NULL, PRIMARY KEY (meeting, key, slot))")
                conn.execute("CREATE TABLE IF NOT EXISTS looked (meeting TEXT, key TEXT, PRIMARY KEY (meeting, key))")
            yield conn
        except sqlite3.DatabaseError as exc:
            raise storage_problem(self.path, exc) or InvalidEnvelope(f"the anonymous round's file is damaged: {exc}") from None
        finally:
            conn.close()

    def put(self, meeting: str, key: str, slot: int, blob: bytes) -> bool:
        """Keep a fetched line; False if that slot was held already."""
        with self._db(True) as conn:
            assert conn is not None
            return conn.execute("INSERT OR IGNORE INTO lines VALUES (?, ?, ?, ?)", (meeting, key, slot, blob)).rowcount == 1

    def slots(self, meeting: str, key: str) -> set[int]:
        with self._db(False) as conn:
            if conn is None:
                return set()
            return {s for (s,) in conn.execute("SELECT slot FROM lines WHERE meeting = ? AND key = ?", (meeting, key))}

    def looked(self, key: str) -> set[str]:
        """Meetings whose round was looked through to its end under ``key`` at least once."""
        with self._db(False) as conn:
            if conn is None:
                return set()
            try:
                return {m for (m,) in conn.execute("SELECT meeting FROM looked WHERE key = ?", (key,))}
            except sqlite3.OperationalError:
                return set()

    def held(self, keys: Iterable[str]) -> dict[tuple[str, str], set[int]]:
        """(meeting, key) -> the slots held, for every meeting, under each of ``keys``: one read for many rounds."""
        out: dict[tuple[str, str], set[int]] = {}
        with self._db(False) as conn:
            if conn is None:
                return out
            try:
                for k in set(keys):
                    for m, s in conn.execute("SELECT meeting, slot FROM lines WHERE key = ?", (k,)):
                        out.setdefault((m, k), set()).add(s)
            except sqlite3.OperationalError:
                pass  # made by a writer that has not made the table yet
        return out

    def mark_looked(self, looked: Iterable[tuple[str, str]]) -> None:
        """Rounds (meeting, key) looked through to their end: one transaction for all of them."""
        with self._db(True) as conn:
            assert conn is not None
            with conn:
                conn.execute("BEGIN")
                conn.executemany("INSERT OR IGNORE INTO looked VALUES (?, ?)", list(looked))

    def rows(self) -> list[tuple[str, str, bytes]]:
        """(meeting, key id it was looked for under, line) of every line kept."""
        with self._db(False) as conn:
            if conn is None:
                return []
            try:
                return [(m, k, bytes(b)) for m, k, b in conn.execute("SELECT meeting, key, blob FROM lines ORDER BY rowid")]
            except sqlite3.OperationalError:
                return []  # made by a writer that has not made the table yet


def _read(drop: Drop, name: str, scratch: Path, unread: _Unread | None = None) -> bytes | None:
    """The line at ``name``, or None if nothing there is shaped like one (told to ``unread``; not when the replica
    could not be reached: that says nothing of the slot)."""
    out = scratch / f"{name}.db"
    try:
        if not drop.fetch(name, out):
            return _unread(unread, name)
        rows = list(read_rows(out))
    except ReplicaOffline:
        return None
    except CircleError:
        return _unread(unread, name)
    if len(rows) != 1:
        return _unread(unread, name)
    try:
        sealing.key_id_of(rows[0].blob)
    except InvalidEnvelope:
        return _unread(unread, name)
    if unread is not None:
        unread.read(name)
    return rows[0].blob


def _unread(unread: _Unread | None, name: str) -> None:
    if unread is not None:
        unread.failed(name, time.monotonic())


def _write(blob: bytes, path: Path) -> None:
    conn = connect(path)
    try:
        migrate(conn)
        conn.execute("INSERT INTO envelopes (seq, blob) VALUES (1, ?)", (blob,))
    finally:
        conn.close()


def gather(drop: Drop, cache: RoundCache, rounds: list[tuple[str, str, Names]]) -> int:
    """Fetch the lines of each round (meeting, epoch key id, its slot names) that this device does not have yet; how
    many came. What was held is read once and the rounds looked through are recorded in one transaction: a new
    device looks through every meeting's round once, and a write per meeting cost 2.5 ms (2.5 s at 1,000 meetings)."""
    held = cache.held(key for _m, key, _n in rounds)
    new = 0
    with tempfile.TemporaryDirectory(prefix="round-") as d:
        for meeting, key, names in rounds:
            mine, empty, slot = held.get((meeting, key), set()), 0, 0
            while slot < MAX_SLOTS and empty <= LOOKAHEAD:
                if slot in mine:
                    empty = 0
                elif drop.exists(name := names(slot)):
                    empty = 0
                    if UNREAD.due(name, time.monotonic()):
                        blob = _read(drop, name, Path(d), UNREAD)
                        if blob is not None:
                            new += cache.put(meeting, key, slot, blob)
                else:
                    empty += 1
                slot += 1
    if rounds:
        cache.mark_looked((meeting, key) for meeting, key, _n in rounds)
    return new


def deliver(drop: Drop, cache: RoundCache, meeting: str, key: str, names: Names, blob: bytes) -> None:
    """Put one sealed line in the first free slot of the round, and read it back.

    Two members writing at once may pick the same slot; the slot keeps the
    first file shipped there (:meth:`Drop.fetch`), and whoever's line is not
    that one tries the next slot.
    """
    held = cache.slots(meeting, key)
    with tempfile.TemporaryDirectory(prefix="round-") as d:
        scratch = Path(d)
        for slot in range(MAX_SLOTS):
            if slot in held:
                continue
            name = names(slot)
            if not drop.exists(name):
                mine = scratch / f"line-{slot}.db"
                _write(blob, mine)
                drop.push(mine, name)
            there = _read(drop, name, scratch)
            if there is not None:
                cache.put(meeting, key, slot, there)
                if there == blob:
                    return
    raise UsageError("the anonymous round is full", f"a round holds {MAX_SLOTS} lines")
