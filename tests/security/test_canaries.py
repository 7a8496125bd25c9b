"""No plaintext reaches disk: canaries planted in a sample cohort are found nowhere under the home.

The scan reads every file under the home as bytes (journals, their -wal files,
keystores, peers' journals, evidence) and looks for each canary in UTF-8,
UTF-16 and hex. A control writes the very same events unencrypted into a copy
of the home, and the same scan must find every canary there, so a blind scan
cannot pass.

One exposure is known and pinned: the keystore header carries the owner's
name in the clear (its label, so a home with several identities can list them
before unlocking). The test checks that it appears there and nowhere else.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from circle.crypto import envelope, keystore
from circle.crypto.identity import Identity
from circle.models.events import as_written, encode_payload
from circle.store.journal import Journal
from circle.store.service import CohortService
from circle.store.session import Home
from circle.sync.drop import ReplicaDrop
from tests.conftest import PASSPHRASE, FrozenClock
from tests.figures import record

OWNER = "CanaryOwnerAroha"
CANARIES = {
    "cohort name": "CanaryCohortDietitiansNorth",
    "purpose": "CanaryPurposeNewGraduates",
    "confidentiality": "CanaryConfidentialityChatham",
    "member name": "CanaryMemberBartholomew",
    "member profession": "CanaryProfessionSpeechPathology",
    "removed member": "CanaryRemovedCassiopeia",
    "meeting title": "CanaryMeetingWinterReview",
    "agenda title": "CanaryAgendaDifficultConversation",
    "note": "CanaryNoteBurnoutDisclosure",
    "decision": "CanaryDecisionRosterChange",
    "action": "CanaryActionCallTheWard",
    "anonymous line": "CanaryAnonFeelingUnsupported",
    "self note": "CanarySelfNoteOnlyForMe",
    "peer note": "CanaryPeerNoteFromBen",
}


def forms(text: str) -> list[bytes]:
    raw = text.encode()
    return [raw, text.encode("utf-16-le"), raw.hex().encode(), raw.hex().upper().encode()]


def scan(root: Path, needles: dict[str, str]) -> dict[str, list[str]]:
    """Which files under ``root`` contain each needle (in any of its forms)."""
    hits: dict[str, list[str]] = {k: [] for k in needles}
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    assert files, f"nothing to scan under {root}"
    for p in files:
        data = p.read_bytes()
        for label, text in needles.items():
            if any(f in data for f in forms(text)):
                hits[label].append(str(p.relative_to(root)))
    return hits


class SampleCohort:
    """A cohort with a roster, a meeting, agenda, notes, actions, self notes, a removal and a peer."""

    def __init__(self, root: Path) -> None:
        self.home = Home(root, calibrate=False)
        self.session = self.home.create_identity(OWNER, PASSPHRASE, clock=FrozenClock())
        c = CANARIES
        self.svc: CohortService = self.session.create_cohort(c["cohort name"], purpose=c["purpose"], confidentiality=c["confidentiality"])
        self.ben = Identity.generate()
        self.ben_journal = os.urandom(16)
        self.svc.admit(self.ben.public(), c["member name"], profession=c["member profession"], journal=self.ben_journal.hex())
        cara = Identity.generate()
        self.svc.admit(cara.public(), c["removed member"], journal=os.urandom(16).hex())
        self.svc.remove(cara.id.hex())  # a new epoch, wrapped for Ben only
        svc = self.svc
        svc.store.record_many(
            [
                ("meeting.scheduled", {"meeting": "m1", "at": "2026-01-08T09:00", "title": c["meeting title"], "minutes": 60}),
                ("agenda.added", {"item": "i1", "meeting": "m1", "title": c["agenda title"], "owner": svc.me, "minutes": 15}),
            ]
        )
        svc.store.record("note.added", {"meeting": "m1", "item": "i1", "text": c["note"], "kind": "note"})
        svc.store.record("note.added", {"meeting": "m1", "item": "i1", "text": c["decision"], "kind": "decision"})
        svc.store.record("action.added", {"action": "a1", "meeting": "m1", "title": c["action"], "owner": self.ben.id.hex(), "due": "2026-01-22"})
        svc.store.add_anonymous("m1", c["anonymous line"], ReplicaDrop(self.session, svc.store))  # on the home's folder replica, scanned too
        svc.store.record("self.note_added", {"text": c["self note"]}, scope="self")
        self.peer_payloads = [self._peer_writes(c["peer note"])]
        svc.store.ingest()
        svc.store.save_snapshot()  # the sealed local snapshot of the view is scanned too
        svc.store.flush()

    def _peer_writes(self, text: str) -> bytes:
        kid = self.svc.store.entry.cohort_key.id
        key = self.svc.store.entry.cohort_key.secret
        pt = encode_payload(
            kind="note.added",
            cohort=self.svc.id,
            author=self.ben.id.hex(),
            lamport=50,
            ts=0,
            body={"meeting": "m1", "item": "i1", "text": text, "kind": "note"},
        )
        j = Journal(self.svc.store.peer_dir() / f"{self.ben_journal.hex()}.db", self.ben_journal)
        j.append(
            [
                lambda seq, prev, sign: envelope.seal(
                    journal_id=self.ben_journal,
                    seq=seq,
                    prev=prev,
                    key_id=bytes.fromhex(kid),
                    key=key,
                    plaintext=pt,
                    signer=self.ben.signer() if sign else None,
                )
            ]
        )
        j.close()
        return pt

    def plaintexts(self) -> list[bytes]:
        """What the journals hold, as the unencrypted payloads they were sealed from."""
        evs = list(self.svc.view.events) + self.svc.store.self_notes()
        return [encode_payload(kind=e.kind, cohort=e.cohort, author=e.author, lamport=e.lamport, ts=e.ts, body=as_written(e)) for e in evs]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleCohort:
    return SampleCohort(tmp_path_factory.mktemp("canaries") / "home")


def test_the_sample_cohort_holds_every_canary(sample: SampleCohort) -> None:
    """The canaries really are in the cohort a person would see."""
    v = sample.svc.view
    seen = [v.cohort().name, v.cohort().purpose, v.cohort().confidentiality]
    seen += [m.name for m in v.members(include_removed=True)] + [m.profession for m in v.members()]
    seen += [m.title for m in v.meetings()] + [a.title for a in v.agenda()] + [n.text for n in v.notes()]
    seen += [a.title for a in v.actions()] + v.anonymous_lines("m1") + [str(e.body.get("text")) for e in sample.svc.store.self_notes()]
    for label, text in CANARIES.items():
        assert text in seen, label


def test_no_canary_appears_in_any_file_under_the_home(sample: SampleCohort) -> None:
    root = sample.home.root
    journals = [p for p in root.rglob("*.db") if p.parent.name in ("journals", "peers")]
    assert len(journals) == 2 and any(p.parent.name == "peers" for p in journals)
    assert list(root.rglob("rounds/*.db")) and list((root / "replica").rglob("*.ltx")), "the round's cache and the replica are scanned too"
    assert any(p.name.endswith("-wal") and p.stat().st_size > 0 for p in root.rglob("*")), "the WAL is scanned too"
    assert list(root.rglob("snapshots/*")), "the snapshot is scanned too"
    hits = scan(root, CANARIES)
    files = [p for p in root.rglob("*") if p.is_file()]
    record(
        "canaries",
        "a home (journals, WAL, snapshot, round, replica)",
        canaries_planted=len(CANARIES),
        files_scanned=len(files),
        canaries_found=sum(bool(v) for v in hits.values()),
    )
    assert {k: v for k, v in hits.items() if v} == {}


def test_the_owners_name_is_only_in_the_keystore_label(sample: SampleCohort) -> None:
    root = sample.home.root
    ks = sample.session.keystore.path
    assert scan(root, {"owner": OWNER})["owner"] == [str(ks.relative_to(root))]
    raw = ks.read_bytes()
    assert raw.index(OWNER.encode()) == keystore._HEAD.size  # the clear label, nothing inside the sealed payload
    assert raw.count(OWNER.encode()) == 1


def test_control_the_scan_finds_the_same_events_written_unencrypted(sample: SampleCohort, tmp_path: Path) -> None:
    control = tmp_path / "control"
    shutil.copytree(sample.home.root, control)
    # The same events, unencrypted, where a journal would be; left in the WAL, as circle's are.
    plain = control / "identities" / sample.session.dir.name / "journals" / "plaintext.db"
    conn = sqlite3.connect(plain, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE envelopes (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    lines = [text.encode() for text in sample.svc.view.anonymous_lines("m1")]  # the round's lines are no events
    conn.executemany("INSERT INTO envelopes (blob) VALUES (?)", [(p,) for p in sample.plaintexts() + sample.peer_payloads + lines])
    hits = scan(control, CANARIES)
    conn.close()
    files = [p for p in control.rglob("*") if p.is_file()]
    found = sum(bool(v) for v in hits.values())
    record(
        "canaries",
        "control: the home plus the same events unencrypted",
        must={"canaries_found": "> 0"},
        canaries_planted=len(CANARIES),
        files_scanned=len(files),
        canaries_found=found,
    )
    assert {k for k, v in hits.items() if not v} == set(), "the scan missed plaintext it should have found"
