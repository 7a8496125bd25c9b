"""Invite, join, admit and removal between two homes, with journals carried by file copy.

The replica transport is exercised with the real litestream in the other sync
tests; here the journals move by SQLite's backup API, as a USB stick would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from circle.errors import UsageError
from circle.store import joining
from circle.store.service import CohortService
from circle.store.session import Home


def copy_db(src: Path, dst: Path) -> None:
    s, d = sqlite3.connect(src), sqlite3.connect(dst)
    s.backup(d)
    s.close()
    d.close()


@pytest.fixture
def two(tmp_path, monkeypatch):
    a = Home(tmp_path / "a", calibrate=False).create_identity("Ana", "pass word a")
    b = Home(tmp_path / "b", calibrate=False).create_identity("Ben", "pass word b")
    return a, b


def carry(src: CohortService, dst: CohortService) -> None:
    copy_db(src.store.journal.path, dst.store.peer_dir() / f"{src.store.entry.journal}.db")


def test_join_admit_then_both_views_match(two):
    a, b = two
    ca = a.create_cohort("Physio peers")
    ca.store.record("meeting.scheduled", {"meeting": "m1", "at": "2026-12-01T10:00", "title": "December"})
    invite = joining.create_invite(a, ca).invite
    joined = joining.join(b, invite.code())
    cb = b.cohort(joined.cohort_id)

    def fetch(svc, replica_path, out):
        assert replica_path == invite.join_path
        copy_db(cb.store.journal.path, out)
        return True

    admitted = joining.admit(ca, joined.join_code, fetch)
    assert (admitted.name, admitted.fingerprint) == ("Ben", b.fingerprint)
    carry(ca, cb)
    cb.store.ingest()
    assert cb.id == ca.id
    assert [m.name for m in cb.view.members()] == ["Ana", "Ben"]
    cb.store.record("agenda.added", {"item": "i1", "meeting": "m1", "title": "Ben's case", "owner": b.id, "minutes": 10})
    carry(cb, ca)
    ca.store.ingest()
    assert [i.title for i in ca.view.agenda()] == ["Ben's case"]
    assert ca.view.digest() == cb.view.digest()
    # The invite is single-use.
    with pytest.raises(UsageError):
        joining.admit(ca, joined.join_code, fetch)
    # Reopening the newcomer's home shows the cohort under its real id and name.
    again = Home(b.home.root).unlock("pass word b")
    assert [c.name for c in again.cohorts()] == ["Physio peers"]


def test_removed_member_cannot_read_what_comes_after(two):
    a, b = two
    ca = a.create_cohort("Nurse educators")
    ca.store.record("meeting.scheduled", {"meeting": "m1", "at": "2026-12-01T10:00"})
    joined = joining.join(b, joining.create_invite(a, ca).code)
    cb = b.cohort(joined.cohort_id)
    joining.admit(ca, joined.join_code, lambda svc, p, out: copy_db(cb.store.journal.path, out) or True)
    carry(ca, cb)
    cb.store.ingest()
    ca.store.record("note.added", {"meeting": "m1", "item": "", "text": "before removal"})
    ca.remove(b.id)
    ca.store.record("note.added", {"meeting": "m1", "item": "", "text": "after removal"})
    carry(ca, cb)
    report = cb.store.ingest()
    assert [n.text for n in cb.view.notes()] == ["before removal"]
    assert report.skipped_other_scopes >= 2  # the new epoch's events stay closed to Ben
    assert [m.name for m in ca.view.members()] == ["Ana"]


def test_expired_and_damaged_invites_are_refused(two):
    a, b = two
    ca = a.create_cohort("Dietitians")
    code = joining.create_invite(a, ca, hours=-1).code
    with pytest.raises(UsageError, match="expired"):
        joining.join(b, code)
    with pytest.raises(UsageError, match="damaged"):
        joining.join(b, code[:-7] + "0000000")
    with pytest.raises(UsageError, match="not an invite"):
        joining.join(b, "hello")
