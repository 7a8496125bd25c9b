"""New journals get small pages (Litestream ships whole pages); journals written before keep theirs."""

from __future__ import annotations

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
    assert JOURNAL_PAGE_SIZE == 2048
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
