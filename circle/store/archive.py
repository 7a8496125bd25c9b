"""This device's verified copy of a peer's journal: it only ever grows, by rows that checked out.

Litestream restores (or follows) a peer's replica into a *mirror* file. A
replica can be behind, forked, swapped or damaged, and a restore replaces its
output whole, so the mirror is never what circle reads. Rows of the mirror
join the *archive* (``peers/<journal>.db``, the file ingest reads) only when
they continue its hash chain up to a valid signature of the journal's owner.
A mirror that does not is kept as evidence, and the archive stays as it was:
no replica can take from this device what it had verified.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from circle.crypto import envelope
from circle.errors import CircleError, CorruptFile
from circle.paths import private_dir
from circle.store.chain import ChainResult, Checked, check_chain
from circle.store.db import connect, migrate, transaction
from circle.store.journal import ENVELOPE, read_rows
from circle.store.vault import JournalRecord


@dataclass(frozen=True)
class Taken:
    """What joining a mirror to an archive did.

    Attributes:
        added: rows appended to the archive.
        kind: "" when the mirror continued the archive; else "fork", "rollback" or "tampered".
        problem: one line for people ("" when nothing is wrong).
        evidence: where the refused mirror was kept.
    """

    added: int = 0
    kind: str = ""
    problem: str = ""
    evidence: Path | None = None


def head(path: Path) -> tuple[int, bytes]:
    """The newest (seq, envelope) of an archive; (0, b"") when it is missing or empty."""
    if not path.exists():
        return 0, b""
    conn = connect(path, readonly=True)
    try:
        row = conn.execute(f"SELECT seq, {ENVELOPE} FROM envelopes ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError:
        return 0, b""
    finally:
        conn.close()
    if row is None:
        return 0, b""
    if not isinstance(row[0], int) or not isinstance(row[1], bytes):  # no envelope (longer than any): only damage does that here
        raise CorruptFile("a verified copy of a journal is damaged", f"{path.name}: run 'circle verify'")
    return row[0], row[1]


def append(path: Path, rows: list[Checked]) -> None:
    """Append checked rows to an archive (created 0600 if new), in one transaction."""
    if not rows:
        return
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = connect(path)
    try:
        migrate(conn)
        with transaction(conn) as c:
            c.executemany("INSERT OR IGNORE INTO envelopes (seq, blob) VALUES (?, ?)", [(r.seq, r.blob) for r in rows])
    except sqlite3.DatabaseError as exc:
        raise CorruptFile("a verified copy of a journal cannot be written", f"{path.name}: {exc}; check the disk") from None
    finally:
        conn.close()


def _check(record: JournalRecord, archive: Path, mirror: Path) -> ChainResult:
    """The mirror's rows from the archive's newest row on, checked against it (only those: a read from the index)."""
    seq, blob = head(archive)
    digest = envelope.event_id(blob) if blob else envelope.ZERO_HASH
    return check_chain(
        read_rows(mirror, max(seq - 1, 0)),
        journal_id=bytes.fromhex(record.id),
        verifier=record.verifier(),
        head_seq=seq,
        head_hash=digest,
        head_envelope=blob,
    )


def continues(record: JournalRecord, archive: Path, mirror: Path) -> bool:
    """Whether ``mirror`` continues ``archive`` cleanly (no fork, rollback or damage); nothing is written or kept.

    For a mirror this device built itself from the replica's newest files (see
    ``apply_level0`` in circle.sync.litestream.ltx): anything but a clean
    continuation is then checked again against a whole restore, and only
    that restore is ever kept as evidence or raises an alarm.
    """
    try:
        return _check(record, archive, mirror).kind == ""
    except CircleError:
        return False


def take(record: JournalRecord, archive: Path, mirror: Path, evidence_dir: Path) -> Taken:
    """Append what ``mirror`` holds beyond ``archive`` if it continues it; else keep the mirror as evidence."""
    try:
        res = _check(record, archive, mirror)
    except CircleError as exc:
        return Taken(
            kind="tampered",
            problem=f"journal {record.id[:8]}: the copy from the replica is unreadable ({exc.title})",
            evidence=keep(mirror, evidence_dir, record.id, "unreadable"),
        )
    if res.kind in ("fork", "rollback"):
        what = (
            "the replica holds another history of this journal: it forked"
            if res.kind == "fork"
            else "the replica holds less of this journal than this device verified: rolled back or replaced"
        )
        return Taken(kind=res.kind, problem=f"journal {record.id[:8]}: {what}", evidence=keep(mirror, evidence_dir, record.id, res.kind))
    append(archive, res.accepted)
    if res.kind == "tampered":  # an intact prefix was taken; what follows is damaged
        return Taken(len(res.accepted), "tampered", f"journal {record.id[:8]}: {res.problem}", keep(mirror, evidence_dir, record.id, "tampered"))
    return Taken(len(res.accepted))


def keep(mirror: Path, evidence_dir: Path, jid: str, kind: str) -> Path | None:
    """Copy a refused mirror into the evidence folder (the newest few per journal and kind)."""
    try:
        private_dir(evidence_dir)
        dst = evidence_dir / f"{jid}-{kind}-{int(time.time())}.db"
        shutil.copyfile(mirror, dst)
        os.chmod(dst, 0o600)
        for old in sorted(evidence_dir.glob(f"{jid}-{kind}-*.db"))[:-3]:
            old.unlink(missing_ok=True)
        return dst
    except OSError:
        return None
