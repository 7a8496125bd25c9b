"""A cohort's journals, keys and folded view on this device: write events, take in peers', verify.

:class:`CohortStore` ties the parts together: :mod:`~circle.store.writer`
seals and appends, :mod:`~circle.store.keys` holds the scope keys and
epochs, :mod:`~circle.store.wrapping` starts epochs and decides where keys
are wrapped, :mod:`~circle.store.ingest` checks and opens what peers wrote, and
:mod:`~circle.store.snapshot` keeps a sealed local copy for fast opening.
What people do with a cohort (meetings, the agenda, the roster) is in
:mod:`~circle.store.service`.

Keys follow the fold: new events are sealed with the key of the epoch the
folded view says is current (:meth:`CohortStore.sealing_key`), checked against
the commitment its start recorded. A key wrapped to this identity by anyone
is kept for reading only if it matches a valid epoch; a made-up epoch is
never written with.

Concurrency: the sync service ingests from its own thread while people write
from the UI's. Every change to the view (writing or ingesting) and every read
of it that goes through more than one call holds :attr:`CohortStore.lock`.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from circle.crypto import anonymous as anon_sealing
from circle.crypto import envelope
from circle.crypto.identity import PublicIdentity
from circle.errors import CircleError, InvalidEnvelope, NotFound, StorageError, UsageError
from circle.models.events import DEP_HASH_LEN, Dep, Event, Shared, encode_payload
from circle.models.governance import GOVERNANCE_KINDS, ROSTER_KINDS
from circle.models.meeting import next_meeting
from circle.models.mentoring import ratio_warnings
from circle.models.private import Private
from circle.models.schema import line_problem
from circle.models.text import lone_surrogate
from circle.models.view import View
from circle.paths import private_dir
from circle.store import anonymous, archive, snapshot
from circle.store.chain import ChainResult, check_chain
from circle.store.ingest import IngestReport, JournalChecker, Problem, Rewind, admission_of, open_events
from circle.store.journal import Journal, Row, append_raw, last_row, read_rows
from circle.store.keys import WRAP_KEY_ID, CohortKeys, epoch_hash, roster_key, wrap_scope_key
from circle.store.texts import Texts
from circle.store.vault import JournalRecord, Scope, ScopeKey, Vault
from circle.store.wrapping import Part, Wrapping
from circle.store.writer import Author, JournalWriter

Clock = Callable[[], float]
Change = Callable[["CohortStore", int], None]  # the store, and how many of the cohort's events it folded (0: private or rounds)
CITE_EVERY = 60.0  # seconds between citations on batches that change no governance


def _timestamp(at: str) -> float:
    """A meeting's date ("YYYY-MM-DD HH:MM", local time) as a Unix time; far away if it is not one."""
    try:
        return dt.datetime.strptime(at.replace("T", " "), "%Y-%m-%d %H:%M").timestamp()
    except ValueError:
        return float("inf")


HEAP_SETTLE_AFTER = 2000  # events folded by one ingest after which the heap is settled (see settle_heap)
# Events opened between two reports of a load's progress (a cohort smaller than this reports none). At least
# snapshot.SAVE_AFTER: a cohort whose open is reported writes its snapshot when it closes, so the next open is quick.
PROGRESS_EVERY = 5000
Progress = Callable[[int, int], None]  # (events opened so far, events its journals held when it began; 0 if more came)


def _counted(each: Callable[[Event], Event], tell: Progress, total: int) -> Callable[[Event], Event]:
    """``each``, telling ``tell`` every :data:`PROGRESS_EVERY` events how many were opened (and of how many, while that holds)."""
    opened = 0

    def counted(e: Event) -> Event:
        nonlocal opened
        opened += 1
        if opened % PROGRESS_EVERY == 0:
            tell(opened, total if total >= opened else 0)
        return each(e)

    return counted


def settle_heap() -> None:
    """Keep what is alive now (a cohort's folded history) out of the cyclic collector's scans from now on.

    The history lives as long as the cohort is open, yet every full
    collection walked all of it: at 100k events the meeting room's first read
    after a typed note took 1.1-1.5 s, two thirds of it the collector (0.34 s
    with it off). ``gc.freeze`` moves every object tracked now to a generation
    no collection scans; they are still freed by reference counting.
    """
    gc.freeze()


def unsettle_heap() -> None:
    """Give the collector back what :func:`settle_heap` kept out of its scans (a session closed: its cohorts may be garbage now)."""
    gc.unfreeze()


def plural_events(n: int) -> str:
    return f"{n} event{'s' if n != 1 else ''}"


def _completes(tip: Row, head: bytes, head_seq: int) -> bool:
    """Whether the newest envelope written (kept in the keystore) is the one next after ``tip``."""
    try:
        h = envelope.parse(head)
    except InvalidEnvelope:
        return False
    return tip.seq == head_seq - 1 == h.seq - 1 and h.prev == envelope.event_id(tip.blob)


class CohortStore(Wrapping):
    """One cohort on this device, for one unlocked identity.

    Args:
        vault: the identity's keystore document.
        cid: the cohort id (or a pending join's provisional id).
        author: the identity writing.
        root: the identity's folder (journals, peers, snapshots, evidence).
        clock: wall clock for event times (tests freeze it).
        on_moved: told ``(old id, new id)`` when a pending join learns the cohort's real id.
    """

    def __init__(
        self, vault: Vault, cid: str, author: Author, root: Path, clock: Clock = time.time, on_moved: Callable[[str, str], None] | None = None
    ) -> None:
        self.vault = vault
        self.id = cid
        self.author = author
        self.root = root
        self.clock = clock
        self.on_moved = on_moved
        self.view = View(cid)
        self.entry = vault.cohort(cid)
        self.keys = CohortKeys(self.entry, author)
        self._open_journal()
        self.checker = JournalChecker(root / "evidence")
        self.listeners: list[Change] = []
        self.private = Private(author.id)  # private channels and self notes: never folded into the shared view
        self._rewind: dict[str, Rewind] = {}  # journal -> where the snapshot ends, when the keystore head is further on
        # Journal -> (seq, id) of the last event this process folded or wrote of it. The keystore's heads are not that: a
        # save merges in the heads another process of this identity verified or wrote (``circle sync --once``, a command
        # run beside the app), whose events this one has not read; the next ingest reads on from here.
        self._folded: dict[str, tuple[int, bytes]] = {}
        self._since_snapshot = 0  # events folded since the snapshot on disk
        self.refused_wraps = 0  # keys wrapped to us that match no valid epoch
        self.lost = 0  # own events given up when the journal went on from its replica's copy (see restore_own)
        self.load_report = IngestReport()
        self.lock = threading.RLock()
        self._round_rows = -1  # lines in the round cache when last opened into the view
        self._unread: set[str] = set()  # journals the keystore verified before that are not on this device (a recovered identity)
        self.texts = Texts(self.journal_path, lambda: self.keys.readable(), lambda: self.keys.alternates())  # notes' text, read back

    def _open_journal(self) -> None:
        self.journal_id = bytes.fromhex(self.entry.journal)
        jdir = self.root / "journals"
        private_dir(jdir)
        self.journal = Journal(jdir / f"{self.entry.journal}.db", self.journal_id)
        record = self.vault.journal(self.entry.journal)
        assert record is not None, "the own journal is trusted when the cohort is created or joined"
        self.writer = JournalWriter(self.journal, record, self.author)

    @property
    def alarms(self) -> dict[str, str]:
        """Forks and rollbacks found: journal id -> what was found."""
        return self.checker.alarms

    def trouble(self) -> list[tuple[str, str]]:
        """What a member should know is wrong with this cohort on this device, with what to do: (member id or "", one line).

        Forks and rollbacks of a member's journal (the member named, for the
        screen to clean), events held aside by the cohort's rules, and this
        identity's own journal missing or cut short. Call under :attr:`lock`.
        """
        out = []
        for jid, what in sorted(self.alarms.items()):
            owner = self.view.author_of(jid)
            whose = "journal" if owner else "A journal of this cohort"
            out.append((owner, f"{whose}: {what}. Nothing past that point is shown; compare in person ('circle verify' keeps the evidence)."))
        own = self.own_journal_problem()
        if (n := self.view.held_aside) and not own:  # with part of the history missing here, the rules cannot be judged: that is said below
            several = n != 1
            out.append(
                (
                    "",
                    f"{n} event{'s' if several else ''} broke the cohort's rules and {'are' if several else 'is'} shown to nobody; 'circle verify' lists {'them' if several else 'it'}.",
                )
            )
        me = self.view.member(self.author.id)
        if me is not None and not me.active:
            out.append(("", "you were removed from this cohort: you read nothing written since, and what you write reaches nobody."))
        elif me is not None and self.entry.journal in me.gone:
            out.append(("", "this laptop was removed from your devices: what you write here counts for nothing; write from another laptop of yours."))
        if own:
            out.append(("", f"{own}: run 'circle sync --once' to put it back from the replica; nothing is written on it meanwhile."))
        out.extend(("", w) for w in ratio_warnings(self.view))  # the team mentoring ratio (circle/models/mentoring.py)
        return out

    def peer_dir(self) -> Path:
        d = self.root / "peers"
        private_dir(d)
        return d

    def journal_path(self, jid: str) -> Path:
        """Where a journal of this cohort is on this device: own journals (this one and earlier ones) or a peer's copy."""
        own = self.root / "journals" / f"{jid}.db"
        if jid == self.entry.journal or jid in self.entry.retired:
            return own
        return self.peer_dir() / f"{jid}.db"

    def written(self) -> int:
        """The newest seq this identity wrote to its journal, as the keystore knows it."""
        return self.writer.head.seq

    # ---- writing -------------------------------------------------------
    def record(self, kind: str, body: dict[str, Any], scope: Scope = Scope.COHORT) -> Event:
        """Seal one event, append it in its own transaction, fold it and tell listeners."""
        return self.record_many([(kind, body)], scope=scope)[0]

    def record_many(self, items: Iterable[tuple[str, dict[str, Any]]], scope: Scope = Scope.COHORT) -> list[Event]:
        """Seal a batch of events that happen together: one transaction, one signature."""
        scope = Scope(scope)
        items = list(items)
        if not items:
            return []
        with self.lock:
            self._require_member(scope)
            if scope is Scope.COHORT and self.view.founded and self.view.current_epoch() is None:
                self.start_epoch("heal")  # removals elsewhere left no key that excludes every removed member
            key = self.sealing_key() if scope is Scope.COHORT else self.keys.sealing(scope)
            return self.commit([Part(kind, body, key) for kind, body in items])

    def record_private(self, peer_id: str, kind: str, body: dict[str, Any], new_key: bool = False) -> Event:
        """Seal one event for the private channel with ``peer_id``; the first one makes the channel's key and wraps it
        to the peer's devices and this identity's other devices.

        The wrap is in this identity's journal: the peer keeps the key only
        because its maker's journal gave it (docs/FORMAT.md, "Private channels").
        With ``new_key`` the channel gets a key of a newer epoch (reopening a
        closed channel, or after a device was removed): the old one is never written with again.
        """
        with self.lock:
            self._require_member()
            key = self.keys.dyad_sealing(peer_id)
            parts = []
            if key is None or new_key:
                key = self.keys.new_dyad_key(peer_id)
                self.vault.save()  # the key is on disk before anything sealed with it is
                to = self.readers(m for m in (self.view.member(peer_id), self.view.member(self.author.id)) if m is not None)
                parts.append(Part("keys.wrapped", self.keys.wrap_body(self.id, [(key, "", "")], to), None))
            parts.append(Part(kind, body, key))
            return self.commit(parts)[0]

    def _require_member(self, scope: Scope = Scope.COHORT) -> None:
        """What this identity writes for others is refused once it was removed, and all this laptop writes once the laptop
        was: say so, instead of writing what every other device holds aside (an altered client that writes anyway goes
        through :meth:`commit`; the fold refuses it). A removed member's own notes (``Scope.SELF``) are still theirs."""
        me = self.view.member(self.author.id)
        if me is None:
            return
        if self.entry.journal in me.gone:
            raise UsageError(
                "this laptop was removed from your devices", "nothing was written: what it writes counts for nothing; write from another laptop of yours"
            )
        if not me.active and scope is not Scope.SELF:
            raise UsageError("you were removed from this cohort", "nothing was written: what you write reaches nobody; a mentor can admit you again")

    def sealing_key(self) -> ScopeKey:
        """The key of the epoch the fold says is current, checked against its commitment."""
        if not self.view.founded:
            return self.keys.sealing(Scope.COHORT)  # the founding batch, before the fold holds anything
        epoch = self.view.current_epoch()
        if epoch is None:
            raise NotFound("this cohort needs a new key", "a removal is still settling; run 'circle sync' and try again")
        key = self.keys.sealing_for(epoch.key_id, epoch.commit)
        if key is None:
            raise NotFound("the cohort's current key has not reached this device", "run 'circle sync'; the member who started it wraps it for you")
        return key

    def commit(self, parts: list[Part]) -> list[Event]:
        """Seal and append ``parts`` in one transaction (its last envelope signed); fold and announce what the view shows.

        The first roster-class cohort event cites the newest event of every
        other journal this device has folded, where that is past its last
        citation; a batch with none gets a ``cohort.seen`` to carry them, so a
        newcomer who reads only the roster of earlier epochs folds every
        citation the others fold (removals cut where citations say).
        """
        if not parts:
            return []
        with self.lock:
            if self._written_elsewhere():
                self.ingest()  # its clock numbers this batch: a clock that does not go forward in a journal is held aside
            now = self.clock()
            deps = self._citations(parts)
            carrier = next((i for i, p in enumerate(parts) if p.key is not None and p.key.scope is Scope.COHORT), -1)
            if deps and carrier >= 0 and parts[carrier].kind not in ROSTER_KINDS:  # the first cohort event carries them
                parts = [*parts[:carrier], Part("cohort.seen", {}, parts[carrier].key), *parts[carrier:]]
            else:
                carrier = -1
            lamport = self._first_clock(parts, deps)
            sealing: list[tuple[bytes, bytes, bytes]] = []
            made: list[tuple[str, dict[str, Any], ScopeKey, int, tuple[Dep, ...]] | None] = []
            for part in parts:
                if part.key is None:  # key wraps: readable by anyone, the secret inside is HPKE-sealed per recipient
                    sealing.append(
                        (
                            encode_payload(kind="keys.wrapped", cohort="", author="", lamport=0, ts=0, body=part.body),
                            WRAP_KEY_ID,
                            wrap_scope_key(self.journal_id),
                        )
                    )
                    made.append(None)
                    continue
                lamport += 1
                roster = part.key.scope is Scope.COHORT and part.kind in ROSTER_KINDS
                cite = deps if roster else ()
                if cite:
                    deps = ()
                seal = roster_key(part.key) if roster else part.key
                sealing.append(
                    (
                        encode_payload(kind=part.kind, cohort=self.id, author=self.author.id, lamport=lamport, ts=now, body=part.body, deps=cite),
                        seal.raw_id,
                        seal.secret,
                    )
                )
                made.append((part.kind, part.body, part.key, lamport, cite))
            blobs = self.writer.append(sealing)
            seq0 = self.writer.head.seq - len(blobs) + 1
            self._folded[self.entry.journal] = (self.writer.head.seq, self.writer.head.hash)  # the head it just moved to
            events: dict[Scope, list[Event]] = {}
            peers: dict[str, str] = {}
            out: list[Event] = []
            self.view.note_opaque(  # what the view does not fold, written here: others cite it like any position of this journal
                (self.entry.journal, seq0 + i, envelope.event_id(blob).hex())
                for i, (m, blob) in enumerate(zip(made, blobs))
                if m is None or m[2].scope is not Scope.COHORT
            )
            for i, (m, blob) in enumerate(zip(made, blobs)):
                if m is not None:
                    kind, body, key, lam, cite = m
                    ev = Event(
                        envelope.event_id(blob).hex(), self.entry.journal, seq0 + i, kind, self.id, self.author.id, lam, round(now, 3), dict(body), cite
                    )  # its own copy: the caller keeps theirs
                    events.setdefault(key.scope, []).append(ev)
                    peers[ev.id] = key.peer
                    if i != carrier:
                        out.append(ev)
            for scope, evs in events.items():
                self._since_snapshot += len(evs)
                self._take(scope, evs, peers)
            if events:
                self._notify(len(events.get(Scope.COHORT, ())))  # 0: a private channel or a self note: screens read them again
            try:
                self.vault.flush()
            except CircleError as exc:  # the journal has it: say it was saved (the keystore catches up from the journal)
                hint = exc.hint.replace("nothing was saved; ", "")
                raise StorageError(exc.title, f"what you wrote is saved in your journal; {hint}") from None
            return out

    def _written_elsewhere(self) -> bool:
        """Whether the own journal holds events this process has not folded: written by another process of this identity
        (a command run while the app was open, before the app had written and so held the journal's write lock).

        Asked under the write lock, which this process then keeps: nothing more is written elsewhere before its batch.
        """
        folded = self._folded.get(self.entry.journal)
        if folded is None or not self.journal.path.exists():  # missing: the append refuses it before a file is made
            return False
        try:
            return self.journal.seq() > folded[0]
        except sqlite3.DatabaseError:
            return False  # the append says what is wrong with the file

    def _read_on(self, jid: str, record: JournalRecord) -> Rewind | None:
        """Where to read ``jid`` on from when this process folded less of it than the keystore's head says (see ``_folded``)."""
        folded = self._folded.get(jid)
        return None if folded is None or folded[0] >= record.seq else (folded[0], folded[1], b"")

    def _seen_clock(self, parts: list[Part]) -> int:
        """The highest clock ``parts`` must be numbered past: the cohort's, and for a batch with no cohort event (a
        channel's message, a self note) the private channels' too. Only the channel's two members read its clocks,
        so a peer's altered client numbering one far ahead moves none of this member's cohort events."""
        if any(p.key is not None and p.key.scope is Scope.COHORT for p in parts):
            return self.view.max_lamport
        return max(self.view.max_lamport, self.private.max_lamport)

    def _first_clock(self, parts: list[Part], deps: tuple[Dep, ...]) -> int:
        """The clock ``parts`` are numbered past: the highest this device counts, and that of every event ``deps`` cite,
        or less where the fold would take no more (docs/FORMAT.md, "Clocks": an altered client's clock is further
        ahead than the envelopes its journal stands on; a governance event need not be past it).

        The first cohort event carries ``deps``; the rest of the batch steps by one.
        """
        seen = self._seen_clock(parts)
        if deps:
            seen = max(seen, *(self.view.clock_at(j, s) for j, s, _h in deps))
        first = next((i for i, p in enumerate(parts) if p.key is not None and p.key.scope is Scope.COHORT), -1)
        if first < 0:
            return seen
        n = sum(1 for p in parts[: first + 1] if p.key is not None)  # the clocks given up to it
        limit = self.view.clock_limit(self.entry.journal, self.writer.head.seq + 1 + first, deps)
        return min(seen, limit - n)

    def _citations(self, parts: list[Part]) -> tuple[Dep, ...]:
        """The newest folded event of each other journal, where it is past what this journal cited before.

        A governance batch always cites (its authority is judged there);
        other batches at most once every :data:`CITE_EVERY` seconds, which is
        enough to record what this device had seen without making every note
        carry a line per member.
        """
        if not any(p.kind in GOVERNANCE_KINDS for p in parts):
            newest = self.view.newest_citation_at(self.entry.journal)
            if newest is not None and self.clock() - newest < CITE_EVERY:
                return ()
        cited = self.view.cited_by(self.entry.journal)
        return tuple(
            sorted(
                (jid, seq, eid[:DEP_HASH_LEN])
                for jid, (seq, eid) in self.view.newest_by_journal().items()
                if jid != self.entry.journal and seq > cited.get(jid, 0) and jid not in self.alarms
            )
        )

    def _take(self, scope: Scope, events: list[Event], peers: dict[str, str]) -> int:
        """Put opened events where their scope says (``peers``: the channel of each dyad event); how many were new to the view."""
        if scope is Scope.COHORT:
            return self.view.apply(self.texts.leave(events))
        if scope is Scope.DYAD:
            self.private.add_dyad((peers.get(e.id, ""), e) for e in events)
        elif scope is Scope.SELF:
            self.private.add_self(events)
        return 0  # Scope.INVITE: a join request, read by the inviter when admitting

    def self_notes(self) -> list[Event]:
        """This identity's private notes for the cohort, oldest first."""
        return self.private.note_events()

    def _notify(self, count: int) -> None:
        for fn in list(self.listeners):
            fn(self, count)

    def flush(self) -> None:
        """Persist verified heads and keys to the keystore (batched: it is rewritten whole)."""
        self.vault.flush()

    # ---- reading peers -------------------------------------------------
    def own_journal_problem(self) -> str | None:
        """What is wrong with this identity's own journal file here, measured against the head the keystore verified.

        A journal deleted, cut short or replaced (a disk error, a partial
        backup restore) must neither be written on nor pushed over the
        replica: peers would lose what it held. The sync service asks from its
        own thread, so the check holds :attr:`lock`: a write in progress (rows
        committed, head not yet moved) is never taken for damage.
        """
        with self.lock:
            record = self.writer.head
            if record.seq == 0:
                return None
            path = self.journal.path
            if not path.exists():
                return "your journal for this cohort is missing on this device"
            try:
                rows = list(read_rows(path, record.seq - 1))
            except CircleError:
                return "your journal for this cohort is damaged on this device"
            if not rows or rows[0].seq != record.seq:
                return f"your journal for this cohort on this device ends before event {record.seq}, which you already wrote"
            if envelope.event_id(rows[0].blob) != record.hash:
                return f"your journal for this cohort on this device differs from what you wrote at event {record.seq}"
            return None

    def restore_own(self, mirror: Path, sent: int = 0, accept_loss: bool = False) -> str | None:
        """Put back the own journal from a copy of its replica, if that copy holds everything the keystore says was written.

        The keystore keeps the newest envelope written, so a copy one event
        short is completed from it. A copy shorter still that holds every event
        known to be on the replica (``sent``: what peers may have read) is what
        this device wrote, less events nobody ever received; with
        ``accept_loss`` (the person said so: they have no copy of the file) the
        journal goes on from it and the head moves back (:meth:`JournalRecord.rewind`):
        the next event takes the first lost one's seq, and no peer holds another
        event there. A copy short of ``sent`` is a replica rolled back, and is
        never taken.

        Returns what is still wrong ("" when repaired, None when nothing was
        wrong); :attr:`lost` says how many events an accepted loss gave up. All
        under :attr:`lock`: no write lands between the check and the file put back.
        """
        with self.lock:
            problem = self.own_journal_problem()
            if problem is None:
                return None
            record = self.writer.head
            try:
                res = check_chain(
                    read_rows(mirror, record.seq - 1),
                    journal_id=self.journal_id,
                    verifier=record.verifier(),
                    head_seq=record.seq,
                    head_hash=record.hash,
                    head_envelope=record.head,
                )
                tip = last_row(mirror) if res.kind == "rollback" else None
            except CircleError:
                return problem + "; the replica's copy is unreadable too"
            if res.kind == "fork" or (tip is not None and tip.seq < sent) or (res.kind == "rollback" and tip is None):
                return problem + "; the replica does not hold all of it either"
            lost = 0
            if tip is not None and not _completes(tip, record.head, record.seq):
                lost = record.seq - tip.seq
                if not accept_loss:
                    return (
                        f"{problem}; the replica holds it up to event {tip.seq}, and {plural_events(lost)} written here never"
                        " reached it: put the journal file back if you have a copy, or run 'circle sync --once --accept-loss'"
                        " to go on without them"
                    )
                try:
                    whole = check_chain(read_rows(mirror), journal_id=self.journal_id, verifier=record.verifier(), every_signature=True)
                except CircleError:
                    whole = ChainResult(kind="tampered")
                if whole.kind:
                    return problem + "; the replica's copy is damaged too"
            elif tip is not None:
                append_raw(mirror, record.seq, record.head)
            self.journal.close()
            for suffix in ("-wal", "-shm"):
                Path(f"{self.journal.path}{suffix}").unlink(missing_ok=True)
            os.replace(mirror, self.journal.path)
            os.chmod(self.journal.path, 0o600)
            if lost:
                record.rewind(tip.seq, envelope.event_id(tip.blob), tip.blob)  # type: ignore[union-attr]
                self.vault.save()
                self._snapshot_path().unlink(missing_ok=True)  # it holds the lost events: the next open folds the journals
                self._since_snapshot = 0  # and closing this store, whose view holds them too, writes none
                self.lost = lost
                return ""
            self.ingest(from_start=True)  # what it holds (all of it, after a recovery from a kit) is folded here
        return ""

    def _envelope_at(self, jid: str, seq: int) -> bytes:
        try:
            return next((r.blob for r in read_rows(self.journal_path(jid), seq - 1) if r.seq == seq), b"")
        except CircleError:
            return b""

    def _envelope_of(self, jid: str, event_id: str) -> bytes:
        e = self.view.event(event_id)
        return self._envelope_at(jid, e.seq) if e is not None else b""

    def take_copy(self, jid: str, mirror: Path) -> archive.Taken:
        """Join a copy of a peer's journal restored from the replica to this device's verified copy, if it continues it.

        A fork is an alarm, as when found on ingest; a replica that is behind
        or damaged is reported. The verified copy only ever grows.
        """
        record = self.vault.journal(jid)
        if record is None:
            return archive.Taken(problem=f"journal {jid[:8]} is not one this device trusts")
        with self.lock:
            taken = archive.take(record, self.journal_path(jid), mirror, self.root / "evidence")
        if taken.kind == "fork":
            self.checker.alarms[jid] = taken.problem
        return taken

    def known_journals(self) -> dict[str, JournalRecord]:
        """Journals of this cohort: own ones, the inviter's, every member's, and (before the cohort settles here) those our own admission names.

        Only members' journals are trusted: an admission that does not count
        cannot make this device follow journals it names.
        """
        out = self.vault.journals_of(self.id)
        named: dict[str, tuple[str, str]] = {}
        for m in self.view.members(include_removed=True):
            for jid, path in m.journals:
                named.setdefault(jid, (m.public, path))
        if not self.view.founded:
            for jid, (public, path) in self.view.roster_for(self.author.id).items():
                named.setdefault(jid, (public, path))
        for jid, (public, replica_path) in named.items():
            if jid in out:
                continue
            try:
                pub = PublicIdentity.from_bytes(bytes.fromhex(public))
            except (ValueError, InvalidEnvelope):
                continue
            out[jid] = self.vault.trust_member_journal(jid, self.id, pub, replica_path)
        return out

    def ingest(self, from_start: bool = False, every_signature: bool = False, progress: Progress | None = None) -> IngestReport:
        """Check, open and fold what is new in every journal of this cohort.

        With ``from_start`` the chains are walked from the first event and
        compared with the verified heads (used at open and when new keys arrive).
        ``progress`` is told every :data:`PROGRESS_EVERY` events opened.
        """
        with self.lock:
            report = self._ingest(from_start, every_signature, progress)
            self._catch_up_wraps()
            if report.folded >= HEAP_SETTLE_AFTER:
                settle_heap()
            report.folded += self.open_rounds(force=from_start)
            return report

    def _ingest(self, from_start: bool, every_signature: bool, progress: Progress | None) -> IngestReport:
        report = IngestReport()
        leave = self.texts.leave_one
        if progress is not None:
            leave = _counted(leave, progress, sum(j.seq for j in self.known_journals().values()))
        fresh: dict[Scope, list[Event]] = {}  # what the view does not fold; the cohort's events are only counted (a cold open held all 100k)
        folded = 0
        peers: dict[str, str] = {}
        seen: set[str] = set()
        shared = Shared()  # one copy of each journal id, author and citation among what this ingest opens
        while True:  # admissions reveal new journals; keys reveal old events
            todo = {jid: j for jid, j in self.known_journals().items() if jid not in seen}
            if not todo:
                break
            for jid, record in todo.items():
                seen.add(jid)
                r = IngestReport(journals=1)
                whole = from_start or jid in self._unread
                accepted = self.checker.check(
                    record,
                    self.journal_path(jid),
                    r,
                    from_start=whole,
                    every_signature=every_signature,
                    rewind=None if whole else self._rewind.pop(jid, None) or self._read_on(jid, record),
                )
                report.add(r)
                if accepted is None:
                    if jid in r.missing and (whole or record.seq):
                        self._unread.add(jid)  # not here yet: when it comes (from a replica), it is read from its first event
                    continue
                self._unread.discard(jid)
                if (last := accepted.last()) is not None:
                    self._folded[jid] = last
                with accepted:
                    # The cohort's events are folded as they are opened (notes' text left in the journal, read back when shown),
                    # then what the view does not fold is told, all of it folded again at most once, before anything reads
                    # the view; what settles may name more journals (members) to read.
                    with self.view.folding_once():
                        opened = open_events(
                            accepted, record, self.id, self.keys.readable(), report, shared, self.keys.alternates(), leave, fold=self.view.apply
                        )
                        self.view.note_opaque(opened.opaque)
                        self.view.note_sealed_whole(opened.whole)
                    report.folded += opened.folded
                    folded += opened.cohort
                    peers.update(opened.peers)
                    for scope, events in opened.events.items():
                        fresh.setdefault(scope, []).extend(events)
                    got = self._take_wraps(opened.wraps)
                    if self.keys.settle(self._commits()):  # a key taken for an unsettled epoch was not its key: fold again
                        self.view, self._round_rows, got = View(self.id), -1, True
                    pending = self.entry.pending
                    if pending is not None and jid == pending.inviter_journal:
                        cid = admission_of(accepted, record, self.keys.readable(), self.author.id, self.entry.journal)
                        if cid is not None:
                            self._adopt(cid)
                            got = True
                    if opened.error is not None:  # what came before it is folded and taken; the rest is read next time,
                        self._unread.add(jid)  # from its first event (its verified head already counts all of it)
                        raise opened.error
                if got:
                    seen.clear()  # read everything again with the new keys (and, after an admission, the cohort's real id)
                    from_start = True
        private = 0
        for scope, events in fresh.items():
            if scope is Scope.DYAD:
                private += self.private.add_dyad((peers.get(e.id, ""), e) for e in events)
            else:
                self._take(scope, events, peers)
        self.refused_wraps = self._unmatched_keys()
        report.refused_wraps = self.refused_wraps
        for jid, (seq, _held, citing, event_id) in self.view.citation_forks().items():
            if jid not in self.alarms:
                problem = f"position {seq} of this journal holds one event here and another where a member cited it: the journal forked"
                self.checker.alarm_with(jid, "fork", problem, self._envelope_at(jid, seq), self._envelope_of(citing, event_id))
                report.problems.append(f"journal {jid[:8]}: {problem}")
        self._since_snapshot += report.folded
        self.flush()
        if folded or private:
            self._notify(folded)
        return report

    def _adopt(self, cid: str) -> None:
        """A pending join was admitted: take the cohort's real id from the inviter's wrap.

        Someone who was a member before and joined again keeps the keys and
        the journal they had; the new journal is the one they write now.
        """
        old = self.id
        self.entry = self.vault.move_cohort(old, cid)
        self.keys = CohortKeys(self.entry, self.author)
        self.id = cid
        self.view = View(cid)
        self._round_rows = -1
        if self.on_moved is not None:
            self.on_moved(old, cid)

    # ---- the anonymous round: lines outside every journal ---------------
    @property
    def rounds(self) -> anonymous.RoundCache:
        """The anonymous rounds' lines fetched to this device (sealed)."""
        return anonymous.RoundCache(self.root / "rounds" / f"{self.id}.db")

    def round_names(self, meeting_id: str, key: ScopeKey) -> anonymous.Names:
        """Slot number -> where that line of a meeting's round lives under the replica location."""
        return lambda slot: anon_sealing.slot_name(key.secret, self.id, meeting_id, slot)

    def round_targets(self, now: float, days: float = 7.0) -> list[tuple[str, ScopeKey]]:
        """The rounds worth looking for new lines in, with the current epoch's key: meetings under way,
        within ``days`` of their date, or never looked through here (a newcomer's first sync).

        Lines are gathered under the current epoch only: a removed member still
        holds the keys of earlier epochs, and could otherwise add lines to any round.
        """
        with self.lock:
            try:
                key = self.sealing_key()
            except CircleError:
                return []
            meetings = self.view.meetings()
        looked = self.rounds.looked(key.id)
        out = []
        for m in meetings:
            live = bool(m.phase) and not m.held
            if not m.cancelled and (live or m.id not in looked or abs(_timestamp(m.at) - now) <= days * 86400):
                out.append((m.id, key))
        return out

    def add_anonymous(self, meeting_id: str, text: str, drop: anonymous.Drop) -> None:
        """Seal one line for a meeting's round under the current epoch and put it on the replica; then show it."""
        with self.lock:
            self._require_member()
            key = self.sealing_key()
        content = json.dumps({"id": secrets.token_hex(16), "text": text}, ensure_ascii=False).encode()
        blob = anon_sealing.seal_line(bytes.fromhex(key.id), key.secret, self.id, meeting_id, content)
        anonymous.deliver(drop, self.rounds, meeting_id, key.id, self.round_names(meeting_id, key), blob)
        with self.lock:
            self.open_rounds()

    def gather_rounds(self, drop: anonymous.Drop, now: float) -> int:
        """Fetch new lines of the rounds worth looking at (:meth:`round_targets`); how many came. Network only: opening them is :meth:`open_rounds`."""
        return anonymous.gather(drop, self.rounds, [(mid, key.id, self.round_names(mid, key)) for mid, key in self.round_targets(now)])

    def open_rounds(self, force: bool = False) -> int:
        """Open the round cache into the view if it changed; how many lines the view gained.

        A line counts if it opens under the key of an epoch that validly
        started, the key whose slots it was fetched from (a line sealed with
        an older key and put in a newer round's slot is not), for the meeting
        whose round it was fetched from, and is shaped like a line; the same
        line in two slots counts once.
        """
        rows = self.rounds.rows()
        if len(rows) == self._round_rows and not force:
            return 0
        self._round_rows = len(rows)
        commits = {kid: ep.commit for kid, ep in self.view.epochs().items()}
        held = self.entry.keys()
        lines: dict[str, dict[str, str]] = {}
        for meeting, looked_under, blob in rows:
            try:
                key = held.get(anon_sealing.key_id_of(blob))
                if key is None or key.id != looked_under or commits.get(key.id) != epoch_hash(key):
                    continue
                raw = anon_sealing.open_line(blob, key.secret, self.id, meeting)
                body = json.loads(raw)
            except (InvalidEnvelope, ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
                continue
            if line_problem(body) is None and not lone_surrogate(raw, body):  # as for events (models/text.py)
                lines.setdefault(meeting, {})[body["id"]] = body["text"]
        gained = self.view.set_anonymous({m: list(v.values()) for m, v in lines.items()})
        if gained:
            self._notify(0)
        return max(gained, 0)

    # ---- opening and closing -------------------------------------------
    def load(self, progress: Progress | None = None) -> None:
        """Build the view: from the local snapshot if there is one, then what came after it.

        Without a snapshot every journal is walked from its first event, and
        ``progress`` is told how far it got (100k events take seconds); a
        large cold load writes a snapshot so the next open is fast.
        """
        if self._load_snapshot():
            self.load_report = self.ingest()
        else:
            self.load_report = self.ingest(from_start=True, progress=progress)
        own = self.own_journal_problem()
        if own:
            self.load_report.problems.append(Problem(own + "; run 'circle sync --once' to restore it from your replica", acts=True))
        settle_heap()

    def close(self) -> None:
        """Persist heads, and a fresh snapshot when enough changed since the last one; let go of the journal.

        The journal opens again on the next write; until then another process
        (``circle sync``, a second window) may write it.
        """
        with self.lock:
            try:
                self.flush()
                if self._since_snapshot >= snapshot.SAVE_AFTER and not self.load_report.problems:
                    try:
                        self.save_snapshot()
                    except (OSError, ValueError):  # ValueError: the view walked other than it counted (no file is left)
                        pass  # a snapshot only makes the next open faster
            finally:
                self.journal.close()
                self.texts.close()

    def _snapshot_path(self) -> Path:
        d = self.root / "snapshots"
        private_dir(d)
        return d / f"{self.id}.snap"

    def save_snapshot(self) -> None:
        """Seal the folded events with a key that never leaves the keystore; never replicated."""
        heads = {jid: (j.seq, j.hash.hex()) for jid, j in self.vault.journals_of(self.id).items()}
        private = self.private.events()
        peers = {e.id: p for e in private if (p := self.private.peer_of(e.id))}
        snapshot.save(
            self._snapshot_path(),
            self.vault.snapshot_key,
            self.id,
            snapshot.Snapshot(heads, chain(self.view.events, private), peers, self.view.opaque(), self.view.sealed_whole()),  # type: ignore[arg-type]
            texts_of=self._meetings_at_hand(),
            count=len(self.view) + len(private),
        )
        self._since_snapshot = 0

    def _meetings_at_hand(self) -> set[str]:
        """The next meeting and the last one held: the rooms opened first, whose notes' text a snapshot keeps."""
        last = next((m for m in reversed(self.view.meetings()) if m.held and not m.cancelled), None)
        return {m.id for m in (last, next_meeting(self.view)) if m is not None}

    def _load_snapshot(self) -> bool:
        snap = snapshot.stream(self._snapshot_path(), self.vault.snapshot_key, self.id, self.texts.left_body)
        if snap is None:
            return False
        journals = self.vault.journals_of(self.id)
        if any(jid not in journals or journals[jid].seq < seq for jid, (seq, _) in snap.heads.items()):
            snap.events.close()  # type: ignore[attr-defined]
            return False  # the keystore was restored to an older state: rebuild from the journals
        selves: list[Event] = []
        dyads: list[Event] = []

        def cohort_events() -> Iterator[Event]:  # read a frame at a time, never held all at once (the view keeps most notes as columns)
            for e in snap.events:
                if e.kind == "self.note_added":
                    selves.append(e)
                elif e.id in snap.peers:
                    dyads.append(e)
                else:
                    yield e

        self.view.note_opaque(snap.opaque)
        self.view.note_sealed_whole(snap.whole)
        try:
            self.view.apply(cohort_events())
        except snapshot.Damaged:
            self.view = View(self.id)  # folded in part: the journals are walked from the start instead
            return False
        finally:
            snap.events.close()  # type: ignore[attr-defined]  # the file, whatever stopped the fold
        self.private.add_self(selves)
        self.private.add_dyad((snap.peers[e.id], e) for e in dyads)
        # Heads in the keystore may be ahead of the snapshot: fold those events again from there.
        for jid, (seq, digest) in snap.heads.items():
            self._folded[jid] = (seq, bytes.fromhex(digest))
            if journals[jid].seq > seq:
                self._rewind[jid] = (seq, bytes.fromhex(digest), b"")
        return True

    # ---- verification --------------------------------------------------
    def verify_all(self) -> IngestReport:
        """Walk every journal of this cohort from its first event: every signature, every link, and every envelope this device
        holds a key for is opened (a key commitment, a tag or a payload written wrongly would otherwise pass unseen).
        """
        report = IngestReport()
        with self.lock:
            keys = self.keys.readable()
            for jid, record in self.known_journals().items():
                r = IngestReport(journals=1)
                accepted = self.checker.check(record, self.journal_path(jid), r, from_start=True, every_signature=True)
                if accepted is not None:
                    with accepted:
                        opened = open_events(accepted, record, self.id, keys, r, keep=False)
                    r.opened = opened.count + len(opened.wraps)
                report.add(r)
            said = " ".join(report.problems)
            for jid, what in sorted(self.alarms.items()):  # found before, on a copy this device no longer reads (see forks_on_record)
                if jid[:8] not in said:
                    report.problems.append(f"journal {jid[:8]}: {what}")
            self.flush()
        refused = self.view.refused()
        report.held_aside = len(refused)
        report.refusals = [f"{plural_events(n)} in {self.view.cohort().name or self.id[:8]}: {why}" for why, n in Counter(refused.values()).most_common()]
        report.refused_wraps = self._unmatched_keys()
        return report
