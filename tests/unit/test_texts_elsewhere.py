"""Notes' text is left in the journals once folded, and read back from them when shown (issue 14: memory).

The view holds a mark (journal, seq, event id) instead of each note's text;
the snapshot holds the mark too. Reading one back opens that envelope again
and checks its id, so a journal file changed since cannot put other words
under a note.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from circle import export as ex
from circle.errors import CorruptFile, StorageError
from circle.export.summary import counting_notes
from circle.models.events import Elsewhere, Later, text_of
from circle.store import snapshot
from circle.store.session import Home
from circle.store.texts import UNREADABLE, Texts

PASS = "correct horse battery staple"
SAID = ["Ward round handover ran long again", "Try the SBAR card for a month", "Dietitian joins on Thursdays"]


def _cohort_with_notes(tmp_path):
    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", PASS)
    svc = session.create_cohort("Midwives South")
    mid = svc.schedule("2026-10-10 14:00", "October")
    notes = [svc.add_note(mid, text) for text in SAID]
    svc.edit_note(notes[1], "Try the SBAR card for two months")
    svc.mark_held(mid)
    svc.mark_held(svc.schedule("2026-11-10 14:00", "November"))  # the snapshot keeps the notes of the last held
    svc.schedule("2026-12-17 14:00", "December")  # and of the next: neither is October
    svc.store.save_snapshot()
    cid, journal = svc.id, svc.store.journal.path
    session.close()
    return cid, mid, notes, journal


def _held(svc, kind):
    return [e for e in svc.view.events if e.kind == kind]


def _notes(svc, mid):
    return {n.id: n for n in svc.view.notes(mid)}


def test_notes_are_read_back_from_the_journal_after_a_snapshot(tmp_path):
    cid, mid, ids, _ = _cohort_with_notes(tmp_path)
    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    notes = _notes(svc, mid)
    held = [_held(svc, "note.added"), _held(svc, "note.edited")]
    assert all(type(e.body["text"]) is Later for kind in held for e in kind) and sum(map(len, held)) == 4
    assert len({id(e.body) for e in held[0]}) == 1  # one meeting's notes under one item hold one body between them
    assert [notes[i].text for i in ids] == [SAID[0], "Try the SBAR card for two months", SAID[2]]
    assert svc.store.texts.read_back == 3  # from the journal once each; the cache has them now
    assert [notes[i].text for i in ids][0] == SAID[0] and svc.store.texts.read_back == 3
    assert [v.fields["text"] for v in svc.view.history(ids[1])] == [SAID[1], "Try the SBAR card for two months"]
    snap = snapshot.load(svc.store._snapshot_path(), svc.store.vault.snapshot_key, cid, svc.store.texts.left_body)
    bodies = [e.body for e in snap.events if e.kind.startswith("note.")]
    assert len(bodies) == 4 and all(type(b["text"]) is Later for b in bodies)  # the snapshot holds no words for them
    session.close()


def test_the_snapshot_keeps_the_text_of_the_rooms_at_hand(tmp_path):
    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", PASS)
    svc = session.create_cohort("Midwives South")
    old, coming = svc.schedule("2026-11-10 14:00", "November"), svc.schedule("2026-12-10 14:00", "December")
    svc.add_note(old, SAID[0])
    svc.mark_held(old)
    svc.add_note(coming, SAID[1])
    svc.store.save_snapshot()
    session.close()
    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(svc.id)
    texts = {e.body["meeting"]: e.body["text"] for e in _held(svc, "note.added")}
    assert texts == {old: SAID[0], coming: SAID[1]} and {type(t) for t in texts.values()} == {str}  # the last held, the next
    assert svc.store.texts.read_back == 0
    session.close()


def test_texts_written_here_are_left_too_and_read_from_the_cache(tmp_path):
    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", PASS)
    svc = session.create_cohort("Midwives South")
    mid = svc.schedule("2026-12-10 14:00", "December")
    nid = svc.add_note(mid, SAID[0])
    event = next(e for e in _held(svc, "note.added") if e.id == nid)
    assert type(event.body["text"]) is Later
    assert _notes(svc, mid)[nid].text == SAID[0] and svc.store.texts.read_back == 0
    body = {"meeting": mid, "item": "", "text": SAID[1], "kind": "note"}
    svc.store.record("note.added", body)
    assert body["text"] == SAID[1] and type(body["text"]) is str  # the caller's dict is theirs: the event holds a copy
    session.close()


def test_a_journal_changed_since_cannot_put_other_words_under_a_note(tmp_path):
    cid, mid, ids, journal = _cohort_with_notes(tmp_path)
    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    seq = {e.id: e.seq for e in _held(svc, "note.added")}
    session.close()
    with sqlite3.connect(journal) as db:  # the third note's row now holds the first note's envelope (well signed, other words)
        db.execute("UPDATE envelopes SET blob = (SELECT blob FROM envelopes WHERE seq = ?) WHERE seq = ?", (seq[ids[0]], seq[ids[2]]))
    session = Home(tmp_path / "home").unlock(PASS)
    notes = _notes(session.cohort(cid), mid)
    assert notes[ids[0]].text == SAID[0]
    assert notes[ids[2]].text == UNREADABLE
    session.close()


def _journal_away(tmp_path):
    """A reopened home whose own journal file is moved away (its notes' text left there); the way to put it back."""
    cid, mid, ids, journal = _cohort_with_notes(tmp_path)
    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    svc.store.texts.close()
    journal.rename(journal.with_suffix(".gone"))
    return session, svc, mid, ids, lambda: journal.with_suffix(".gone").rename(journal)


@pytest.mark.parametrize(("fmt", "folder"), [("md", False), ("html", False), ("json", False), ("csv", False), ("csv", True), ("pdf", False)])
def test_an_export_is_refused_rather_than_signed_with_a_note_it_could_not_read(tmp_path, fmt, folder):
    session, svc, _mid, _ids, back = _journal_away(tmp_path)
    out = tmp_path / ("tables" if folder else f"out.{fmt}")
    with pytest.raises(StorageError, match="your journal for this cohort is missing"):  # the own journal gone: nothing is read
        ex.summarize(svc)
    back()
    summary = ex.summarize(svc)
    journal = svc.store.journal.path
    svc.store.texts.close()
    journal.rename(journal.with_suffix(".gone"))  # gone between the summary and its writing
    with pytest.raises(CorruptFile, match="3 notes could not be read again"):  # known once rendered, before anything is written
        ex.write(summary, fmt, out, ex.signer_of(svc.store.author), svc.now(), folder=folder)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    back()
    written = ex.write(ex.summarize(svc), fmt, out, ex.signer_of(svc.store.author), svc.now(), folder=folder)
    assert all(ex.verify(f, side) for f, side in written.files)
    if fmt in ("md", "json"):
        assert SAID[0] in out.read_text()
    session.close()


def test_an_export_holds_no_notes_words_until_it_is_written(tmp_path):
    """A summary names where each note's words are and reads them as a format writes them: the export screen's preview
    of a whole history read all 80k (+105 MiB at 100k events) to show the first 60,000 characters."""
    cid, mid, ids, _ = _cohort_with_notes(tmp_path)
    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    texts = svc.store.texts
    summary = ex.summarize(svc)
    assert texts.read_back == 0
    october = next(m for m in summary.meetings if m.id == mid)
    assert [type(n.text_held) for n in october.notes] == [Elsewhere] * 3
    assert [n.text for n in october.notes] == [SAID[0], "Try the SBAR card for two months", SAID[2]] and texts.read_back == 3
    doc = json.loads(ex.render(summary, "json"))
    assert [n["text"] for m in doc["meetings"] if m["id"] == mid for n in m["notes"]] == [SAID[0], "Try the SBAR card for two months", SAID[2]]
    ticks = []
    with counting_notes(lambda: ticks.append(1)):  # the export screen's bar while it writes
        ex.render(summary, "md")
    ex.render(summary, "md")
    assert len(ticks) == sum(len(m.notes) for m in summary.meetings) == 3
    session.close()


def test_texts_ask_the_keystore_once_and_again_only_for_a_key_they_do_not_have(tmp_path):
    """Reading a note back used to decode the keystore's keys and derive each roster key, for every note."""
    cid, mid, ids, _ = _cohort_with_notes(tmp_path)
    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    texts = svc.store.texts
    asked = []
    keys = texts._keys
    texts._keys = lambda: asked.append(1) or keys()
    assert [_notes(svc, mid)[i].text for i in ids] == [SAID[0], "Try the SBAR card for two months", SAID[2]] and len(asked) == 1
    svc.store.start_epoch("rotation")  # a key the texts have not seen: a note sealed under it is read with a fresh look
    later = svc.add_note(mid, "Sealed under the new epoch's key")
    texts._cache.clear()
    assert _notes(svc, mid)[later].text == "Sealed under the new epoch's key" and len(asked) == 2
    assert [_notes(svc, mid)[i].text for i in ids][0] == SAID[0] and len(asked) == 2
    session.close()


def test_a_missing_journal_file_shows_a_line_that_says_so(tmp_path):
    session, svc, mid, ids, back = _journal_away(tmp_path)
    assert _notes(svc, mid)[ids[0]].text == UNREADABLE
    back()
    assert _notes(svc, mid)[ids[0]].text == SAID[0]  # a failed read is not kept: the file is back
    session.close()


def _open_files(path: Path) -> int:
    """How many of this process's file descriptors are open on ``path``."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in os.listdir(fds) if os.path.realpath(fds / fd) == str(path.resolve()))


def test_a_text_read_after_the_store_let_go_of_its_files_holds_none_open(tmp_path):
    cid, mid, ids, journal = _cohort_with_notes(tmp_path)
    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    first = svc.view.notes(mid)[0]
    assert first.text == SAID[0] and _open_files(journal) >= 1  # read back through a connection kept per journal
    svc.store.texts.close()
    assert _open_files(journal) == 0
    svc.store.texts._cache.clear()  # read from the file again, not from the cache
    assert first.text == SAID[0] and _open_files(journal) == 0
    session.close()


def test_notes_share_a_body_per_item_and_each_still_reads_its_own_words(tmp_path):
    """A left note's body names no place (the text is at its event's place), so one item's notes hold one body between them."""
    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", PASS)
    svc = session.create_cohort("Midwives South")
    mid = svc.schedule("2026-10-10 14:00", "October")
    first, second = svc.add_item(mid, "Handover"), svc.add_item(mid, "Rota")
    written = {svc.add_note(mid, f"{word} {n}", item_id=item): (item, f"{word} {n}") for n in range(3) for item, word in ((first, "one"), (second, "two"))}
    svc.add_note(mid, "We will trial SBAR", item_id=first, decision=True)
    svc.mark_held(mid)
    svc.mark_held(svc.schedule("2026-11-10 14:00", "November"))  # October is neither the last held nor the next:
    svc.schedule("2026-12-17 14:00", "December")  # the snapshot keeps none of its words
    svc.store.save_snapshot()
    cid = svc.id
    session.close()
    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    held = {e.id: e for e in _held(svc, "note.added")}
    bodies: dict[tuple[str, str], set[int]] = {}
    for e in held.values():
        bodies.setdefault((e.body["item"], e.body["kind"]), set()).add(id(e.body))
    assert {k: len(v) for k, v in bodies.items()} == {(first, "note"): 1, (second, "note"): 1, (first, "decision"): 1}
    assert {nid: (held[nid].body["item"], str(text_of(held[nid]))) for nid in written} == written
    assert svc.store.texts.read_back == len(written)  # each from its own envelope
    assert {n.id: n.text for n in svc.view.notes(mid) if n.id in written} == {nid: t for nid, (_i, t) in written.items()}
    session.close()


def test_a_note_body_is_shared_only_when_it_holds_nothing_of_its_own():
    """Only a note.added body of meeting, item and kind is shared; one with another field, or an edit, keeps its own (and its fields)."""
    texts = Texts(lambda journal: Path("/nonexistent"), dict, dict)
    plain = texts.left_body("note.added", {"meeting": "m1", "item": "i1", "text": "a", "kind": "note"})
    assert texts.left_body("note.added", {"kind": "note", "item": "i1", "meeting": "m1"}) is plain  # as a snapshot holds it: no text
    assert plain == {"meeting": "m1", "item": "i1", "kind": "note", "text": texts.later}
    own = [
        {"meeting": "m1", "item": "i1", "text": "b", "kind": "note", "extra": [1]},
        {"meeting": "m1", "item": None, "text": "c"},
        {"meeting": "m1", "item": 7, "text": "d"},
    ]
    for body in own:
        held = texts.left_body("note.added", body)
        assert held is not plain and held == {**{k: v for k, v in body.items() if k != "text"}, "text": texts.later}
        assert texts.left_body("note.added", body) is not held
    edit = texts.left_body("note.edited", {"note": "n1", "text": "e"})
    assert edit == {"note": "n1", "text": texts.later}
    texts.close()
