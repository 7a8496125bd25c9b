"""A kept restore brought forward by the replica's level-0 files (ltx.apply_level0), against the real litestream.

Plain WAL-mode SQLite files stand in for journals. What matters: the copy ends
as a whole restore would, and anything it cannot follow (a damaged file, a
gap) leaves the copy as it was and says so, so the caller restores afresh.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from circle.sync import litestream as ls
from circle.sync.litestream import ltx


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


def test_a_fifo_a_link_or_a_file_too_big_named_as_the_next_file_is_not_read_and_the_copy_is_kept(tmp_path: Path, monkeypatch) -> None:
    """A replica holder names something else as the next level-0 file: a FIFO blocked the sync thread for good, a link
    to /dev/zero read until memory ran out, and a megabyte of tiny compressed pages cost seconds of inflating (more
    pages than a follower applies are left to a whole restore, by litestream)."""
    db, replica, mirror, txid = kept(tmp_path)
    commit(db, 1, replica)
    newest = ls.latest_txid(replica)
    assert newest == txid + 1
    [real] = [p for p in level0(replica) if p.name.startswith(f"{newest:016x}")]
    saved = real.read_bytes()
    before = mirror.read_bytes()
    real.unlink()
    os.mkfifo(real)
    assert not ls.apply_level0(replica, mirror, txid, newest)  # returns at once: the FIFO is not opened for reading
    real.unlink()
    real.symlink_to("/dev/zero")
    assert not ls.apply_level0(replica, mirror, txid, newest)
    real.unlink()
    real.write_bytes(bytes(ltx.APPLY_BYTES + 1))
    assert not ls.apply_level0(replica, mirror, txid, newest)
    real.write_bytes(saved)
    monkeypatch.setattr(ltx, "APPLY_INFLATED", 0)
    assert not ls.apply_level0(replica, mirror, txid, newest)  # more pages than it applies: refused before they are inflated
    with pytest.raises(ltx.LTXError, match="more pages"):
        ltx.read_ltx(saved, 4096, newest, newest, max_pages=0)
    assert mirror.read_bytes() == before
    monkeypatch.undo()  # the real file again: followed as before
    assert ls.apply_level0(replica, mirror, txid, newest) and rows(mirror) == rows(db)


def test_what_a_pull_reads_is_bounded_across_its_files_not_per_file(tmp_path: Path, monkeypatch) -> None:
    """Twenty files of 4 MiB each (a valid checksum over a long trailer) cost 7.6 s when the bound was per file."""
    db, replica, mirror, txid = kept(tmp_path)
    commit(db, 3, replica)
    newest = ls.latest_txid(replica)
    assert newest == txid + 3
    sizes = sorted(p.stat().st_size for p in level0(replica) if int(p.name[:16], 16) > txid)
    monkeypatch.setattr(ltx, "APPLY_BYTES", sum(sizes) - 1)  # every file fits alone; together they do not
    before = mirror.read_bytes()
    assert not ls.apply_level0(replica, mirror, txid, newest)
    assert mirror.read_bytes() == before
    monkeypatch.setattr(ltx, "APPLY_BYTES", sum(sizes))
    assert ls.apply_level0(replica, mirror, txid, newest) and rows(mirror) == rows(db)
