"""Only one process writes a journal at a time; the same process may open it twice."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from circle.crypto import envelope
from circle.store.journal import Journal, JournalBusy

JID = bytes(range(16))
KEY = bytes(32)


def sealer(seq: int, prev: bytes, sign: bool) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return envelope.seal(
        journal_id=JID,
        seq=seq,
        prev=prev,
        key_id=bytes(16),
        key=KEY,
        plaintext=b"x" * 40,
        signer=Ed25519PrivateKey.from_private_bytes(bytes(32)) if sign else None,
    )


def test_a_second_process_cannot_write_while_the_first_has_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    holder = _hold_in_another_process(path)
    try:
        mine = Journal(path, JID)
        with pytest.raises(JournalBusy, match="another window"):
            mine.append([sealer])
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone the lock is released by the kernel: writing works, the chain continues.
    mine = Journal(path, JID)
    mine.append([sealer])
    assert mine.head()[0] == 2
    mine.close()


def test_one_process_may_open_a_journal_twice(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    a, b = Journal(path, JID), Journal(path, JID)
    a.append([sealer])
    b.append([sealer])
    assert a.head()[0] == b.head()[0] == 2
    a.close()
    b.close()
    assert os.path.exists(str(path) + ".lock")


def _hold_in_another_process(path: Path) -> subprocess.Popen[str]:
    """Another circle process that writes the journal and keeps it."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
            from tests.unit.test_journal_lock import sealer, JID
            from circle.store.journal import Journal
            from pathlib import Path
            j = Journal(Path({str(path)!r}), JID)
            j.append([sealer])
            print("holding", flush=True)
            time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def _markers(path: Path) -> int:
    from circle.store.db import connect

    ro = connect(path, readonly=True)
    try:
        return ro.execute("SELECT coalesce(sum(n), 0) FROM marker").fetchone()[0]
    finally:
        ro.close()


def test_touch_borrows_the_write_lock_and_gives_it_back(tmp_path: Path) -> None:
    """`circle sync` (which never writes) ends a big commit with a tiny one, and a command can write right after."""
    path = tmp_path / "j.db"
    writer = Journal(path, JID)
    writer.append([sealer])
    writer.close()
    syncing = Journal(path, JID)
    syncing.touch()
    assert _markers(path) == 1 and syncing._lock_fd is None
    holder = _hold_in_another_process(path)  # takes the lock at once: it was given back
    try:
        syncing.touch()  # the writing process is the one to touch now: nothing here
        assert _markers(path) == 1
    finally:
        holder.kill()
        holder.wait()


def _can_write_from_another_process(path: Path) -> bool:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
            from circle.store.journal import Journal, JournalBusy
            from pathlib import Path
            try:
                Journal(Path({str(path)!r}), bytes(16))._lock_for_writing(wait=0)
                print("free")
            except JournalBusy:
                print("busy")
        """),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip() == "free"


def test_closing_a_session_lets_go_of_its_journals(tmp_path: Path) -> None:
    """A session that wrote holds its journals until closed; then `circle sync` or another window may write (and touch) them."""
    from circle.store.session import Home

    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", "correct horse battery staple")
    svc = session.create_cohort("Dietitians")
    assert not _can_write_from_another_process(svc.store.journal.path)
    session.close()
    assert _can_write_from_another_process(svc.store.journal.path)
    svc.store.record("note.added", {"meeting": "m1", "item": "", "text": "still writable here", "kind": "note"})  # opens it again
    assert not _can_write_from_another_process(svc.store.journal.path)
