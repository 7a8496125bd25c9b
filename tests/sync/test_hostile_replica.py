"""What a member with an altered client, or the replica's host, can put where peers read: reviewed as an attacker.

Every case here is real circle over a real folder replica and the real
litestream binary; each was found to stop or hurt another member's device,
and is shown refused or contained.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
import tracemalloc

import pytest

from circle.errors import ReplicaOffline, UsageError
from circle.store import anonymous, joining
from circle.store.journal import read_rows
from circle.sync import litestream as ls
from circle.sync.drop import ReplicaDrop
from circle.sync.location import replica_of
from circle.sync.service import SyncService
from tests.sync.helpers import fetch_from_replica, meeting, new_home, note, once, three_homes, visible_texts


def test_a_replica_path_no_location_takes_is_refused_and_sync_goes_on(tmp_path):
    """`-x` passed the schema but no replica location takes it: every member's sync raised on it, for good."""
    t = three_homes(tmp_path, {"url": str(tmp_path / "shared")})
    meeting(t.b.cohort(t.cohort), "m1")
    once(t.b, t.a)
    cleo = t.c.cohort(t.cohort)
    for path in ("-x", ".", "..", "_x", ".x"):
        reading = t.c.identity.new_reading().public().reading.hex()
        event = cleo.store.record(
            "member.device_added", {"member": t.c.id, "journal": os.urandom(16).hex(), "replica_path": path, "device": "x", "reading": reading}
        )
        assert "replica_path" in cleo.view.refused().get(event.id, ""), path  # her own device refuses it too
    SyncService(t.c).once()
    SyncService(t.a).once()
    note(t.b.cohort(t.cohort), "m1", "from Ben after it")
    SyncService(t.b).once()
    report = SyncService(t.a).once()
    assert not report.problems, report.problems
    assert "from Ben after it" in visible_texts(t.a.cohort(t.cohort))


def test_a_join_code_naming_a_members_journal_is_refused_before_anything_is_fetched(tmp_path):
    """Journal ids are in every envelope header on the replica: a newcomer's code naming Ben's journal had its request
    fetched over Ana's verified copy of Ben's journal (a rollback alarm on Ben, his notes gone from Ana's screens)."""
    shared = tmp_path / "shared"
    t = three_homes(tmp_path, {"url": str(shared)})
    ben, ana = t.b.cohort(t.cohort), t.a.cohort(t.cohort)
    meeting(ben, "m1")
    note(ben, "m1", "Ben's verified note")
    once(t.b, t.a)
    copy = ana.store.journal_path(ben.store.entry.journal)
    before = [r.blob for r in read_rows(copy)]
    mal = new_home(tmp_path, "Mal")
    joined = joining.join(mal, joining.create_invite(t.a, ana).code, replica={"url": str(shared)})
    SyncService(mal).once()
    raw = joining._unb32(joined.join_code[len(joining.JOIN_PREFIX) :])
    for jid in (ben.store.entry.journal, ana.store.entry.journal):
        forged = joining.JOIN_PREFIX + joining._b32(bytes.fromhex(jid) + raw[16:])
        with pytest.raises(UsageError, match="names a journal this cohort already has"):
            joining.admit(ana, forged, fetch_from_replica(t.a))
    assert [r.blob for r in read_rows(copy)] == before and not ana.store.alarms
    assert joining.admit(ana, joined.join_code, fetch_from_replica(t.a)).name  # the invite is still there for the real code
    assert "Ben's verified note" in visible_texts(ana)


def test_a_row_longer_than_any_envelope_is_refused_without_being_read(tmp_path):
    """A zero-filled row of 400 MB is 9 MB on the replica: a peer read it whole (+740 MB), then refused it."""
    shared = tmp_path / "shared"
    t = three_homes(tmp_path, {"url": str(shared)})
    cleo = t.c.cohort(t.cohort).store
    path, db = cleo.entry.replica_path, cleo.journal.path
    t.c.close()
    conn = sqlite3.connect(db)
    (seq,) = conn.execute("SELECT max(seq) FROM envelopes").fetchone()
    conn.execute("INSERT INTO envelopes (seq, blob) VALUES (?, zeroblob(?))", (seq + 1, 40 * 2**20))
    conn.commit()
    conn.close()
    ls.replicate_once(db, replica_of({"url": str(shared)}).child(path))  # Cleo's altered client ships it as sync would
    tracemalloc.start()
    try:
        report = SyncService(t.b).once()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak:,} bytes at the peak of Ben's pass"
    assert any(cleo.entry.journal[:8] in p for p in report.problems), report.problems


def test_a_round_of_empty_slots_is_read_once_then_after_a_while(tmp_path, monkeypatch):
    """A member with the epoch's key made all 256 slots of a round, empty: each device ran 256 restores (9 s) on every
    tick of its sync. A slot that holds no line is read again after 10 s, then 20, up to an hour."""
    shared = tmp_path / "shared"
    t = three_homes(tmp_path, {"url": str(shared)})
    ana = t.a.cohort(t.cohort)
    mid = ana.schedule((dt.datetime.now() + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M"), "Soon")
    once(t.a, t.c)
    cleo = t.c.cohort(t.cohort).store
    names = cleo.round_names(mid, cleo.sealing_key())
    monkeypatch.setattr(anonymous, "MAX_SLOTS", 16)  # a round of 16 slots: the same, in a sixteenth of the restores
    for n in range(anonymous.MAX_SLOTS):
        (shared / names(n)).mkdir()
    reads: list[str] = []
    real = anonymous._read
    monkeypatch.setattr(anonymous, "_read", lambda drop, name, *rest: reads.append(name) or real(drop, name, *rest))
    clock = [time.monotonic()]
    monkeypatch.setattr(anonymous.time, "monotonic", lambda: clock[0])

    def gather() -> int:
        reads.clear()
        ana.store.gather_rounds(ReplicaDrop(t.a, ana.store), time.time())
        return len(reads)

    assert gather() == anonymous.MAX_SLOTS
    assert gather() == 0  # the next tick reads none of them
    clock[0] += anonymous.RETRY_AFTER + 1
    assert gather() == anonymous.MAX_SLOTS  # after a while, once more
    clock[0] += anonymous.RETRY_AFTER + 1
    assert gather() == 0  # then it waits twice as long


def test_an_admit_that_failed_can_be_tried_again_with_the_right_code(tmp_path):
    """The refusal above is of journals the cohort has: the newcomer's request fetched by a first try that failed
    (a code read out wrong) is no such journal, and the retry the error asks for goes through."""
    shared = tmp_path / "shared"
    t = three_homes(tmp_path, {"url": str(shared)})
    ana = t.a.cohort(t.cohort)
    mal = new_home(tmp_path, "Mal")
    joined = joining.join(mal, joining.create_invite(t.a, ana).code, replica={"url": str(shared)})
    SyncService(mal).once()
    raw = bytearray(joining._unb32(joined.join_code[len(joining.JOIN_PREFIX) :]))
    raw[-1] ^= 1  # one character of the check read out wrong
    with pytest.raises(UsageError, match="does not match"):
        joining.admit(ana, joining.JOIN_PREFIX + joining._b32(bytes(raw)), fetch_from_replica(t.a))
    assert joining.admit(ana, joined.join_code, fetch_from_replica(t.a)).name == "Mal"


def test_a_slot_read_while_the_replica_is_away_is_read_again_on_the_next_tick(tmp_path, monkeypatch):
    """An outage says nothing of a slot: it does not make a line that is there wait."""

    class Away:
        def fetch(self, name, out):
            raise ReplicaOffline("the replica cannot be reached", "try again")

    unread = anonymous._Unread()
    assert anonymous._read(Away(), "slot", tmp_path, unread) is None
    assert unread.due("slot", time.monotonic())
    monkeypatch.setattr(Away, "fetch", lambda self, name, out: False)  # reached, and nothing there
    assert anonymous._read(Away(), "slot", tmp_path, unread) is None
    assert not unread.due("slot", time.monotonic())
