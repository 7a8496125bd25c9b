"""Notes' text left in the journals (store/texts.py), reviewed as a hostile member and as a careful engineer.

A note's text is read back from its envelope when a screen, an export or a
snapshot needs it. These tests try to make that read give other words than
the author signed, to make it fail where it should not, and to make a
failure be written down (a snapshot, a signed export) as if it were the note.
Every home, journal, key and fold here is real circle; journals move between
laptops by file copy (tests/security/laptops.py).
"""

from __future__ import annotations

import sqlite3
import threading
import zipfile

import pytest

from circle import export as ex
from circle.crypto import envelope
from circle.errors import CircleError
from circle.models.events import Elsewhere, Later, text_of
from circle.screens.room import UNREADABLE_STYLE, read_room
from circle.store import snapshot
from circle.store.keys import ScopeKey
from circle.store.session import Home
from circle.store.texts import UNREADABLE, Texts
from tests.security.laptops import PASS, Laptops, copy_db, forked, tally

GONE = object()  # a row deleted
SAID = ["Ward round handover ran long again", "Try the SBAR card for a month", "Dietitian joins on Thursdays"]


def _notes(svc, mid):
    return {n.id: n for n in svc.view.notes(mid)}


def _note_events(svc):
    return {e.id: e for e in svc.view.events if e.kind == "note.added"}


def _two(tmp_path):
    """Ana founds a cohort, Bea joins; Bea writes three notes in the next meeting and Ana has them."""
    lt = Laptops(tmp_path, "Ana")
    lt.join("Bea")
    mid = lt.svc("Ana").schedule("2026-12-10 14:00", "December")
    lt.sync()
    ids = [lt.svc("Bea").add_note(mid, t) for t in SAID]
    lt.deliver("Ana", "Bea")
    return lt, mid, ids


def _away(svc, mid):
    """Make ``mid`` neither the last meeting held nor the next: a snapshot then holds marks for its notes, not their text."""
    svc.mark_held(mid)
    for at in ("2027-01-10 14:00", "2027-02-10 14:00"):
        svc.mark_held(svc.schedule(at, "later"))
    svc.schedule("2027-03-10 14:00", "next")


# ---- holes ---------------------------------------------------------------------------------------------------------


def test_a_note_that_only_says_it_is_unreadable_does_not_block_everyones_signed_exports(tmp_path):
    """Any member could write the stand-in line as a note: every other member's signed export of that meeting was refused."""
    lt, mid, _ids = _two(tmp_path)
    lt.svc("Bea").add_note(mid, UNREADABLE)  # an altered client is not even needed: the service takes this text
    lt.deliver("Ana", "Bea")
    ana = lt.svc("Ana")
    out = tmp_path / "minutes.md"
    ex.write(ex.summarize(ana, meeting=mid), "md", out, ex.signer_of(ana.store.author), ana.now())
    text = out.read_text()
    assert all(s in text for s in SAID) and "(Bea): \\[this note could not be read again" in text  # signed as Bea wrote it (markdown escapes [)
    for s in lt.sessions.values():
        s.close()


def test_the_stand_in_line_typed_as_a_note_never_looks_like_a_note_not_read_back(tmp_path):
    """A member who types the stand-in line makes others believe a note was lost; on screen it must stay their words."""
    lt, mid, ids = _two(tmp_path)
    typed = lt.svc("Bea").add_note(mid, UNREADABLE)
    lt.deliver("Ana", "Bea")
    ana = lt.svc("Ana")
    mine = ana.add_note(mid, UNREADABLE)  # Ana's own journal stays here
    here = ana.store.journal_path(lt.store("Bea").entry.journal)
    ana.store.texts.close()
    ana.store.texts._cache.clear()
    here.rename(tmp_path / "away.db")  # now Bea's notes cannot be read back on Ana's laptop
    read = read_room(ana, mid)
    rows = dict(read.note_rows(None))
    notes = _notes(ana, mid)

    def lost(row) -> bool:
        return any(span.style == UNREADABLE_STYLE for span in row.spans)

    assert all(rows[i].plain.startswith(UNREADABLE) and lost(rows[i]) for i in [*ids, typed])
    assert rows[mine].plain.startswith(UNREADABLE) and not lost(rows[mine])  # typed: shown as words, unstyled
    assert "could not be read back" in read.reading(notes[ids[0]])[0] and "could not be read back" not in read.reading(notes[mine])[0]
    for s in lt.sessions.values():
        s.close()


def test_a_snapshot_never_keeps_the_stand_in_line_as_a_notes_text(tmp_path):
    """The snapshot writes the text of the rooms at hand; a read that failed then was written as the note's words for good."""
    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", PASS)
    svc = session.create_cohort("Midwives South")
    october = svc.schedule("2026-10-10 14:00", "October")
    november = svc.schedule("2026-11-10 14:00", "November")
    nid = svc.add_note(november, SAID[0])
    svc.store.save_snapshot()  # November is not at hand yet: its note is a mark
    cid, journal = svc.id, svc.store.journal.path
    session.close()

    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    assert type(_note_events(svc)[nid].body["text"]) is Later
    svc.mark_held(october)  # now November is the next meeting: the snapshot writes its notes' text
    svc.store.texts.close()
    journal.rename(journal.with_suffix(".gone"))  # the journal is away for a moment (a disk error, a restore under way)
    assert _notes(svc, november)[nid].text == UNREADABLE
    svc.store.save_snapshot()
    journal.with_suffix(".gone").rename(journal)
    session.close()

    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid)
    assert _notes(svc, november)[nid].text == SAID[0]  # the journal is back: so are the words
    out = tmp_path / "minutes.md"
    ex.write(ex.summarize(svc, meeting=november), "md", out, ex.signer_of(svc.store.author), svc.now())
    assert SAID[0] in out.read_text() and UNREADABLE not in out.read_text()
    session.close()


def test_changing_only_the_kind_of_a_note_not_read_back_never_signs_the_line_as_its_text(tmp_path):
    """The meeting screen's edit form starts from ``note.text``: for a note whose journal is away that is the stand-in line.
    Making it a decision and saving signs an edit whose text is the line, for every member, for good (the first version
    stays in the history). The service should refuse to edit a note whose text it could not read."""
    lt, mid, ids = _two(tmp_path)
    ana = lt.svc("Ana")
    here = ana.store.journal_path(lt.store("Bea").entry.journal)
    ana.store.texts.close()
    ana.store.texts._cache.clear()
    here.rename(tmp_path / "away.db")
    note = _notes(ana, mid)[ids[0]]
    assert note.text == UNREADABLE and ana.may_edit("note", ids[0])
    with pytest.raises(CircleError, match="could not be read again"):
        ana.edit_note(ids[0], note.text, decision=True)  # what the form sends when only the kind was changed
    (tmp_path / "away.db").rename(here)
    assert _notes(ana, mid)[ids[0]].text == SAID[0]  # no signed edit says the line: Bea's words are back


# ---- what held -----------------------------------------------------------------------------------------------------


def test_a_peers_journal_changed_on_this_device_shows_the_line_never_other_words(tmp_path):
    """Whoever holds the peers folder rewrites Bea's rows on Ana's laptop (other envelopes of Bea's, swapped, damaged):
    Ana's snapshot says where each note is, so the rows are not checked again on open; each note shows its words or the line."""
    lt, mid, ids = _two(tmp_path)
    _away(lt.svc("Ana"), mid)
    ana = lt.store("Ana")
    ana.save_snapshot()
    path = ana.journal_path(lt.store("Bea").entry.journal)
    seq = {i: e.seq for i, e in _note_events(lt.svc("Ana")).items() if i in ids}
    for s in lt.sessions.values():
        s.close()
    with sqlite3.connect(path) as db:
        rows = dict(db.execute("SELECT seq, blob FROM envelopes"))
    a, b, c = (seq[i] for i in ids)
    last = rows[c]
    attacks = [{a: rows[b], b: rows[a]}]  # two notes swapped
    attacks += [{c: rows[s]} for s in rows if s != c]  # every other envelope Bea wrote, at the third note's place
    attacks += [{c: last[:n] + bytes([last[n] ^ 1]) + last[n + 1 :]} for n in (0, 4, 10, 40, 100, 146, 147, 200, len(last) - 1)]
    attacks += [{c: b""}, {c: "Dietitian joins on Thursdays"}, {c: 7}, {c: last + b"\0"}, {c: GONE}]
    for change in attacks:
        with sqlite3.connect(path) as db:
            for s, blob in change.items():
                if blob is GONE:
                    db.execute("DELETE FROM envelopes WHERE seq = ?", (s,))
                else:
                    db.execute("UPDATE envelopes SET blob = ? WHERE seq = ?", (blob, s))
        session = Home(tmp_path / "ana").unlock(PASS)
        shown = {i: n.text for i, n in _notes(session.cohort(lt.cid), mid).items()}
        session.close()
        for i, s in seq.items():
            assert shown[i] == (UNREADABLE if s in change else SAID[ids.index(i)]), change
        with sqlite3.connect(path) as db:  # Bea's journal as it was
            for s, blob in rows.items():
                db.execute("INSERT OR REPLACE INTO envelopes (seq, blob) VALUES (?, ?)", (s, blob))
    session = Home(tmp_path / "ana").unlock(PASS)
    assert [n.text for n in session.cohort(lt.cid).view.notes(mid)] == SAID
    session.close()
    tally("texts: a peer's journal rows changed on this device", len(attacks), 0)


def test_a_key_under_the_same_id_never_opens_other_words(tmp_path):
    """Another key under the note's key id (a wrapper's alternate, a later key): the key commitment refuses it, whichever is tried first."""
    lt, mid, ids = _two(tmp_path)
    ana = lt.store("Ana")
    e = _note_events(lt.svc("Ana"))[ids[0]]
    where = text_of(e)
    kid = envelope.parse(ana.texts._row(where.journal, where.seq)).key_id
    right = ana.keys.readable()[kid]
    tried = 0
    for n in range(20):
        other = ScopeKey(right.id, bytes([n]) * 32 if n else bytes(32), right.scope, right.epoch + n)
        for keys, alternates, want in (
            ({kid: other}, {}, UNREADABLE),
            ({kid: other}, {kid: [right]}, SAID[0]),
            ({kid: right}, {kid: [other]}, SAID[0]),
            ({}, {kid: [other, other]}, UNREADABLE),
        ):
            texts = Texts(ana.journal_path, lambda k=keys: k, lambda a=alternates: a)
            assert texts(Elsewhere(texts, where.journal, where.seq, where.id)) == want
            texts.close()
            tried += 1
    tally("texts: another key under the same key id", tried, 0)
    for s in lt.sessions.values():
        s.close()


def test_a_mark_naming_another_position_or_id_reads_nothing(tmp_path):
    """A mark whose id and position disagree (a note's id at another note's seq, a journal not of this cohort) reads the line."""
    lt, mid, ids = _two(tmp_path)
    ana = lt.store("Ana")
    evs = _note_events(lt.svc("Ana"))
    tried = 0
    for a in ids:
        for b in ids:
            wa, wb = text_of(evs[a]), text_of(evs[b])
            got = ana.texts(Elsewhere(ana.texts, wa.journal, wb.seq, wa.id))
            assert got == (SAID[ids.index(a)] if a == b else UNREADABLE)
            tried += 1
    for jid in ("00" * 16, ana.entry.journal):
        assert ana.texts(Elsewhere(ana.texts, jid, evs[ids[0]].seq, evs[ids[0]].id)) == UNREADABLE
        tried += 1
    tally("texts: a mark with another position or journal", tried, 0)
    for s in lt.sessions.values():
        s.close()


def test_texts_read_in_one_thread_while_another_folds(tmp_path):
    """The UI thread reads notes' text while the sync thread folds Bea's new notes into Ana's view: no error, no stand-in,
    and the reader leaves no read open that would hold back a checkpoint of the journal it reads."""
    lt, mid, ids = _two(tmp_path)
    bea = lt.svc("Bea")
    more = [bea.add_note(mid, f"note {n}") for n in range(60)]
    ana = lt.svc("Ana")
    store = ana.store
    copy_db(lt.journals_of("Bea")[0], store.peer_dir() / lt.journals_of("Bea")[0].name)
    errors: list[BaseException] = []
    reads = 0
    done = threading.Event()

    def fold() -> None:
        try:
            store.ingest()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    store.texts._cache.clear()  # every read goes to the journal
    t = threading.Thread(target=fold)
    t.start()
    while not done.is_set() or reads < 200:
        for n in list(store.view.notes(mid)):
            if type(n.held) is Elsewhere:
                store.texts._cache.pop((n.held.journal, n.held.seq, n.held.id), None)
            assert n.text != UNREADABLE
            reads += 1
    t.join()
    assert not errors
    shown = {n.id: n.text for n in ana.view.notes(mid)}
    assert [shown[i] for i in ids] == SAID and [shown[i] for i in more] == [f"note {n}" for n in range(60)]
    bea_here = store.journal_path(lt.store("Bea").entry.journal)
    with sqlite3.connect(bea_here) as db:
        busy, _log, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0  # Texts holds its connection open, but no read in it
    assert store.texts.read_back >= 200
    tally("texts: reads while another thread folds", reads, 0)
    for s in lt.sessions.values():
        s.close()


def test_restoring_my_own_journal_under_an_open_reader_keeps_every_note(tmp_path):
    """My journal replaced by its replica (CohortStore.restore_own, os.replace) while Texts holds the old file open."""
    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", PASS)
    svc = session.create_cohort("Midwives South")
    mid = svc.schedule("2026-12-10 14:00", "December")
    ids = [svc.add_note(mid, t) for t in SAID]
    store = svc.store
    mirror = tmp_path / "mirror.db"
    copy_db(store.journal.path, mirror)
    store.texts._cache.clear()
    assert [n.text for n in svc.view.notes(mid)] == SAID  # Texts now holds the journal open
    store.journal.close()
    with sqlite3.connect(store.journal.path) as db:  # the journal is cut short on this device
        db.execute("DELETE FROM envelopes WHERE seq >= ?", (min(e.seq for e in _note_events(svc).values()),))
    assert store.own_journal_problem()
    assert store.restore_own(mirror) == ""
    store.texts._cache.clear()
    assert [_notes(svc, mid)[i].text for i in ids] == SAID
    session.close()
    session = Home(tmp_path / "home").unlock(PASS)
    assert [n.text for n in session.cohort(svc.id).view.notes(mid)] == SAID
    session.close()


def test_circle_export_and_agenda_on_a_home_whose_snapshot_holds_marks(tmp_path):
    """The CLI as a person runs it: the snapshot holds marks for the old meeting's notes; every format holds the words,
    and with Bea's journal gone from this laptop the export is refused in one line (no file, no traceback)."""
    lt, mid, ids = _two(tmp_path)
    ana = lt.svc("Ana")
    _away(ana, mid)
    ana.store.save_snapshot()
    snap = snapshot.load(ana.store._snapshot_path(), ana.store.vault.snapshot_key, lt.cid, ana.store.texts.left_body)
    assert sum(type(e.body.get("text")) is Later for e in snap.events if e.body.get("meeting") == mid) == 3
    bea_journal = ana.store.journal_path(lt.store("Bea").entry.journal)
    for fmt, name in (("md", "all.md"), ("json", "all.json"), ("html", "all.html"), ("csv", "all.zip")):
        res = lt.cli("Ana", "export", lt.cid, "--format", fmt, "--output", str(tmp_path / name))
        assert res.exit_code == 0, res.output
        data = (tmp_path / name).read_bytes()
        if fmt == "csv":
            with zipfile.ZipFile(tmp_path / name) as z:
                data = b"".join(z.read(n) for n in z.namelist())
        assert all(s.encode() in data for s in SAID) and b"could not be read again" not in data, fmt
    res = lt.cli("Ana", "agenda", lt.cid)
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    bea_journal.rename(tmp_path / "away.db")
    res = lt.cli("Ana", "export", lt.cid, "--format", "md", "--output", str(tmp_path / "lost.md"))
    assert res.exit_code != 0 and "3 notes could not be read again" in res.output and "Traceback" not in res.output, res.output
    assert not (tmp_path / "lost.md").exists()


@pytest.mark.parametrize("kind", ["note.added", "note.edited"])
def test_a_note_whose_shape_is_wrong_is_not_left_and_still_refused(tmp_path, kind):
    """An altered client writes a note body that fails its kind's schema: its text is not left (nor cached), the fold refuses it."""
    lt, mid, ids = _two(tmp_path)
    bea = lt.store("Bea")
    body = {"meeting": mid, "text": "x" * 100_000} if kind == "note.added" else {"note": ids[0], "text": 7}
    bea.record(kind, body)
    lt.deliver("Ana", "Bea")
    ana = lt.svc("Ana")
    bad = [e for e in ana.view.events if e.kind == kind and e.body.get("text") in ("x" * 100_000, 7)]
    assert len(bad) == 1 and type(bad[0].body["text"]) is not Later
    assert [n.text for n in ana.view.notes(mid)] == SAID
    assert all(v != "x" * 100_000 for v in ana.store.texts._cache.values())
    for s in lt.sessions.values():
        s.close()


def test_a_forked_journal_copied_over_mine_never_puts_the_other_branchs_words_under_a_note(tmp_path):
    """Bea forks her journal (an altered client): Ana saw one note at a position; then her copy of Bea's journal is
    replaced by the other branch (whoever holds the folder). In the session, after a snapshot and after a cold open, the
    note at that position shows what Ana saw, or the line: never the other branch's words."""
    lt, mid, ids = _two(tmp_path)
    bea = lt.store("Bea")
    lt.svc("Bea").add_note(mid, "the note Ana sees")
    other = forked(bea, mid, "the other branch's words", tmp_path / "bea-other.db")
    lt.deliver("Ana", "Bea")
    ana = lt.store("Ana")
    _away(lt.svc("Ana"), mid)
    ana.save_snapshot()
    here = ana.journal_path(bea.entry.journal)
    tried = 0

    def shown(svc) -> list[str]:
        return [n.text for n in svc.view.notes(mid)]

    copy_db(other, here)  # the other branch, over Ana's verified copy, while her session is open
    ana.ingest()
    assert "the other branch's words" not in shown(lt.svc("Ana")) and "the note Ana sees" in shown(lt.svc("Ana"))
    ana.texts._cache.clear()
    assert "the other branch's words" not in shown(lt.svc("Ana")) and UNREADABLE in shown(lt.svc("Ana"))
    tried += 2
    for s in lt.sessions.values():
        s.close()
    for cold in (False, True):
        if cold:
            snapshot.path_of(tmp_path / "ana" / "identities" / lt.id("Ana"), lt.cid).unlink()
        session = Home(tmp_path / "ana").unlock(PASS)
        said = shown(session.cohort(lt.cid))
        assert "the other branch's words" not in said and (cold or said[:3] == SAID), said
        session.close()
        tried += 1
    tally("texts: a forked journal over the verified copy", tried, 0)


def test_notes_of_a_removed_member_read_back_after_the_keys_change(tmp_path):
    """Bea's notes sealed under the first epoch's key; Ana starts a new epoch and removes Bea: from a snapshot of marks,
    and from a cold open, Bea's old notes read back with the old epoch's key (kept), and Ana's later notes with the new."""
    lt, mid, ids = _two(tmp_path)
    ana = lt.svc("Ana")
    ana.store.start_epoch("rotation")
    ana.remove(lt.id("Bea"))
    later = ana.add_note(mid, "after Bea left")
    _away(ana, mid)
    ana.store.save_snapshot()
    cid = lt.cid
    for s in lt.sessions.values():
        s.close()
    tried = 0
    for cold in (False, True):
        if cold:
            snapshot.path_of(tmp_path / "ana" / "identities" / lt.id("Ana"), cid).unlink()
        session = Home(tmp_path / "ana").unlock(PASS)
        svc = session.cohort(cid)
        svc.store.texts._cache.clear()
        notes = _notes(svc, mid)
        assert [notes[i].text for i in ids] == SAID and notes[later].text == "after Bea left", cold
        assert svc.view.member(lt.id("Bea")) is None or not svc.view.member(lt.id("Bea")).active
        session.close()
        tried += 4
    tally("texts: notes read back after the keys change", tried, 0)
