"""What a member with an altered client, or the replica's host, can put where peers read: reviewed as an attacker.

Every case here is real circle over a real folder replica and the real
litestream binary; each was found to stop or hurt another member's device,
and is shown refused or contained.
"""

from __future__ import annotations

import os

from circle.sync.service import SyncService
from tests.sync.helpers import meeting, note, once, three_homes, visible_texts


def test_a_replica_path_no_location_takes_is_refused_and_sync_goes_on(tmp_path):
    """`-x` passed the schema but no replica location takes it: every member's sync raised on it, for good."""
    t = three_homes(tmp_path, {"url": str(tmp_path / "shared")})
    meeting(t.b.cohort(t.cohort), "m1")
    once(t.b, t.a)
    cleo = t.c.cohort(t.cohort)
    for path in ("-x", ".", "..", "_x", ".x"):
        reading = t.c.identity.new_reading().public().reading.hex()
        event = cleo.store.record(
            "member.device_added", {"member": t.c.id, "journal": os.urandom(16).hex(), "replica_path": path, "device": "x", "reading": reading}
        )
        assert "replica_path" in cleo.view.refused().get(event.id, ""), path  # her own device refuses it too
    SyncService(t.c).once()
    SyncService(t.a).once()
    note(t.b.cohort(t.cohort), "m1", "from Ben after it")
    SyncService(t.b).once()
    report = SyncService(t.a).once()
    assert not report.problems, report.problems
    assert "from Ben after it" in visible_texts(t.a.cohort(t.cohort))
