"""Three homes on one machine share one replica location of each kind.

Ana founds a cohort, brings Ben and Cleo in through the real invite/join/admit
flow (admit fetches the join request from the replica, as `circle admit` does),
then each writes while the other two are stopped, and `sync --once` on every
home leaves all three folded views identical.
"""

from __future__ import annotations

import time

import pytest

from tests.sync.helpers import digests, location, meeting, once, reopen, three_homes, visible_texts, write_burst


@pytest.mark.parametrize("kind", ["folder", "s3", "seaweedfs", "sftp"])
def test_three_homes_write_apart_and_converge(kind, request, tmp_path):
    t0 = time.monotonic()
    trio = three_homes(tmp_path, location(kind, request, tmp_path))
    a, b, c = (s.cohort(trio.cohort) for s in trio.all)
    assert [m.name for m in c.view.members()] == ["Ana", "Ben", "Cleo"]

    # Each writes while the others are stopped: no service runs between the bursts.
    meeting(a, "m1", "December supervision")
    written = write_burst(a, "Ana", 4) + write_burst(b, "Ben", 4) + write_burst(c, "Cleo", 4)
    # Concurrent edits of one register by the one who scheduled it and a mentor: last writer wins, the same on
    # every device. A participant's edit of someone else's meeting is refused by every device.
    a.store.record("meeting.updated", {"meeting": "m1", "title": "Ana's title"})
    b.store.record("meeting.updated", {"meeting": "m1", "title": "Ben's title"})
    refused = c.store.record("meeting.updated", {"meeting": "m1", "title": "Cleo's title"})

    once(*trio.all)  # each pushes; Ana and Ben have not seen Cleo's yet
    once(*trio.all)  # now everyone pulls everyone
    views = digests(trio.all, trio.cohort)
    assert views[0] == views[1] == views[2]
    assert visible_texts(a) == set(written)
    assert views[0]["meetings"][0].title in ("Ana's title", "Ben's title")
    assert all(refused.id in s.cohort(trio.cohort).view.refused() for s in trio.all)

    # A restarted app (fresh unlock, snapshot or not) folds to the same view.
    again = [reopen(s) for s in trio.all]
    assert digests(again, trio.cohort) == views
    present = min(len(visible_texts(s.cohort(trio.cohort)) & set(written)) for s in again)
    assert present == len(written)
    print(f"{kind}: {len(written)} events written, {present} present on every device ({time.monotonic() - t0:.1f} s)")
