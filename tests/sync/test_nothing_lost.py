"""Nothing lost (issue 11): an own journal lost or damaged, replicas rolled back, swapped or byte-flipped.

Real litestream, a folder replica shared by two homes. Each test writes,
breaks something the way a disk error, a partial backup restore or a
replica holder would, runs `sync --once` on each home, and counts the events
written against the events present on every device.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

from circle.errors import CircleError
from circle.store.journal import last_seq
from circle.sync.service import SyncService
from tests.figures import record
from tests.sync.helpers import bring_in, meeting, new_home, once, reopen, visible_texts, write_burst


def two(tmp_path: Path, name: str = "Ward pharmacists"):
    loc = {"url": str(tmp_path / "shared")}
    a, b = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = a.create_cohort(name, replica=dict(loc)).id
    once(a)
    bring_in(a, cid, b, loc)
    meeting(a.cohort(cid), "m1")
    return a, b, cid


def counted(what: str, written: list[str], *sessions, cid: str) -> None:
    """Every written event is on each device: in the open session and after a fresh unlock (from the files, no snapshot)."""
    for s in sessions:
        for where, session in (("open", s), ("reopened", reopen(s))):
            for snap in (session.dir / "snapshots").glob("*.snap"):
                snap.unlink()
            present = visible_texts(session.cohort(cid)) & set(written)
            print(f"{what}, {s.name} ({where}): {len(written)} events written, {len(present)} present")
            record("crash", f"{what} ({where})", events_acknowledged=len(written), events_lost=len(set(written) - present))
            assert present == set(written), (what, where)


def once_report(session):
    return SyncService(session).once()


def test_a_deleted_own_journal_is_restored_from_the_replica_and_nothing_is_lost(tmp_path):
    a, b, cid = two(tmp_path)
    ca = a.cohort(cid)
    written = write_burst(ca, "Ana", 8)
    once(a, b)
    path = ca.store.journal.path
    ca.store.journal.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert "missing" in (ca.store.own_journal_problem() or "")
    try:  # a refused write creates no file that sync could push over the replica
        write_burst(ca, "Ana late", 1)
        raise AssertionError("a write on a missing journal must be refused")
    except CircleError:
        assert not path.exists()
    r = once_report(a)  # restores it first, then pushes
    assert ca.store.own_journal_problem() is None and last_seq(path) >= 8, r.problems
    written += write_burst(ca, "Ana after", 2)
    once(a)
    once(b)
    counted("own journal deleted", written, a, b, cid=cid)


def test_a_truncated_or_garbage_own_journal_is_not_pushed_and_is_restored(tmp_path):
    a, b, cid = two(tmp_path)
    ca = a.cohort(cid)
    written = write_burst(ca, "Ana", 6)
    once(a, b)
    path = ca.store.journal.path
    ca.store.journal.close()
    conn = sqlite3.connect(path)  # a partial backup restore: the newest events are gone
    conn.execute("DELETE FROM envelopes WHERE seq > 3")
    conn.commit()
    conn.close()
    assert "ends before" in (ca.store.own_journal_problem() or "")
    once(a)
    once(b)  # Ben's copy keeps everything whatever Ana's device did
    counted("own journal truncated", written, b, cid=cid)
    assert ca.store.own_journal_problem() is None
    # Garbage pages this time: the file is not a database any more.
    ca.store.journal.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"\x00garbage" * 4096)
    assert ca.store.own_journal_problem() is not None
    once(a)
    assert ca.store.own_journal_problem() is None
    once(b)
    counted("own journal overwritten with garbage", written, a, b, cid=cid)


def test_a_rolled_back_swapped_or_byte_flipped_replica_never_takes_events_off_a_peer(tmp_path):
    a, b, cid = two(tmp_path)
    ca, cb = a.cohort(cid), b.cohort(cid)
    shared = tmp_path / "shared"
    written = write_burst(ca, "Ana", 4)
    once(a, b)
    old = tmp_path / "old-copy"
    shutil.copytree(shared, old)
    written += write_burst(ca, "Ana later", 4)
    once(a, b)
    counted("before", written, b, cid=cid)
    # 1. An older copy of the folder put back.
    shutil.rmtree(shared)
    shutil.copytree(old, shared)
    r = once_report(b)
    counted("replica rolled back", written, b, cid=cid)
    assert any("less of this journal than this device verified" in p for p in r.problems), r.problems
    # 2. Two members' folders swapped.
    ana_path, ben_path = shared / ca.store.entry.replica_path, shared / cb.store.entry.replica_path
    tmp = shared / "swap"
    ana_path.rename(tmp)
    ben_path.rename(ana_path)
    tmp.rename(ben_path)
    r = once_report(b)
    counted("replica folders swapped", written, b, cid=cid)
    assert r.problems, "a swapped folder is reported"
    # 3. One byte flipped in the newest level-0 LTX file of Ana's replica: Ben keeps what he has and says so;
    #    Ana's next sync compares the replica's files with her own copies, byte for byte, and heals it.
    shutil.rmtree(shared)
    shutil.copytree(old, shared)
    once(a)  # Ana heals her replica after the two faults above
    written += write_burst(ca, "Ana newest", 2)
    once(a)
    ltx = sorted((shared / ca.store.entry.replica_path / "ltx" / "0").glob("*.ltx"))[-1]
    data = bytearray(ltx.read_bytes())
    data[len(data) // 2] ^= 0x01
    ltx.write_bytes(bytes(data))
    r = once_report(b)
    assert any("checksum" in p for p in r.problems), r.problems
    once(a)  # Ana's device notices and repairs its replica
    r = once_report(b)
    assert r.problems == [], r.problems
    counted("replica byte flipped, then healed by its owner", written, b, cid=cid)


def test_a_journal_being_written_is_never_taken_for_a_damaged_one(tmp_path):
    """The service checks the own journal on its thread while the app writes on another: it must see a write whole or not at all."""
    a, b, cid = two(tmp_path)
    ca = a.cohort(cid)
    stop = threading.Event()
    seen: list[str] = []

    def check() -> None:
        while not stop.is_set():
            problem = ca.store.own_journal_problem()
            if problem:
                seen.append(problem)

    checker = threading.Thread(target=check)
    checker.start()
    try:
        write_burst(ca, "Ana", 150)
    finally:
        stop.set()
        checker.join()
    assert seen == []


def delete_own_journal(session, cid: str) -> None:
    """The journal file gone from the laptop (a disk error, a clean-up gone wrong); the keystore still knows what was written."""
    store = session.cohort(cid).store
    path = store.journal.path
    session.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sync_cli(session, *args: str):
    from click.testing import CliRunner

    from circle.cli import main
    from tests.sync.helpers import PASS

    return CliRunner().invoke(main, ["sync", "--once", *args], env={"CIRCLE_HOME": str(session.home.root), "CIRCLE_PASSPHRASE": PASS, "CIRCLE_DEBUG": None})


def test_a_journal_lost_with_its_newest_event_unsent_is_put_back_whole_from_the_keystore(tmp_path):
    """The replica lacks only the newest event, whose envelope the keystore keeps: nothing is lost and nothing is asked."""
    a, b, cid = two(tmp_path)
    written = write_burst(a.cohort(cid), "Ana", 4)
    once(a)
    written += write_burst(a.cohort(cid), "Ana unsent", 1)
    delete_own_journal(a, cid)
    r = sync_cli(a)
    assert r.exit_code == 0 and "problem" not in r.stdout, r.stdout
    a = reopen(a)
    written += write_burst(a.cohort(cid), "Ana after", 1)
    once(a, b)
    counted("own journal deleted, newest event unsent", written, a, b, cid=cid)


def test_a_journal_lost_with_events_unsent_goes_on_without_them_only_when_asked(tmp_path):
    a, b, cid = two(tmp_path)
    written = write_burst(a.cohort(cid), "Ana", 4)
    once(a)
    unsent = write_burst(a.cohort(cid), "Ana unsent", 3)
    delete_own_journal(a, cid)
    r = sync_cli(a)  # stuck before: every sync said the replica "does not hold all of it" and nothing more was ever sent
    assert r.exit_code == 1 and "3 events written here never reached it" in r.stdout and "--accept-loss" in r.stdout, r.stdout
    r = sync_cli(a, "--accept-loss")
    assert r.exit_code == 0, r.stdout
    assert "3 events written here and never sent are gone" in r.stdout and "problem" not in r.stdout, r.stdout
    a = reopen(a)
    assert not visible_texts(a.cohort(cid)) & set(unsent)
    written += write_burst(a.cohort(cid), "Ana after", 2)  # the next event takes the first lost one's seq
    once(a, b)
    counted("own journal deleted, three events unsent, loss accepted", written, a, b, cid=cid)
    assert not visible_texts(b.cohort(cid)) & set(unsent)
    assert b.cohort(cid).store.verify_all().problems == [] and a.cohort(cid).store.verify_all().problems == []


def test_a_replica_rolled_back_below_what_was_sent_is_never_taken_even_when_a_loss_is_accepted(tmp_path):
    """What peers may have read (sent) is never given up: the replica host rolled the journal back, so going on from its
    copy would write other events where peers hold Ana's."""
    a, b, cid = two(tmp_path)
    ca = a.cohort(cid)
    shared = tmp_path / "shared"
    write_burst(ca, "Ana", 2)
    once(a)
    old = tmp_path / "old-copy"
    shutil.copytree(shared, old)
    write_burst(ca, "Ana sent", 3)
    once(a, b)
    sent = a.vault.journal(ca.store.entry.journal).sent
    assert sent == ca.store.written()
    shutil.rmtree(shared)
    shutil.copytree(old, shared)
    delete_own_journal(a, cid)
    r = sync_cli(a, "--accept-loss")
    assert r.exit_code == 1 and "the replica does not hold all of it either" in r.stdout, r.stdout
    a = reopen(a)
    assert a.vault.journal(ca.store.entry.journal).seq == sent  # the head stayed where it was: nothing was given up
