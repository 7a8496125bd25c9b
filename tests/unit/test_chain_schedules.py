"""Replayed, rolled-back and forked copies of a member's journal, in any order: never a mixed or silently different history.

Ben's device writes an honest journal; a forking copy of his device writes
another history under the same journal from some event on (validly signed:
equivocation). Hypothesis draws a schedule of copies of his journal file that
reach Ana's device (older copies put back, the same copy again, either
branch, at any length), and after each one Ana's device ingests through the
real :meth:`CohortStore.ingest`. After every step and at the end:

- what Ana shows of Ben is the start of one branch, never a mix of both;
- the verified head never moves backward;
- once the full honest journal has arrived, Ana shows all of it, or her
  device holds an alarm (fork or rollback) with evidence: never another
  history in silence.

A schedule that breaks any of these is a divergent view (the figure must be 0).
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.figures import counting_failures, record, scale
from tests.unit.test_chain import Peer, head_of, replace_file, texts

RUNS = {"schedules": 0, "divergent": 0, "failed": 0, "fork": 0, "rollback": 0, "clean": 0}
_names = itertools.count()


def branches(session, tmp: Path, data: st.DataObject):
    """A fresh cohort, Ben admitted, and copies of his journal: honest prefixes and fork prefixes (file, texts in seq order)."""
    cohort = session.create_cohort(f"Schedules {next(_names)}").store
    ben = Peer(cohort)
    session.cohort(cohort.id).admit(ben.identity.public(), "Ben", journal=ben.jid.hex())
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=2, max_size=4), label="honest batches")
    split = data.draw(st.integers(1, len(sizes) - 1), label="fork after batch")
    fork_sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="fork batches")
    run = next(_names)
    honest_batches = [[f"h{run}-{b}-{i}" for i in range(n)] for b, n in enumerate(sizes)]
    fork_batches = honest_batches[:split] + [[f"f{run}-{b}-{i}" for i in range(n)] for b, n in enumerate(fork_sizes)]
    copies: dict[tuple[str, int], tuple[Path, list[str]]] = {}
    start = ben.lamport
    for name, batches, first in (("honest", honest_batches, 1), ("fork", fork_batches, split + 1)):
        # Each copy is the one before it plus one batch: the same envelopes, byte for byte, as a replica holds them.
        # The forking device shares the honest envelopes up to the split and writes its own after it.
        ben.lamport = start + sum(sizes[: first - 1])
        for n in range(first, len(batches) + 1):
            path = tmp / f"{run}-{name}-{n}.db"
            before = copies.get((name, n - 1)) or copies.get(("honest", n - 1))
            if before is not None:
                shutil.copyfile(before[0], path)
            ben.write(path, batches[n - 1])
            copies[(name, n)] = (path, [t for b in batches[:n] for t in b])
    return cohort, ben, copies, [t for b in honest_batches for t in b], [t for b in fork_batches for t in b]


@settings(
    max_examples=scale(25, 300),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data())
@counting_failures(RUNS)
def test_any_schedule_of_replayed_rolled_back_and_forked_copies_never_diverges_in_silence(session, tmp_path: Path, data: st.DataObject) -> None:
    cohort, ben, copies, honest, fork = branches(session, tmp_path, data)
    honest_only = data.draw(st.booleans(), label="only honest copies, growing, each maybe again")
    if honest_only:  # replays and duplicates of a journal that only grows: never an alarm
        schedule = sorted(data.draw(st.lists(st.sampled_from([k for k in copies if k[0] == "honest"]), min_size=1, max_size=8)))
    else:
        schedule = data.draw(st.lists(st.sampled_from(sorted(copies)), min_size=1, max_size=8), label="copies delivered")
    shown: list[str] = []
    head = 0
    divergent = []
    for key in [*schedule, ("honest", max(n for name, n in copies if name == "honest"))]:
        replace_file(ben.path, copies[key][0])
        cohort.ingest()
        now = texts(cohort)
        one_branch = any(now <= set(h) and h[: len(now)] == [t for t in h if t in now] for h in (honest, fork))
        if not one_branch:  # what is shown of Ben: the start of one branch, never a mix, never with a hole
            divergent.append(f"after {key}: shown {sorted(now)} is not the start of one branch")
        if head_of(cohort, ben) < head:
            divergent.append(f"after {key}: head moved back from {head} to {head_of(cohort, ben)}")
        head = max(head, head_of(cohort, ben))
        shown = sorted(now)
    alarm = cohort.alarms.get(ben.jid.hex(), "")
    if honest_only and alarm:
        divergent.append(f"a false alarm on a journal that only grew: {alarm}")
    if not alarm and set(shown) != set(honest):
        divergent.append(f"no alarm, yet the full honest journal is not what is shown: {shown}")
    RUNS["schedules"] += 1
    RUNS["fork" if "fork" in alarm else "rollback" if alarm else "clean"] += 1
    RUNS["divergent"] += bool(divergent)
    assert not divergent, divergent


def test_the_schedules_reached_forks_and_rollbacks() -> None:
    """Report the schedules tried (the test above runs first in this module)."""
    record("schedules", "a member's journal: replayed, rolled back, forked copies", schedules_tried=RUNS["schedules"], divergent_views=RUNS["divergent"])
    print(f"chain schedules: {RUNS['schedules']} tried: {RUNS['fork']} ended in a fork alarm, {RUNS['rollback']} in a rollback alarm, {RUNS['clean']} clean")
    assert RUNS["schedules"] >= scale(25, 300) and RUNS["failed"] == 0
    assert RUNS["fork"] and RUNS["rollback"] and RUNS["clean"]  # the schedules reached every outcome
