"""The sealed front page: it reads back, says when the journals moved since, and anything else makes it be ignored."""

from __future__ import annotations

import json

from circle.crypto import sealed
from circle.errors import NotFound
from circle.store import frontpage, snapshot
from tests.conftest import PASSPHRASE

PAGE = {"v": 1, "name": "Dietitians [bold]North[/]", "row": ["\x1b]0;x", []]}  # data, whatever it says: the screen checks it


def founded(session):
    svc = session.create_cohort("Dietitians North")
    session.close(front_page=lambda s: {**PAGE, "id": s.id})
    return svc.id


def again(home, clock):
    return home.unlock(PASSPHRASE, clock=clock)


def test_a_front_page_reads_back_as_written_and_current(session, home, frozen_clock):
    cid = founded(session)
    path = frontpage.path_of(session.dir, cid)
    assert path.stat().st_mode & 0o777 == 0o600
    assert PAGE["name"].encode() not in path.read_bytes()  # sealed
    fronts = again(home, frozen_clock).front_pages()
    assert fronts == {cid: frontpage.Front({**PAGE, "id": cid}, frozen_clock(), False)}


def test_journals_that_moved_since_mark_it(session, home, frozen_clock):
    cid = founded(session)
    other = again(home, frozen_clock)
    other.cohort(cid).schedule("2026-02-01T18:00", "First meeting")
    other.close()  # a command line session: it writes no page, so the one on disk is from before
    (front,) = again(home, frozen_clock).front_pages().values()
    assert front.moved and front.page["name"] == PAGE["name"]


def test_a_journal_file_ahead_of_the_keystore_marks_it(session, home, frozen_clock):
    cid = founded(session)
    keystore = session.keystore.path.read_bytes()
    other = again(home, frozen_clock)
    other.cohort(cid).schedule("2026-02-01T18:00", "First meeting")
    other.close()
    session.keystore.path.write_bytes(keystore)  # the keystore put back from before: its heads are the page's, the journal file is further on
    fresh = again(home, frozen_clock)
    assert {j: r.seq for j, r in fresh.vault.journals_of(cid).items()} == {j: r.seq for j, r in session.vault.journals_of(cid).items()}
    (front,) = fresh.front_pages().values()
    assert front.moved


def test_a_damaged_foreign_or_other_version_page_is_ignored(session, home, frozen_clock):
    cid = founded(session)
    path = frontpage.path_of(session.dir, cid)
    good = path.read_bytes()
    vault = again(home, frozen_clock).vault

    def load(member: str = session.id) -> frontpage.Front | None:
        return frontpage.load(session.dir, vault, cid, member)

    assert load() is not None
    assert load("ab" * 32) is None  # sealed for another member
    for i in (0, 9, len(good) // 2, len(good) - 1):
        path.write_bytes(good[:i] + bytes([good[i] ^ 1]) + good[i + 1 :])
        assert load() is None
    path.write_bytes(good[:-3])
    assert load() is None
    doc = json.loads(sealed.open_sealed(vault.snapshot_key, frontpage.MAGIC, frontpage.LABEL, bytes.fromhex(cid + session.id), good))
    for changed in ({**doc, "v": 1}, {**doc, "v": 3}, {**doc, "page": "a page"}, [doc]):  # v1: before the early screens of issue 14
        blob = sealed.seal(vault.snapshot_key, frontpage.MAGIC, frontpage.LABEL, bytes.fromhex(cid + session.id), json.dumps(changed).encode())
        path.write_bytes(blob)
        assert load() is None
    path.write_bytes(good)
    assert load() is not None
    path.unlink()
    assert load() is None


def test_it_belongs_with_the_snapshot_it_was_written_beside(session, home, frozen_clock):
    cid = founded(session)
    other = again(home, frozen_clock)
    store = other.cohort(cid).store
    store.save_snapshot()
    assert snapshot.stamp(snapshot.path_of(other.dir, cid)) != ""
    assert other.front_pages() == {}  # written when there was no snapshot
    other.close(front_page=lambda s: {"v": 1, "id": s.id})
    (front,) = again(home, frozen_clock).front_pages().values()
    assert front.page == {"v": 1, "id": cid} and not front.moved
    snapshot.path_of(other.dir, cid).unlink()  # a snapshot gone (or damaged and deleted): the page goes with it
    assert again(home, frozen_clock).front_pages() == {}


def test_no_page_is_written_when_the_screen_has_none_and_a_failing_one_closes_anyway(session, home, frozen_clock):
    svc = session.create_cohort("Dietitians North")

    def failing(s):
        raise NotFound("gone", "")

    session.close(front_page=failing)
    assert not frontpage.path_of(session.dir, svc.id).exists()
    other = again(home, frozen_clock)
    other.cohort(svc.id)
    other.close(front_page=lambda s: None)
    assert not frontpage.path_of(session.dir, svc.id).exists()
    assert other.cohort(svc.id).view.cohort().name == "Dietitians North"
