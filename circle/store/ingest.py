"""Ingest: check what is new in a journal against its verified head, keep evidence of forks, open what we can.

A journal is read through a fresh read-only connection, its hash chain and
newest signature are checked once (:func:`circle.store.chain.check_chain`,
keeping each envelope's hash, not the envelope), and the verified head moves
on in the keystore; what it accepted is read again, in the same read
transaction, as it is opened (:class:`Accepted`). A fork (two signed events at
one position) or a rollback (a journal that ends before its verified head) is
an alarm: the envelopes are kept under ``evidence/`` and nothing more of that
journal is folded. Opening sorts each accepted envelope by the scope of its
key; the caller decides what each scope's events are for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from circle.crypto import envelope
from circle.crypto.keystore import atomic_write
from circle.errors import CircleError, CorruptFile, InvalidEnvelope, NotFound
from circle.models.events import Event, Shared, decode_payload, make_event
from circle.models.governance import ROSTER_KINDS
from circle.models.schema import known_fields
from circle.paths import private_dir
from circle.store.chain import ChainResult, Checked, check_chain
from circle.store.journal import Reading
from circle.store.keys import WRAP_KEY_ID, wrap_scope_key
from circle.store.vault import JournalRecord, Scope, ScopeKey


class Problem(str):
    """One problem line, as people read it, that knows whether it says what to do itself.

    It is the line (a ``str``: reports, logs and ``--json`` hold it unchanged);
    ``acts`` is True when the line ends with what to run (a damaged file's
    error, the own journal's restore), so a command listing problems adds
    "run 'circle verify'" (which lists the evidence) only to the others. A
    plain ``str`` among problems says nothing of what to do.
    """

    acts: bool

    def __new__(cls, text: str, *, acts: bool = False) -> Problem:
        line = super().__new__(cls, text)
        line.acts = acts
        return line

    @classmethod
    def of(cls, prefix: str, exc: CircleError) -> Problem:
        """``prefix: exc.line()``; a damaged or missing file's error names the command to run in its hint ('circle verify',
        'circle sync'), where a failed check (InvalidEnvelope) says only why and a disk's error (StorageError) what to look at."""
        return cls(f"{prefix}: {exc.line()}", acts=isinstance(exc, CorruptFile | NotFound))


@dataclass
class IngestReport:
    """What one ingest pass did, for the status line and `circle verify`."""

    events: int = 0
    folded: int = 0
    signatures: int = 0
    journals: int = 0
    skipped_other_scopes: int = 0
    opened: int = 0  # envelopes decrypted and decoded (verify opens every one it holds a key for)
    held_aside: int = 0  # events refused by the cohort's rules (see View.refused)
    refused_wraps: int = 0  # keys wrapped to us that match no valid epoch
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each; a Problem says whether it says what to do
    refusals: list[str] = field(default_factory=list)  # one line per reason: how many events, and why

    def add(self, other: IngestReport) -> None:
        self.opened += other.opened
        self.refusals += other.refusals
        self.held_aside += other.held_aside
        self.refused_wraps += other.refused_wraps
        self.events += other.events
        self.folded += other.folded
        self.signatures += other.signatures
        self.journals += other.journals
        self.skipped_other_scopes += other.skipped_other_scopes
        self.missing += other.missing
        self.problems += other.problems


@dataclass
class Opened:
    """The events of one journal's accepted envelopes, by scope, and its wrap envelopes.

    ``peers`` says, for each dyad-scope event, whose channel its key belongs to (the other party, as this device holds it).
    """

    events: dict[Scope, list[Event]] = field(default_factory=dict)
    wraps: list[Event] = field(default_factory=list)
    peers: dict[str, str] = field(default_factory=dict)
    opaque: list[tuple[str, int, str]] = field(default_factory=list)  # (journal, seq, envelope id) of every accepted envelope not of the cohort scope
    whole: list[tuple[str, str]] = field(default_factory=list)  # (event id, key id) of roster-class events opened with an epoch's own key
    count: int = 0  # events opened (wraps aside), kept or not
    cohort: int = 0  # of them, the cohort's (folded by the view)
    folded: int = 0  # what ``open_events``' fold said it folded (new to it)
    error: Exception | None = None  # what ended the opening early (the journal changed while it was read); see open_events


Rewind = tuple[int, bytes, bytes]  # (seq, hash, envelope) to start a walk from instead of the verified head


class Accepted:
    """The envelopes of a journal newly accepted, read again from it each time they are walked: never all held at once.

    A cold open of a 100k-event journal held every envelope with its header
    (about 1.2 KB each) while its chain was checked. The check keeps only each
    one's hash; this reads them again in the check's own read transaction
    (:class:`circle.store.journal.Reading`), so it reads what was checked, and
    compares each with its hash all the same. Close it, or use ``with``, to let
    go of the journal.
    """

    def __init__(self, journal: Reading, first: int, digests: bytearray) -> None:
        self._journal, self._first, self._digests = journal, first, digests

    def __len__(self) -> int:
        return len(self._digests) // envelope.HASH_LEN

    def last(self) -> tuple[int, bytes] | None:
        """The seq and id of the last envelope accepted, if any."""
        n = len(self)
        return None if not n else (self._first + n - 1, bytes(self._digests[-envelope.HASH_LEN :]))

    def __iter__(self) -> Iterator[Checked]:
        first, digests, size = self._first, self._digests, envelope.HASH_LEN
        for i, row in enumerate(self._journal.rows(first - 1, first + len(self) - 1)):
            digest = bytes(digests[i * size : (i + 1) * size])
            if row.seq != first + i or envelope.event_id(row.blob) != digest:
                raise CorruptFile("journal changed while it was read", f"{self._journal.path.name}: run 'circle verify'")
            yield Checked(row.seq, row.blob, digest, envelope.parse(row.blob))

    def close(self) -> None:
        self._journal.close()

    def __enter__(self) -> Accepted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def forks_on_record(evidence_dir: Path) -> Iterator[tuple[str, str]]:
    """The forks this device found before, from the evidence it kept: (journal id, what was found).

    A fork never heals: a journal with two histories stays stopped at the
    verified head. Found once, it is said on every run after, not only by the
    one that found it (the next skips a replica that did not change).
    """
    if not evidence_dir.is_dir():
        return
    for path in sorted(evidence_dir.glob("*-fork*.json")):
        try:
            doc = json.loads(path.read_bytes())
            jid, problem = doc["journal"], doc["problem"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # damaged evidence says nothing; the journal's own check runs as before
        if isinstance(jid, str) and isinstance(problem, str) and doc.get("kind") == "fork":
            yield jid, problem


class JournalChecker:
    """Checks journals of one cohort against their verified heads.

    Args:
        evidence_dir: where the envelopes of a fork or rollback are kept.
    """

    def __init__(self, evidence_dir: Path) -> None:
        self.evidence_dir = evidence_dir
        self.alarms: dict[str, str] = dict(forks_on_record(evidence_dir))  # journal id -> what was found (fork, rollback)

    def check(
        self, record: JournalRecord, path: Path, report: IngestReport, *, from_start: bool, every_signature: bool, rewind: Rewind | None = None
    ) -> Accepted | None:
        """The envelopes of a journal newly accepted, or None when nothing of it may be folded (missing, fork, rollback, unreadable).

        With ``from_start`` the chain is walked from the first event and
        compared with the verified head; else from ``rewind`` (where a
        snapshot ends) or the verified head. The head moves on in ``record``.
        What is returned holds the journal open until it is closed.
        """
        jid = record.id
        if not path.exists():
            report.missing.append(jid)
            return None
        verifier = record.verifier()
        head_seq, head_hash, head_env = record.seq, record.hash, record.head
        journal = None
        try:
            journal = Reading(path)

            def again(seq: int) -> bytes:
                for row in journal.rows(seq - 1, seq):
                    return row.blob
                raise CorruptFile("journal changed while it was read", f"{path.name}: run 'circle verify'")

            if from_start:
                start, res = 0, check_chain(journal.rows(0), journal_id=bytes.fromhex(jid), verifier=verifier, every_signature=every_signature, reread=again)
                if res.head_seq < head_seq or (head_seq and res.digests[(head_seq - 1) * envelope.HASH_LEN : head_seq * envelope.HASH_LEN] != head_hash):
                    res = self._compare_with_head(res, journal, jid, verifier, head_seq, head_hash, head_env)
            else:
                start, s_hash, s_env = rewind or (head_seq, head_hash, head_env)
                res = check_chain(
                    journal.rows(max(start - 1, 0)),
                    journal_id=bytes.fromhex(jid),
                    verifier=verifier,
                    head_seq=start,
                    head_hash=s_hash,
                    head_envelope=s_env,
                    every_signature=every_signature,
                    reread=again,
                )
                if res.kind == "" and res.head_seq < head_seq:
                    res.kind, res.problem = "rollback", f"journal ends before event {head_seq}, which was already verified"
        except CircleError as exc:
            if journal is not None:
                journal.close()
            report.problems.append(Problem.of(f"journal {jid[:8]}", exc))
            return None
        report.events += res.events_checked
        report.signatures += res.signatures_checked
        if res.kind in ("fork", "rollback"):
            journal.close()
            self._alarm(jid, res)
            report.problems.append(f"journal {jid[:8]}: {res.problem}")
            return None
        if res.problem:
            report.problems.append(f"journal {jid[:8]}: {res.problem}")
        if res.head_seq > head_seq:
            record.advance(res.head_seq, res.head_hash, res.head_envelope)
        return Accepted(journal, start + 1, res.digests)

    def _compare_with_head(self, res: ChainResult, journal: Reading, jid: str, verifier, head_seq: int, head_hash: bytes, head_env: bytes) -> ChainResult:
        """A walk from the start did not reach the verified head intact: rollback or fork."""
        again = check_chain(
            journal.rows(max(head_seq - 1, 0)),
            journal_id=bytes.fromhex(jid),
            verifier=verifier,
            head_seq=head_seq,
            head_hash=head_hash,
            head_envelope=head_env,
        )
        if again.kind in ("fork", "rollback"):
            return again
        # Damaged after it was verified: keep the intact prefix, report the damage.
        res.kind, res.problem = "tampered", again.problem or res.problem or f"journal damaged before event {head_seq}"
        return res

    def alarm_with(self, jid: str, kind: str, problem: str, *envelopes: bytes) -> None:
        """Raise an alarm on a journal found wrong some other way (a citation), with the envelopes that show it."""
        self.alarms[jid] = problem
        doc = {"journal": jid, "kind": kind, "problem": problem, "envelopes": [e.hex() for e in envelopes if e]}
        private_dir(self.evidence_dir)
        atomic_write(self.evidence_dir / f"{jid}-{kind}-cited.json", json.dumps(doc).encode())

    def _alarm(self, jid: str, res: ChainResult) -> None:
        self.alarms[jid] = res.problem
        if res.evidence:
            doc = {"journal": jid, "kind": res.kind, "problem": res.problem, "envelopes": [e.hex() for e in res.evidence]}
            private_dir(self.evidence_dir)
            atomic_write(self.evidence_dir / f"{jid}-{res.kind}.json", json.dumps(doc).encode())


_FOLDED = (Scope.COHORT, Scope.ROSTER)  # scopes whose events the cohort's view folds (a roster key opens part of an epoch)


def open_events(
    accepted: Iterable[Checked],
    record: JournalRecord,
    cohort_id: str,
    keys: dict[bytes, ScopeKey],
    report: IngestReport,
    shared: Shared | None = None,
    alternates: dict[bytes, list[ScopeKey]] | None = None,
    each: Callable[[Event], Event] | None = None,
    keep: bool = True,
    fold: Callable[[Iterable[Event]], int] | None = None,
) -> Opened:
    """Open every accepted envelope we hold a key for, sorted by scope.

    An event whose author is not the journal's owner, or that names another
    cohort, is rejected and reported; envelopes of keys we do not hold (a
    later epoch, someone else's private scope) are counted and left alone.
    ``each`` is given every event for the cohort's view as it is opened, and
    returns the event to keep (the store leaves a note's text in the journal
    there, so a journal's texts are never all held at once). Without ``keep``
    events are opened and counted (``Opened.count``), not kept: `circle
    verify` held every note's text of a 100k-event journal at once.

    ``fold`` (the view's ``apply``) is handed the cohort's events as they are
    opened, so a journal's events are never all held as objects: a cold open
    of a 100k-event journal held every note as an event until the view had
    kept it as columns. What it returns is ``Opened.folded``, and
    ``Opened.events`` has no cohort scope then. A journal that changed while
    it was read, or anything raised while opening, ends the events handed to
    ``fold`` (what came before is a checked prefix of the chain, folded whole)
    and is left in ``Opened.error``: the caller raises it once it has taken
    what that prefix held besides (positions, wraps). Without ``fold`` it is
    raised here.
    """
    out = Opened()
    cohort = _caught(_opened(accepted, record, cohort_id, keys, report, shared, alternates, each, keep, out), out)
    if fold is not None:
        out.folded = fold(cohort)
        for _ in cohort:  # whatever ``fold`` left unread is still opened and counted
            pass
    elif keep:
        if events := list(cohort):
            out.events[Scope.COHORT] = events
    else:
        for _ in cohort:
            pass
    if out.error is not None and fold is None:
        raise out.error
    return out


def _caught(walk: Iterator[Event], out: Opened) -> Iterator[Event]:
    """``walk``'s events; whatever is raised on the way (the journal changed under the read, or a caller's ``each``)
    ends it there and is kept in ``out.error``: a fold handed these events is never left half way through one."""
    try:
        yield from walk
    except Exception as exc:  # noqa: BLE001 - raised again by whoever opened them, once the prefix is folded whole
        out.error = exc


def _opened(
    accepted: Iterable[Checked],
    record: JournalRecord,
    cohort_id: str,
    keys: dict[bytes, ScopeKey],
    report: IngestReport,
    shared: Shared | None,
    alternates: dict[bytes, list[ScopeKey]] | None,
    each: Callable[[Event], Event] | None,
    keep: bool,
    out: Opened,
) -> Iterator[Event]:
    """:func:`open_events`' walk: yields the cohort's events as they are opened; the rest go into ``out``."""
    jid = record.id
    for c in accepted:
        kid = c.header.key_id
        key = None if kid == WRAP_KEY_ID else keys.get(kid)  # the wrap scope's id is never a key held: checked first
        if key is None or key.scope not in _FOLDED:
            out.opaque.append((jid, c.seq, c.hash.hex()))
        if kid == WRAP_KEY_ID:
            try:
                out.wraps.append(
                    decode_payload(envelope.open_envelope(c.blob, c.header, wrap_scope_key(bytes.fromhex(jid))), id=c.hash.hex(), journal=jid, seq=c.seq)
                )
            except InvalidEnvelope as exc:
                report.problems.append(f"journal {jid[:8]} event {c.seq} rejected: {exc.reason}")
            continue
        if key is None:
            report.skipped_other_scopes += 1
            continue
        ev = None
        for k in (key, *(alternates or {}).get(kid, ())):  # a key id two wrappers gave different keys: each, until it settles
            try:
                ev = decode_payload(envelope.open_envelope(c.blob, c.header, k.secret), id=c.hash.hex(), journal=jid, seq=c.seq, shared=shared)
            except InvalidEnvelope as exc:
                problem = exc.reason
                continue
            key = k
            break
        if ev is None:
            report.problems.append(f"journal {jid[:8]} event {c.seq} rejected: {problem}")
            out.opaque.append((jid, c.seq, c.hash.hex()))  # a verified position all the same, as on a device without its key
            continue
        if (body := known_fields(ev.kind, ev.body)) is not ev.body:  # fields its kind does not have are ignored, and not kept
            ev = make_event(ev.id, ev.journal, ev.seq, ev.kind, ev.cohort, ev.author, ev.lamport, ev.ts, body, ev.deps)
        if ev.author != record.owner or (key.scope is not Scope.INVITE and ev.cohort != cohort_id):
            report.problems.append(f"journal {jid[:8]} event {c.seq} rejected: author or cohort does not match the journal")
            out.opaque.append((jid, c.seq, c.hash.hex()))
            continue
        if key.scope is Scope.COHORT and ev.kind in ROSTER_KINDS:  # right only in an epoch from before roster keys: the fold decides
            out.whole.append((ev.id, key.id))
        if key.scope is Scope.ROSTER and ev.kind not in ROSTER_KINDS:  # what is said is never sealed for newcomers' keys
            report.problems.append(f"journal {jid[:8]} event {c.seq} rejected: {ev.kind} sealed with a roster key")
            out.opaque.append((jid, c.seq, c.hash.hex()))  # still a position others may cite, as on a newcomer's device
            continue
        scope = Scope.COHORT if key.scope is Scope.ROSTER else key.scope
        out.count += 1
        if key.scope is Scope.DYAD:
            out.peers[ev.id] = key.peer
        if scope is Scope.COHORT:
            out.cohort += 1
            yield ev if each is None else each(ev)
        elif keep:
            out.events.setdefault(scope, []).append(ev)


def admission_of(accepted: Iterable[Checked], record: JournalRecord, keys: dict[bytes, ScopeKey], member: str, journal: str) -> str | None:
    """The cohort id in which the inviter's journal admits ``member`` with ``journal`` (a join answered), if it does.

    A pending join adopts its cohort only on its own admission: old wraps of
    an earlier membership in the same journal must not stand for it.
    """
    for c in accepted:
        key = keys.get(c.header.key_id)
        if key is None or key.scope not in _FOLDED:
            continue
        try:
            ev = decode_payload(envelope.open_envelope(c.blob, c.header, key.secret), id=c.hash.hex(), journal=record.id, seq=c.seq)
        except InvalidEnvelope:
            continue
        if ev.kind == "member.admitted" and ev.author == record.owner and ev.body.get("member") == member and ev.body.get("journal") == journal:
            return ev.cohort
    return None
