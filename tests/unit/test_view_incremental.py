"""New notes keep the view's other reads: what the meeting room reads after a typed note equals a fresh fold.

``View.apply`` keeps every memoised read that does not read notes when a
batch holds only new notes, and adds the notes to the reads that list them
(``View._forget``). These tests read everything between batches, so the kept
reads are the ones compared, against a view folded from scratch.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circle.models.events import Event
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


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Event], list[Event], CohortLog]:
    """(what arrives first, the notes that arrive after it in batches, the log): edits and redactions of those notes may come first."""
    log = base()
    for _ in range(draw(st.integers(0, 20))):
        kind = draw(st.sampled_from([k for k in KINDS if k != "member.removed"] + ["note.added"] * 3))
        lamport = draw(st.integers(1, 30)) if draw(st.booleans()) else None
        log.add(draw(st.sampled_from(["f", "ali", "cleo"])), kind, draw(body_for(kind)), lamport=lamport)
    late: list[Event] = []
    for _ in range(draw(st.integers(1, 12))):
        author = draw(st.sampled_from(NOTE_AUTHORS))
        body = {"meeting": draw(st.sampled_from(MEETINGS)), "item": draw(st.sampled_from(["", *ITEMS])), "text": "typed", "kind": "note"}
        note = log.add(author, "note.added", body)
        late.append(note)
        touch = draw(st.sampled_from(["none", "none", "edit", "redact", "edit by its author"]))
        if touch == "edit":  # the mentor edits it: in another journal, so the note still arrives in its journal's order
            log.add("f", "note.edited", {"note": note.id, "text": "edited"})
        elif touch == "redact":
            log.add("f", "entry.redacted", {"entry": note.id, "what": "note"})
        elif touch == "edit by its author":  # arrives before the note it edits, in the same journal: the fold starts again
            log.add(author, "note.edited", {"note": note.id, "text": "mine, edited"})
    ids = {e.id for e in late}
    first = [e for e in log.events if e.id not in ids]
    return first, late, log


@settings(max_examples=scale(150, 1500), deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_reads_after_new_notes_equal_a_fresh_fold(data: st.DataObject) -> None:
    first, late, log = data.draw(histories())
    notes = [e.id for e in log.events if e.kind == "note.added"]
    view = View(log.cohort)
    view.apply(first)
    reads(view, notes)  # every read memoised, as a screen leaves them
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=6))
    delivered, start, diverged, batches = list(first), 0, 0, 0
    while start < len(late):
        size = sizes[batches % len(sizes)]
        batch = late[start : start + size]
        start += size
        batches += 1
        view.apply(batch)
        delivered += batch
        fresh = View(log.cohort)
        fresh.apply(delivered)
        got, want = reads(view, notes), reads(fresh, notes)
        diverged += int(got != want)
        assert got == want
    record("schedules", "one view: new notes on a view read between batches (kept reads)", schedules_tried=batches, divergent_views=diverged)


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
