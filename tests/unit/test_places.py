"""Places: journal -> seq -> the first event held there, as lists by seq, and the shape verdicts kept per place."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from circle.models.events import Event
from circle.models.places import Places


def ev(journal: str, seq: int, n: int = 0) -> Event:
    return Event(f"{journal}{seq}-{n}".ljust(64, "0"), journal, seq, "note.added", "c" * 32, "a" * 32, 1, 0.0, {})


seqs = st.one_of(st.integers(-3, 40), st.integers(1_000, 5_000), st.integers(2**40, 2**40 + 3))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ab"), seqs, st.integers(0, 2)), max_size=60))
def test_the_first_event_at_a_place_is_the_one_held_whatever_the_seqs(holds: list[tuple[str, int, int]]) -> None:
    places, reference = Places(), {}
    for j, s, n in holds:
        e = ev(j, s, n)
        first = reference.setdefault((j, s), e)
        assert places.hold(e) is (first is e)
    for (j, s), e in reference.items():
        assert places.get(j, s) is e
    assert places.get("a", 7) is reference.get(("a", 7))
    assert places.get("z", 1) is None


def test_a_place_far_past_its_journal_does_not_grow_the_list() -> None:
    places = Places()
    places.hold(ev("a", 1))
    far = ev("a", 2**60)
    assert places.hold(far) and places.get("a", 2**60) is far
    assert len(places._rows["a"]) == 2  # one place and the unused 0: the far one sits beside the list
    near = ev("a", 500)  # within reach: the list grows to it
    assert places.hold(near) and len(places._rows["a"]) == 501


def test_a_far_place_stays_taken_once_the_list_reaches_it() -> None:
    places = Places()
    far, later = ev("a", 3_000), ev("a", 3_000, 1)
    assert places.hold(far)
    for s in range(1, 3_100):
        if s != 3_000:
            places.hold(ev("a", s))
    assert len(places._rows["a"]) > 3_000  # the list reached the far place
    assert not places.hold(later) and places.get("a", 3_000) is far


def test_shape_marks_are_a_byte_per_place_and_grow_with_the_list() -> None:
    places = Places()
    first = ev("a", 3)
    places.hold(first)
    row, marks = places.row("a")
    assert row[3] is first and len(marks) == len(row) == 4 and not any(marks)
    marks[3] = 1
    places.hold(ev("a", 900))
    row, marks = places.row("a")
    assert len(marks) == len(row) == 901 and marks[3] == 1 and marks.count(1) == 1  # the mark stays where it was set
    assert places.row("z") == ([], bytearray())


def test_the_fold_keeps_the_first_event_at_a_far_place_when_its_journal_reaches_it() -> None:
    from circle.models.view import View

    cohort = "c" * 32
    view = View(cohort)
    first, later = ev("a", 3_000), ev("a", 3_000, 1)
    view.apply([first])
    view.apply([ev("a", s) for s in range(1, 3_000)])  # in seq order: the fold appends to the row itself
    view.apply([later])  # the next in seq order, as the row sees it
    assert view._at.get("a", 3_000) is first
