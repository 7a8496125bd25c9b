"""The fold is commutative and idempotent: any order, any duplicates, any batching, one view.

Events are built directly (no crypto): the fold only sees opened events. The
sets mix membership changes (admissions by a peer who may not admit, removals
by the mentor and by others), register edits with colliding lamport clocks,
facts, a stranger's events and events of another cohort, so the order of
arrival really matters to a naive fold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circle.models.citations import Citations, histories
from circle.models.events import CLOCK_PER_ENVELOPE, Event
from circle.models.view import View
from tests.cohort_log import CohortLog, hexid
from tests.figures import record, scale

MEETINGS = ["m1", "m2"]
ITEMS = ["i1", "i2", "i3"]
PEOPLE = ["f", "ali", "bea", "stranger"]


def base() -> CohortLog:
    log = CohortLog("f", name="OTs South")
    log.admit("ali", "peer")
    log.admit("bea", "participant", by="ali")  # ali is no mentor: refused everywhere
    log.admit("cleo", "participant")
    return log


@st.composite
def body_for(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    meeting, item = draw(st.sampled_from(MEETINGS)), draw(st.sampled_from(ITEMS))
    word = draw(st.sampled_from(["alpha", "beta", "gamma", "delta"]))
    who = draw(st.sampled_from(["f", "ali", "bea", "cleo"]))
    return {
        "cohort.charter_set": {"name": word, "purpose": word},
        "member.updated": {"member": who, "name": word, "away": draw(st.booleans())},
        "member.removed": {"member": draw(st.sampled_from(["ali", "bea", "cleo"])), "cut_seq": draw(st.integers(0, 6))},
        "meeting.scheduled": {"meeting": meeting, "at": f"2026-01-0{draw(st.integers(1, 9))} 18:00", "title": word},
        "meeting.updated": {"meeting": meeting, "title": word, "cancelled": draw(st.booleans())},
        "meeting.phase_set": {"meeting": meeting, "phase": draw(st.sampled_from(["check-in", "agenda", "feedback"]))},
        "meeting.held": {"meeting": meeting, "facilitator": who},
        "agenda.added": {"item": item, "meeting": meeting, "title": word, "minutes": draw(st.integers(5, 20))},
        "agenda.updated": {"item": item, "status": draw(st.sampled_from(["open", "done", "carried"])), "title": word},
        "action.added": {"action": item, "meeting": meeting, "title": word, "owner": who},
        "action.updated": {"action": item, "status": draw(st.sampled_from(["open", "done", "dropped"]))},
        "note.added": {"meeting": meeting, "item": item, "text": word, "kind": "note"},
        "attendance.marked": {"meeting": meeting, "member": who, "present": draw(st.booleans())},
        "meeting.handoff": {"meeting": meeting, "to": who},
    }[kind]


KINDS = [
    "cohort.charter_set",
    "member.updated",
    "member.removed",
    "meeting.scheduled",
    "meeting.updated",
    "meeting.phase_set",
    "meeting.held",
    "agenda.added",
    "agenda.updated",
    "action.added",
    "action.updated",
    "note.added",
    "attendance.marked",
    "meeting.handoff",
]


@st.composite
def event_sets(draw: st.DrawFn) -> list[Event]:
    log = base()
    # Messy sets hold a stranger, removals and another cohort's events, which force full refolds;
    # clean ones keep the view on its incremental path, where arrival order could leak in.
    messy = draw(st.booleans())
    authors = PEOPLE if messy else PEOPLE[:3]
    kinds = KINDS if messy else [k for k in KINDS if k != "member.removed"]
    other = CohortLog("f", salt="elsewhere")
    for _ in range(draw(st.integers(0, 25))):
        author = draw(st.sampled_from(authors))
        kind = draw(st.sampled_from(kinds))
        body = draw(body_for(kind))
        concurrent = draw(st.booleans())
        lamport = draw(st.integers(1, 30)) if concurrent else None  # ties on lamport are common, broken by author then id
        target = other if messy and not draw(st.integers(0, 9)) else log
        target.add(author, kind, body, lamport=lamport)
    return log.events + (other.events[3:] if messy else [])


def fold(events: list[Event], cohort: str, batches: list[int] | None = None, opaque: Iterable[Event] = ()) -> View:
    """``events`` folded in ``batches``; ``opaque``: envelopes the device held before it could open them (a newcomer's
    keys came later), told first as positions."""
    view = View(cohort)
    view.note_opaque((e.journal, e.seq, e.id) for e in opaque)
    if not batches:
        view.apply(events)
        return view
    start = 0
    for size in batches:
        view.apply(events[start : start + size])
        start += size
    view.apply(events[start:])
    return view


COHORT = base().cohort


@settings(max_examples=scale(150, 2000), deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_permutation_duplication_and_batching_give_the_same_view(data: st.DataObject) -> None:
    events = data.draw(event_sets())
    reference = fold(events, COHORT).digest()

    shuffled = data.draw(st.permutations(events))
    extra = data.draw(st.lists(st.sampled_from(events), max_size=10))
    mixed = data.draw(st.permutations(shuffled + extra))
    batches = data.draw(st.lists(st.integers(1, 6), max_size=10))

    got = [fold(shuffled, COHORT).digest(), fold(mixed, COHORT, batches).digest(), fold(mixed, COHORT, [1] * len(mixed)).digest()]
    record("schedules", "one view: reordered, duplicated (replayed), batched", schedules_tried=3, divergent_views=sum(d != reference for d in got))
    assert got == [reference] * 3


@settings(max_examples=scale(50, 500), deadline=None, derandomize=True, database=None)
@given(event_sets())
def test_applying_again_changes_nothing(events: list[Event]) -> None:
    view = fold(events, COHORT)
    before = view.digest()
    again = [view.apply(events), view.apply(reversed(events))]
    record("schedules", "one view: everything replayed twice", schedules_tried=1, divergent_views=int(view.digest() != before or again != [0, 0]))
    assert again == [0, 0]
    assert view.digest() == before


@st.composite
def leaping_sets(draw: st.DrawFn) -> list[Event]:
    """Events some of whose clocks an altered client pushed ahead (some within what the envelopes they stand on allow,
    some past it, some near the ceiling), the rest numbered past the highest clock seen, citing, as honest clients
    number (past one the fold refuses, they may be refused too: the store's writer keeps within the rule)."""
    log = base()
    for _ in range(draw(st.integers(1, 20))):
        author = draw(st.sampled_from(["f", "ali", "cleo"]))
        kind = draw(st.sampled_from(["note.added", "meeting.phase_set", "member.updated", "cohort.charter_set", "meeting.scheduled"]))
        body = draw(body_for(kind))
        ahead = draw(st.sampled_from([0, 0, 0, 1, 2, 3, 4]))
        if not ahead:
            log.add(author, kind, body)
            continue
        if ahead == 3:  # a carrier citing every journal's newest, as far ahead as that lets it be: it waits where they are not held
            j = log.journals[author]
            cites = tuple(sorted((k, e.seq, e.id) for k, e in log._newest.items() if k != j))
            e = log.add(author, "cohort.seen", {}, lamport=1, exact_lamport=True)
            clock = CLOCK_PER_ENVELOPE * (e.seq + sum(s for _k, s, _h in cites))
            e = Event(e.id, e.journal, e.seq, e.kind, e.cohort, e.author, clock, e.ts, e.body, cites)
            log.events[-1] = log._newest[j] = e
            log.lamport = max(log.lamport, clock)
            continue
        clock = [0, CLOCK_PER_ENVELOPE * draw(st.integers(1, 30)), CLOCK_PER_ENVELOPE * draw(st.integers(30, 60)), 0, 2**61][ahead]
        log.add(author, kind, body, lamport=clock, exact_lamport=True)
    return log.events


@settings(max_examples=scale(150, 1500), deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_clocks_pushed_ahead_give_one_view_in_any_order_and_stay_within_what_is_held(data: st.DataObject) -> None:
    events = data.draw(leaping_sets())
    view = fold(events, COHORT)
    reference = (view.digest(), view.max_lamport)
    mixed = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=5))))
    batches = data.draw(st.lists(st.integers(1, 6), max_size=10))
    opaque = data.draw(st.lists(st.sampled_from(events), max_size=8))
    views = [fold(mixed, COHORT, batches), fold(mixed, COHORT, [1] * len(mixed)), fold(mixed, COHORT, batches, opaque)]
    got = [(v.digest(), v.max_lamport) for v in views]
    record("schedules", "one view: clocks pushed ahead, reordered, batched, opaque first", schedules_tried=3, divergent_views=sum(g != reference for g in got))
    assert got == [reference] * 3
    counted = [e for e in events if e.id not in view.refused() and e.id not in view.waiting()]
    assert view.max_lamport >= max((e.lamport for e in counted), default=0)  # (and those refused for authority alone)
    envelopes = sum({e.journal: e.seq for e in sorted(events, key=lambda e: e.seq)}.values())
    assert view.max_lamport <= CLOCK_PER_ENVELOPE * envelopes  # what a writer numbers past: within what the cohort holds


def test_the_digest_sees_what_a_person_sees() -> None:
    """The properties above could pass on a digest blind to content; this one cannot."""
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "visible", "kind": "note"})
    log.add("cleo", "agenda.added", {"item": "i1", "meeting": "m1", "title": "first"})
    log.add("cleo", "agenda.updated", {"item": "i1", "title": "second"})
    full = log.view().digest()
    assert [n.text for n in full["notes"]] == ["visible"]
    assert [a.title for a in full["agenda"]] == ["second"]  # last writer wins, whatever the order
    assert fold(list(reversed(log.events)), log.cohort).digest() == full
    assert fold(log.events[:-1], log.cohort).digest() != full
    assert [m.name for m in full["members"]] == ["F", "ALI", "CLEO"]  # bea's admission by a peer does not count


def test_a_removed_members_events_after_the_cut_are_held_aside() -> None:
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "kept", "kind": "note"})
    removal = log.add("f", "member.removed", {"member": "ali"})  # f had seen ali's note: the cut is there
    after = log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "after removal", "kind": "note"})
    for order in (log.events, list(reversed(log.events))):
        view = fold(order, log.cohort)
        assert [n.text for n in view.notes()] == ["kept"]
        assert view.refused()[after.id] == "written after its author was removed"
        assert removal.id not in view.refused()


def test_a_strangers_events_are_never_shown() -> None:
    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    intruder = log.add("stranger", "note.added", {"meeting": "m1", "item": "i1", "text": "intruder", "kind": "note"})
    view = log.view()
    assert view.notes() == [] and view.refused()[intruder.id] == "its author is not a member"


def citers_refused(events: list[Event], draw: st.DrawFn) -> list[Event]:
    """Events after ali's newest that cite and are refused: one citing its own journal, one citing less, one with a broken body."""
    log = base()
    journal, out = log.journals["ali"], []
    seq = max((e.seq for e in events if e.journal == journal), default=0)
    others = sorted({(e.journal, e.seq, e.id) for e in events if e.journal != journal and e.cohort == log.cohort})
    for kind, deps in (
        ("own", ((journal, 1, "ab" * 16),)),
        ("less", tuple(sorted({j: (j, 1, h) for j, _s, h in others}.values()))),
        ("body", tuple(sorted({j: (j, s, h) for j, s, h in others}.values()))),
    ):
        if not draw(st.booleans()):
            continue
        seq += 1
        body = {} if kind == "body" else {"meeting": "m1", "item": "", "text": kind, "kind": "note"}
        out.append(Event(hexid(f"refused:{kind}:{seq}", 64), journal, seq, "note.added", log.cohort, log.id("ali"), 500 + seq, 0.0, body, deps))
    return out


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_where_citations_grew_is_what_the_events_say(data: st.DataObject) -> None:
    """A removal's cut reads where each journal's citations grew; the fold keeps that as it goes, and it must match reading the events back."""
    events = data.draw(event_sets())
    events += citers_refused(events, data.draw)
    view = fold(data.draw(st.permutations(events)), COHORT, data.draw(st.lists(st.integers(1, 6), max_size=10)))
    for journal in {e.journal for e in events}:
        assert view._histories(journal) == histories(view._journal_events(journal))


def take_one_at_a_time(running: dict[str, dict[str, int]], grew: dict[str, dict[str, tuple[list[int], list[int]]]], e: Event) -> str | None:
    """The citation rule as plainly as it can be said (what ``Citations.take`` did before its one-pass form): the reference."""
    mine, old = running.setdefault(e.journal, {}), []
    for j, s, _h in e.deps:
        was = mine.get(j)
        if j == e.journal or s < (was or 0):
            for k, v in old:
                mine[k] = v
            return "cites its own journal" if j == e.journal else "cites less of a journal than its author had cited before"
        old.append((j, was or 0))
        mine[j] = s
        if was is None or s > was:
            at, cited = grew.setdefault(e.journal, {}).setdefault(j, ([], []))
            at.append(e.seq)
            cited.append(s)
    return None


JOURNALS = ["j1", "j2", "j3", "j4"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.sampled_from(JOURNALS), st.lists(st.tuples(st.sampled_from(JOURNALS), st.integers(0, 6)), max_size=5)), max_size=30))
def test_citations_taken_in_one_pass_are_those_taken_one_at_a_time(cites: list[tuple[str, list[tuple[str, int]]]]) -> None:
    """Citations that cite less, cite their own journal or name a journal twice are refused with the same reason, leave the
    same citations behind, and where citations grew is the same for every journal with no refused citations; what a
    journal had cited at each of its events reads back afterwards as it was then."""
    fast, refused = Citations(), set()
    kept: list[tuple[Event, dict[str, int]]] = []
    running: dict[str, dict[str, int]] = {}
    grew: dict[str, dict[str, tuple[list[int], list[int]]]] = {}
    seqs: dict[str, int] = {}
    for journal, deps in cites:
        seqs[journal] = seqs.get(journal, 0) + 1
        e = Event(
            hexid(f"{journal}:{seqs[journal]}", 64),
            journal,
            seqs[journal],
            "note.added",
            COHORT,
            "a" * 32,
            seqs[journal],
            0.0,
            {},
            tuple((j, s, "ab" * 16) for j, s in deps),
        )
        why = take_one_at_a_time(running, grew, e)
        assert fast.take(e) == why
        if why is not None:
            refused.add(journal)
        assert fast.running.get(journal, {}) == running.get(journal, {})
        fast.keep(e)  # as the fold does for a governance event: what its journal had cited then, read back at the end
        kept.append((e, dict(running.get(journal, {}))))
    for e, then in kept:
        seen = fast.seen(e)
        assert {j: seen.get(j) for j in JOURNALS if seen.get(j) is not None} == then
        assert all(seen.get(j, 0) == then.get(j, 0) for j in [*JOURNALS, "never cited"])
    assert fast.untracked == refused
    for journal in set(seqs) - refused:
        assert {j: line for j, line in fast.grew.get(journal, {}).items()} == grew.get(journal, {})


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(event_sets(), st.lists(st.integers(1, 6), max_size=6))
def test_one_items_notes_are_its_notes_among_all(events: list[Event], batches: list[int]) -> None:
    """The room reads a carried item's notes by item; they are the same notes, in the same order, as picking them out of every note."""
    view = fold(events, COHORT, batches)
    for item in [*ITEMS, "", "nothing"]:
        assert view.notes(item_id=item) == [n for n in view.notes() if n.item == item]
        for meeting in MEETINGS:
            assert view.notes(meeting, item) == [n for n in view.notes(meeting) if n.item == item]


def test_a_shape_verdict_follows_its_event_when_two_claim_one_position() -> None:
    """The fold keeps "has its shape" at the event's place: a second event at that position (a fork) must get its own verdict."""
    from dataclasses import replace

    from circle.models import schema

    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    good = log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "fine", "kind": "note"})
    bad = replace(good, id=hexid("forked note"), body={"meeting": "m1", "item": "i1", "text": 7, "kind": "note"})
    wrong = schema.problem(bad.kind, bad.body)
    assert wrong and schema.problem(good.kind, good.body) is None
    for pair in ([good, bad], [bad, good]):
        view = fold([e for e in log.events if e is not good] + pair, log.cohort)
        for again in (False, True):
            if again:  # a governance event starts the fold over, reading kept verdicts
                view.apply([log.admit("dee", "peer")])
            assert view.refused()[bad.id] == wrong
            assert view.refused().get(good.id) != wrong


def test_a_note_the_store_left_is_not_checked_again_and_others_are(monkeypatch) -> None:
    """Only the store makes a Later, after the body was checked (Texts.leave): the fold takes it as checked, and checks the rest."""
    from dataclasses import replace

    from circle.models import schema
    from circle.models.events import Later

    log = base()
    log.add("f", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-08 18:00"})
    said = log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "kept", "kind": "note"})
    plain = log.add("ali", "note.added", {"meeting": "m1", "item": "i1", "text": "plain", "kind": "note"})
    later = Later(lambda where: "kept" if where.id == said.id else "?")
    left = replace(said, body={"meeting": "m1", "item": "i1", "text": later, "kind": "note"})
    checked: list[str] = []
    real = schema.problem
    monkeypatch.setattr(schema, "problem", lambda kind, body: checked.append(body.get("text")) or real(kind, body))
    view = fold([left if e is said else e for e in log.events], log.cohort)
    assert [n.text for n in view.notes("m1")] == ["kept", "plain"]
    assert later not in checked and "plain" in checked and plain.id not in view.refused()


@settings(max_examples=scale(60, 600), deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_with_clocks_pushed_ahead_every_step_reads_as_a_fresh_fold_of_what_is_held(data: st.DataObject) -> None:
    """Not only at the end: a device is read between syncs. An event after one that waited for its clock was taken in
    one pass and refused at the next (review), so the view after each batch is compared with a fresh fold."""
    events = data.draw(leaping_sets())
    order = data.draw(st.permutations(events))
    batches = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=12))
    view, held, start = View(COHORT), [], 0
    steps = divergent = 0
    for size in [*batches, len(order)]:
        chunk = order[start : start + size]
        start += size
        if not chunk:
            break
        view.apply(chunk)
        held += chunk
        fresh = fold(held, COHORT)
        steps += 1
        divergent += (view.digest(), view.max_lamport) != (fresh.digest(), fresh.max_lamport)
    record("schedules", "one view: clocks pushed ahead, read after every batch", schedules_tried=steps, divergent_views=divergent)
    assert divergent == 0
