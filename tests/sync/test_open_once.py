"""`circle sync` opens each cohort once at start, though two threads ask for it (issue 14).

The sync thread's first pass and the status line in the main thread both
ask the session for every cohort as the service starts.
"""

from __future__ import annotations

import time

from circle.store.cohort import CohortStore
from circle.sync.service import SyncService
from tests.sync.helpers import eventually, new_home, once, reopen


def test_sync_start_and_its_status_line_open_each_cohort_once(tmp_path, monkeypatch):
    ana = new_home(tmp_path, "Ana")
    ana.create_cohort("Midwives South", replica={"url": str(tmp_path / "shared")})
    once(ana)
    ana.close()
    session = reopen(ana)

    loads: list[str] = []
    real = CohortStore.load

    def load(self: CohortStore, *args, **kwargs):
        loads.append(self.id)
        time.sleep(0.5)  # a big cohort takes a while to open: both threads are in here at once
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CohortStore, "load", load)
    service = SyncService(session, interval=0.25, poll=1.0)
    service.start(focus=None)
    try:
        status = service.status()  # what `circle sync` prints at once, from the main thread
        eventually(lambda: service.status().state == "up to date", what="the first pass")
    finally:
        service.stop()
    assert [c.name for c in status.cohorts] == ["Midwives South"]
    assert loads == session.cohort_ids()
