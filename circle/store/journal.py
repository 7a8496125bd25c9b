"""Journals on disk: one append-only SQLite file per (identity, cohort).

Only the owner ever writes a journal; everyone else reads a followed copy.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from circle.crypto import envelope
from circle.errors import CircleError, CorruptFile, NotFound
from circle.paths import storage_problem
from circle.store.db import JOURNAL_PAGE_SIZE, connect, migrate, transaction

READ_BATCH = 256  # rows fetched at a time: as quick as 2,000 at 100k rows (57 against 58 ms), a tenth of the memory
LOCK_WAIT = 1.0  # seconds a writer waits for the lock: another process may hold it for a moment (see Journal.touch)
_HELD: Counter[str] = Counter()  # journal paths whose write lock this process holds, by Journal objects


@dataclass(frozen=True)
class Row:
    seq: int
    blob: bytes


class JournalBusy(CircleError):
    """Another process holds this journal open for writing."""


class JournalBehind(CircleError):
    """The local journal file is older than what its owner already wrote."""


# A sealer gets (seq, prev hash, sign?) and returns an envelope.
Sealer = Callable[[int, bytes, bool], bytes]


class Journal:
    """An owned journal file, open for appending."""

    def __init__(self, path: Path, journal_id: bytes) -> None:
        self.path = path
        self.journal_id = journal_id
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._lock_for_writing()
            try:
                if not self.path.exists():  # journals are ciphertext, but still nobody else's business
                    os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                conn = connect(self.path, page_size=JOURNAL_PAGE_SIZE)
            except OSError as exc:
                self._unlock()
                raise storage_problem(self.path, exc) or CorruptFile("journal cannot be opened", f"{self.path.name}: {exc.strerror}") from None
            except CircleError:
                self._unlock()
                raise
            try:
                migrate(conn)
            except sqlite3.DatabaseError as exc:
                conn.close()
                self._unlock()
                raise storage_problem(self.path, exc) or CorruptFile("journal damaged", f"{self.path.name} is not a journal; run 'circle verify'") from None
            self._conn = conn
        return self._conn

    def _lock_for_writing(self, wait: float = LOCK_WAIT) -> None:
        """One writing process per journal.

        A writer killed between its WAL commit and the WAL index update leaves
        a commit that Litestream ships but that another open connection does
        not see; that connection's next append would reuse the seq and fork
        the chain. So a second process may read, never write. POSIX record
        locks belong to the process, so one process may open a journal twice.
        """
        if self._lock_fd is not None:
            return
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise storage_problem(lock, exc) or CorruptFile("journal cannot be opened for writing", f"{lock.name}: {exc.strerror}") from None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise JournalBusy(
                        "circle is already writing for you in another window",
                        "close the other circle window or 'circle sync' for this identity, then try again",
                    ) from None
                time.sleep(0.05)
        self._lock_fd = fd
        _HELD[str(self.path)] += 1

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
            _HELD[str(self.path)] -= 1

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._unlock()

    def touch(self) -> None:
        """Commit a one-row change beside the envelopes: a counter in ``marker``.

        Litestream re-reads a database's newest LTX file at every monitor tick,
        so after a big commit (a first sync, a healed replica, a bulk import)
        an idle journal costs CPU in proportion to that commit's size until
        something else is written. A tiny commit makes the newest LTX tiny.
        It uses its own connection: the sync thread calls it while the app's
        thread appends. A process that does not write the journal (``circle
        sync``, an app that has not written yet) borrows the write lock for
        the commit and gives it back; if another process holds it, that one
        writes and nothing is touched here.
        """
        borrowed = self._lock_fd is None and _HELD[str(self.path)] == 0  # else this process writes it already
        if borrowed:
            try:
                self._lock_for_writing(wait=0)
            except JournalBusy:
                return
        conn = connect(self.path)
        try:
            migrate(conn)
            with transaction(conn) as c:
                c.execute("INSERT INTO marker (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1")
        except sqlite3.DatabaseError:
            raise CorruptFile("journal damaged", f"{self.path.name} is not a journal; run 'circle verify'") from None
        finally:
            conn.close()
            if borrowed:
                self._unlock()

    def seq(self) -> int:
        """The newest seq in the file, through the writer's connection (which takes the write lock)."""
        return int(self.conn.execute("SELECT coalesce(max(seq), 0) FROM envelopes").fetchone()[0])

    def head(self) -> tuple[int, bytes]:
        row = self.conn.execute("SELECT seq, blob FROM envelopes ORDER BY seq DESC LIMIT 1").fetchone()
        return (0, envelope.ZERO_HASH) if row is None else (row[0], envelope.event_id(row[1]))

    def append(self, sealers: Sequence[Sealer], known_head: int = 0) -> list[bytes]:
        """Seal and append a batch in one transaction; the last envelope is signed.

        ``known_head`` is the newest seq this identity already wrote (from the
        keystore): a file behind it was lost or rolled back, and writing on it
        would reuse sequence numbers and fork the chain, so it is refused.
        Returns the envelopes written, in order.
        """
        written: list[bytes] = []
        if known_head and self._conn is None and not self.path.exists():
            raise JournalBehind(  # refuse before anything is created: an empty file would be pushed over the replica
                "your journal is missing on this device",
                "run 'circle sync --once' to restore it from your replica before writing again",
            )
        try:
            return self._append(sealers, known_head, written)
        except sqlite3.DatabaseError as exc:  # rolled back: nothing of the batch is in the journal
            self.close()
            raise storage_problem(self.path, exc) or CorruptFile("journal damaged", f"{self.path.name}: {exc}; run 'circle verify'") from None

    def _append(self, sealers: Sequence[Sealer], known_head: int, written: list[bytes]) -> list[bytes]:
        with transaction(self.conn) as c:
            row = c.execute("SELECT seq, blob FROM envelopes ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (0, envelope.ZERO_HASH) if row is None else (row[0], envelope.event_id(row[1]))
            if seq < known_head:
                raise JournalBehind(
                    "your journal on this device is behind what you already wrote",
                    "run 'circle sync --once' to restore it from your replica before writing again",
                )
            for i, seal in enumerate(sealers):
                seq += 1
                blob = seal(seq, prev, i == len(sealers) - 1)
                written.append(blob)
                prev = envelope.event_id(blob)
            c.executemany("INSERT INTO envelopes (seq, blob) VALUES (?, ?)", [(h, b) for h, b in zip(range(seq - len(written) + 1, seq + 1), written)])
        return written


def last_seq(path: Path) -> int:
    """The newest seq in a journal file through a fresh read-only connection (0 if it has none or cannot be read).

    For a process that does not write the journal: what another process wrote is there at once.
    """
    try:
        conn = connect(path, readonly=True)
    except CircleError:
        return 0
    try:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM envelopes").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0
    finally:
        conn.close()


def last_row(path: Path) -> Row | None:
    """The newest row of a journal file (None if it holds none)."""
    seq = last_seq(path)
    return next(iter(read_rows(path, seq - 1)), None) if seq else None


def append_raw(path: Path, seq: int, blob: bytes) -> None:
    """Put one envelope already written (and checked by the caller) at ``seq`` of a journal file that is no one's yet."""
    conn = connect(path)
    try:
        with transaction(conn) as c:
            c.execute("INSERT INTO envelopes (seq, blob) VALUES (?, ?)", (seq, blob))
    except sqlite3.DatabaseError as exc:
        raise storage_problem(path, exc) or CorruptFile("journal damaged", f"{path.name}: {exc}") from None
    finally:
        conn.close()


# A row's envelope as a query reads it: one longer than any envelope reads as NULL (its length is in its header), so it
# is refused as damage without being loaded (a replica holder's zero-filled row of 400 MB was read whole, then refused).
ENVELOPE = f"CASE WHEN length(blob) <= {envelope.MAX_LEN} THEN blob END"


class Reading:
    """One read-only connection to a journal, in one read transaction: every :meth:`rows` sees the same journal.

    Whatever is appended, or put in the file's place, meanwhile is not seen:
    a check that walks a journal and then reads again what it accepted reads
    what it checked (see :class:`circle.store.ingest.Accepted`).
    """

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise NotFound("journal missing", f"{path.name} is not on this device; run 'circle sync'")
        self.path = path
        self._conn = connect(path, readonly=True)
        self._conn.execute("BEGIN")  # deferred: the first read takes the snapshot every later one shares

    def rows(self, after: int = 0, upto: int | None = None) -> Iterator[Row]:
        """Rows with ``after`` < seq (<= ``upto``), in seq order."""
        path = self.path
        try:
            cur = self._conn.execute(
                f"SELECT seq, {ENVELOPE} FROM envelopes WHERE seq > ? AND seq <= ? ORDER BY seq", (after, 2**63 - 1 if upto is None else upto)
            )
        except sqlite3.DatabaseError as exc:
            raise storage_problem(path, exc) or CorruptFile("journal damaged", f"{path.name}: {exc}; run 'circle verify'") from None
        while True:
            try:
                batch = cur.fetchmany(READ_BATCH)
            except sqlite3.DatabaseError as exc:
                raise storage_problem(path, exc) or CorruptFile("journal damaged", f"{path.name}: {exc}; run 'circle verify'") from None
            if not batch:
                break
            for seq, blob in batch:
                # A damaged record can hold any type: bytes(n) of a damaged integer would allocate n bytes.
                if not isinstance(seq, int) or not isinstance(blob, bytes):
                    raise CorruptFile("journal damaged", f"{path.name}: a row is not an envelope; run 'circle verify'")
                yield Row(seq, blob)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Reading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_rows(path: Path, after: int = 0) -> Iterator[Row]:
    """Rows of a journal file with seq > ``after``, through a fresh read-only connection."""
    with Reading(path) as journal:
        yield from journal.rows(after)
