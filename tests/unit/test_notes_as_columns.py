"""Notes kept as columns, not objects (issue 14: memory bounded by the screen, not the history).

A ``note.added`` whose text the store left in its journal, citing nothing, is
kept by the view as its id's bytes, its clock, its time and its shared body
(:mod:`circle.models.places`), and made again when a screen reads it. These
tests hold the view that does so to one that keeps every event as an object:
the same reads, refusals and citation forks, in any order of delivery, with
replays, forks at a note's position and hostile variants of a note.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circle.models.events import Elsewhere, Event, Later
from circle.models.places import Places
from circle.models.view import View
from circle.store.session import Home
from tests.figures import record, scale
from tests.unit.test_view_properties import COHORT, MEETINGS, base, event_sets

PASS = "correct horse battery staple"


def left(events: list[Event]) -> list[Event]:
    """The events as the store folds them: each note's text left in its journal (texts.Texts.leave), read back by id."""
    said = {e.id: e.body["text"] for e in events if e.kind == "note.added"}
    later = Later(lambda where: said.get(where.id, "?"))
    return [replace(e, body={**e.body, "text": later}) if e.kind == "note.added" else e for e in events]


class Objects(Places):
    """Places that keep every event as an object: the reference."""

    __slots__ = ()

    def keep_note(self, e: Event) -> bool:
        return False


def fold(events: list[Event], batches: list[int] | None = None, *, columns: bool = True) -> View:
    view = View(COHORT)
    if not columns:
        view._at = Objects(COHORT)
    start = 0
    for size in batches or []:
        view.apply(events[start : start + size])
        start += size
    view.apply(events[start:])
    return view


def reads(view: View) -> dict[str, Any]:
    """What screens, exports and sync read of a view, notes made again included."""
    return {
        "digest": view.digest(),
        "by_meeting": {m: view.notes(m) for m in MEETINGS},
        "by_item": {i: view.notes(item_id=i) for i in ["", "i1", "i2", "i3"]},
        "refused": view.refused(),
        "forks": view.citation_forks(),
        "events": sorted((e.journal, e.seq, e.id, e.lamport, e.ts, e.kind, e.author) for e in view.events),
        "len": len(view),
        "newest": view.newest_by_journal(),
    }


@settings(max_examples=scale(150, 1500), deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_view_keeping_notes_as_columns_reads_as_one_keeping_objects(data: st.DataObject) -> None:
    events = left(data.draw(event_sets()))
    for e in data.draw(st.lists(st.sampled_from(events), max_size=3)) if events else ():  # a second event at a position: a fork
        events.append(replace(e, id=hashlib.sha256(e.id.encode()).hexdigest(), lamport=e.lamport + data.draw(st.integers(-1, 1))))
    shuffled = data.draw(st.permutations(events))
    mixed = data.draw(st.permutations(shuffled + data.draw(st.lists(st.sampled_from(events), max_size=10))))
    batches = data.draw(st.lists(st.integers(1, 6), max_size=10))
    # Each schedule against the view keeping objects given the same one: with two events at a position (a fork) the first
    # to come holds it, in both (the object view's own order properties are tests/unit/test_view_properties.py's).
    schedules = [(events, None), (shuffled, batches), (mixed, [1] * len(mixed))]
    views = [fold(order, b) for order, b in schedules]
    got = [reads(v) for v in views]
    want = [reads(fold(order, b, columns=False)) for order, b in schedules]
    record(
        "schedules", "notes kept as columns: reordered, replayed, batched, forked", schedules_tried=3, divergent_views=sum(g != w for g, w in zip(got, want))
    )
    assert got == want
    plain = {e.id for e in events if e.kind == "note.added" and e.cohort == COHORT and not e.deps}
    kept = plain - set(views[0]._events)
    record("schedules", "notes kept as columns where they could be", schedules_tried=1, divergent_views=int(views[0]._at.notes != len(kept)))
    assert views[0]._at.notes == len(kept)
    if len({(e.journal, e.seq) for e in events}) == len(events):  # no two events at a position: every plain note is kept so
        assert kept == plain


def _cohort() -> tuple[Any, list[Event]]:
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    notes = [log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": f"said {k}", "kind": "note"}, cite=False) for k in range(3)]
    return log, notes


def test_a_note_made_again_is_the_event_that_came_field_for_field() -> None:
    log, notes = _cohort()
    events = left(log.events)
    view = fold(events)
    assert view._at.notes == 3 and len(view) == len(events)
    for came in (e for e in events if e.kind == "note.added"):
        again = view.event(came.id)
        assert again == came and again.body is came.body and again.deps == () and type(again.ts) is float
        assert came.id in view and view._at.get(came.journal, came.seq) == came
    shown = view.notes("m1")
    assert [n.text for n in shown] == ["said 0", "said 1", "said 2"] and all(type(n.held) is Elsewhere for n in shown)
    assert "0" * 64 not in view and view.event("0" * 64) is None and view.event("not hex") is None


@pytest.mark.parametrize(
    "variant",
    ["cites", "said here", "other cohort", "not hex", "upper-case hex", "clock past 64 bits", "another author in the journal"],
)
def test_a_note_that_cannot_be_made_again_exactly_stays_an_object(variant: str) -> None:
    """Whatever an altered client writes, what a screen reads is the event that came: a note kept as columns must be
    made again field for field, so anything the columns cannot say keeps the note an object (and it is folded as before)."""
    log, notes = _cohort()
    events = left(log.events)
    i = next(k for k, e in enumerate(events) if e.kind == "note.added")
    e = events[i]
    odd = {
        "cites": replace(e, deps=((events[0].journal, 1, events[0].id[:32]),)),
        "said here": replace(e, body={**e.body, "text": "plain words"}),
        "other cohort": replace(e, cohort="ab" * 16),
        "not hex": replace(e, id="z" * 64),
        "upper-case hex": replace(e, id=e.id.upper()),
        "clock past 64 bits": replace(e, lamport=1 << 64),
        "another author in the journal": replace(e, author="someone-else"),
    }[variant]
    if variant == "another author in the journal":  # the journal's first note sets its author; put the odd one second
        i = next(k for k, x in enumerate(events) if x.kind == "note.added" and x.seq > e.seq)
        odd = replace(events[i], author="someone-else")
    events[i] = odd
    view, reference = fold(events), fold(events, columns=False)
    assert reads(view) == reads(reference)
    if odd.cohort == COHORT:
        assert view._events.get(odd.id) is odd  # held as it came
    record("hostile", "a note the columns cannot say exactly stays an object", cases_tried=1, cases_accepted=int(reads(view) != reads(reference)))


def test_a_second_note_at_a_kept_notes_position_is_a_fork_as_before() -> None:
    """A member who shows two notes at one position: the first stays where it is, the second is held as an object off its
    place, checked each time, and a citation of the first by someone else finds the fork, as with objects."""
    log, notes = _cohort()
    events = left(log.events)
    first = next(e for e in events if e.kind == "note.added")
    forked = replace(first, id="f" * 64, body={**first.body, "item": "i2"})
    cite = replace(log.add("cleo", "cohort.seen", {}, cite=False), deps=((forked.journal, forked.seq, forked.id[:32]),))
    for order in ([*events, forked, cite], [forked, *events, cite], [cite, *events, forked]):
        view, reference = fold(order), fold(order, columns=False)
        assert reads(view) == reads(reference)
        held = view._at.get(first.journal, first.seq)  # the first of the two to come holds the position
        assert held == (forked if order[0] is forked else first)
        assert bool(view.citation_forks()) == (held == first)  # the citation names the other one: a fork, found here
        record("hostile", "a second note at a kept note's position", cases_tried=1, cases_accepted=int(reads(view) != reads(reference)))


def test_a_note_replayed_is_held_once() -> None:
    log, notes = _cohort()
    events = left(log.events)
    view = fold(events)
    n = len(view)
    assert view.apply(events) == 0 and view.apply(reversed(events)) == 0 and len(view) == n
    assert len(view.notes("m1")) == 3


def test_a_removed_members_notes_past_the_cut_are_held_aside_when_kept_as_columns() -> None:
    log, notes = _cohort()
    log.add("f", "member.removed", {"member": "ali", "cut_seq": notes[0].seq})
    late = log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "after the cut", "kind": "note"}, cite=False)
    events = left(log.events)
    for view in (fold(events), fold(list(reversed(events))), fold(events, [1] * len(events))):
        assert reads(view) == reads(fold(events, columns=False))
        assert late.id in view.refused() and late.id not in {n.id for n in view.notes()}


def test_edits_and_redactions_find_the_notes_kept_as_columns() -> None:
    log, notes = _cohort()
    log.add("ali", "note.edited", {"note": notes[0].id, "text": "edited"})
    log.add("f", "entry.redacted", {"entry": notes[1].id, "what": "note"})
    log.add("f", "note.edited", {"note": "ab" * 32, "text": "no such note"})
    events = left(log.events)
    view = fold(events)
    assert view._at.notes == 3
    assert reads(view) == reads(fold(events, columns=False))
    shown = {n.id: n for n in view.notes("m1")}
    assert set(shown) == {notes[0].id, notes[2].id} and shown[notes[0].id].edited
    assert len(view.history(notes[0].id)) == 2 and view.history(notes[1].id) == []


def test_places_find_looks_once_for_ids_it_did_not_find() -> None:
    log, notes = _cohort()
    view = fold(left(log.events))
    at: Places = view._at
    assert set(at.find([n.id for n in notes] + ["cd" * 32])) == {n.id for n in notes}
    assert "cd" * 32 in at._absent  # not looked for again until a note with that id is kept


def test_a_snapshot_damaged_past_its_first_frame_opens_from_the_journals(tmp_path) -> None:
    """The snapshot's events are folded as they are read; a frame found damaged on the way starts the view again from
    the journals, with every note, and the damaged file is gone."""
    home = tmp_path / "home"
    session = Home(home, calibrate=False).create_identity("Ana", PASS)
    svc = session.create_cohort("Midwives South")
    mids = [svc.schedule(f"2026-{m:02d}-10 14:00", f"Month {m}") for m in range(1, 4)]
    said = [svc.add_note(mid, f"note {k} of {mid[:4]}") for mid in mids for k in range(700)]  # 2,100 notes: two frames of events
    svc.store.save_snapshot()
    cid, path = svc.id, svc.store._snapshot_path()
    session.close()
    good = path.read_bytes()
    damaged = bytearray(good)
    damaged[-40] ^= 1  # in the last frame
    path.write_bytes(bytes(damaged))
    session = Home(home).unlock(PASS)
    svc = session.cohort(cid)
    assert {n.id for n in svc.view.notes()} == set(said) and svc.view._at.notes == len(said)
    assert [n.text for n in svc.view.notes(mids[2])][:2] == [f"note {k} of {mids[2][:4]}" for k in range(2)]
    assert not path.exists() or path.read_bytes() != bytes(damaged)
    session.close()


def test_a_kept_note_whose_clock_goes_back_is_held_aside() -> None:
    log, notes = _cohort()
    back = log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "back in time", "kind": "note"}, lamport=1, cite=False, exact_lamport=True)
    events = left(log.events)
    for view in (fold(events), fold(list(reversed(events))), fold(events, [1] * len(events))):
        assert view._at.get(back.journal, back.seq) == replace(back, body=events[-1].body)
        assert view.refused()[back.id] == "its clock does not go forward in its journal"
        assert reads(view) == reads(fold(events, columns=False))


def test_a_fork_in_a_journal_of_kept_notes_only_loses_no_note_and_the_snapshot_writes() -> None:
    """Review of the change: a journal holding only kept notes, then a second event at one of their positions. The walk in
    the order things came must not skip the kept note there, and the view's count must match what it walks."""
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    notes = [log.add("cleo", "note.added", {"meeting": "m1", "item": "i1", "text": f"said {k}", "kind": "note"}, cite=False) for k in range(3)]
    events = left(log.events)
    second = next(e for e in events if e.id == notes[1].id)
    forked = replace(second, id="f" * 64, body={**second.body, "item": "i2"})
    gov = log.add("f", "member.updated", {"member": "f", "name": "F", "away": False})  # the fold starts again
    order = [*events, forked, gov]
    view, reference = fold(order, [len(events), 1]), fold(order, [len(events), 1], columns=False)
    assert reads(view) == reads(reference)
    assert second.id in {e.id for e in view.events} and len(list(view.events)) == len(view)
    record("hostile", "a fork in a journal of kept notes only", cases_tried=1, cases_accepted=int(reads(view) != reads(reference)))


def test_an_id_in_upper_case_names_no_kept_note_as_it_names_no_object() -> None:
    """Review of the change: ids are matched as written, so a redaction naming a note in upper case is refused on every
    device, whether that device keeps the note as columns or as an object."""
    log, notes = _cohort()
    red = log.add("f", "entry.redacted", {"entry": notes[0].id.upper(), "what": "note"})
    events = left(log.events)
    view, reference = fold(events), fold(events, columns=False)
    assert reads(view) == reads(reference)
    assert view.refused()[red.id] == "redacts an entry that is not here" and not view.redacted()
    assert notes[0].id.upper() not in view and view.event(notes[0].id.upper()) is None and view.event(notes[0].id[:-2] + " 0") is None
    record("hostile", "a note named by its id in upper case", cases_tried=1, cases_accepted=int(bool(view.redacted())))


def test_looking_for_an_id_that_fills_the_columns_does_not_walk_them() -> None:
    """Review of the change: the id column holds zeros where no note is kept, so looking for 00..00 (a valid id to the
    schema) would match at every unused place; no note is kept under it, so it is not looked for. An id made of the end
    of one note's id and the start of the next's matches once, not once per byte."""
    log, notes = _cohort()
    view = fold(left(log.events))
    at: Places = view._at
    assert at.find(["0" * 64]) == {} and "0" * 64 not in view
    cols = at._columns[notes[0].journal]
    straddle = notes[0].id[32:] + notes[1].id[:32]
    assert len(list(Places._seqs_of(cols.ids, {bytes.fromhex(straddle): straddle}))) <= 1
    assert at.find([straddle]) == {}


def test_an_edit_that_came_before_its_note_finds_it_once_it_is_kept() -> None:
    """An id looked for and not found is not looked for again, until a note with that id is kept."""
    log, notes = _cohort()
    late = log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "late", "kind": "note"}, cite=False)
    log.add("f", "note.edited", {"note": late.id, "text": "edited by the mentor"})
    events = left(log.events)
    note = next(e for e in events if e.id == late.id)
    view = View(COHORT)
    view.apply([e for e in events if e is not note])
    assert late.id not in {n.id for n in view.notes("m1")} and late.id in view._at._absent
    view.apply([note])
    assert late.id not in view._at._absent
    shown = {n.id: n for n in view.notes("m1")}
    assert shown[late.id].edited and shown[late.id].text == "edited by the mentor"
    assert reads(view) == reads(fold(events, columns=False))
