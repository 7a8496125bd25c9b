"""The home, unlocked identities and cohort services: the commands and queries of circle.

Screens, the CLI and exports call these services; they never open a database
or touch a key themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from circle.crypto import envelope
from circle.crypto.identity import Identity, PublicIdentity, fingerprint
from circle.crypto.keystore import Keystore, atomic_write, read_label
from circle.errors import AlreadyExists, CircleError, CorruptFile, InvalidEnvelope, NotFound, UsageError
from circle.models.events import Event, decode_payload, encode_payload
from circle.models.view import View
from circle.store.chain import ChainResult, check_chain
from circle.store.journal import Journal, read_rows

KEYSTORE = "keystore"
WRAP_KEY_ID = bytes(16)  # the wrap scope: readable by anyone; secrecy comes from HPKE inside
LABEL_WRAP_SCOPE = b"circle/v1/wrap-scope"
LABEL_KEY_WRAP = b"circle/v1/key-wrap"
LABEL_EPOCH = b"circle/v1/epoch"

LABEL_SNAPSHOT = b"circle/v1/snapshot"
SNAPSHOT_MAGIC = b"CRCLSNP1"
SNAPSHOT_AFTER = 2000  # events folded on a cold open before a snapshot is worth writing

Clock = Callable[[], float]


def new_id() -> str:
    """A random id for a meeting, item or action: 64 bits, hex."""
    return os.urandom(8).hex()


def _wrap_scope_key(journal_id: bytes) -> bytes:
    return hashlib.sha256(LABEL_WRAP_SCOPE + journal_id).digest()


@dataclass(frozen=True)
class IdentityInfo:
    id: str
    label: str
    path: Path


@dataclass
class IngestReport:
    """What one ingest pass did, for the status line and `circle verify`."""

    events: int = 0
    folded: int = 0
    signatures: int = 0
    journals: int = 0
    skipped_other_scopes: int = 0
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        self.events += other.events
        self.folded += other.folded
        self.signatures += other.signatures
        self.journals += other.journals
        self.skipped_other_scopes += other.skipped_other_scopes
        self.missing += other.missing
        self.problems += other.problems


class Home:
    """A circle home directory: one or more identities, each with its own files."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def identities(self) -> list[IdentityInfo]:
        base = self.root / "identities"
        if not base.is_dir():
            return []
        out = []
        for d in sorted(base.iterdir()):
            ks = d / KEYSTORE
            if ks.is_file():
                try:
                    out.append(IdentityInfo(d.name, read_label(ks), ks))
                except CircleError:
                    out.append(IdentityInfo(d.name, "(damaged keystore)", ks))
        return out

    def find(self, who: str | None) -> IdentityInfo:
        """The identity named ``who`` (label or id prefix), or the only one."""
        ids = self.identities()
        if not ids:
            if not self.root.exists():
                raise NotFound("no circle home here", f"{self.root} does not exist; run 'circle init --name NAME' or pass --home")
            raise NotFound("no identity in this home", f"run 'circle init --name NAME' (home: {self.root})")
        if who is None:
            if len(ids) == 1:
                return ids[0]
            raise UsageError("several identities share this home", "choose one with --identity NAME: " + ", ".join(i.label for i in ids))
        w = who.lower()
        hits = [i for i in ids if i.label.lower() == w] or [i for i in ids if i.label.lower().startswith(w) or i.id.startswith(w)]
        if len(hits) != 1:
            raise NotFound(f"no single identity matches {who!r}", "known here: " + ", ".join(i.label for i in ids))
        return hits[0]

    def create_identity(self, name: str, passphrase: str, clock: Clock = time.time) -> Session:
        name = name.strip()
        if not name:
            raise UsageError("a name is needed", "pass --name with the name your cohort knows you by")
        if any(i.label.lower() == name.lower() for i in self.identities()):
            raise AlreadyExists(f"an identity named {name!r} already exists in this home", "it is kept as it is; choose another name or --home")
        if len(passphrase) < 8:
            raise UsageError("passphrase too short", "use at least 8 characters; a few words are best")
        ident = Identity.generate()
        d = self.root / "identities" / ident.id.hex()
        d.mkdir(parents=True, mode=0o700)
        data = {
            "v": 1,
            "name": name,
            "identity": {"id": ident.id.hex(), "sign": ident.sign_seed.hex(), "mlkem": ident.mlkem_seed.hex(), "x25519": ident.x25519_sk.hex()},
            "cohorts": {},
            "journals": {},
            "snapshot_key": os.urandom(32).hex(),
        }
        ks = Keystore.create(d / KEYSTORE, passphrase, name, data)
        return Session(self, d, ks, clock)

    def unlock(self, passphrase: str, who: str | None = None, clock: Clock = time.time) -> Session:
        info = self.find(who)
        ks = Keystore.open(info.path, passphrase)
        if ks.data.get("identity", {}).get("id") != info.id:
            raise CorruptFile("this keystore belongs to another identity", f"{info.path} was copied from elsewhere; put the right keystore back from a backup")
        return Session(self, info.path.parent, ks, clock)


@dataclass(frozen=True)
class CohortInfo:
    id: str
    name: str
    members: int
    journal: str


class Session:
    """One unlocked identity: its keys, its cohorts and their services."""

    def __init__(self, home: Home, dir: Path, keystore: Keystore, clock: Clock = time.time) -> None:
        self.home = home
        self.dir = dir
        self.keystore = keystore
        self.clock = clock
        d = keystore.data["identity"]
        self.identity = Identity(bytes.fromhex(d["id"]), bytes.fromhex(d["sign"]), bytes.fromhex(d["mlkem"]), bytes.fromhex(d["x25519"]))
        self.public = self.identity.public()
        self.signer = self.identity.signer()
        self._cohorts: dict[str, CohortService] = {}

    @property
    def name(self) -> str:
        return str(self.keystore.data["name"])

    @property
    def id(self) -> str:
        return self.identity.id.hex()

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    # ---- cohorts -------------------------------------------------------
    def cohort_ids(self) -> list[str]:
        return sorted(cid for cid, e in self.keystore.data["cohorts"].items() if "moved_to" not in e)

    def cohorts(self) -> list[CohortInfo]:
        out = []
        for cid in self.cohort_ids():
            svc = self.cohort(cid)
            name = svc.view.cohort().name or "(waiting to be admitted)"
            out.append(CohortInfo(cid, name, len(svc.view.members()), self.keystore.data["cohorts"][cid]["journal"]))
        return sorted(out, key=lambda c: (c.name.lower(), c.id))

    def find_cohort(self, ref: str) -> CohortService:
        """A cohort by id, id prefix or name (case-insensitive)."""
        ids = self.cohort_ids()
        hits = [c for c in ids if c == ref or (len(ref) >= 4 and c.startswith(ref.lower()))]
        if not hits:
            hits = [c for c in ids if self.cohort(c).view.cohort().name.lower() == ref.lower()]
        if len(hits) != 1:
            names = ", ".join(self.cohort(c).view.cohort().name for c in ids) or "none yet"
            raise NotFound(f"no single cohort matches {ref!r}", f"cohorts here: {names}")
        return self.cohort(hits[0])

    def cohort(self, cid: str) -> CohortService:
        if cid not in self._cohorts:
            if cid not in self.keystore.data["cohorts"]:
                raise NotFound("unknown cohort", "list cohorts with 'circle cohorts'")
            svc = CohortService(self, cid)
            svc.load()
            self._cohorts[cid] = svc
        return self._cohorts[cid]

    def create_cohort(self, name: str, *, purpose: str = "", cadence: str = "fortnightly", meeting_minutes: int = 60,
                      confidentiality: str = "", feedback_norms: str = "", role: str = "mentor", profession: str = "",
                      replica: dict[str, Any] | None = None) -> CohortService:
        name = name.strip()
        if not name:
            raise UsageError("a cohort needs a name", "for example: circle cohort create 'Dietitians North'")
        cid = os.urandom(16).hex()
        jid = os.urandom(16)
        kid = os.urandom(16).hex()
        entry = {
            "journal": jid.hex(),
            "keys": {kid: {"k": os.urandom(32).hex(), "scope": "cohort", "epoch": 1}, os.urandom(16).hex(): {"k": os.urandom(32).hex(), "scope": "self", "epoch": 1}},
            "cohort_key": kid,
            "replica_path": os.urandom(16).hex(),
            "replica": replica,
        }
        self.keystore.data["cohorts"][cid] = entry
        self._trust_journal(jid.hex(), cid, self.public)
        self.keystore.save()
        svc = CohortService(self, cid)
        svc.load()
        self._cohorts[cid] = svc
        charter = {"name": name, "purpose": purpose, "cadence": cadence, "meeting_minutes": meeting_minutes,
                   "confidentiality": confidentiality, "feedback_norms": feedback_norms}
        svc.record_many([
            ("cohort.created", charter),
            ("member.admitted", svc.admission_body(self.public, self.name, role, profession, jid.hex(), entry["replica_path"])),
            ("keys.epoch_started", {"epoch": 1, "key_id": kid, "recipients": [self.id], "prev": ""}),
        ])
        return svc

    def _trust_journal(self, jid: str, cid: str, owner: PublicIdentity) -> None:
        j = self.keystore.data["journals"].setdefault(jid, {"seq": 0, "hash": envelope.ZERO_HASH.hex(), "head": ""})
        j.update({"cohort": cid, "owner": owner.id.hex(), "sign_pk": owner.sign_pk.hex()})

    # ---- verification --------------------------------------------------
    def close(self) -> None:
        """Write what is worth keeping (heads, snapshots) for every cohort opened."""
        for svc in list(self._cohorts.values()):
            svc.close()

    def problems(self) -> list[str]:
        """What opening the cohorts found wrong (damage, forks, rollbacks), one line each."""
        return [p for cid in self.cohort_ids() for p in self.cohort(cid).load_report.problems]

    def verify(self) -> IngestReport:
        """Re-verify every journal of every cohort: every signature and every link."""
        report = IngestReport()
        for cid in self.cohort_ids():
            report.add(self.cohort(cid).verify_all())
        return report

    def evidence_dir(self) -> Path:
        d = self.dir / "evidence"
        d.mkdir(mode=0o700, exist_ok=True)
        return d


Change = Callable[["CohortService", list[Event]], None]


class CohortService:
    """Commands and queries for one cohort, over its journals and its view."""

    def __init__(self, session: Session, cid: str) -> None:
        self.session = session
        self.id = cid
        self.view = View(cid)
        entry = self.entry
        self.journal_id = bytes.fromhex(entry["journal"])
        jdir = session.dir / "journals"
        jdir.mkdir(mode=0o700, exist_ok=True)
        self.journal = Journal(jdir / f"{entry['journal']}.db", self.journal_id)
        self.listeners: list[Change] = []
        self.alarms: dict[str, str] = {}
        self._rewind: dict[str, tuple[int, bytes, bytes]] = {}
        self._since_snapshot = 0  # events folded since the snapshot on disk
        self.load_report = IngestReport()
        # The sync service ingests from its own thread while people write from theirs.
        self.lock = threading.RLock()

    @property
    def entry(self) -> dict[str, Any]:
        return self.session.keystore.data["cohorts"][self.id]

    @property
    def keys(self) -> dict[str, dict[str, Any]]:
        return self.entry["keys"]

    def _scope_key(self, scope: str) -> tuple[bytes, bytes]:
        if scope == "cohort":
            kid = self.entry["cohort_key"]
        else:
            kid = next(k for k, v in self.keys.items() if v["scope"] == scope)
        return bytes.fromhex(kid), bytes.fromhex(self.keys[kid]["k"])

    def peer_dir(self) -> Path:
        d = self.session.dir / "peers"
        d.mkdir(mode=0o700, exist_ok=True)
        return d

    def journal_path(self, jid: str) -> Path:
        if jid == self.journal_id.hex():
            return self.journal.path
        return self.peer_dir() / f"{jid}.db"

    # ---- writing -------------------------------------------------------
    def admission_body(self, pub: PublicIdentity, name: str, role: str, profession: str, journal: str, replica_path: str) -> dict[str, Any]:
        return {"member": pub.id.hex(), "name": name, "role": role, "profession": profession, "public": pub.to_bytes().hex(),
                "journal": journal, "replica_path": replica_path}

    def record(self, kind: str, body: dict[str, Any], scope: str = "cohort") -> Event:
        """Seal one event, append it in its own transaction, fold it and tell listeners."""
        return self.record_many([(kind, body)], scope=scope)[0]

    def record_many(self, items: Iterable[tuple[str, dict[str, Any]]], scope: str = "cohort") -> list[Event]:
        """Seal a batch of events that happen together: one transaction, one signature."""
        with self.lock:
            return self._record_many(list(items), scope)

    def _record_many(self, items: list[tuple[str, dict[str, Any]]], scope: str) -> list[Event]:
        if not items:
            return []
        key_id, key = self._scope_key(scope)
        lamport = self.view.max_lamport
        now = self.session.clock()
        payloads = []
        for kind, body in items:
            lamport += 1
            payloads.append((kind, lamport, encode_payload(kind=kind, cohort=self.id, author=self.session.id, lamport=lamport, ts=now, body=body)))

        def sealer(payload: bytes) -> Callable[[int, bytes, bool], bytes]:
            def seal(seq: int, prev: bytes, sign: bool) -> bytes:
                return envelope.seal(journal_id=self.journal_id, seq=seq, prev=prev, key_id=key_id, key=key,
                                     plaintext=payload, signer=self.session.signer if sign else None)
            return seal

        written = self.journal.append([sealer(p) for _, _, p in payloads], known_head=self._own_head())
        events = []
        seq0 = envelope.parse(written[0]).seq
        for i, ((kind, lam, _), blob) in enumerate(zip(payloads, written)):
            body = items[i][1]
            events.append(Event(envelope.event_id(blob).hex(), self.journal_id.hex(), seq0 + i, kind, self.id, self.session.id, lam, round(now, 3), body))
        self._advance_head(self.journal_id.hex(), seq0 + len(written) - 1, envelope.event_id(written[-1]), written[-1])
        self._since_snapshot += len(events)
        if scope != "self":
            self.view.apply(events)
        else:
            self._self_events.extend(events)
            self._self_ids.update(e.id for e in events)
        self._notify(events)
        return events

    def _own_head(self) -> int:
        return int(self.session.keystore.data["journals"][self.journal_id.hex()]["seq"])

    def _advance_head(self, jid: str, seq: int, digest: bytes, head_env: bytes) -> None:
        j = self.session.keystore.data["journals"][jid]
        j.update({"seq": seq, "hash": digest.hex(), "head": head_env.hex()})
        self._dirty = True

    def _notify(self, events: list[Event]) -> None:
        for fn in list(self.listeners):
            fn(self, events)

    def flush(self) -> None:
        """Persist verified heads to the keystore (batched: it is rewritten whole)."""
        if getattr(self, "_dirty", False):
            self.session.keystore.save()
            self._dirty = False

    # ---- reading -------------------------------------------------------
    def load(self) -> None:
        """Build the view: from the local snapshot if there is one, then what came after it.

        Without a snapshot every journal is walked from its first event. A
        large cold load writes a snapshot so the next open is fast.
        """
        self._self_events: list[Event] = []
        self._self_ids: set[str] = set()
        if self._load_snapshot():
            self.load_report = self.ingest()
            return
        self.load_report = self.ingest(from_start=True)

    def close(self) -> None:
        """Persist heads, and a fresh snapshot when enough changed since the last one (off the open path); let go of the journal.

        The journal opens again on the next write; until then another process
        (``circle sync``, a second window) may write it.
        """
        with self.lock:
            self.flush()
            if self._since_snapshot >= SNAPSHOT_AFTER and not self.load_report.problems:
                self.save_snapshot()
            self.journal.close()

    def _snapshot_path(self) -> Path:
        d = self.session.dir / "snapshots"
        d.mkdir(mode=0o700, exist_ok=True)
        return d / f"{self.id}.snap"

    def save_snapshot(self) -> None:
        """Seal the folded view with a key that never leaves the keystore; never replicated."""
        heads = {jid: (int(j["seq"]), j["hash"]) for jid, j in self.session.keystore.data["journals"].items() if j.get("cohort") == self.id}
        events = [(e.id, e.journal, e.seq, e.kind, e.cohort, e.author, e.lamport, e.ts, e.body) for e in (*self.view.events, *self._self_events)]
        blob = pickle.dumps({"v": 1, "heads": heads, "events": events}, protocol=5)
        nonce = os.urandom(12)
        ad = LABEL_SNAPSHOT + bytes.fromhex(self.id)
        sealed = SNAPSHOT_MAGIC + nonce + ChaCha20Poly1305(self._snapshot_key()).encrypt(nonce, blob, ad)
        atomic_write(self._snapshot_path(), sealed)
        self._since_snapshot = 0

    def _snapshot_key(self) -> bytes:
        return bytes.fromhex(self.session.keystore.data["snapshot_key"])

    def _load_snapshot(self) -> bool:
        path = self._snapshot_path()
        try:
            raw = path.read_bytes()
        except OSError:
            return False
        if raw[:8] != SNAPSHOT_MAGIC:
            return False
        try:
            blob = ChaCha20Poly1305(self._snapshot_key()).decrypt(raw[8:20], raw[20:], LABEL_SNAPSHOT + bytes.fromhex(self.id))
            doc = pickle.loads(blob)  # authenticated above: only this identity could have written it
        except Exception:
            path.unlink(missing_ok=True)  # a damaged snapshot costs a slower open, nothing more
            return False
        journals = self.session.keystore.data["journals"]
        if doc.get("v") != 1 or any(int(journals.get(j, {}).get("seq", -1)) < seq for j, (seq, _) in doc["heads"].items()):
            return False  # the keystore was restored to an older state: rebuild from the journals
        events = [Event(*t) for t in doc["events"]]
        self._self_events = [e for e in events if e.kind == "self.note_added"]
        self._self_ids = {e.id for e in self._self_events}
        self.view.apply(e for e in events if e.kind != "self.note_added")
        # Heads in the keystore may be ahead of the snapshot: fold those events again from there.
        for jid, (seq, digest) in doc["heads"].items():
            if int(journals[jid]["seq"]) > seq:
                self._rewind[jid] = (seq, bytes.fromhex(digest), b"")
        return True

    def known_journals(self) -> dict[str, dict[str, Any]]:
        """Journals of this cohort: own, trusted at join, and every member's from the roster."""
        out = {jid: j for jid, j in self.session.keystore.data["journals"].items() if j.get("cohort") == self.id}
        for jid, (public, replica_path) in self.view.mentioned_journals().items():
            if jid in out:
                continue
            try:
                pub = PublicIdentity.from_bytes(bytes.fromhex(public))
            except (ValueError, InvalidEnvelope):
                continue
            self.session._trust_journal(jid, self.id, pub)
            j = self.session.keystore.data["journals"][jid]
            j.setdefault("replica_path", replica_path)
            out[jid] = j
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
        fresh: list[Event] = []
        seen: set[str] = set()
        while True:  # admissions reveal new journals; keys reveal old events
            todo = {jid: j for jid, j in self.known_journals().items() if jid not in seen}
            if not todo:
                break
            for jid, j in todo.items():
                seen.add(jid)
                r, evs, new_keys = self._ingest_journal(jid, j, from_start, every_signature)
                report.add(r)
                fresh += evs
                if new_keys:
                    seen.clear()  # re-read everything with the new keys
                    from_start = True
        report.folded = self.view.apply(fresh)
        self._since_snapshot += report.folded
        self.flush()
        if fresh:
            self._notify(fresh)
        return report

    def _ingest_journal(self, jid: str, j: dict[str, Any], from_start: bool, every_signature: bool,
                        open_events: bool = True) -> tuple[IngestReport, list[Event], bool]:
        report = IngestReport(journals=1)
        path = self.journal_path(jid)
        if not path.exists():
            report.missing.append(jid)
            return report, [], False
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        verifier = Ed25519PublicKey.from_public_bytes(bytes.fromhex(j["sign_pk"]))
        head_seq, head_hash = int(j["seq"]), bytes.fromhex(j["hash"])
        head_env = bytes.fromhex(j.get("head", ""))
        try:
            if from_start:
                res = check_chain(read_rows(path, 0), journal_id=bytes.fromhex(jid), verifier=verifier, every_signature=every_signature)
                if res.head_seq < head_seq or (head_seq and not any(c.seq == head_seq and c.hash == head_hash for c in res.accepted[head_seq - 1 : head_seq])):
                    res = self._compare_with_head(res, path, jid, verifier, head_seq, head_hash, head_env)
            else:
                # After a snapshot, start where the snapshot ends; the keystore head may be further on.
                s_seq, s_hash, s_env = self._rewind.pop(jid, (head_seq, head_hash, head_env))
                res = check_chain(read_rows(path, max(s_seq - 1, 0)), journal_id=bytes.fromhex(jid), verifier=verifier,
                                  head_seq=s_seq, head_hash=s_hash, head_envelope=s_env, every_signature=every_signature)
                if res.kind == "" and res.head_seq < head_seq:
                    res.kind, res.problem = "rollback", f"journal ends before event {head_seq}, which was already verified"
        except CircleError as exc:
            report.problems.append(f"journal {jid[:8]}: {exc.line()}")
            return report, [], False
        report.events += res.events_checked
        report.signatures += res.signatures_checked
        if res.kind in ("fork", "rollback"):
            self._alarm(jid, res)
            report.problems.append(f"journal {jid[:8]}: {res.problem}")
            return report, [], False
        if res.problem:
            report.problems.append(f"journal {jid[:8]}: {res.problem}")
        if res.head_seq > head_seq:
            self._advance_head(jid, res.head_seq, res.head_hash, res.head_envelope)
        if not open_events:  # verification: signatures and links already authenticate every ciphertext
            return report, [], False
        events, new_keys = self._open_all(jid, j, res, report)
        return report, events, new_keys

    def _compare_with_head(self, res: ChainResult, path: Path, jid: str, verifier, head_seq: int, head_hash: bytes, head_env: bytes) -> ChainResult:
        """A walk from the start did not reach the verified head intact: rollback or fork."""
        again = check_chain(read_rows(path, max(head_seq - 1, 0)), journal_id=bytes.fromhex(jid), verifier=verifier,
                            head_seq=head_seq, head_hash=head_hash, head_envelope=head_env)
        if again.kind in ("fork", "rollback"):
            return again
        # Damaged after it was verified: keep the intact prefix, report the damage.
        res.kind, res.problem = "tampered", again.problem or res.problem or f"journal damaged before event {head_seq}"
        return res

    def _alarm(self, jid: str, res: ChainResult) -> None:
        self.alarms[jid] = res.problem
        if res.evidence:
            doc = {"journal": jid, "kind": res.kind, "problem": res.problem, "envelopes": [e.hex() for e in res.evidence]}
            atomic_write(self.session.evidence_dir() / f"{jid}-{res.kind}.json", json.dumps(doc).encode())

    def _open_all(self, jid: str, j: dict[str, Any], res: ChainResult, report: IngestReport) -> tuple[list[Event], bool]:
        keys = {bytes.fromhex(k): (bytes.fromhex(v["k"]), v["scope"]) for k, v in self.keys.items()}
        owner = j["owner"]
        out: list[Event] = []
        new_keys = False
        for c in res.accepted:
            kid = c.header.key_id
            if kid == WRAP_KEY_ID:
                new_keys |= self._take_wraps(c, jid)
                continue
            found = keys.get(kid)
            if found is None:
                report.skipped_other_scopes += 1  # another person's dyad or self scope, or a later epoch we do not hold
                continue
            key, scope = found
            if scope == "invite":
                continue  # a join request: read by the inviter when admitting, not part of the view
            try:
                ev = decode_payload(envelope.open_envelope(c.blob, c.header, key), id=c.hash.hex(), journal=jid, seq=c.seq)
            except InvalidEnvelope as exc:
                report.problems.append(f"journal {jid[:8]} event {c.seq} rejected: {exc.reason}")
                continue
            if ev.author != owner or ev.cohort != self.id:
                report.problems.append(f"journal {jid[:8]} event {c.seq} rejected: author or cohort does not match the journal")
                continue
            if scope == "self":
                if ev.id not in self._self_ids:
                    self._self_ids.add(ev.id)
                    self._self_events.append(ev)
                continue
            out.append(ev)
        return out, new_keys

    # ---- keys: epochs and wraps ---------------------------------------
    def _take_wraps(self, c, jid: str) -> bool:
        """Open a wrap-scope envelope and keep any key wrapped for this identity."""
        try:
            ev = decode_payload(envelope.open_envelope(c.blob, c.header, _wrap_scope_key(bytes.fromhex(jid))), id=c.hash.hex(), journal=jid, seq=c.seq)
        except InvalidEnvelope:
            return False
        got = False
        for blob in ev.body.get("w", []):
            try:
                inner = json.loads(self.session.identity.unwrap(bytes.fromhex(blob), LABEL_KEY_WRAP))
            except (InvalidEnvelope, ValueError):
                continue
            if inner.get("to") != self.session.id:
                continue
            if inner.get("c") != self.id:
                if "pending" not in self.entry or jid != self.entry["pending"]["inviter_journal"]:
                    continue
                self._adopt(str(inner["c"]))
            if inner["kid"] not in self.keys:
                self.keys[inner["kid"]] = {"k": inner["k"], "scope": inner["scope"], "epoch": inner["e"]}
                if inner["scope"] == "cohort" and inner["e"] >= self.keys.get(self.entry["cohort_key"], {}).get("epoch", 0):
                    self.entry["cohort_key"] = inner["kid"]
                self._dirty = True
                got = True
        return got

    def _adopt(self, cid: str) -> None:
        """A pending join was admitted: take the cohort's real id from the inviter's wrap."""
        data = self.session.keystore.data
        entry = dict(data["cohorts"][self.id])
        entry.pop("pending", None)
        data["cohorts"][cid] = entry
        # Keystore saves merge with what is on disk, so leave a forwarding mark rather than delete.
        data["cohorts"][self.id] = {"moved_to": cid}
        for j in data["journals"].values():
            if j.get("cohort") == self.id:
                j["cohort"] = cid
        self.session._cohorts.pop(self.id, None)
        self.session._cohorts[cid] = self
        self.id = cid
        self.view = View(cid)
        self._dirty = True

    def wrap_keys(self, recipients: list[PublicIdentity], kid: str) -> None:
        """Write a wrap-scope envelope giving key ``kid`` to each recipient (HPKE, post-quantum hybrid)."""
        k = self.keys[kid]
        # Bind the epoch's whole recipient set: everyone active, plus whoever this wrap is for.
        everyone = {m.id for m in self.view.members()} | {r.id.hex() for r in recipients}
        rset = hashlib.sha256("".join(sorted(everyone)).encode()).hexdigest()
        blobs = [
            r.wrap(json.dumps({"to": r.id.hex(), "c": self.id, "kid": kid, "k": k["k"], "scope": k["scope"], "e": k["epoch"],
                               "prev": self._epoch_hash(k["epoch"] - 1), "r": rset}).encode(), LABEL_KEY_WRAP).hex()
            for r in recipients
        ]
        payload = encode_payload(kind="keys.wrapped", cohort="", author="", lamport=0, ts=0, body={"w": blobs})

        def seal(seq: int, prev: bytes, sign: bool) -> bytes:
            return envelope.seal(journal_id=self.journal_id, seq=seq, prev=prev, key_id=WRAP_KEY_ID,
                                 key=_wrap_scope_key(self.journal_id), plaintext=payload, signer=self.session.signer if sign else None)

        written = self.journal.append([seal], known_head=self._own_head())
        self._advance_head(self.journal_id.hex(), envelope.parse(written[-1]).seq, envelope.event_id(written[-1]), written[-1])
        self.flush()

    def _epoch_hash(self, epoch: int) -> str:
        for kid, v in self.keys.items():
            if v["scope"] == "cohort" and v["epoch"] == epoch:
                return hashlib.sha256(LABEL_EPOCH + bytes.fromhex(kid) + bytes.fromhex(v["k"])).hexdigest()
        return ""

    def admit(self, pub: PublicIdentity, name: str, role: str = "participant", profession: str = "", journal: str = "", replica_path: str = "") -> Event:
        """Admit a member: record it in the cohort and wrap the current cohort key for them."""
        if self.view.member(pub.id.hex()) is not None and self.view.member(pub.id.hex()).active:
            raise AlreadyExists(f"{name} is already a member", "nothing changed")
        body = self.admission_body(pub, name, role, profession, journal, replica_path)
        body["roster"] = {m.journal: [m.public, m.replica_path] for m in self.view.members() if m.journal and m.public}
        ev = self.record("member.admitted", body)
        self.session._trust_journal(journal, self.id, pub)
        self.wrap_keys([pub], self.entry["cohort_key"])
        return ev

    def remove(self, member_id: str) -> Event:
        """Remove a member: record the cut, start a new epoch they never receive."""
        m = self.view.member(member_id)
        if m is None or not m.active:
            raise NotFound("no such active member", "see the roster with 'circle cohorts'")
        if member_id == self.session.id:
            raise UsageError("you cannot remove yourself", "ask another member to remove you")
        cut = int(self.session.keystore.data["journals"].get(m.journal, {}).get("seq", 0))
        ev = self.record("member.removed", {"member": member_id, "cut_seq": cut})
        self.rotate_epoch()
        return ev

    def rotate_epoch(self) -> str:
        old = self.keys[self.entry["cohort_key"]]
        kid = os.urandom(16).hex()
        self.keys[kid] = {"k": os.urandom(32).hex(), "scope": "cohort", "epoch": old["epoch"] + 1}
        prev = self._epoch_hash(old["epoch"])
        self.entry["cohort_key"] = kid
        self.session.keystore.save()
        recipients = [PublicIdentity.from_bytes(bytes.fromhex(m.public)) for m in self.view.members() if m.id != self.session.id and m.public]
        if recipients:
            self.wrap_keys(recipients, kid)
        self.record("keys.epoch_started", {"epoch": old["epoch"] + 1, "key_id": kid, "recipients": sorted([self.session.id] + [r.id.hex() for r in recipients]), "prev": prev})
        return kid

    # ---- verification --------------------------------------------------
    def verify_all(self) -> IngestReport:
        """Walk every journal of this cohort from its first event, checking every signature."""
        report = IngestReport()
        for jid, j in self.known_journals().items():
            r, _, _ = self._ingest_journal(jid, j, True, True, open_events=False)
            report.add(r)
        self.flush()
        return report

    # ---- self notes ----------------------------------------------------
    def self_notes(self) -> list[Event]:
        return sorted(self._self_events, key=lambda e: e.stamp)


def fingerprint_of_roster(view: View) -> str:
    return fingerprint(view.fingerprint_material())
