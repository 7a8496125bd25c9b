"""What the meeting room writes keeps the view's other reads: what it reads next equals a fresh fold.

``View.apply`` keeps the memoised reads a batch of one live kind cannot
change: new notes (added to the reads that list them), a phase, the current
item, more time (``View._forget``). These tests read everything between batches, so the kept
reads are the ones compared, against a view folded from scratch.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circle.models.events import CLOCK_PER_ENVELOPE, Event
from circle.models.view import View
from tests.cohort_log import CohortLog
from tests.figures import record, scale
from tests.unit.test_view_properties import ITEMS, KINDS, MEETINGS, base, body_for

NOTE_AUTHORS = ["ali", "bea", "cleo", "stranger"]  # bea's admission does not count; the stranger is nobody's


def reads(view: View, notes: list[str]) -> dict[str, Any]:
    """Everything a screen can read of the view, notes from every angle."""
    return {
        "digest": view.digest(),
        "history": {n: view.history(n) for n in notes},
        "by_item": {i: view.notes(item_id=i) for i in ["", *ITEMS]},
        "by_meeting": {m: view.notes(m) for m in MEETINGS},
        "redacted": view.redacted(),
    }


LIVE = ["note.added", "meeting.phase_set", "agenda.current_set", "agenda.extended"]  # what the room writes, one kind at a time


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Event], list[list[Event]], CohortLog]:
    """(what arrives first, the batches that arrive after it, the log). The later batches are mostly runs of one kind the
    meeting room writes (by the facilitator or not, in a meeting held or not); edits and redactions of their notes may come first."""
    log = base()
    for _ in range(draw(st.integers(0, 20))):
        kind = draw(st.sampled_from([k for k in KINDS if k != "member.removed"] + ["note.added"] * 3))
        lamport = draw(st.integers(1, 30)) if draw(st.booleans()) else None
        log.add(draw(st.sampled_from(["f", "ali", "cleo"])), kind, draw(body_for(kind)), lamport=lamport)
    batches: list[list[Event]] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(LIVE + ["mixed"]))
        batch = []
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.sampled_from(LIVE)) if kind == "mixed" else kind
            author = draw(st.sampled_from(NOTE_AUTHORS + ["f"]))
            meeting, item = draw(st.sampled_from(MEETINGS)), draw(st.sampled_from(["", *ITEMS]))
            body = {
                "note.added": {"meeting": meeting, "item": item, "text": "typed", "kind": "note"},
                "meeting.phase_set": {"meeting": meeting, "phase": draw(st.sampled_from(["check-in", "agenda", "feedback"]))},
                "agenda.current_set": {"meeting": meeting, "current_item": item, "item_started": 5.0},
                "agenda.extended": {"meeting": meeting, "item": item or "i1", "minutes": 5},
            }[k]
            e = log.add(author, k, body)
            batch.append(e)
            if k == "note.added":
                touch = draw(st.sampled_from(["none", "none", "edit", "redact", "edit by its author"]))
                if touch == "edit":  # the mentor edits it: in another journal, so the note still arrives in its journal's order
                    log.add("f", "note.edited", {"note": e.id, "text": "edited"})
                elif touch == "redact":
                    log.add("f", "entry.redacted", {"entry": e.id, "what": "note"})
                elif touch == "edit by its author":  # arrives before the note it edits, in the same journal: the fold starts again
                    log.add(author, "note.edited", {"note": e.id, "text": "mine, edited"})
        batches.append(batch)
    later = {e.id for b in batches for e in b}
    first = [e for e in log.events if e.id not in later]
    return first, batches, log


@settings(max_examples=scale(150, 1500), deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_reads_after_what_the_room_writes_equal_a_fresh_fold(data: st.DataObject) -> None:
    first, batches, log = data.draw(histories())
    notes = [e.id for e in log.events if e.kind == "note.added"]
    view = View(log.cohort)
    view.apply(first)
    reads(view, notes)  # every read memoised, as a screen leaves them
    delivered, diverged = list(first), 0
    for batch in batches:
        view.apply(batch)
        delivered += batch
        fresh = View(log.cohort)
        fresh.apply(delivered)
        got, want = reads(view, notes), reads(fresh, notes)
        diverged += int(got != want)
        assert got == want
    record("schedules", "one view: what the room writes, on a view read between batches (kept reads)", schedules_tried=len(batches), divergent_views=diverged)


def test_a_typed_note_keeps_the_reads_that_do_not_read_notes() -> None:
    """Not vacuous: the kept path is the one taken, and it shows the note."""
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    log.add("cleo", "agenda.added", {"item": "i1", "meeting": "m1", "title": "first"})
    typed = log.add("cleo", "note.added", {"meeting": "m1", "item": "i1", "text": "typed", "kind": "note"})
    view = View(log.cohort)
    view.apply(log.events[:-1])
    reads(view, [])
    rota, meetings = view._memo["rota"], view._memo["meetings"]
    view.apply([typed])
    assert view._memo["rota"] is rota and view._memo["meetings"] is meetings
    assert [n.text for n in view.notes(item_id="i1")] == ["typed"] and [v.fields["text"] for v in view.history(typed.id)] == ["typed"]
    view.apply([log.add("f", "agenda.updated", {"item": "i1", "title": "second"})])  # anything else starts the reads again
    assert "rota" not in view._memo and [i.title for i in view.agenda("m1")] == ["second"]


def test_the_current_item_of_a_held_meeting_starts_the_reads_again() -> None:
    """An item a wrap-up did not keep moves on, unless the facilitator had started it: the current item of a held
    meeting changes where items are, so it cannot keep the items' reads (View._none_held)."""
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    log.add("f", "meeting.scheduled", {"meeting": "m2", "at": "2026-01-22 18:00"})
    log.add("cleo", "agenda.added", {"item": "i1", "meeting": "m1", "title": "first"})
    log.add("f", "meeting.held", {"meeting": "m1", "items": []})  # the wrap-up kept nothing: i1 goes on to m2
    started = log.add("f", "agenda.current_set", {"meeting": "m1", "current_item": "i1", "item_started": 5.0}, lamport=8)  # written before the wrap-up
    view = View(log.cohort)
    view.apply(log.events[:-1])
    reads(view, [])
    assert [i.meeting for i in view.agenda()] == ["m2"]
    view.apply([started])
    fresh = View(log.cohort)
    fresh.apply(log.events)
    assert [i.meeting for i in fresh.agenda()] == ["m1"]  # started in m1: m1 keeps it
    assert reads(view, []) == reads(fresh, [])


def test_an_event_waiting_for_a_position_that_never_comes_does_not_start_every_fold_again(monkeypatch) -> None:
    """Anything waiting made every later batch fold everything again: one governance event citing a position that never
    comes (an altered client) made every typed note cost a whole fold (0.4-0.6 s at 100k events). Now only an event
    at a position something waits for starts it again, and the one that waited settles then."""
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-01 18:00"})
    view = log.view()
    gone = "ab" * 16
    waits = log.add("f", "member.updated", {"member": "f", "away": True})
    waits = Event(waits.id, waits.journal, waits.seq, waits.kind, waits.cohort, waits.author, waits.lamport, waits.ts, waits.body, ((gone, 3, "cd" * 32),))
    log.events[-1] = log._newest[waits.journal] = waits
    view.apply([waits])
    assert set(view.waiting()) == {waits.id}
    folds = []
    real = View._refold
    monkeypatch.setattr(View, "_refold", lambda self: folds.append(1) or real(self))
    for k in range(20):
        view.apply([log.add("ali", "note.added", {"meeting": "m1", "text": f"typed {k}", "kind": "note"})])
    assert folds == [] and len(view.notes("m1")) == 20
    view.note_opaque([(gone, 2, "ef" * 32)])  # a position nothing waits for
    assert folds == []
    view.note_opaque([(gone, 3, "cd" * 32)])  # the one it waits for: it settles
    assert folds == [1] and view.waiting() == {} and view.member(log.id("f")).away


def test_a_clock_no_citation_could_allow_is_refused_and_costs_no_fold(monkeypatch) -> None:
    """One `cohort.seen` citing every journal at seq 2**40 with a clock of 2**61 waited, and every envelope that came
    after it started a whole fold (100 typed notes: 100 folds). A clock further ahead than even its citations counted
    whole allow is refused; one that waits starts the fold again only once enough envelopes are held. (Found by review.)"""
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-01 18:00"})
    far = log.add("ali", "cohort.seen", {}, lamport=2**61, exact_lamport=True)
    cites = tuple((j, 2**40, "ab" * 32) for j in log.journals.values() if j != far.journal)
    far = Event(far.id, far.journal, far.seq, far.kind, far.cohort, far.author, far.lamport, far.ts, far.body, cites)
    log.events[-1] = log._newest[far.journal] = far
    view = log.view()
    assert view.refused()[far.id] == "its clock is further ahead than its place in its journal and what it cites allow"
    waits = log.add("cleo", "cohort.seen", {}, lamport=CLOCK_PER_ENVELOPE * 40, exact_lamport=True)
    waits = Event(
        waits.id, waits.journal, waits.seq, waits.kind, waits.cohort, waits.author, waits.lamport, waits.ts, waits.body, ((log.journals["f"], 40, "cd" * 32),)
    )
    log.events[-1] = log._newest[waits.journal] = waits
    after = log.add("cleo", "note.added", {"meeting": "m1", "text": "after it", "kind": "note"}, lamport=waits.lamport + 1, exact_lamport=True)
    low = log.add("cleo", "note.added", {"meeting": "m1", "text": "low", "kind": "note"}, lamport=1_000, exact_lamport=True)  # no leap
    view.apply([waits, after, low])
    # What follows an event that waits is taken only past its clock, as once it passes: taken at first and refused
    # then, it would have read differently on a device that held what that one cites from the start. (Review.)
    assert {waits.id, after.id} <= set(view.waiting())
    assert view.refused()[low.id] == "its clock does not go forward in its journal"
    fake = "ef" * 16  # a journal no one holds: it never grows
    short = log.add("ali", "cohort.seen", {}, lamport=1, exact_lamport=True)
    limit = view.clock_limit(short.journal, short.seq, ())
    short = Event(short.id, short.journal, short.seq, short.kind, short.cohort, short.author, limit + 1, short.ts, short.body, ((fake, 10**6, "ab" * 32),))
    log.events[-1] = log._newest[short.journal] = short
    view.apply([short])
    assert short.id in view.waiting()  # one envelope short, of a journal that never grows
    folds = []
    real = View._refold
    monkeypatch.setattr(View, "_refold", lambda self: folds.append(1) or real(self))
    for k in range(10):
        view.apply([log.add("f", "note.added", {"meeting": "m1", "text": f"typed {k}", "kind": "note"})])
    # Ten envelopes of f's: of the forty the first lacks, and none of the journal the second cites. Waking on any
    # envelope held made each one a whole fold. (Review.)
    assert folds == []


def test_a_member_whose_event_waits_on_a_rolled_back_journal_is_not_silenced() -> None:
    """al shows mia a journal 40 long and everyone else 5 (a rollback), with a clock as far ahead as mia's device
    allows; mia follows it, so her next event waits on f's device for envelopes that never come there. When every
    later event of hers waited behind it, she was silent on f's device whatever the cohort wrote. Her later events
    cite what f holds, so they stand on enough and are taken there. (Found by review.)"""
    log = CohortLog("f", name="Rollback")
    log.admit("al", "peer")
    log.admit("mia", "peer")
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-01 18:00"})
    log.add("mia", "cohort.seen", {})
    for i in range(40):
        log.add("al", "cohort.seen" if i == 0 else "note.added", {} if i == 0 else {"meeting": "m1", "text": f"a{i}", "kind": "note"})
    aj, mj = log.journals["al"], log.journals["mia"]
    mia = log.view()  # holds al up to 40
    last_al = [e for e in log.events if e.journal == aj][-1]
    mia.apply([log.add("al", "cohort.seen", {}, lamport=mia.clock_limit(aj, last_al.seq + 1, ()), exact_lamport=True)])
    hidden = {e.id for e in log.events if e.journal == aj and e.seq > 5}

    def mia_writes(k: int) -> Event:  # as CohortStore.commit numbers and cites
        deps = tuple((j, s, i) for j, (s, i) in mia.newest_by_journal().items() if j != mj)
        seq = max(e.seq for e in log.events if e.journal == mj) + 1
        clock = min(max(mia.max_lamport, max(e.lamport for e in log.events if e.journal == mj)) + 1, mia.clock_limit(mj, seq, deps))
        e = Event(f"{k:064x}", mj, seq, "cohort.seen", log.cohort, log.id("mia"), clock, 1000.0, {}, deps)
        log.events.append(e)
        log._newest[mj], log._seq[mj], log._lamport_of[mj] = e, seq, clock
        mia.apply([e])
        return e

    first = mia_writes(1)
    f = View(log.cohort)
    f.apply([e for e in log.events if e.id not in hidden])
    assert first.id in f.waiting()
    later = []
    for r in range(3):
        notes = [log.add("f", "note.added", {"meeting": "m1", "text": f"f{r}.{k}", "kind": "note"}, cite=False) for k in range(200)]
        mia.apply(notes)
        f.apply(notes)
        later.append(mia_writes(2 + r))
        f.apply([later[-1]])
    assert not any(e.id in f.waiting() or e.id in f.refused() for e in later)
    fresh = View(log.cohort)
    fresh.apply([e for e in log.events if e.id not in hidden])
    assert (fresh.digest(), fresh.max_lamport) == (f.digest(), f.max_lamport)


def test_an_admission_taken_while_an_earlier_event_waits_is_not_undone_when_it_passes() -> None:
    """ali (a mentor, altered) writes a carrier citing one envelope of f's journal past what is held, with a clock that
    needs it (it waits), then an admission citing less of f. Judged on its own, the admission was taken; once f wrote
    that envelope the carrier passed, its citations were taken, and the admission was refused as citing less: the
    newcomer was a member, then not. What a waiting event cites is claimed as its clock is. (Found by review.)"""
    log = CohortLog("f", name="Citations")
    log.admit("ali", "mentor")
    log.add("ali", "cohort.seen", {})
    f, a = log.journals["f"], log.journals["ali"]
    held = max(e.seq for e in log.events if e.journal == f)
    waits = log.add("ali", "cohort.seen", {}, lamport=CLOCK_PER_ENVELOPE * (2 + held) + 1, cite=False)
    waits = Event(waits.id, a, waits.seq, waits.kind, log.cohort, waits.author, waits.lamport, 1000.0, {}, ((f, held + 1, "00" * 32),))
    log.events[-1] = waits
    newest = next(e for e in log.events if e.journal == f and e.seq == held)
    adm = log.add("ali", "member.admitted", log.admission("zed", "peer"), lamport=waits.lamport + 1, cite=False)
    adm = Event(adm.id, a, adm.seq, adm.kind, log.cohort, adm.author, adm.lamport, 1000.0, adm.body, ((f, held, newest.id),))
    log.events[-1] = adm
    view = log.view()
    assert waits.id in view.waiting() and view.member(log.id("zed")) is None
    view.apply([log.add("f", "cohort.seen", {})])  # the envelope it waited for (another id than it cites: still no member)
    assert view.member(log.id("zed")) is None
    assert view.refused()[adm.id] == "cites less of a journal than its author had cited before"
