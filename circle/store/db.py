"""The one connection factory and the journal schema migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from circle.errors import CorruptFile
from circle.paths import storage_problem

if TYPE_CHECKING:
    import sqlite_utils
    from sqlite_utils.migrations import Migrations


def m001_envelopes(db: sqlite_utils.Database) -> None:
    # Neutral names: rows are opaque sealed envelopes, numbered by sequence.
    db.execute("CREATE TABLE envelopes (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL)")


def m002_marker(db: sqlite_utils.Database) -> None:
    # One counter row, bumped to end a big commit with a tiny one (see Journal.touch).
    db.execute("CREATE TABLE marker (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")


# Pages of new journals (SQLite's default is 4096). Litestream ships every page a
# commit touches whole, and an append touches the last leaf page, which holds the
# envelopes before it: smaller pages ship fewer of them again (bench/bench_wire.py).
JOURNAL_PAGE_SIZE = 2048


def connect(path: Path, *, readonly: bool = False, page_size: int | None = None, any_thread: bool = False) -> sqlite3.Connection:
    """Open a SQLite file the way circle always does.

    Writers get WAL and ``synchronous=FULL``: NORMAL can lose a commit on power
    loss after Litestream shipped it, and the next event would fork the chain.
    Readers open read-only, fresh each time (a held connection on a followed
    file never sees new rows). A reader that cannot make SQLite's shared-memory
    file (a full disk, a read-only mount) still reads a journal whose WAL is
    empty, as an immutable file. ``page_size`` applies to a writer's new, empty
    file only (SQLite keeps the page size a file has). ``any_thread``: a reader
    that its owner uses from more than one thread, one at a time (under a lock).
    """
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=5.0, check_same_thread=not any_thread)
            try:
                conn.execute("PRAGMA busy_timeout=5000")
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
            except sqlite3.OperationalError:
                conn.close()
                wal = Path(f"{path}-wal")
                if wal.exists() and wal.stat().st_size:
                    raise
                conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, isolation_level=None, timeout=5.0, check_same_thread=not any_thread)
            return conn
        conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        if page_size is not None:
            conn.execute(f"PRAGMA page_size={int(page_size)}")  # before WAL mode: that writes the first page
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn
    except sqlite3.DatabaseError as exc:
        raise storage_problem(path, exc) or CorruptFile("journal unreadable", f"{path.name}: {exc}; run 'circle verify'") from None
    except UnicodeDecodeError:
        # A damaged schema page: SQLite's error message quotes the damaged bytes, which Python cannot decode.
        raise CorruptFile("journal unreadable", f"{path.name}: its schema is damaged; run 'circle verify'") from None


def journal_migrations() -> Migrations:
    """The journal's schema steps, as sqlite-utils' migrations: imported here, as a reader never needs them (3 MiB of RSS)."""
    from sqlite_utils.migrations import Migrations

    steps = Migrations("journal")
    for step in (m001_envelopes, m002_marker):
        steps()(step)
    return steps


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a journal's schema up to date."""
    import sqlite_utils

    journal_migrations().apply(sqlite_utils.Database(conn))


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
