"""New journals get small pages (Litestream ships whole pages); journals written before keep theirs."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from circle.store.db import JOURNAL_PAGE_SIZE, connect, migrate
from circle.store.journal import Journal, read_rows


def page_size(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        conn.close()


def blob(n: int) -> bytes:
    return bytes([n]) * 600


def test_a_new_journal_has_the_small_pages(tmp_path: Path) -> None:
    j = Journal(tmp_path / "new.db", bytes(16))
    j.append([lambda seq, prev, sign: blob(1)])
    j.close()
    assert JOURNAL_PAGE_SIZE == 512
    assert page_size(tmp_path / "new.db") == JOURNAL_PAGE_SIZE
    assert [r.blob for r in read_rows(tmp_path / "new.db")] == [blob(1)]


def test_a_journal_written_with_4096_byte_pages_keeps_them_and_grows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = connect(path)  # as circle created journals before: SQLite's default pages
    migrate(conn)
    conn.execute("INSERT INTO envelopes (seq, blob) VALUES (1, ?)", (blob(1),))
    conn.close()
    j = Journal(path, bytes(16))
    j.append([lambda seq, prev, sign, n=n: blob(n) for n in range(2, 12)])
    j.close()
    assert page_size(path) == 4096
    assert [r.blob for r in read_rows(path)] == [blob(n) for n in range(1, 12)]


def checkpointed(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path.read_bytes()


def test_an_append_does_not_write_the_envelopes_before_it_again(tmp_path: Path) -> None:
    """Litestream ships every page a commit changes: those pages hold the new envelope, not the old ones again."""
    path = tmp_path / "new.db"
    j = Journal(path, bytes(16))
    sizes = [483, 545, 611, 483, 700, 483, 545, 900]  # envelopes as a meeting writes them (padding floor: 483)
    blobs = [bytes([n + 1]) * 31 + os.urandom(size - 31) for n, size in enumerate(sizes)]
    j.append([lambda seq, prev, sign, b=blobs[0]: b])
    before = checkpointed(path)
    for n, b in enumerate(blobs[1:], start=1):
        j.append([lambda seq, prev, sign, b=b: b])
        after = checkpointed(path)
        changed = b"".join(
            after[p : p + JOURNAL_PAGE_SIZE]
            for p in range(0, len(after), JOURNAL_PAGE_SIZE)
            if after[p : p + JOURNAL_PAGE_SIZE] != before[p : p + JOURNAL_PAGE_SIZE]
        )
        assert b[-64:] in changed
        # Of the envelopes before it, only what the rewritten leaf keeps of their rows: under 512 bytes in all
        # (with 2048-byte pages, the three or four whole envelopes the last leaf holds).
        shipped = sum(16 for old in blobs[:n] for k in range(31, len(old) - 15, 16) if old[k : k + 16] in changed)
        assert shipped < 512, (n, shipped)
        before = after
    j.close()
    assert [r.blob for r in read_rows(path)] == blobs
