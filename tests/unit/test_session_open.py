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


def test_an_open_without_a_snapshot_tells_how_far_it_got_and_one_with_it_tells_nothing(tmp_path, monkeypatch):
    from circle.store import cohort as cohort_module

    monkeypatch.setattr(cohort_module, "PROGRESS_EVERY", 10)
    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", PASS)
    svc = session.create_cohort("Midwives South")
    mid = svc.schedule("2026-12-10 14:00", "December")
    for n in range(35):
        svc.add_note(mid, f"note {n}")
    cid, events = svc.id, len(svc.view)
    svc.store.save_snapshot()
    session.close()

    told: list[tuple[int, int]] = []
    session = Home(tmp_path / "home").unlock(PASS)
    session.cohort(cid, lambda n, total: told.append((n, total)))
    assert told == []  # from its snapshot: nothing long to tell
    snapshot_file = session.cohort(cid).store._snapshot_path()
    session.close()
    snapshot_file.unlink()

    session = Home(tmp_path / "home").unlock(PASS)
    svc = session.cohort(cid, lambda n, total: told.append((n, total)))
    heads = sum(j.seq for j in svc.store.known_journals().values())
    assert len(svc.view) == events and heads >= events
    assert told == [(n, heads) for n in range(10, events + 1, 10)]  # every PROGRESS_EVERY events, of what the heads held
    session.close()


def test_a_count_past_what_the_heads_said_is_told_as_a_count_alone(monkeypatch):
    from circle.store import cohort as cohort_module

    monkeypatch.setattr(cohort_module, "PROGRESS_EVERY", 10)
    told: list[tuple[int, int]] = []
    each = cohort_module._counted(lambda e: e, lambda n, total: told.append((n, total)), 15)
    assert [each(n) for n in range(25)] == list(range(25))  # each event passes through as it was
    assert told == [(10, 15), (20, 0)]


def test_a_cohort_big_enough_to_be_told_about_writes_its_snapshot():
    """What the app and the CLI say of a first open ("later ones start from its snapshot") holds only while this does."""
    from circle.store import cohort as cohort_module
    from circle.store import snapshot

    assert cohort_module.PROGRESS_EVERY >= snapshot.SAVE_AFTER
