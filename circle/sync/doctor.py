"""`circle doctor`: what is wrong with this device's circle, and what to do about each thing.

Checks the litestream binary, the keystore's permissions, every cohort's
replica location and every member's journal there and here, and the alarms
(forks, rollbacks) opening the cohorts raised. Each finding is one line with
what to do; the command prints them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from circle.errors import CircleError, ReplicaMisconfigured, ReplicaOffline, SyncError
from circle.paths import storage_problem
from circle.store.session import Session
from circle.sync import litestream as ls
from circle.sync.location import describe, folder_marked
from circle.sync.service import replica_for


@dataclass(frozen=True)
class Finding:
    """One thing checked: whether it is fine, what it is, and how to fix it if not."""

    ok: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"{'ok ' if self.ok else 'FIX'}  {self.what}" + ("" if self.ok or not self.fix else f" — {self.fix}")


def _writable(folder) -> bool:
    """Whether circle can write in ``folder`` (a full disk or a read-only mount stops every write)."""
    try:
        probe = folder / f".doctor-{os.getpid()}"
        with open(probe, "wb") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
        return True
    except OSError:
        return False


def binary() -> Finding:
    """Whether the litestream binary is there (checked before unlocking: it needs no passphrase)."""
    try:
        return Finding(True, f"litestream found at {ls.litestream_binary()}")
    except CircleError as exc:
        return Finding(False, "litestream binary", exc.hint)


def diagnose(session: Session) -> Iterator[Finding]:
    """Everything else, cohort by cohort, as it is found (some checks wait on a replica).

    Run it inside :func:`circle.sync.litestream.bounded`: a replica out of
    reach then costs one wait (about 10 s), not one per cohort and member.
    """
    yield Finding(True, f"keystore opens ({session.name})")
    trouble = storage_problem(session.dir / "journals" / "probe", OSError()) if not _writable(session.dir) else None
    if trouble is not None:
        yield Finding(False, trouble.title, trouble.hint.replace("nothing was saved; ", ""))
    mode = session.keystore.path.stat().st_mode & 0o777
    yield Finding(mode == 0o600, f"keystore permissions {oct(mode)}", f"run: chmod 600 {session.keystore.path}")
    for cid in session.cohort_ids():
        yield from _cohort(session, cid)


def _cohort(session: Session, cid: str) -> Iterator[Finding]:
    store = session.store(cid)
    name = store.view.cohort().name or cid[:8]
    where = describe(store.entry.replica) if store.entry.replica else "the home folder (default)"
    base = replica_for(session, store)
    folder = ls.folder_of(base)
    if folder is not None and store.entry.replica and not folder_marked(folder):
        yield Finding(
            False,
            f"{name}: replica folder {folder} is not there or not circle's",
            f"plug in the drive or mount the share; to start afresh in this folder run: circle cohort replica '{name}' {folder}",
        )
        return
    try:
        txid = ls.latest_txid(base.child(store.entry.replica_path))
        yield Finding(True, f"{name}: replica {where} reachable" + ("" if txid else " (nothing sent yet: run 'circle sync --once')"))
        reached = True
    except CircleError as exc:
        yield Finding(False, f"{name}: replica {where}", told(exc))
        reached = False
    members = {j: m for m in store.view.members() for j, _ in m.journals}
    for jid, record in store.known_journals().items():
        member = members.get(jid)
        if jid == store.entry.journal or member is None:
            continue
        path = record.replica_path or dict(member.journals).get(jid, "")
        if not reached:  # the same location: it would only say the same again
            continue
        try:
            txid = ls.latest_txid(base.child(path)) if path else None
        except CircleError as exc:
            yield Finding(False, f"{name}: {member.name}'s journal", told(exc))
            continue
        if txid is None:
            yield Finding(False, f"{name}: nothing from {member.name} on the replica yet", "ask them to run 'circle sync --once'")
        elif not store.journal_path(jid).exists():
            yield Finding(False, f"{name}: {member.name}'s journal not on this device", "run 'circle sync --once'")
        else:
            yield Finding(True, f"{name}: {member.name}'s journal present, {record.seq} events verified")
    for jid, msg in store.alarms.items():
        yield Finding(False, f"{name}: journal {jid[:8]}: {msg}", "compare with the member in person; evidence is kept in the home")
    refused = store.view.refused()
    if refused:
        yield Finding(
            False,
            f"{name}: {len(refused)} event{'s' if len(refused) != 1 else ''} held aside: they break the cohort's rules",
            "'circle verify' says why; talk to the cohort's mentor about who wrote them",
        )
    if store.refused_wraps:
        yield Finding(
            False,
            f"{name}: {store.refused_wraps} key{'s' if store.refused_wraps != 1 else ''} wrapped to you match no key epoch (never used)",
            "someone sent keys they were not entitled to; tell the cohort's mentor",
        )
    waiting = store.view.waiting()
    if waiting:
        yield Finding(
            False,
            f"{name}: {len(waiting)} roster or key change{'s' if len(waiting) != 1 else ''} waiting for events not on this device yet",
            "run 'circle sync --once'",
        )


def told(exc: CircleError) -> str:
    """What a finding says about a failed replica check: the error's one line, and litestream's own words when circle could not name the cause."""
    line = exc.line()
    detail = getattr(exc, "detail", "")
    if isinstance(exc, SyncError) and not isinstance(exc, ReplicaOffline | ReplicaMisconfigured) and detail and detail not in line:
        line += f" (litestream: {detail[:160]})"
    return line
