"""The sync service: replicate own journals, follow peers', ingest what arrives.

Litestream replicates one SQLite file with one writer, so each identity's
journal for a cohort replicates to its own random path under the cohort's
location, and every device restores the others' journals read-only. The
cohort on screen gets live followers (`restore -f`); other cohorts are polled
cheaply (`ltx` for the newest TXID) and restored only when they changed,
which keeps the service within its memory budget. Offline is a normal state:
everything is retried with backoff and reported in the status, never raised.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from circle.errors import CircleError, ReplicaMisconfigured, ReplicaOffline, SyncError, UsageError
from circle.store import archive
from circle.store.cohort import CohortStore, plural_events
from circle.store.ingest import IngestReport
from circle.store.journal import last_seq, read_rows
from circle.store.session import Session
from circle.sync import litestream as ls
from circle.sync.drop import ReplicaDrop
from circle.sync.location import default_location, describe, folder_marked, last_reached, mark_folder, note_reached, replica_for, replica_of
from circle.sync.status import CohortSync, PeerStatus, SyncStatus, offline_line
from circle.sync.watch import FolderWatch, remote_fs

MAX_FOLLOWERS = 2  # ~30 MB each: the whole service must stay under 150 MB for three cohorts
IDLE_INTERVAL = 5.0  # Litestream's monitor interval for own journals of cohorts not on screen
RECENT_NS = 1_000_000_000  # a folder changed this recently is listed even if its stamp looks the same
LEVEL0_LAG = 5.0  # seconds a kept mirror waits for level 0 to reach what another level of the replica names (see _reachable)
SLOW_TICK = 1.0  # seconds between safety-net looks when the kernel or followers report every change
TOUCH_ABOVE = 64 * 1024  # bytes: a newest LTX file above this is ended with a tiny commit (see Journal.touch)
AWAY = "replica folder not found (plug in the drive or mount the share)"  # why a folder location is offline, in a few words
ROUNDS_REMOTE_EVERY = 30.0  # seconds between looks for anonymous-round lines on an SFTP or S3 location (a listing per slot)
NOTE_REACHED_EVERY = 60.0  # seconds between writes of when each location last answered (see note_reached)


def set_replica(session: Session, store: CohortStore, location: dict[str, Any]) -> dict[str, Any]:
    """Make ``location`` (checked, from :func:`parse_location`) the cohort's replica and save it.

    A folder location is marked as circle's: from now on it is the drive or
    share to wait for when it is not there.
    """
    claim_location(location)
    store.entry.replica = location
    session.vault.save()
    return location


def claim_location(location: dict[str, Any]) -> None:
    """Mark a folder location as circle's (see :func:`set_replica`); an SFTP or S3 location needs nothing.

    Raises:
        UsageError: the folder cannot be made or written (nothing is saved).
    """
    folder = ls.folder_of(replica_of(location))
    if folder is not None:
        try:
            mark_folder(folder)
        except OSError as exc:
            raise UsageError("cannot use that folder as the replica", f"{folder}: {exc.strerror}; check the path and that it is writable") from None


@dataclass
class Peer:
    cohort: str
    journal: str
    member: str
    replica: ls.Replica
    out: Path
    where: str = ""  # the cohort's location, for people (no credentials)
    retired: bool = False  # a removed device's or member's journal: nothing more comes, and none is owed
    last_received: float = 0.0
    checked: float = 0.0  # when the replica was last read and this device found it held all of it
    state: str = "waiting"
    follower: Any = None
    watch: str | None = None  # a folder replica's level-0 folder: watched while on screen
    stamp: tuple[int, int] | None = None  # that folder's (inode, mtime) when it was last listed
    recheck: bool = False  # someone cites more (or other) of this journal than verified here: read the replica even if its TXID did not move
    kept: int | None = None  # the TXID the mirror holds while it is kept between pulls (a folder peer on screen; see _pull_one)
    lagging: float = 0.0  # when level 0 was first seen behind another level of the replica, for a kept mirror (see _reachable)

    @property
    def mirror(self) -> Path:
        """Where Litestream restores or follows the replica; never what circle reads (see circle.store.archive)."""
        return self.out.with_name(f".{self.out.stem}.mirror.db")

    def __post_init__(self) -> None:
        folder = ls.level0_folder(self.replica)
        self.watch = None if folder is None else str(folder)

    def location_present(self) -> bool:
        """Whether the cohort's folder location is there (a journal not written yet is missing; a pulled stick is unreachable)."""
        return self.watch is not None and folder_marked(Path(self.watch).parents[2])

    @property
    def local(self) -> bool:
        """A folder replica: listed directly, cheap enough to check every tick."""
        return self.watch is not None

    def looks_changed(self) -> bool:
        """Whether the folder replica may hold something new since it was last listed (one stat).

        A folder modified within the last second is listed anyway: a second
        file written within the file system's timestamp granularity leaves
        the modification time as it was.
        """
        try:
            st = os.stat(self.watch) if self.watch else None
        except OSError:
            st = None
        stamp = None if st is None else (st.st_ino, st.st_mtime_ns)
        if stamp == self.stamp and (st is None or time.time_ns() - st.st_mtime_ns > RECENT_NS):
            if st is not None:  # read and unchanged: what the replica holds is held here
                self.checked = time.time()
            return False
        self.stamp = stamp
        return True


@dataclass
class OnceReport:
    pushed: int = 0  # journals pushed
    pulled: int = 0  # peer journals restored
    events: int = 0  # new events folded
    unreachable: dict[str, str] = field(default_factory=dict)  # location out of reach (no credentials) -> why, one line
    wrong: dict[str, str] = field(default_factory=dict)  # location whose settings are wrong -> the error's line
    problems: list[str] = field(default_factory=list)
    since: dict[str, float] = field(default_factory=dict)  # location out of reach -> when this device last reached it (0: never)
    waiting: dict[str, int] = field(default_factory=dict)  # location out of reach -> own events not yet sent there
    titles: dict[str, str] = field(default_factory=dict)  # location out of reach -> what keeps it away, in a few words
    notes: list[str] = field(default_factory=list)  # what was done that the person should know (an accepted loss)

    def offline_lines(self, now: float | None = None) -> list[str]:
        """One line per location out of reach: since when, why, what is unsent (the app's words: see :func:`offline_line`)."""
        return [offline_line(w, self.titles.get(w, ""), self.since.get(w, 0.0), self.waiting.get(w, 0), now) for w in sorted(self.unreachable)]


@dataclass(frozen=True)
class Outage:
    """A remote location that failed the service's own check (see :meth:`SyncService._check_locations`)."""

    error: CircleError
    offline: bool  # out of reach (a normal state); False: its settings are wrong, or litestream failed


def _push(db: Path, replica: ls.Replica) -> None:
    """Push one own journal to its replica, healing what can be healed.

    A folder replica that holds an older copy of this journal (a folder put
    back from a backup, a stick from last week) cannot be continued by
    Litestream; when every row it holds is this journal's, it is rebuilt from
    this device's journal, which holds all of it and more. Anything else
    (another member's journal in its place, a remote store) is raised.
    """
    if ls.needs_heal(replica, db):
        ls.heal(db, replica)
    try:
        ls.replicate_once(db, replica)
    except (ReplicaOffline, ReplicaMisconfigured):
        raise
    except SyncError:
        folder = ls.folder_of(replica)
        if folder is None or not _older_copy(db, replica):
            raise
        shutil.rmtree(folder)
        ls.heal(db, replica)


CONTINUED_ELSEWHERE = (
    "this laptop's journal was continued on another laptop (recovered from your kit): nothing is sent from this one,"
    " or what was written there would be lost; use the other laptop"
)


def _replica_rows(replica: ls.Replica) -> list[bytes] | None:
    """The envelopes a journal's replica restores to, in order; None when it restores to nothing or cannot be read."""
    with tempfile.TemporaryDirectory(prefix="circle-replica-") as d:
        out = Path(d) / "replica.db"
        try:
            return [r.blob for r in read_rows(out)] if ls.restore(replica, out) else None
        except CircleError:
            return None


def _continued_copy(db: Path, replica: ls.Replica) -> bool:
    """Whether the replica holds this journal's beginning and then events this device does not hold.

    Anything else is left to the push: a beginning of it (unsent), a replica
    that does not restore (healed), another journal in its place (raised).
    """
    theirs = _replica_rows(replica)
    try:
        mine = [r.blob for r in read_rows(db)]
    except CircleError:
        return False
    return bool(theirs and mine) and theirs[0] == mine[0] and not (len(theirs) <= len(mine) and mine[: len(theirs)] == theirs)


def _older_copy(db: Path, replica: ls.Replica) -> bool:
    """Whether the replica holds a beginning of this journal and nothing else."""
    theirs = _replica_rows(replica)
    if theirs is None:
        return False
    mine = [r.blob for r in read_rows(db)]
    return len(theirs) <= len(mine) and mine[: len(theirs)] == theirs


class SyncService:
    """Runs for every cohort of one unlocked identity.

    Args:
        session: the unlocked identity.
        interval: Litestream's monitor and follow interval in seconds (lag).
        poll: seconds between full passes: off-screen cohorts, SFTP/S3 listings, heads sent.
        answer: seconds an SFTP or S3 location has to answer the check at the start of each pass.
        on_change: called (from the service's thread) after new events were folded.
    """

    def __init__(
        self,
        session: Session,
        *,
        interval: float = ls.DEFAULT_INTERVAL,
        poll: float = 15.0,
        answer: float = ls.ANSWER_TIMEOUT,
        on_change: Callable[[CohortStore], None] | None = None,
    ) -> None:
        self.session = session
        self.interval = interval
        self.poll = poll
        self.answer = answer
        self.on_change = on_change
        self.focus: str | None = None
        self._peers: dict[str, Peer] = {}
        self._names: dict[str, str] = {}  # cohort id -> its name as last read (see _name)
        self._replicators: dict[str, ls.Replicator] = {}  # one per location: one unreachable box must not stop the others
        self._touched: dict[str, int] = {}  # journal -> local TXID whose LTX size was checked (see Journal.touch)
        self._pending_txid: dict[str, tuple[int, int]] = {}  # journal -> (local txid, seq at that txid)
        # How new events are folded: directly, or handed to the UI thread by the app.
        self.ingest: Callable[[CohortStore], IngestReport] = lambda store: store.ingest()
        self._problems: dict[str, str] = {}  # journal id, own journal path or "service" -> one line
        self._elsewhere: dict[str, str] = {}  # own journal path -> "" (its replica is its own) or why nothing is sent (see _continued)
        self._away_now: dict[str, tuple[str, SyncError]] = {}  # own journal path -> (its location, why it is away)
        self._locations: dict[str, tuple[dict[str, Any] | None, ls.Replica, Path | None]] = {}  # see _location
        self._marks: dict[Path, bool] = {}  # folder location -> whether its marker was there at the last full pass
        self._changed: set[str] = set()  # cohorts with journals restored or followed since the last ingest
        self._poll_now = False
        self._unsaved = False  # sent seqs the keystore on disk does not have yet
        self._stop = threading.Event()
        self._watch: FolderWatch | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._state = "off"
        self._outages: dict[str, Outage] = {}  # remote location (see describe_replica) -> why it failed the last check
        self._reached: dict[str, tuple[str, float]] = {}  # cohort id -> (its location, when it last answered; local clock)
        self._rounds_at: dict[str, float] = {}  # cohort id -> when its rounds were last looked through on a remote location
        self._noted: dict[str, float] = {}  # cohort id -> the time last written to the record (see note_reached)

    # ---- targets --------------------------------------------------------
    def _cohorts(self) -> list[CohortStore]:
        return [self.session.store(cid) for cid in self.session.cohort_ids()]

    def _own(self) -> list[tuple[Path, ls.Replica]]:
        """Own journals and their replicas, except those whose location is away (see :meth:`_away`)."""
        away = self._away()
        self._marks = {folder: folder_marked(folder) for store in self._cohorts() if (folder := self._location(store)[1]) is not None}
        for db, (_, exc) in away.items():
            self._problems[db] = exc.line()
        for db in set(self._away_now) - set(away):
            self._problems.pop(db, None)
        self._away_now = away
        out = []
        for store in self._cohorts():
            if str(store.journal.path) in away:
                continue
            damaged = store.own_journal_problem()
            if damaged:  # never push a journal shorter than, or other than, what was written: peers would lose it
                self._problems[str(store.journal.path)] = f"{damaged}; it is not sent until it is restored from your replica"
                continue
            if self._problems.get(str(store.journal.path), "").startswith("your journal"):
                self._problems.pop(str(store.journal.path))
            if store.written() == 0 and not store.journal.path.exists():
                continue  # nothing written here yet (a new device): nothing to send
            replica = replica_for(self.session, store).child(store.entry.replica_path)
            if elsewhere := self._continued(store.journal.path, replica):
                self._problems[str(store.journal.path)] = elsewhere
                continue
            out.append((store.journal.path, replica))
        return out

    def _continued(self, db: Path, replica: ls.Replica) -> str:
        """Why ``db`` must not be sent, where its replica holds events this device never wrote; else "".

        A laptop taken for lost and recovered from a kit on another goes on
        with the same journal there. Found again, this one would ship its own
        ending over the other's, and what was written there would be lost. So
        once per service (a ``sync --once``, or the first pass of ``circle
        sync``), before anything is sent: a replica whose newest TXID is not the
        one this device last shipped is read, and must hold a beginning of this
        journal. A replica out of reach is left to the push, which says so.
        """
        key = str(db)
        if key not in self._elsewhere:
            try:
                theirs_txid = ls.latest_txid(replica)
                same = theirs_txid is None or theirs_txid == ls.local_txid(db)
            except CircleError:
                return ""  # out of reach or unreadable: the push says why, and this is asked again next time
            self._elsewhere[key] = "" if same or not _continued_copy(db, replica) else CONTINUED_ELSEWHERE
        return self._elsewhere[key]

    def _restore_own(self, report: OnceReport | None = None, accept_loss: bool = False) -> None:
        """Put back own journals that are missing or cut short here from their replicas, when the replica holds all of them.

        With ``accept_loss`` (``circle sync --once --accept-loss``), also from a
        replica that lacks only events never sent (see :meth:`CohortStore.restore_own`);
        the cohort is then opened afresh, without them.
        """
        for store in self._cohorts():
            if not store.own_journal_problem():
                continue
            mirror = store.journal.path.with_name(f".{store.journal.path.stem}.mirror.db")
            try:
                restored = ls.restore(replica_for(self.session, store).child(store.entry.replica_path), mirror)
                sent = self._sent(store.entry.journal)
                still = store.restore_own(mirror, sent, accept_loss) if restored else store.own_journal_problem() + "; your replica holds nothing of it"
            except CircleError as exc:
                still = f"{store.own_journal_problem()}; its replica could not be read ({exc.title})"
            finally:
                mirror.unlink(missing_ok=True)
            if still and report is not None:
                report.problems.append(still)
            if store.lost:
                if report is not None:
                    report.notes.append(
                        f"{self._name(store)}: your journal goes on from your replica's copy; {plural_events(store.lost)} written here and never sent are gone"
                    )
                self.session.reopen(store.id)

    def _marks_changed(self) -> bool:
        """Whether a folder location came or went since the last full pass: one stat per folder, for every tick."""
        return any(folder_marked(folder) != marked for folder, marked in self._marks.items())

    def _location(self, store: CohortStore) -> tuple[ls.Replica, Path | None]:
        """The cohort's replica location and, for a folder, its path; built again only when the setting changes (checked every tick)."""
        loc = store.entry.replica
        hit = self._locations.get(store.id)
        if hit is None or hit[0] != loc:
            base = replica_for(self.session, store)
            hit = self._locations[store.id] = (dict(loc) if loc else None, base, ls.folder_of(base))
        return hit[1], hit[2]

    def _away(self) -> dict[str, tuple[str, SyncError]]:
        """Own journals whose folder location is away: a USB stick pulled out, a share not mounted.

        A folder location is there when circle's marker is (see
        :func:`folder_marked`). Without it Litestream would create its folders
        again on the local disk, under the mount point, within a monitor tick;
        so a journal that has shipped before waits for the marker instead. The
        home's own folder, and a location this journal never reached, are
        marked here (first use). One or two stats per cohort: cheap enough for
        every tick.
        """
        away: dict[str, tuple[str, SyncError]] = {}
        for store in self._cohorts():
            _, folder = self._location(store)
            if folder is None or folder_marked(folder):
                continue
            if not store.entry.replica or not ls.has_shipped(store.journal.path):
                try:
                    mark_folder(folder)
                    continue
                except OSError:
                    pass
            hint = f"{folder}: plug in the drive or mount the share; if it was emptied on purpose, choose it again with 'circle cohort replica'"
            away[str(store.journal.path)] = (describe(store.entry.replica), SyncError("replica folder not found", hint))
        return away

    def _follow_moves(self) -> None:
        """A pending join that was admitted took the cohort's real id: follow it (focus, peers, what changed)."""
        real = self.session.vault.resolve

        with self._lock:
            if self.focus is not None and real(self.focus) != self.focus:
                self.focus, self._poll_now = real(self.focus), True  # its own journal is watched often from the next pass
            for peer in self._peers.values():
                peer.cohort = real(peer.cohort)
            self._changed = {real(c) for c in self._changed}

    def _name(self, store: CohortStore) -> str:
        """The cohort's name for the status, read on the UI's thread: never waiting for an ingest (the lock), which may take seconds."""
        if store.lock.acquire(blocking=self._names.get(store.id) is None):
            try:
                self._names[store.id] = store.view.cohort().name
            finally:
                store.lock.release()
        return self._names[store.id]

    def _refresh_peers(self) -> None:
        for store in self._cohorts():
            base = replica_for(self.session, store)
            with store.lock:  # the view changes under it (app.py, "Concurrency"): a write may be folding on the UI thread
                members = store.view.members(include_removed=True)
                known = store.known_journals()
            names = {j: m.name for m in members for j, _ in m.journals}
            paths = {j: p for m in members for j, p in m.journals}
            retired = {j for m in members for j, _ in m.journals if not m.active or j in m.gone}
            for jid, j in known.items():
                if jid == store.entry.journal or jid in self._peers:
                    continue
                path = paths.get(jid) or j.replica_path
                if not path:
                    continue
                try:
                    replica = base.child(path)
                except CircleError as exc:  # a path no location takes (the fold refuses such events; an older one kept it): this journal only
                    self._problems[jid] = f"{names.get(jid, 'a member')}'s journal: {exc.line()}"
                    continue
                self._peers[jid] = Peer(store.id, jid, names.get(jid, "inviter"), replica, store.journal_path(jid), describe_replica(base), jid in retired)

    # ---- one pass: push everything, pull everything ---------------------
    def once(self, accept_loss: bool = False) -> OnceReport:
        """Push every own journal, restore every changed peer journal, ingest; then return.

        Every SFTP or S3 location is tried first (see :meth:`_check_locations`):
        one that does not answer costs one wait of ``answer`` seconds, however
        many journals it holds. Locations out of reach end up in
        ``unreachable`` (a normal state), those whose settings are wrong in
        ``wrong``, anything else in ``problems``.
        """
        with ls.bounded():
            report = OnceReport()
            self._check_locations()
            self._restore_own(report, accept_loss)
            own = self._own()
            report.problems += [why for why in self._elsewhere.values() if why]
            report.unreachable.update((where, exc.line()) for where, exc in self._away_now.values())
            locations = {store.journal.path: self._location(store)[0] for store in self._cohorts()}
            for db, replica in own:
                try:
                    _push(db, replica)
                    report.pushed += 1
                    self._mark_sent(db)
                except CircleError as exc:
                    where = describe_replica(locations[db])
                    if self._offline(where, exc):
                        report.unreachable[where] = exc.line()
                    elif isinstance(exc, ReplicaMisconfigured):
                        report.wrong.setdefault(where, exc.line())
                    else:
                        report.problems.append(f"{where}: {exc.line()}")
                    self._problems[str(db)] = exc.line()
            self._refresh_peers()
            self._gather_rounds(report)
            for _ in range(3):  # admissions can reveal journals that were unknown a moment ago
                pulled = self._pull_changed(report)
                for store in self._cohorts():
                    r = self.ingest(store)
                    report.events += r.folded
                    report.problems += r.problems
                self._follow_moves()
                known = len(self._peers)
                self._refresh_peers()
                if not pulled and len(self._peers) == known:
                    break
            self.session.vault.save()  # the TXIDs restored, so the next pass skips unchanged journals
            self._sort_out(report)
        return report

    def _offline(self, where: str, exc: CircleError) -> bool:
        """Whether ``exc`` at location ``where`` means out of reach: no answer, or refused where this device reached it before."""
        if isinstance(exc, ls.ReplicaRefused):
            outage = self._outages.get(where)
            return outage is not None and outage.offline
        return isinstance(exc, ReplicaOffline)

    def _sort_out(self, report: OnceReport) -> None:
        """Put each failed location where it belongs (offline or wrong) and say, for those offline, since when and what waits."""
        for where, outage in self._outages.items():
            if outage.offline:
                report.unreachable.setdefault(where, outage.error.line())
            else:
                report.wrong.setdefault(where, outage.error.line())
        for where in report.wrong:
            report.unreachable.pop(where, None)  # peers there were told "unreachable": the settings are what is wrong
        now = time.time()
        for store in self._cohorts():
            names = {describe_replica(self._location(store)[0]), describe(store.entry.replica)}
            where = next((w for w in names if w in report.unreachable), None)
            if where is not None:
                report.since[where] = max(report.since.get(where, 0.0), self._last_reached(store))
                report.waiting[where] = report.waiting.get(where, 0) + max(0, written(store) - self._sent(store.entry.journal))
                away = where in {w for w, _ in self._away_now.values()}
                report.titles[where] = AWAY if away else report.unreachable[where].split(": ", 1)[0]
            elif not names & set(report.wrong):
                self._reach(store, now)  # every journal there was pushed or read in this pass
        self._note_reached(force=True)

    # ---- is each location there? ----------------------------------------
    def _check_locations(self) -> None:
        """Try every SFTP and S3 location once, with a listing that must answer within ``answer`` seconds.

        Litestream's long-running processes say nothing for minutes when a
        store stops answering (its S3 client waits up to a day for a reply),
        so the service looks for itself at the start of every pass. A location
        that fails is out of reach (no answer; or refused, where this device
        reached it before: a box switched off, a store restarting) or set
        wrong (anything else). Its replicator and followers are stopped, and
        started afresh once it answers again. Call it inside
        :func:`ls.bounded`: the journals there then fail at once instead of
        each waiting. Folder locations are there when marked (see :meth:`_away`).
        """
        now = time.time()
        tried: dict[str, CircleError | None] = {}
        outages: dict[str, Outage] = {}
        for store in self._cohorts():
            base, folder = self._location(store)
            if folder is not None:
                if folder_marked(folder):
                    self._reach(store, now)
                continue
            where = describe_replica(base)
            if where not in tried:
                try:
                    ls.check_location(base, timeout=self.answer)
                    tried[where] = None
                except CircleError as exc:
                    tried[where] = exc
            exc = tried[where]
            if exc is None:
                self._reach(store, now)
                continue
            offline = isinstance(exc, ReplicaOffline) or (isinstance(exc, ls.ReplicaRefused) and self._worked(store))
            before = outages.get(where)
            outages[where] = Outage(exc, offline or (before is not None and before.offline))
        for where in self._outages.keys() - outages.keys():
            self._problems.pop(f"location {where}", None)
        for where, outage in outages.items():
            self._problems[f"location {where}"] = outage.error.line()
        back = {where for where, error in tried.items() if error is None}
        self._outages = outages
        with self._lock:
            for peer in self._peers.values():
                if peer.where in outages:
                    if peer.follower is not None:  # waiting on a store that stopped answering, it may never wake
                        peer.follower.stop()
                        peer.follower = None
                    peer.state = "unreachable"  # said with the outage, not a step later when the pull gets there
                elif peer.state == "unreachable" and peer.where in back:  # pulled or followed again from now on: no longer a problem
                    peer.state = "waiting"
                    self._problems.pop(peer.journal, None)
        if outages and self._state in ("syncing", "up to date"):  # say so now, not after this pass has stopped what waits there
            self._state = "offline" if all(o.offline for o in outages.values()) else "problem"
        self._note_reached()

    def _worked(self, store: CohortStore) -> bool:
        """Whether this device reached the cohort's location before: a refused connection there is a box switched off, not a wrong port."""
        if self._last_reached(store):
            return True
        own = self.session.vault.journal(store.entry.journal)  # homes from before the record: anything sent or restored
        return bool(own is not None and own.sent) or any(j.replica_txid is not None for j in store.known_journals().values())

    def _last_reached(self, store: CohortStore) -> float:
        """When the cohort's location last answered, in this process or another (0: never, or not since it was chosen)."""
        where = describe(store.entry.replica)
        hit = self._reached.get(store.id)
        if hit is None or hit[0] != where:
            hit = self._reached[store.id] = (where, last_reached(self.session.dir / "sync", store.id, store.entry.replica))
        return hit[1]

    def _reach(self, store: CohortStore, now: float) -> None:
        self._reached[store.id] = (describe(store.entry.replica), now)

    def _note_reached(self, force: bool = False) -> None:
        """Write when each location last answered, at most every :data:`NOTE_REACHED_EVERY` seconds unless ``force``."""
        due: dict[str, tuple[dict[str, Any] | None, float]] = {}
        for store in self._cohorts():
            where, when = self._reached.get(store.id, ("", 0.0))
            if when and where == describe(store.entry.replica) and (force or when - self._noted.get(store.id, 0.0) >= NOTE_REACHED_EVERY):
                due[store.id] = (store.entry.replica, when)
                self._noted[store.id] = when
        note_reached(self.session.dir / "sync", due)

    def _pull_changed(self, report: OnceReport | None = None, peers: list[Peer] | None = None) -> int:
        pulled = 0
        self._mark_rechecks()
        for peer in list(self._peers.values()) if peers is None else peers:
            if peer.follower is not None:
                continue
            try:
                if peer.local and not peer.location_present():
                    raise SyncError("replica folder not found", "plug in the drive or mount the share; circle goes on when it is back")
                txid = ls.latest_txid(peer.replica)
            except CircleError as exc:
                peer.state = "unreachable"
                if report is not None:
                    report.unreachable.setdefault(peer.where, exc.line())
                self._problems[peer.journal] = exc.line()
                continue
            j = self.session.vault.journal(peer.journal)
            if j is None:
                continue
            if txid is None and j.replica_txid is not None and peer.retired:  # a removed device's: this copy is all there is
                peer.state = "gone"
                self._problems.pop(peer.journal, None)
                continue
            if txid is None and j.replica_txid is not None:  # restored from here before: emptied, or another drive
                peer.state = "gone"
                self._problems[peer.journal] = (
                    f"{peer.member}'s journal is no longer on the replica: was the folder emptied, or is this another drive? It comes back when they sync"
                )
                if report is not None:
                    report.problems.append(self._problems[peer.journal])
                continue
            if txid is None:
                peer.state, peer.checked = "missing", time.time()
                self._problems.pop(peer.journal, None)  # reachable again; not written yet is no problem
                continue
            if txid == j.replica_txid and peer.out.exists() and not peer.recheck:  # != not <: a healed replica restarts its TXIDs
                peer.state, peer.checked = "caught up", time.time()
                self._problems.pop(peer.journal, None)
                continue
            txid = self._reachable(peer, txid)
            if txid is None:
                continue
            try:
                if self._pull_one(peer, txid):
                    peer.checked = time.time()
                    j.replica_txid = txid  # saved with the verified head at the next ingest
                    if self._take(peer, report):
                        pulled += 1
            except CircleError as exc:  # a damaged replica: keep the copy we have, say so, retry next time
                self._drop_mirror(peer)
                peer.state = "problem"
                self._problems[peer.journal] = exc.line()
                if report is not None:
                    report.problems.append(f"{peer.member}'s journal: {exc.line()}")
        if peers is None:  # a full pass: mirrors of peers no longer on screen go
            for peer in self._peers.values():
                if peer.kept is not None and not self._keeps(peer):
                    self._drop_mirror(peer)
        if report is not None:
            report.pulled += pulled
        return pulled

    def _keeps(self, peer: Peer) -> bool:
        """Whether the peer's mirror is kept between pulls: a folder peer of the cohort on screen, while the service runs."""
        return peer.local and peer.follower is None and peer.cohort == self.focus and self._thread is not None

    def _follows(self, peer: Peer) -> bool:
        """Whether the next pull may bring the kept mirror forward by level-0 files (a recheck reads the replica afresh)."""
        return self._keeps(peer) and peer.kept is not None and not peer.recheck and peer.mirror.exists()

    def _reachable(self, peer: Peer, txid: int) -> int | None:
        """The TXID to bring the peer's copy to now: ``txid``, or less for a kept mirror whose level 0 trails; None: nothing yet.

        Litestream, when it starts, may write a snapshot and a compaction
        reaching a TXID before that TXID's level-0 file is in place. A kept
        mirror follows level 0: it takes what level 0 holds and waits a tick
        for the rest, where a gap would restore the whole journal (about 1 s
        at 100k events) for a file about to land. Level 0 behind for
        ``LEVEL0_LAG`` seconds (pruned, a replica rebuilt) is no reason to
        wait: the whole restore, as before.
        """
        if not self._follows(peer):
            return txid
        level0 = ls.level0_txid(peer.replica) or 0
        now = time.monotonic()
        if level0 >= txid or (peer.lagging and now - peer.lagging >= LEVEL0_LAG):
            peer.lagging = 0.0
            return txid
        peer.lagging = peer.lagging or now
        return level0 if level0 > peer.kept else None

    def _pull_one(self, peer: Peer, txid: int) -> bool:
        """Bring the peer's mirror to the replica's TXID ``txid``; False if the replica holds nothing yet.

        A whole restore costs as much as the journal is long (about 1 s at
        100k events), and the cohort on screen is pulled after every change.
        So for a folder peer on screen the mirror is kept, and the next pull
        applies only the level-0 files written since (as ``litestream restore
        -f`` does), when they continue it without a gap, and when the result
        continues the verified copy cleanly. Anything else (files compacted
        away, a rebuilt or damaged replica, a fork, a peer cited further than
        held here) is a whole restore, as before, and only that restore is
        judged (kept as evidence, alarmed).
        """
        keep = self._keeps(peer)
        if self._follows(peer):
            record = self.session.vault.journal(peer.journal)
            if record is not None and ls.apply_level0(peer.replica, peer.mirror, peer.kept, txid):
                peer.kept = txid
                if archive.continues(record, peer.out, peer.mirror):
                    return True
        peer.kept = None
        if not ls.restore(peer.replica, peer.mirror, txid=txid if keep else None):  # exactly ``txid``: the next files continue it
            return False
        if keep:
            ls.rollback_mode(peer.mirror)
            peer.kept = txid
        return True

    def _drop_mirror(self, peer: Peer) -> None:
        peer.kept = None
        if peer.follower is None:
            with contextlib.suppress(OSError):
                peer.mirror.unlink()

    def _mark_rechecks(self) -> None:
        """Peers whose replica must be read even if its TXID did not move: cited further than held here, or forked in a citation."""
        for store in self._cohorts():
            with store.lock:  # citation_forks keeps what it read in the view: never beside a fold on the UI thread
                suspect = set(store.view.cited_beyond()) | set(store.view.citation_forks())
            for peer in self._peers.values():
                if peer.cohort == store.id and peer.journal in suspect and peer.journal not in store.alarms:
                    peer.recheck = True

    def _take(self, peer: Peer, report: OnceReport | None = None) -> bool:
        """Join what the mirror holds to this device's verified copy (see :mod:`circle.store.archive`); True if it grew."""
        taken = self.session.store(peer.cohort).take_copy(peer.journal, peer.mirror)
        peer.recheck = False
        if peer.kept is None or taken.problem:  # a restore's output is only a way in; a follower keeps its own
            self._drop_mirror(peer)
        if taken.problem:
            peer.state = "problem"
            self._problems[peer.journal] = f"{peer.member}'s journal: {taken.problem}"
            if report is not None:
                report.problems.append(self._problems[peer.journal])
        else:
            peer.state = "caught up" if peer.follower is None else "following"
            self._problems.pop(peer.journal, None)
        if taken.added:
            peer.last_received = time.time()
            self._changed.add(peer.cohort)
        return bool(taken.added)

    def _mark_sent(self, db: Path) -> None:
        for store in self._cohorts():
            if store.journal.path == db:
                self._set_sent(store.entry.journal, written(store))

    # ---- running in the background --------------------------------------
    def start(self, focus: str | None = None) -> None:
        """Start replicating and following; returns at once."""
        with self._lock:
            if self._thread is not None:
                return
            self.focus = focus
            self._stop.clear()
            self._watch = FolderWatch()
            self._state = "syncing"
            self._thread = threading.Thread(target=self._run, args=(self._watch,), name="circle-sync", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            watch, thread = self._watch, self._thread
            if watch is not None:
                watch.wake()
        if thread is not None:
            thread.join(timeout=10)
        with self._lock:
            self._thread = None
            for peer in self._peers.values():  # before the watch closes: followers wake it
                if peer.follower is not None:
                    peer.follower.stop()
                    peer.follower = None
                if peer.kept is not None and (thread is None or not thread.is_alive()):
                    self._drop_mirror(peer)
            if watch is not None and (thread is None or not thread.is_alive()):  # a thread still in a restore keeps its watch
                watch.close()
            self._watch = None
            for rep in self._replicators.values():
                rep.stop()
            self._replicators.clear()
        if self._unsaved:
            with contextlib.suppress(CircleError):  # only the "not yet sent" count of the next start depends on it
                self.session.vault.save()
            self._unsaved = False
        self._state = "off"

    def set_focus(self, cohort_id: str | None) -> None:
        """Keep live followers for the cohort on screen only."""
        with self._lock:
            self.focus = cohort_id
            self._poll_now = True  # start the new cohort's followers now, not at the next full pass
            if self._watch is not None:
                self._watch.wake()
            for peer in self._peers.values():
                if peer.follower is not None and peer.cohort != cohort_id:
                    peer.follower.stop()
                    peer.follower = None

    def _run(self, watch: FolderWatch) -> None:
        """Full passes every ``poll``, light checks every tick; woken at once when a watched folder changes or a follower applied.

        A tick is ``interval`` while a folder on screen must be polled (inotify
        cannot watch it, or it is on a network share, where the kernel never
        hears of another machine's writes) and :data:`SLOW_TICK` otherwise:
        then the kernel or a follower wakes the service, and the tick is only
        a safety net (and notices a stick pulled out).
        """
        first = True  # a full pass at once, the next a second in: Litestream has shipped by then
        next_poll = time.time() + 1.0
        next_tick = 0.0
        tick = self.interval
        woken: set[str] = set()
        on_screen: list[Peer] = []  # folder peers of the cohort on screen, as watched during the last wait
        local_fs: dict[str, bool] = {}  # watched folder -> on a file system only this machine changes
        while not self._stop.is_set():
            full = False
            try:
                now = time.time()
                look = [p for p in on_screen if p.watch in woken]  # the kernel said their folder changed
                if first or now >= next_poll or self._poll_now or self._marks_changed():
                    if not first:
                        next_poll = now + self.poll
                    first, full, next_tick, self._poll_now = False, True, now + tick, False
                    self._full_pass()
                elif now >= next_tick:
                    next_tick = now + tick
                    self._update_sent(folders_only=True)
                    self._gather_rounds(on_screen_folder=True)  # a stat or three: lines of the round on screen show within a tick
                    # One stat per folder on screen: for shares whose changes the kernel does not report.
                    look += [p for p in on_screen if p.looks_changed() and p not in look]
                self._pull_changed(peers=look)
                self._followed_changes()
                if self._changed:
                    while self._changed:
                        self._ingest(self.session.store(self._changed.pop()))
                    self._follow_moves()  # an admission may have given a pending cohort its real id
                self._problems.pop("service", None)
                self._state = "offline" if self._all_unreachable() else ("problem" if self._problems else "up to date")
            except CircleError as exc:
                self._problems["service"] = exc.line()
                self._state = "problem"
            on_screen = [p for p in self._peers.values() if p.cohort == self.focus and p.follower is None and p.local]
            watched = watch.watch({p.watch for p in on_screen if p.watch}, recheck=full)
            if full:
                local_fs.clear()  # mounts change: a stick swapped for a share at the same path
            for w in watched - local_fs.keys():
                local_fs[w] = not remote_fs(w)  # reads the mount table: once per folder and full pass
            trusted = {w for w in watched if local_fs[w]}
            tick = self.interval if any(p.watch not in trusted for p in on_screen) else max(SLOW_TICK, self.interval)
            next_tick = min(next_tick, time.time() + tick)
            woken = watch.wait(max(0.0, min(next_tick, next_poll) - time.time()))

    def _gather_rounds(self, report: OnceReport | None = None, on_screen_folder: bool = False) -> None:
        """Fetch new lines of anonymous rounds under way or near their date (see :meth:`CohortStore.round_targets`).

        A full pass looks for every cohort; a tick only for the cohort on
        screen, and only if its location is a folder (a stat per slot). An
        SFTP or S3 location costs a listing per slot, so a pass of the service
        looks there at most every :data:`ROUNDS_REMOTE_EVERY` seconds
        (``circle sync --once`` always looks).
        """
        now = time.time()
        for store in self._cohorts():
            remote = self._location(store)[1] is None
            if on_screen_folder and (store.id != self.focus or remote):
                continue
            if remote and report is None:
                if now - self._rounds_at.get(store.id, 0.0) < ROUNDS_REMOTE_EVERY:
                    continue
                self._rounds_at[store.id] = now
            try:
                if store.gather_rounds(ReplicaDrop(self.session, store), now):
                    self._changed.add(store.id)
                self._problems.pop(f"round:{store.id}", None)
            except SyncError:
                continue  # the journals' pull tells what is wrong with the location; the round is gathered when it answers
            except CircleError as exc:
                self._problems[f"round:{store.id}"] = exc.line()
                if report is not None:
                    report.problems.append(exc.line())

    def _full_pass(self) -> None:
        """Check every location, (re)start what replicates and follows, heal, pull what changed, count what was sent."""
        with ls.bounded():  # a location out of reach costs one wait, however many journals it holds
            self._check_locations()
            self._restore_own()
            self._ensure_replicators()
            self._refresh_peers()
            self._ensure_followers()
            for rep in self._replicators.values():
                rep.heal_broken()  # a replica folder that vanished or came back with a gap
            self._pull_changed()
            self._update_sent()
            self._gather_rounds()

    def _ingest(self, store: CohortStore) -> None:
        r = self.ingest(store)
        if r.folded and self.on_change is not None:
            self.on_change(store)

    def _ensure_replicators(self) -> None:
        # One process per SFTP/S3 location (one unreachable box stops a whole litestream process);
        # every folder location shares one (a folder location that is away is left out: see _away).
        by_location: dict[str, list[tuple[Path, ls.Replica]]] = {}
        failed = {store.journal.path for store in self._cohorts() if describe_replica(self._location(store)[0]) in self._outages}
        for db, replica in self._own():
            if db in failed:  # its location failed the check: no process waits on it until it answers again
                continue
            key = "folders" if replica.kind == "file" else replica.url.rsplit("/", 1)[0]
            by_location.setdefault(key, []).append((db, replica))
        busy = [store.journal.path for store in self._cohorts() if store.id == self.focus]
        with self._lock:
            for loc, dbs in by_location.items():
                rep = self._replicators.get(loc)
                if rep is None:
                    rep = ls.Replicator(
                        dbs, config_dir=self.session.dir / "sync", monitor_interval=self.interval, idle_interval=max(IDLE_INTERVAL, self.interval), busy=busy
                    )
                    rep.start()
                    self._replicators[loc] = rep
                else:
                    rep.set_dbs(dbs, busy=busy)  # restarts litestream only if the databases or their intervals changed
            for loc in set(self._replicators) - set(by_location):  # its only location is away: ship nothing until it is back
                self._replicators.pop(loc).stop()

    def _ensure_followers(self) -> None:
        """Live followers (`restore -f`, ~30 MB each) only for SFTP/S3 peers of the cohort on screen, a few at most.

        Folder replicas are checked by listing the folder every tick, which
        costs no process; everything else is polled.
        """
        running = sum(1 for p in self._peers.values() if p.follower is not None)
        for peer in sorted(self._peers.values(), key=lambda p: -p.last_received):
            if running >= MAX_FOLLOWERS:
                break
            if peer.cohort != self.focus or peer.local or peer.follower is not None or peer.where in self._outages:
                continue
            watch = self._watch
            peer.follower = ls.Follower(
                peer.replica,
                peer.mirror,
                interval=self.interval,
                config_dir=self.session.dir / "sync",
                on_change=None if watch is None else lambda _txid, w=watch: w.wake(),
            )
            peer.follower.start()
            peer.state = "following"
            running += 1

    def _followed_changes(self) -> None:
        now = time.time()
        for peer in self._peers.values():
            f = peer.follower
            if f is None:
                continue
            if f.txid_changed():
                with contextlib.suppress(CircleError):  # the mirror may be mid-restart; the next change takes it
                    self._take(peer)
            if f.state == "following" and f.last_error is None and f.alive():  # it logs an error on every poll it misses
                peer.checked = now

    def _sent(self, jid: str) -> int:
        """The newest own seq known to be on the replica; kept in the keystore, so a restart does not count everything as unsent."""
        j = self.session.vault.journal(jid)
        return j.sent if j is not None else 0

    def _set_sent(self, jid: str, seq: int) -> None:
        j = self.session.vault.journal(jid)
        if j is not None and seq > j.sent:
            j.sent = seq  # saved with the keystore's next save, or at stop
            self._unsaved = True

    def _update_sent(self, folders_only: bool = False) -> None:
        """Own events count as sent once the replica holds a TXID whose LTX holds them."""
        for store in self._cohorts():
            jid = store.entry.journal
            base, folder = self._location(store)
            if folders_only and base.kind != "file":
                continue
            head = written(store)  # read before the local TXID: what that TXID captured includes it
            if folders_only and self._sent(jid) >= head:
                continue
            if folder is not None and not folder_marked(folder):  # what Litestream shipped under a mount point was not sent
                continue
            try:
                local = ls.local_txid(store.journal.path)
                remote = ls.latest_txid(base.child(store.entry.replica_path))
            except CircleError:
                continue
            whole = local is not None and ls.captured(store.journal.path, local)  # Litestream has read every commit
            pending = self._pending_txid.get(jid)
            if whole and remote is not None and remote >= local:
                self._set_sent(jid, head)
                if self._touched.get(jid) != local:  # all shipped: end a big commit with a tiny one
                    self._touched[jid] = local
                    if (ls.local_ltx_size(store.journal.path, local) or 0) > TOUCH_ABOVE:
                        with contextlib.suppress(CircleError):  # only saves CPU; never worth a problem
                            store.journal.touch()
            elif remote is not None and pending is not None and remote >= pending[0]:
                self._set_sent(jid, pending[1])
            if whole and self._sent(jid) < head:
                self._pending_txid[jid] = (local, head)

    def _verified(self, jid: str) -> int:
        j = self.session.vault.journal(jid)
        return j.seq if j is not None else 0

    def _all_unreachable(self) -> bool:
        """Whether every problem is only a replica out of reach: offline is a normal state, not a problem."""
        offline = {p.journal for p in self._peers.values() if p.state == "unreachable"} | set(self._away_now)
        offline |= {f"location {where}" for where, outage in self._outages.items() if outage.offline}
        return bool(self._problems) and set(self._problems) <= offline and all(o.offline for o in self._outages.values())

    # ---- status ----------------------------------------------------------
    def status(self) -> SyncStatus:
        """What the badge shows; read on the UI's thread, once a second, while the service's thread changes what it reads."""
        cohorts = []
        now = time.time()
        every = list(self._peers.values())  # copies: the service adds peers as members are admitted, and problems come and go
        problems = dict(self._problems)
        for store in self._cohorts():
            jid = store.entry.journal
            unsent = max(0, written(store) - self._sent(jid))
            peers = tuple(
                PeerStatus(p.member, p.journal, self._verified(p.journal), p.last_received, p.state, p.checked) for p in every if p.cohort == store.id
            )
            oldest = min((p.checked for p in peers), default=0.0)
            lag = max(0.0, now - oldest) if oldest else None  # one peer never checked: unknown, not zero
            loc = store.entry.replica or default_location(self.session.home.root)
            problem = problems.get(str(store.journal.path), "") or next(
                (problems[p.journal] for p in every if p.cohort == store.id and p.journal in problems), ""
            )
            reach, why = "ok", ""
            away = self._away_now.get(str(store.journal.path))
            outage = self._outages.get(describe_replica(self._location(store)[0]))
            if away is not None:
                reach, why = "offline", AWAY
            elif outage is not None:
                reach, why, problem = ("offline", outage.error.title, problem) if outage.offline else ("wrong", "", outage.error.line())
            since = self._last_reached(store) if reach == "offline" else 0.0
            last_change = max((p.last_received for p in peers), default=0.0)
            cohorts.append(CohortSync(store.id, self._name(store), describe(loc), unsent, lag, peers, problem, reach, since, why, last_change))
        message = next(iter(problems.values()), "")
        told = [c.reach_line(now) for c in cohorts if c.reach == ("offline" if self._state == "offline" else "wrong")]
        return SyncStatus(self._state, told[0] if told else message, tuple(cohorts))


def written(store: CohortStore) -> int:
    """The newest seq of this identity's journal: what this process wrote, or another (a command beside `circle sync`)."""
    return max(store.written(), last_seq(store.journal.path))


def describe_replica(replica: ls.Replica) -> str:
    return describe({k: getattr(replica, k) for k in ("url", "endpoint")})


def journal_fetcher(session: Session) -> Callable[[CohortStore, str, Path], bool]:
    """How admitting fetches a newcomer's journal: restore it from the cohort's replica location."""

    def fetch(store: CohortStore, replica_path: str, out: Path) -> bool:
        return ls.restore(replica_for(session, store).child(replica_path), out)

    return fetch
