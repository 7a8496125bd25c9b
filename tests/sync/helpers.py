"""Shared pieces of the sync-service tests: homes, replica locations, the join flow, waits.

Everything here drives the real code paths: identities in their own homes,
the invite/join/admit flow with admit's fetch restoring from the replica as
``circle admit`` does, and :class:`SyncService` moving journals through the
real litestream binary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from circle.store import joining
from circle.store.cohort import CohortStore
from circle.store.service import CohortService
from circle.store.session import Home, Session
from circle.sync import litestream as ls
from circle.sync.service import SyncService, replica_for

PASS = "pass word for tests"
WAIT = 30.0  # a generous ceiling for anything that should take a second


def eventually(check: Callable[[], Any], timeout: float = WAIT, what: str = "condition", every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(every)


# ---- replica locations ------------------------------------------------------


def location(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A fresh cohort location of ``kind`` (folder, s3 on rclone, seaweedfs, sftp) as the keystore keeps it."""
    if kind == "folder":
        return {"url": str(tmp_path / "shared-folder")}
    if kind in ("s3", "seaweedfs"):
        s3 = request.getfixturevalue("s3_server" if kind == "s3" else "weed_server")
        return {
            "url": f"s3://{s3.bucket}/{tmp_path.name}",
            "endpoint": s3.endpoint,
            "access_key_id": s3.access_key_id,
            "secret_access_key": s3.secret_access_key,
            "force_path_style": True,
        }
    if kind == "sftp":
        sftp = request.getfixturevalue("sftp_server")
        return {"url": f"sftp://{sftp.user}@127.0.0.1:{sftp.port}{sftp.data / tmp_path.name}", "key_path": str(sftp.client_key), "host_key": sftp.host_key}
    raise ValueError(kind)


# ---- homes and the join flow ------------------------------------------------


def new_home(root: Path, name: str) -> Session:
    """An identity called ``name`` in its own home under ``root``."""
    return Home(root / name.lower(), calibrate=False).create_identity(name, PASS)


def reopen(session: Session) -> Session:
    """The same identity unlocked afresh, as after a restart of the app."""
    return Home(session.home.root).unlock(PASS)


def fetch_from_replica(session: Session) -> joining.Fetch:
    """Admit's fetch as ``circle admit`` does it: restore the newcomer's journal from the replica."""

    def fetch(store: CohortStore, replica_path: str, out: Path) -> bool:
        return ls.restore(replica_for(session, store).child(replica_path), out)

    return fetch


def once(*sessions: Session) -> None:
    """One ``circle sync --once`` per session, in order; each must reach the replica."""
    for s in sessions:
        r = SyncService(s).once()
        assert not r.unreachable, f"{s.name}: unreachable {r.unreachable}"
        assert not r.wrong, f"{s.name}: wrong settings {r.wrong}"
        assert not r.problems, f"{s.name}: {r.problems}"


def bring_in(admitter: Session, cohort: str, newcomer: Session, loc: dict[str, Any], role: str = "participant") -> str:
    """Invite, join, sync and admit ``newcomer`` into ``cohort``; returns the newcomer's cohort id once adopted."""
    svc = admitter.cohort(cohort)
    joined = joining.join(newcomer, joining.create_invite(admitter, svc).code, replica=dict(loc))
    once(newcomer)  # pushes the join request
    admitted = joining.admit(svc, joined.join_code, fetch_from_replica(admitter), role=role)
    assert (admitted.name, admitted.fingerprint) == (newcomer.name, newcomer.fingerprint)
    once(admitter)  # pushes the admission and the wrapped key
    once(newcomer)  # pulls them; the pending cohort is adopted under its real id
    assert cohort in newcomer.cohort_ids(), "newcomer did not adopt the cohort"
    return cohort


@dataclass
class Trio:
    a: Session
    b: Session
    c: Session
    cohort: str
    loc: dict[str, Any]

    @property
    def all(self) -> tuple[Session, Session, Session]:
        return (self.a, self.b, self.c)


def three_homes(root: Path, loc: dict[str, Any], name: str = "Physio peers North") -> Trio:
    """Ana founds a cohort at ``loc`` and brings in Ben and Cleo through invite/join/admit."""
    a, b, c = new_home(root, "Ana"), new_home(root, "Ben"), new_home(root, "Cleo")
    svc = a.create_cohort(name, replica=dict(loc))
    once(a)
    bring_in(a, svc.id, b, loc, role="mentor")
    bring_in(a, svc.id, c, loc)
    once(b)  # Ben learns about Cleo
    return Trio(a, b, c, svc.id, loc)


# ---- writing ----------------------------------------------------------------


def meeting(svc: CohortService, meeting_id: str, title: str = "Monthly") -> None:
    svc.store.record("meeting.scheduled", {"meeting": meeting_id, "at": "2026-12-01T10:00", "title": title, "minutes": 60})


def note(svc: CohortService, meeting_id: str, text: str) -> None:
    svc.store.record("note.added", {"meeting": meeting_id, "item": "", "text": text, "kind": "note"})


def write_burst(svc: CohortService, who: str, n: int, meeting_id: str = "m1") -> list[str]:
    """``n`` one-event transactions (agenda items and notes) by ``who``; returns their texts."""
    texts = []
    for i in range(n):
        text = f"{who} event {i}"
        if i % 3 == 0:
            item = "".join(ch if ch.isalnum() else "-" for ch in f"{who}-{i}")
            svc.store.record("agenda.added", {"item": item, "meeting": meeting_id, "title": text, "owner": svc.me, "minutes": 5})
        else:
            note(svc, meeting_id, text)
        texts.append(text)
    return texts


def visible_texts(svc: CohortService) -> set[str]:
    """Every agenda title and note text in the view."""
    return {i.title for i in svc.view.agenda()} | {n.text for n in svc.view.notes()}


def digests(sessions: Iterable[Session], cohort: str) -> list[dict[str, Any]]:
    return [s.cohort(cohort).view.digest() for s in sessions]
