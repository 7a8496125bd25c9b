"""A cohort's journals, keys and folded view on this device: write events, take in peers', verify.

:class:`CohortStore` ties the parts together: :mod:`~circle.store.writer`
seals and appends, :mod:`~circle.store.keys` holds the scope keys and
epochs, :mod:`~circle.store.ingest` checks and opens what peers wrote, and
:mod:`~circle.store.snapshot` keeps a sealed local copy for fast opening.
What people do with a cohort (meetings, the agenda, the roster) is in
:mod:`~circle.store.service`.

Concurrency: the sync service ingests from its own thread while people write
from the UI's. Every change to the view (writing or ingesting) and every read
of it that goes through more than one call holds :attr:`CohortStore.lock`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from circle.crypto.identity import PublicIdentity
from circle.errors import InvalidEnvelope
from circle.models.events import Event
from circle.models.view import View
from circle.store import snapshot
from circle.store.ingest import IngestReport, JournalChecker, Rewind, open_events
from circle.store.journal import Journal
from circle.store.keys import WRAP_KEY_ID, CohortKeys, wrap_scope_key
from circle.store.vault import JournalRecord, Scope, Vault
from circle.store.writer import Author, JournalWriter

Clock = Callable[[], float]
Change = Callable[["CohortStore", list[Event]], None]


class CohortStore:
    """One cohort on this device, for one unlocked identity.

    Args:
        vault: the identity's keystore document.
        cid: the cohort id (or a pending join's provisional id).
        author: the identity writing.
        root: the identity's folder (journals, peers, snapshots, evidence).
        clock: wall clock for event times (tests freeze it).
        on_moved: told ``(old id, new id)`` when a pending join learns the cohort's real id.
    """

    def __init__(self, vault: Vault, cid: str, author: Author, root: Path, clock: Clock = time.time,
                 on_moved: Callable[[str, str], None] | None = None) -> None:
        self.vault = vault
        self.id = cid
        self.author = author
        self.root = root
        self.clock = clock
        self.on_moved = on_moved
        self.view = View(cid)
        self.entry = vault.cohort(cid)
        self.keys = CohortKeys(self.entry, author)
        self.journal_id = bytes.fromhex(self.entry.journal)
        jdir = root / "journals"
        jdir.mkdir(mode=0o700, exist_ok=True)
        self.journal = Journal(jdir / f"{self.entry.journal}.db", self.journal_id)
        self.writer = JournalWriter(self.journal, self._own_record(), author)
        self.checker = JournalChecker(root / "evidence")
        self.listeners: list[Change] = []
        self._self_notes: dict[str, Event] = {}  # the author's private notes, never folded into the shared view
        self._rewind: dict[str, Rewind] = {}  # journal -> where the snapshot ends, when the keystore head is further on
        self._since_snapshot = 0  # events folded since the snapshot on disk
        self.load_report = IngestReport()
        self.lock = threading.RLock()

    @property
    def alarms(self) -> dict[str, str]:
        """Forks and rollbacks found: journal id -> what was found."""
        return self.checker.alarms

    def _own_record(self) -> JournalRecord:
        record = self.vault.journal(self.entry.journal)
        assert record is not None, "the own journal is trusted when the cohort is created or joined"
        return record

    def peer_dir(self) -> Path:
        d = self.root / "peers"
        d.mkdir(mode=0o700, exist_ok=True)
        return d

    def journal_path(self, jid: str) -> Path:
        if jid == self.entry.journal:
            return self.journal.path
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
        items = list(items)
        if not items:
            return []
        scope = Scope(scope)
        with self.lock:
            events = self.writer.write(cohort=self.id, items=items, key=self.keys.sealing(scope), lamport=self.view.max_lamport, now=self.clock())
            self._since_snapshot += len(events)
            self._take(scope, events)
            self._notify(events)
            return events

    def write_wraps(self, key_id: str, recipients: list[PublicIdentity]) -> None:
        """Give the key ``key_id`` to each recipient in a wrap-scope envelope of the own journal."""
        key = self.entry.key(key_id)
        assert key is not None
        with self.lock:
            payload = self.keys.wrap_payload(self.id, key, recipients, [m.id for m in self.view.members()])
            self.writer.append([payload], WRAP_KEY_ID, wrap_scope_key(self.journal_id))
            self.vault.flush()

    def _take(self, scope: Scope, events: list[Event]) -> int:
        """Put opened events where their scope says; returns how many were new to the view."""
        if scope is Scope.COHORT:
            return self.view.apply(events)
        if scope is Scope.SELF:
            for e in events:
                self._self_notes.setdefault(e.id, e)
        return 0  # Scope.INVITE: a join request, read by the inviter when admitting

    def self_notes(self) -> list[Event]:
        """This identity's private notes for the cohort, oldest first."""
        return sorted(self._self_notes.values(), key=lambda e: e.stamp)

    def _notify(self, events: list[Event]) -> None:
        for fn in list(self.listeners):
            fn(self, events)

    def flush(self) -> None:
        """Persist verified heads and keys to the keystore (batched: it is rewritten whole)."""
        self.vault.flush()

    # ---- reading peers -------------------------------------------------
    def known_journals(self) -> dict[str, JournalRecord]:
        """Journals of this cohort: own, trusted at join, and every member's from the roster."""
        out = self.vault.journals_of(self.id)
        for jid, (public, replica_path) in self.view.mentioned_journals().items():
            if jid in out:
                continue
            try:
                pub = PublicIdentity.from_bytes(bytes.fromhex(public))
            except (ValueError, InvalidEnvelope):
                continue
            out[jid] = self.vault.trust_member_journal(jid, self.id, pub, replica_path)
        return out

    def ingest(self, from_start: bool = False, every_signature: bool = False) -> IngestReport:
        """Check, open and fold what is new in every journal of this cohort.

        With ``from_start`` the chains are walked from the first event and
        compared with the verified heads (used at open and when new keys arrive).
        """
        with self.lock:
            return self._ingest(from_start, every_signature)

    def _ingest(self, from_start: bool, every_signature: bool) -> IngestReport:
        report = IngestReport()
        fresh: dict[Scope, list[Event]] = {}
        seen: set[str] = set()
        while True:  # admissions reveal new journals; keys reveal old events
            todo = {jid: j for jid, j in self.known_journals().items() if jid not in seen}
            if not todo:
                break
            for jid, record in todo.items():
                seen.add(jid)
                r = IngestReport(journals=1)
                accepted = self.checker.check(record, self.journal_path(jid), r, from_start=from_start, every_signature=every_signature,
                                              rewind=None if from_start else self._rewind.pop(jid, None))
                report.add(r)
                if accepted is None:
                    continue
                opened = open_events(accepted, record, self.id, self.keys.held(), report)
                for scope, events in opened.events.items():
                    fresh.setdefault(scope, []).extend(events)
                if self._take_wraps(opened.wraps, jid):
                    seen.clear()  # read everything again with the new keys
                    from_start = True
        for scope, events in fresh.items():
            folded = self._take(scope, events)
            if scope is Scope.COHORT:
                report.folded = folded
        self._since_snapshot += report.folded
        self.flush()
        if fresh.get(Scope.COHORT):
            self._notify(fresh[Scope.COHORT])
        return report

    def _take_wraps(self, wraps: list[Event], jid: str) -> bool:
        """Keep keys wrapped for this identity; a pending join learns the cohort's real id from its inviter."""
        got = False
        for ev in wraps:
            for w in self.keys.unwrap(ev.body):
                if w.cohort != self.id:
                    pending = self.entry.pending
                    if pending is None or jid != pending.inviter_journal:
                        continue
                    self._adopt(w.cohort)
                got |= self.keys.take(w)
        return got

    def _adopt(self, cid: str) -> None:
        """A pending join was admitted: take the cohort's real id from the inviter's wrap."""
        old = self.id
        self.entry = self.vault.move_cohort(old, cid)
        self.keys = CohortKeys(self.entry, self.author)
        self.id = cid
        self.view = View(cid)
        if self.on_moved is not None:
            self.on_moved(old, cid)

    # ---- opening and closing -------------------------------------------
    def load(self) -> None:
        """Build the view: from the local snapshot if there is one, then what came after it.

        Without a snapshot every journal is walked from its first event. A
        large cold load writes a snapshot so the next open is fast.
        """
        if self._load_snapshot():
            self.load_report = self.ingest()
            return
        self.load_report = self.ingest(from_start=True)

    def close(self) -> None:
        """Persist heads, and a fresh snapshot when enough changed since the last one; let go of the journal.

        The journal opens again on the next write; until then another process
        (``circle sync``, a second window) may write it.
        """
        with self.lock:
            self.flush()
            if self._since_snapshot >= snapshot.SAVE_AFTER and not self.load_report.problems:
                self.save_snapshot()
            self.journal.close()

    def _snapshot_path(self) -> Path:
        d = self.root / "snapshots"
        d.mkdir(mode=0o700, exist_ok=True)
        return d / f"{self.id}.snap"

    def save_snapshot(self) -> None:
        """Seal the folded events with a key that never leaves the keystore; never replicated."""
        heads = {jid: (j.seq, j.hash.hex()) for jid, j in self.vault.journals_of(self.id).items()}
        snapshot.save(self._snapshot_path(), self.vault.snapshot_key, self.id, snapshot.Snapshot(heads, [*self.view.events, *self._self_notes.values()]))
        self._since_snapshot = 0

    def _load_snapshot(self) -> bool:
        snap = snapshot.load(self._snapshot_path(), self.vault.snapshot_key, self.id)
        if snap is None:
            return False
        journals = self.vault.journals_of(self.id)
        if any(jid not in journals or journals[jid].seq < seq for jid, (seq, _) in snap.heads.items()):
            return False  # the keystore was restored to an older state: rebuild from the journals
        self._self_notes = {e.id: e for e in snap.events if e.kind == "self.note_added"}
        self.view.apply(e for e in snap.events if e.kind != "self.note_added")
        # Heads in the keystore may be ahead of the snapshot: fold those events again from there.
        for jid, (seq, digest) in snap.heads.items():
            if journals[jid].seq > seq:
                self._rewind[jid] = (seq, bytes.fromhex(digest), b"")
        return True

    # ---- verification --------------------------------------------------
    def verify_all(self) -> IngestReport:
        """Walk every journal of this cohort from its first event, checking every signature.

        Signatures and links authenticate every ciphertext, so nothing is opened.
        """
        report = IngestReport()
        with self.lock:
            for jid, record in self.known_journals().items():
                r = IngestReport(journals=1)
                self.checker.check(record, self.journal_path(jid), r, from_start=True, every_signature=True)
                report.add(r)
            self.flush()
        return report
