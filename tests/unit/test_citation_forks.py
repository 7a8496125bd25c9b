"""View.citation_forks reads only what changed since it was last asked, and answers as a full scan of every citation does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from circle.models.events import Event
from circle.models.view import View

COHORT = "c" * 32
JOURNALS = ["a" * 32, "b" * 32, "d" * 32]


def eid(j: str, s: int, variant: int) -> str:
    """An envelope id; two variants at one position are a fork."""
    return f"{JOURNALS.index(j)}{s:02d}{variant}".ljust(64, "e")


def full_scan(view: View) -> dict[str, tuple[int, str, str, str]]:
    """The answer as the whole view reads it: per journal, the first event (in the order they came) citing another event there."""
    out: dict[str, tuple[int, str, str, str]] = {}
    for e in view._events.values():
        for j, s, h in e.deps:
            held = next((x for x in view._events.values() if (x.journal, x.seq) == (j, s)), None)  # the first to come there
            held_id = held.id if held is not None else view._opaque.get((j, s))
            if held_id is not None and not held_id.startswith(h) and j not in out:
                out[j] = (s, held_id, e.journal, e.id)
    return out


position = st.tuples(st.sampled_from(JOURNALS), st.integers(1, 5), st.integers(0, 1))
event = st.tuples(position, st.lists(st.tuples(position, st.integers(8, 64)), max_size=3))
step = st.one_of(
    st.tuples(st.just("apply"), st.lists(event, min_size=1, max_size=4)),
    st.tuples(st.just("opaque"), st.lists(position, min_size=1, max_size=3)),
    st.tuples(st.just("ask"), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=25))
def test_incremental_forks_match_a_full_scan(steps) -> None:
    view = View(COHORT)
    lamport = 0
    for what, arg in steps:
        if what == "apply":
            batch = []
            for (j, s, v), deps in arg:
                lamport += 1
                cites = tuple((k, t, eid(k, t, w)[:n]) for (k, t, w), n in deps if k != j)
                batch.append(Event(eid(j, s, v), j, s, "note.added", COHORT, "f" * 32, lamport, 1000.0 + lamport, {}, cites))
            view.apply(batch)
        elif what == "opaque":
            view.note_opaque([(j, s, eid(j, s, v)) for j, s, v in arg])
        else:
            assert view.citation_forks() == full_scan(view)
    assert view.citation_forks() == full_scan(view)
