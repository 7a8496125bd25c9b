"""A kept restore brought forward by the replica's level-0 files (ltx.apply_level0), against the real litestream.

Plain WAL-mode SQLite files stand in for journals. What matters: the copy ends
as a whole restore would, and anything it cannot follow (a damaged file, a
gap) leaves the copy as it was and says so, so the caller restores afresh.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from circle.sync import litestream as ls


def commit(db: Path, n: int, replica: ls.Replica) -> None:
    """``n`` commits of one row each, each shipped on its own (one level-0 file per commit)."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS envelopes (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    for _ in range(n):
        con.execute("INSERT INTO envelopes (blob) VALUES (?)", (os.urandom(200) + bytes(900),))
        con.commit()
        ls.replicate_once(db, replica)
    con.close()


def rows(db: Path) -> list[tuple[int, bytes]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return con.execute("SELECT seq, blob FROM envelopes ORDER BY seq").fetchall()
    finally:
        con.close()


def kept(tmp_path: Path) -> tuple[Path, ls.Replica, Path, int]:
    db, replica, mirror = tmp_path / "j.db", ls.Replica(str(tmp_path / "replica")), tmp_path / "mirror.db"
    commit(db, 3, replica)
    txid = ls.latest_txid(replica)
    assert txid is not None and ls.restore(replica, mirror, txid=txid)
    ls.rollback_mode(mirror)
    return db, replica, mirror, txid


def level0(replica: ls.Replica) -> list[Path]:
    folder = ls.folder_of(replica)
    assert folder is not None
    return sorted((folder / "ltx" / "0").iterdir())


def test_applied_files_give_what_a_whole_restore_gives(tmp_path: Path) -> None:
    db, replica, mirror, txid = kept(tmp_path)
    for _ in range(3):  # kept across several pulls, each applying only what came since
        commit(db, 4, replica)
        newest = ls.latest_txid(replica)
        assert newest is not None and newest > txid
        assert ls.apply_level0(replica, mirror, txid, newest)
        txid = newest
        assert rows(mirror) == rows(db)
    whole = tmp_path / "whole.db"
    assert ls.restore(replica, whole)
    assert rows(mirror) == rows(whole)
    assert not Path(f"{mirror}-wal").exists()  # read in rollback mode: no WAL beside a file changed under it


def test_a_damaged_file_leaves_the_copy_as_it_was(tmp_path: Path) -> None:
    db, replica, mirror, txid = kept(tmp_path)
    commit(db, 2, replica)
    newest = ls.latest_txid(replica)
    assert newest is not None
    last = level0(replica)[-1]
    data = bytearray(last.read_bytes())
    data[120] ^= 0xFF  # inside the first page's compressed data
    last.write_bytes(bytes(data))
    before = mirror.read_bytes()
    assert not ls.apply_level0(replica, mirror, txid, newest)
    assert mirror.read_bytes() == before


def test_a_gap_or_a_replica_behind_is_not_followed(tmp_path: Path) -> None:
    db, replica, mirror, txid = kept(tmp_path)
    commit(db, 3, replica)
    newest = ls.latest_txid(replica)
    assert newest is not None
    before = mirror.read_bytes()
    assert not ls.apply_level0(replica, mirror, txid + 5, newest + 5)  # nothing continues that TXID
    assert not ls.apply_level0(replica, mirror, txid, newest + 1)  # not up to what was asked
    level0(replica)[-2].unlink()  # a file in the middle gone
    assert not ls.apply_level0(replica, mirror, txid, newest)
    assert mirror.read_bytes() == before
