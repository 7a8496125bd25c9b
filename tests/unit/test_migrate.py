"""Journal schema migrations from a blank database, and the one connection factory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from circle.crypto import envelope
from circle.errors import CorruptFile, NotFound
from circle.store import db
from circle.store.journal import Journal, read_rows


def test_migrate_a_blank_database(tmp_path: Path) -> None:
    path = tmp_path / "blank.db"
    conn = db.connect(path)
    db.migrate(conn)
    d = sqlite_utils.Database(conn)
    assert "envelopes" in d.table_names()
    cols = {c.name: c for c in d["envelopes"].columns}
    assert list(cols) == ["seq", "blob"]
    assert d["envelopes"].pks == ["seq"]
    assert "NOT NULL" in d["envelopes"].schema.split("blob", 1)[1].split(",")[0]
    applied = [r["name"] for r in d["_sqlite_migrations"].rows]
    assert applied == ["m001_envelopes", "m002_marker"]
    assert {c.name for c in d["marker"].columns} == {"id", "n"}
    # Neutral names only: nothing about cohorts, people or kinds of event in the schema.
    ours = [t for t in d.table_names() if t != "_sqlite_migrations"]
    names = " ".join(ours + [c for t in ours for c in d[t].columns_dict]).lower()
    for word in ("cohort", "member", "name", "agenda", "note", "kind", "author"):
        assert word not in names, word


def test_migrate_twice_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    conn = db.connect(path)
    db.migrate(conn)
    conn.execute("INSERT INTO envelopes (seq, blob) VALUES (1, x'00')")
    db.migrate(conn)
    assert conn.execute("SELECT count(*) FROM envelopes").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == 2


def test_writer_connections_use_wal_and_full_sync(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "j.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_readers_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    db.migrate(db.connect(path))
    ro = db.connect(path, readonly=True)
    with pytest.raises(sqlite3.OperationalError):
        ro.execute("INSERT INTO envelopes (seq, blob) VALUES (1, x'00')")


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "j.db")
    db.migrate(conn)
    with pytest.raises(RuntimeError):
        with db.transaction(conn):
            conn.execute("INSERT INTO envelopes (seq, blob) VALUES (1, x'00')")
            raise RuntimeError("crash mid-batch")
    assert conn.execute("SELECT count(*) FROM envelopes").fetchone()[0] == 0


def test_a_new_journal_starts_empty_and_appends_in_order(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signer = Ed25519PrivateKey.generate()
    j = Journal(tmp_path / "j.db", b"j" * 16)
    assert j.head() == (0, envelope.ZERO_HASH)
    signs: list[bool] = []

    def sealer(seq: int, prev: bytes, sign: bool) -> bytes:
        signs.append(sign)
        return envelope.seal(journal_id=b"j" * 16, seq=seq, prev=prev, key_id=b"k" * 16, key=b"K" * 32, plaintext=b"e", signer=signer if sign else None)

    first = j.append([sealer])
    batch = j.append([sealer, sealer, sealer])
    assert signs == [True, False, False, True]  # a batch signs only its last envelope
    assert [r.seq for r in read_rows(j.path)] == [1, 2, 3, 4]
    assert j.head() == (4, envelope.event_id(batch[-1]))
    assert envelope.parse(batch[0]).prev == envelope.event_id(first[0])
    j.close()


def test_a_failed_seal_leaves_no_half_batch(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.db", b"j" * 16)

    def ok(seq: int, prev: bytes, sign: bool) -> bytes:
        return envelope.seal(journal_id=b"j" * 16, seq=seq, prev=prev, key_id=b"k" * 16, key=b"K" * 32, plaintext=b"e", signer=None)

    def boom(seq: int, prev: bytes, sign: bool) -> bytes:
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        j.append([ok, ok, boom])
    assert list(read_rows(j.path)) == []
    j.close()


def test_a_journal_made_before_the_marker_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = db.connect(path)
    db.journal_migrations().apply(sqlite_utils.Database(conn), stop_before="m002_marker")
    conn.execute("INSERT INTO envelopes (seq, blob) VALUES (1, x'00')")
    conn.close()
    j = Journal(path, b"j" * 16)
    j.head()  # opened for writing, as the app does: touch only ever runs in the writing process
    j.touch()
    assert [r.seq for r in read_rows(path)] == [1]
    assert sqlite_utils.Database(db.connect(path))["marker"].count == 1
    j.close()


def test_touch_bumps_one_counter_from_another_thread(tmp_path: Path) -> None:
    import threading

    j = Journal(tmp_path / "j.db", b"j" * 16)
    before = j.head()
    t = threading.Thread(target=lambda: [j.touch() for _ in range(3)])
    t.start()
    t.join()
    ro = db.connect(j.path, readonly=True)
    assert ro.execute("SELECT id, n FROM marker").fetchall() == [(1, 3)]  # one row, a count: nothing else
    assert j.head() == before  # the chain is untouched
    ro.close()
    j.close()


def test_reading_a_missing_or_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        list(read_rows(tmp_path / "absent.db"))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite " * 100)
    with pytest.raises(CorruptFile):
        list(read_rows(junk))
    with pytest.raises(CorruptFile):
        Journal(junk, b"j" * 16).head()
