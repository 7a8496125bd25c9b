"""`circle doctor`: what is wrong with this device's circle, and what to do about each thing.

Checks the litestream binary, the keystore's permissions, every cohort's
replica location and every member's journal there and here: what the replica
holds of each journal is read and checked against what this device verified
(a copy put back from last week, folders swapped, a damaged file), and every
line :meth:`CohortStore.trouble` has (forks, rollbacks, events held aside,
this identity's own journal missing or cut short, this laptop removed). Each
finding is one line with what to do; the command prints them.

A finding is fine (``ok``), broken (``FIX``: the command exits 1) or a thing
to do that breaks nothing yet (``TODO``: a recovery kit not written, a
mentoring ratio over the limit); doctor says "All good." only when every
finding is fine.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from circle.crypto import envelope
from circle.errors import CircleError, ReplicaMisconfigured, ReplicaOffline, SyncError
from circle.models.events import Event
from circle.models.mentoring import ratio_warnings
from circle.paths import storage_problem
from circle.store import archive
from circle.store.chain import Checked, check_chain
from circle.store.cohort import CohortStore
from circle.store.ingest import IngestReport, open_events
from circle.store.journal import read_rows
from circle.store.keys import epoch_hash, roster_id
from circle.store.session import Session, device_names
from circle.sync import litestream as ls
from circle.sync.location import describe, folder_marked
from circle.sync.service import replica_for


@dataclass(frozen=True)
class Finding:
    """One thing checked: whether it is fine, what it is, and how to fix it if not.

    Attributes:
        ok: nothing to do about it.
        what: what was checked or found, one line.
        fix: what to do (when not ``ok``).
        todo: not ``ok``, but nothing is broken yet: said, without a failing exit.
    """

    ok: bool
    what: str
    fix: str = ""
    todo: bool = False

    @property
    def broken(self) -> bool:
        """Whether this finding makes doctor fail (exit 1)."""
        return not self.ok and not self.todo

    def line(self) -> str:
        mark = "ok" if self.ok else ("TODO" if self.todo else "FIX")
        return f"{mark:<5}{self.what}" + ("" if self.ok or not self.fix else f" — {self.fix}")


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


def _unwritable(base: ls.Replica, own: str) -> str:
    """Why this device cannot send its journal to a folder location (a few words), or "" (it can, or it is no folder).

    The check `circle cohort replica` makes when a folder is set (:func:`ls.check_location`), on the folder this
    journal's replica is written in (the location's, before the first send): where `circle sync` is refused, a
    read-only drive or a folder this user may not write in, doctor says so too.
    """
    folder = ls.folder_of(base)
    if folder is None or not folder.is_dir():
        return ""  # SFTP and S3 are tried by listing them; a folder not made yet is made by the first send
    mine = base.child(own)
    try:
        ls.check_location(mine if ls.folder_of(mine).is_dir() else base)
    except CircleError as exc:
        return exc.title  # its hint names the folder again, and what to do is said by the finding
    return ""


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
    yield from _kit(session)
    for cid in session.cohort_ids():
        yield from _cohort(session, cid)


def _kit(session: Session) -> Iterator[Finding]:
    """The recovery kit: without one that holds every cohort, a lost laptop loses them (a thing to do, nothing broken yet)."""
    if session.vault.recovery_secret is None:
        yield Finding(False, "this identity has no recovery code yet", "run: circle recovery-kit --new-code -o FILE (to a USB stick)", todo=True)
        return
    gaps = session.kit_gaps()
    if gaps is None:
        yield Finding(
            False, "no recovery kit written yet", "run: circle recovery-kit -o FILE (to a USB stick), with the code you wrote down at init", todo=True
        )
    elif gaps:
        names = ", ".join(session.store(cid).view.cohort().name or cid[:8] for cid in gaps)
        yield Finding(False, f"the recovery kit does not hold {names}", "write it again: circle recovery-kit -o FILE", todo=True)
    else:
        yield Finding(True, "the recovery kit holds every cohort")


def _cohort(session: Session, cid: str) -> Iterator[Finding]:
    store = session.store(cid)
    name = store.view.cohort().name or f"cohort {cid[:8]}"  # a founder whose own journal is gone has no name for it here
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
        reached = True
    except CircleError as exc:
        yield Finding(False, f"{name}: replica {where}", told(exc))
        reached = False
    if reached and (unwritable := _unwritable(base, store.entry.replica_path)):
        yield Finding(
            False,
            f"{name}: replica {where}: {unwritable}",
            f"mount the drive read-write or let this user write there, or choose another folder: circle cohort replica '{name}' FOLDER",
        )
    elif reached:
        yield Finding(True, f"{name}: replica {where} reachable" + ("" if txid else " (nothing sent yet: run 'circle sync --once')"))
    members = {j: m for m in store.view.members() for j, _ in m.journals}
    for jid, record in store.known_journals().items():
        member = members.get(jid)
        if jid == store.entry.journal or member is None or jid in member.gone:  # a removed device's journal: none is owed
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
            kind, wrong = _replica_copy(store, jid, base.child(path))
            if kind:
                yield Finding(False, f"{name}: {member.name}'s journal on the replica: {wrong}", _replica_fix(kind, member.name))
            else:
                yield Finding(True, f"{name}: {member.name}'s journal present, {record.seq} events verified")
    if reached and store.journal.path.exists() and not store.own_journal_problem():
        wrong = _own_replica(store, base.child(store.entry.replica_path))
        if wrong:
            yield Finding(
                False,
                f"{name}: your journal on the replica: {wrong}",
                "use the other laptop: nothing is sent from this one, or what was written there would be lost"
                if wrong == CONTINUED
                else "if replica folders were renamed or moved by hand, put them back; else run 'circle sync --once' (it rewrites your copy there)",
            )
    yield from _trouble(store, name)
    yield from _unused_keys(store, name)
    waiting = store.view.waiting()
    if waiting:
        yield Finding(
            False,
            f"{name}: {len(waiting)} roster or key change{'s' if len(waiting) != 1 else ''} waiting for events not on this device yet",
            "run 'circle sync --once'",
        )


# What CohortStore.trouble() says when this laptop's journal was removed from the member's devices; doctor
# says it itself when trouble() does not (yet), and never twice.
REMOVED_HERE = "this laptop was removed from your devices: what you write here counts for nothing; write from another laptop of yours."


def _trouble(store: CohortStore, name: str) -> Iterator[Finding]:
    """Every line of :meth:`CohortStore.trouble` (forks, rollbacks, events held aside, the own journal, a removed laptop)."""
    with store.lock:
        lines = store.trouble()
        me = store.view.member(store.author.id)
        removed = me is not None and store.entry.journal in me.gone
        ratio = set(ratio_warnings(store.view))
    if removed and not any("removed from your devices" in text for _, text in lines):
        lines.append(("", REMOVED_HERE))
    for owner, text in lines:
        member = store.view.member(owner) if owner else None
        said = f"{member.name}'s {text}" if member is not None and text.startswith("journal") else text
        yield Finding(False, f"{name}: {said}", todo=text in ratio)  # each line says what to do itself


def _unused_keys(store: CohortStore, name: str) -> Iterator[Finding]:
    """Keys held that match no key epoch (never used), by why.

    A laptop or a member that started an epoch before its removal reached it
    wrote the start after its cut: the start is held aside, and the key it
    committed to (the one held, checked) is wrapped to every device it knew.
    A key no journal wrapped to this laptop was made by this identity for an
    epoch whose start was never written. Both are said, and fine. Any other
    such key is a problem: someone sent it who was not entitled to.
    """
    with store.lock:
        keys = store.unmatched_keys()
        starts: dict[tuple[str, str], Event] = {}  # (key id, commitment) -> the start held aside that made that key
        for eid in store.view.refused() if keys else ():
            e = store.view.event(eid)
            if e is not None and e.kind == "keys.epoch_started":
                starts[e.body["key_id"], e.body["commit"]] = starts[roster_id(e.body["key_id"]), e.body.get("roster", "")] = e
        why = [_after_removal(store, starts.get((key.id, epoch_hash(key)))) for key in keys]
        if "" in why:  # nothing held aside explains these: were they wrapped to this laptop at all?
            delivered = _wrapped_here(store)
            why = [w or ("" if key.id in delivered else MADE_HERE) for key, w in zip(keys, why, strict=True)]
    for whose, n in sorted(Counter(why).items()):
        many = n != 1
        if whose == MADE_HERE:
            made = "you made for a key epoch that never started (a change refused before it was written)"
            yield Finding(True, f"{name}: {n} key{'s' if many else ''} {made} {'are' if many else 'is'} never used")
        elif whose:
            yield Finding(True, f"{name}: {n} key{'s' if many else ''} from {whose}, {'are' if many else 'is'} never used")
        else:
            yield Finding(
                False,
                f"{name}: {n} key{'s' if many else ''} wrapped to you {'match' if many else 'matches'} no key epoch (never used)",
                "someone sent keys they were not entitled to; tell the cohort's mentor",
            )


MADE_HERE = "made here"  # a key no journal wrapped to this laptop: made by this identity (here, or on the laptop its kit came from)


def _wrapped_here(store: CohortStore) -> set[str]:
    """The ids of every key wrapped to this laptop in the journals of the cohort held here (read again, not kept).

    A key held comes from a wrap, from a kit, or was made here: one no wrap
    gave was made by this identity, as by a key epoch started while another
    window of circle held the journal (the start was refused, the key kept).
    """
    out: set[str] = set()
    for jid, record in store.known_journals().items():
        path = store.journal_path(jid)
        if not path.exists():
            continue
        try:
            rows = (Checked(r.seq, r.blob, envelope.event_id(r.blob), envelope.parse(r.blob)) for r in read_rows(path))
            wraps = open_events(rows, record, store.id, {}, IngestReport(), keep=False).wraps  # no keys: only the wraps are opened
        except CircleError:
            continue  # a journal that cannot be read is said by its own finding
        out.update(w.key.id for ev in wraps for w in store.keys.unwrap(ev.body))
    return out


def _after_removal(store: CohortStore, start: Event | None) -> str:
    """Whose epoch ``start`` is and when, when it counts for nothing only because its author's laptop, or its author, was
    removed before writing it ("your removed laptop 'X', written after its removal"); "" when nothing explains it."""
    view = store.view
    owner = view.member(view.author_of(start.journal)) if start is not None else None
    if owner is None or view.counts(start) is None:
        return ""  # refused for another reason while its author counted: it was theirs to start, and it is not right
    if start.journal in owner.gone:
        device = device_names(owner).get(start.journal, "")
        laptop = f"laptop '{device}'" if device else "laptop"
        if start.journal == store.entry.journal:
            whose = "this laptop"
        elif owner.id == store.author.id:
            whose = f"your removed {laptop}"
        else:
            whose = f"{owner.name}'s removed {laptop}"
        return f"{whose}, written after its removal"
    if not owner.active:
        return f"{'this laptop' if start.journal == store.entry.journal else owner.name}, written after {'your' if owner.id == store.author.id else 'their'} removal"
    return ""


def _restored(replica: ls.Replica, out: Path) -> str:
    """Restore ``replica`` into ``out``; what went wrong, or "" (a replica that holds nothing is restored as nothing)."""
    try:
        ls.restore(replica, out)
        return ""
    except CircleError as exc:
        return f"litestream cannot restore it ({told(exc)})"


def _replica_copy(store: CohortStore, jid: str, replica: ls.Replica) -> tuple[str, str]:
    """What the replica holds of a peer's journal, checked against this device's verified copy, as archive.take would: (kind, what), ("", "") when it continues it.

    Read-only: nothing joins the verified copy and no evidence is kept; 'circle sync' does both.
    """
    record = store.vault.journal(jid)
    if record is None:
        return "", ""
    seq, blob = archive.head(store.journal_path(jid))
    with tempfile.TemporaryDirectory(prefix="circle-doctor-") as d:
        out = Path(d) / "replica.db"
        if failed := _restored(replica, out):
            return "tampered", failed
        if not out.exists():
            return "", ""
        try:
            res = check_chain(
                read_rows(out, max(seq - 1, 0)),
                journal_id=bytes.fromhex(jid),
                verifier=record.verifier(),
                head_seq=seq,
                head_hash=envelope.event_id(blob) if blob else envelope.ZERO_HASH,
                head_envelope=blob,
            )
        except CircleError as exc:
            return "tampered", f"unreadable ({exc.title})"
    if res.kind == "rollback":
        return "rollback", "it holds less than this device verified: rolled back, or put back from an older copy"
    if res.kind == "fork":
        return "fork", "it holds another history of this journal: it forked"
    if res.kind == "tampered":
        return "tampered", f"damaged or not theirs ({res.problem})"
    return "", ""


def _replica_fix(kind: str, member: str) -> str:
    """What to do about a peer's journal the replica holds wrongly."""
    if kind == "rollback":
        return f"ask {member} to run 'circle sync --once': their device puts all of it back; nothing verified here is lost"
    if kind == "fork":
        return f"compare with {member} in person: one journal, two histories ('circle sync --once' keeps the evidence in the home)"
    return f"if replica folders were renamed or swapped by hand, put them back; else ask {member} to run 'circle sync --once' (their device rewrites it)"


CONTINUED = "it goes on past what this laptop wrote: your journal was continued on another laptop (recovered from your kit)"


def _own_replica(store: CohortStore, replica: ls.Replica) -> str:
    """Whether the replica holds a beginning of this identity's own journal (behind is only unsent), else what it holds."""
    with tempfile.TemporaryDirectory(prefix="circle-doctor-") as d:
        out = Path(d) / "replica.db"
        if failed := _restored(replica, out):
            return failed
        if not out.exists():
            return ""
        try:
            theirs = [r.blob for r in read_rows(out)]
        except CircleError as exc:
            return f"unreadable ({exc.title})"
    try:
        mine = [r.blob for r in read_rows(store.journal.path)]
    except CircleError:
        return ""  # the own journal's own trouble is said by trouble()
    if len(theirs) <= len(mine) and mine[: len(theirs)] == theirs:
        return ""
    if theirs and mine and theirs[0] == mine[0]:
        return CONTINUED
    return "it is not your journal as this device holds it (another member's, another history, or damaged)"


def told(exc: CircleError) -> str:
    """What a finding says about a failed replica check: the error's one line, and litestream's own words when circle could not name the cause."""
    line = exc.line()
    detail = getattr(exc, "detail", "")
    if isinstance(exc, SyncError) and not isinstance(exc, ReplicaOffline | ReplicaMisconfigured) and detail and detail not in line:
        line += f" (litestream: {detail[:160]})"
    return line
