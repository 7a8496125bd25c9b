"""A cohort is opened once per session, however many threads ask for it at once (issue 14).

`circle sync` asks for every cohort from its sync thread and, at the same
moment, from the status line in the main thread; the app does the same from
its UI. Two loads at once folded the cohort twice: about twice the memory at
start (905 MB against 490 MB at 100k events), and two views of one cohort.
"""

from __future__ import annotations

import threading
import time

import pytest

from circle.store.cohort import CohortStore
from circle.store.session import Home

PASS = "correct horse battery staple"


def slow_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make each load take a while (as a big cohort's does) and count them."""
    loads: list[str] = []
    real = CohortStore.load

    def load(self: CohortStore, *args, **kwargs):
        loads.append(self.id)
        time.sleep(0.3)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CohortStore, "load", load)
    return loads


def test_two_threads_asking_for_a_cohort_at_once_open_it_once(tmp_path, monkeypatch):
    first = Home(tmp_path / "home", calibrate=False).create_identity("Ana", PASS)
    cid = first.create_cohort("Midwives South").id
    first.create_cohort("Physios North")
    first.close()
    session = Home(tmp_path / "home").unlock(PASS)
    loads = slow_loads(monkeypatch)

    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(session.store(cid))) for _ in range(3)]
    for t in threads:
        t.start()
    got.append(session.cohort(cid).store)  # and the main thread, as `circle sync`'s status line does
    for t in threads:
        t.join()
    assert loads == [cid]
    assert len({id(s) for s in got}) == 1
    assert len(session.cohorts()) == 2 and sorted(loads) == sorted(session.cohort_ids())  # the other cohort: opened once too
