"""Hash chains: forks and rollbacks detected with evidence kept; tampering rejected and never folded.

The first half checks ``check_chain`` on rows built in memory; the second goes
through ``CohortService.ingest`` with a peer's journal file placed where a
follower would put it: ``<identity dir>/peers/<journal id>.db``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tracemalloc
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from circle.crypto import envelope
from circle.crypto.identity import Identity
from circle.errors import CorruptFile
from circle.models.events import encode_payload
from circle.store.chain import check_chain
from circle.store.cohort import CohortStore
from circle.store.ingest import Accepted, IngestReport, open_events
from circle.store.journal import Journal, Reading, Row, read_rows

JID = b"j" * 16
KEY = b"k" * 32
OWNER = Ed25519PrivateKey.from_private_bytes(b"o" * 32)


def build(
    batches: Iterable[Iterable[bytes]], *, signer: Ed25519PrivateKey = OWNER, jid: bytes = JID, start: tuple[int, bytes] = (0, envelope.ZERO_HASH)
) -> list[Row]:
    """Rows of a journal: each batch signs only its last envelope, as Journal.append does."""
    seq, prev = start
    rows = []
    for batch in batches:
        batch = list(batch)
        for i, pt in enumerate(batch):
            seq += 1
            blob = envelope.seal(journal_id=jid, seq=seq, prev=prev, key_id=b"i" * 16, key=KEY, plaintext=pt, signer=signer if i == len(batch) - 1 else None)
            rows.append(Row(seq, blob))
            prev = envelope.event_id(blob)
    return rows


def check(rows: list[Row], head: Row | None = None, **kw):
    if head is not None:
        kw.update(head_seq=head.seq, head_hash=envelope.event_id(head.blob), head_envelope=head.blob)
    return check_chain(rows, journal_id=JID, verifier=OWNER.public_key(), **kw)


def test_a_clean_journal_is_accepted_to_its_head() -> None:
    rows = build([[b"a"], [b"b", b"c", b"d"]])
    res = check(rows)
    assert (res.kind, res.problem) == ("", "")
    assert [c.seq for c in res.accepted] == [1, 2, 3, 4]
    assert (res.head_seq, res.head_hash, res.head_envelope) == (4, envelope.event_id(rows[-1].blob), rows[-1].blob)
    assert res.signatures_checked == 1  # ingest verifies the newest signature and the hashes below it


def test_every_signature_mode_checks_each_signed_envelope() -> None:
    res = check(build([[b"a"], [b"b"], [b"c", b"d"]]), every_signature=True)
    assert res.signatures_checked == 3 and len(res.accepted) == 4


def test_continuing_from_a_verified_head_reads_only_what_is_new() -> None:
    rows = build([[b"a"], [b"b", b"c"], [b"d"]])
    res = check(rows[2:], head=rows[2])
    assert [c.seq for c in res.accepted] == [4] and not res.problem


def test_an_unsigned_tail_is_not_accepted() -> None:
    rows = build([[b"a"], [b"b", b"c", b"d"]])[:-1]  # the batch lost its signed last event
    res = check(rows)
    assert [c.seq for c in res.accepted] == [1]
    assert res.kind == "tampered" and "not signed" in res.problem


def test_a_forged_signature_falls_back_to_the_last_good_one() -> None:
    rows = build([[b"a"], [b"b", b"c"]])
    bad = rows[-1].blob[:-1] + bytes([rows[-1].blob[-1] ^ 0x40])
    res = check(rows[:-1] + [Row(3, bad)])
    assert [c.seq for c in res.accepted] == [1]
    assert res.kind == "tampered" and "signature does not verify" in res.problem


def test_another_authors_journal_is_rejected_whole() -> None:
    rows = build([[b"a"], [b"b"]], signer=Ed25519PrivateKey.generate())
    res = check(rows)
    assert res.accepted == [] and res.kind == "tampered"


def test_a_changed_unsigned_event_breaks_the_next_link() -> None:
    rows = build([[b"a"], [b"b", b"c", b"d"]])
    blob = bytearray(rows[1].blob)
    blob[-1] ^= 1  # inside the ciphertext of an unsigned event
    res = check([rows[0], Row(2, bytes(blob)), *rows[2:]])
    assert [c.seq for c in res.accepted] == [1]
    assert res.problem == "event 3 rejected: hash chain broken"


def test_a_gap_stops_the_chain() -> None:
    rows = build([[b"a"], [b"b"], [b"c"]])
    res = check([rows[0], rows[2]])
    assert [c.seq for c in res.accepted] == [1] and "gap" in res.problem


def test_an_event_copied_from_another_journal_is_rejected() -> None:
    mine = build([[b"a"]])
    theirs = build([[b"x"], [b"y"]], jid=b"t" * 16)
    res = check([mine[0], theirs[1]])
    assert [c.seq for c in res.accepted] == [1] and "another journal" in res.problem


def test_fork_at_the_verified_head_keeps_both_envelopes() -> None:
    rows = build([[b"a"], [b"b", b"c"]])
    other = build([[b"B", b"C"]], start=(1, envelope.event_id(rows[0].blob)))
    res = check(other[1:], head=rows[2])
    assert res.kind == "fork" and "forked" in res.problem
    assert res.accepted == []
    assert res.evidence[0] == rows[2].blob and other[1].blob in res.evidence


def test_fork_that_split_before_the_head_is_still_a_fork() -> None:
    rows = build([[b"a"], [b"b"], [b"c"], [b"d"]])
    other = build([[b"B"], [b"C"], [b"D"], [b"E"]], start=(1, envelope.event_id(rows[0].blob)))
    res = check([r for r in other if r.seq >= 4], head=rows[3])
    assert res.kind == "fork"
    assert rows[3].blob in res.evidence and other[2].blob in res.evidence  # seq 4 of each branch


def test_a_changed_head_that_is_not_validly_signed_is_tampering_not_a_fork() -> None:
    rows = build([[b"a"], [b"b"]])
    changed = rows[1].blob[:-1] + bytes([rows[1].blob[-1] ^ 1])
    res = check([Row(2, changed)], head=rows[1])
    assert res.kind == "tampered" and res.accepted == [] and res.evidence == []


def test_rollback_is_refused_with_the_verified_head_as_evidence() -> None:
    rows = build([[b"a"], [b"b"], [b"c"]])
    res = check(rows[:1], head=rows[2])
    assert res.kind == "rollback" and res.accepted == []
    assert "already verified" in res.problem
    assert res.evidence == [rows[2].blob, rows[0].blob]
    assert check([], head=rows[2]).kind == "rollback"


def _forked() -> tuple[list[Row], Row]:
    rows = build([[b"a"], [b"b", b"c"]])
    return build([[b"B", b"C"]], start=(1, envelope.event_id(rows[0].blob)))[1:], rows[2]


def _forged() -> list[Row]:
    rows = build([[b"a"], [b"b"], [b"c", b"d"]])
    return rows[:-1] + [Row(4, rows[-1].blob[:-1] + bytes([rows[-1].blob[-1] ^ 0x40]))]


WALKS: dict[str, Callable[[], tuple[list[Row], Row | None]]] = {
    "clean": lambda: (build([[b"a"], [b"b", b"c", b"d"]]), None),
    "from a verified head": lambda: (lambda r: (r[2:], r[2]))(build([[b"a"], [b"b", b"c"], [b"d"]])),
    "an unsigned tail": lambda: (build([[b"a"], [b"b", b"c", b"d"]])[:-1], None),
    "a forged signature, two good ones before it": lambda: (_forged(), None),
    "another author's": lambda: (build([[b"a"], [b"b"]], signer=Ed25519PrivateKey.generate()), None),
    "a gap": lambda: (lambda r: ([r[0], r[2]], None))(build([[b"a"], [b"b"], [b"c"]])),
    "a fork": _forked,
    "a rollback": lambda: (lambda r: (r[:1], r[2]))(build([[b"a"], [b"b"], [b"c"]])),
}


@pytest.mark.parametrize("walk", WALKS)
@pytest.mark.parametrize("every_signature", [False, True])
def test_a_walk_that_keeps_only_hashes_accepts_what_a_walk_that_keeps_envelopes_does(walk: str, every_signature: bool) -> None:
    rows, head = WALKS[walk]()
    blobs = {r.seq: r.blob for r in rows}
    kept = check(rows, head, every_signature=every_signature)
    lean = check(rows, head, every_signature=every_signature, reread=blobs.__getitem__)
    assert lean.accepted == [] and bytes(lean.digests) == b"".join(c.hash for c in kept.accepted)
    same = ("head_seq", "head_hash", "head_envelope", "signatures_checked", "events_checked", "problem", "kind", "evidence")
    assert [getattr(lean, f) for f in same] == [getattr(kept, f) for f in same]


# ---- through CohortStore.ingest, with a peer's journal file -------------------------
class Peer:
    """Ben: a member whose journal Ana follows. Writes with the real envelope and payload code."""

    def __init__(self, svc: CohortStore, identity: Identity | None = None, jid: bytes | None = None) -> None:
        self.svc = svc
        self.identity = identity or Identity.generate()
        self.jid = jid or os.urandom(16)
        self.lamport = 100

    @property
    def path(self) -> Path:
        return self.svc.peer_dir() / f"{self.jid.hex()}.db"

    def write(self, path: Path, *batches: list[str], author: str | None = None, signer: Ed25519PrivateKey | None = None) -> list[bytes]:
        current = self.svc.entry.cohort_key
        kid, key = current.id, current.secret
        journal = Journal(path, self.jid)
        out = []
        try:
            for texts in batches:
                sealers = []
                for text in texts:
                    self.lamport += 1
                    pt = encode_payload(
                        kind="note.added",
                        cohort=self.svc.id,
                        author=author or self.identity.id.hex(),
                        lamport=self.lamport,
                        ts=0,
                        body={"meeting": "m1", "item": "i1", "text": text, "kind": "note"},
                    )

                    def seal(seq: int, prev: bytes, sign: bool, pt: bytes = pt) -> bytes:
                        return envelope.seal(
                            journal_id=self.jid,
                            seq=seq,
                            prev=prev,
                            key_id=bytes.fromhex(kid),
                            key=key,
                            plaintext=pt,
                            signer=(signer or self.identity.signer()) if sign else None,
                        )

                    sealers.append(seal)
                out += journal.append(sealers)
        finally:
            journal.close()
        return out


def texts(svc: CohortStore) -> set[str]:
    return {n.text for n in svc.view.notes()}


def head_of(svc: CohortStore, peer: Peer) -> int:
    return svc.vault.journal(peer.jid.hex()).seq


def replace_file(dst: Path, src: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)


@pytest.fixture
def cohort(session) -> CohortStore:
    return session.create_cohort("Physios North").store


@pytest.fixture
def ben(session, cohort: CohortStore) -> Peer:
    ben = Peer(cohort)
    session.cohort(cohort.id).admit(ben.identity.public(), "Ben", journal=ben.jid.hex())
    return ben


def reopened(store: CohortStore) -> CohortStore:
    again = CohortStore(store.vault, store.id, store.author, store.root)
    again.load()
    return again


def test_ingest_folds_a_clean_peer_journal(cohort: CohortStore, ben: Peer) -> None:
    ben.write(ben.path, ["n1"], ["n2", "n3"])
    report = cohort.ingest()
    assert report.problems == [] and texts(cohort) == {"n1", "n2", "n3"}
    assert head_of(cohort, ben) == 3


def test_fork_detected_reported_kept_and_not_folded(cohort: CohortStore, ben: Peer, tmp_path: Path) -> None:
    ben.write(ben.path, ["n1"], ["n2", "n3"])
    cohort.ingest()
    alt = tmp_path / "alt.db"
    ben.write(alt, ["n1"], ["x2", "x3"], ["x4"])  # the same journal, another history from event 2
    replace_file(ben.path, alt)

    report = cohort.ingest()
    assert any("forked" in p for p in report.problems)
    assert "forked" in cohort.alarms[ben.jid.hex()]
    assert texts(cohort) == {"n1", "n2", "n3"}  # nothing from the other branch
    assert head_of(cohort, ben) == 3
    doc = json.loads((cohort.root / "evidence" / f"{ben.jid.hex()}-fork.json").read_text())
    assert doc["kind"] == "fork" and len(doc["envelopes"]) >= 2
    first = bytes.fromhex(doc["envelopes"][0])
    assert envelope.parse(first).seq == 3 and first != bytes.fromhex(doc["envelopes"][1])
    assert ben.path.exists()  # the forked journal itself is left as it is

    # a fresh open (walk from the start) reaches the same verdict
    again = reopened(cohort)
    assert "forked" in again.alarms.get(ben.jid.hex(), "") and "x2" not in texts(again)


def test_a_fork_found_once_is_said_on_every_open_after(cohort: CohortStore, ben: Peer, tmp_path: Path) -> None:
    """Sync refuses the forked copy and keeps the verified one here: the next run read nothing new, and the alarm was gone
    (`verify` said "No problems found" with the fork's evidence on disk)."""
    ben.write(ben.path, ["n1"], ["n2", "n3"])
    cohort.ingest()
    kept = tmp_path / "kept.db"
    shutil.copyfile(ben.path, kept)
    alt = tmp_path / "alt.db"
    ben.write(alt, ["n1"], ["x2", "x3"], ["x4"])
    replace_file(ben.path, alt)
    cohort.ingest()
    replace_file(ben.path, kept)  # this device's copy is the verified history again
    again = reopened(cohort)
    assert "forked" in again.alarms.get(ben.jid.hex(), "")
    assert any(p.startswith(f"journal {ben.jid.hex()[:8]}: ") and "forked" in p for p in again.verify_all().problems)
    with again.lock:
        assert any("forked" in line for _who, line in again.trouble())


def test_rollback_detected_and_refused(cohort: CohortStore, ben: Peer, tmp_path: Path) -> None:
    ben.write(ben.path, ["n1"])
    old = tmp_path / "old.db"
    shutil.copyfile(ben.path, old)
    ben.write(ben.path, ["n2", "n3"])
    cohort.ingest()
    assert head_of(cohort, ben) == 3
    replace_file(ben.path, old)  # an older copy of the journal comes back

    report = cohort.ingest()
    assert any("already verified" in p for p in report.problems)
    assert ben.jid.hex() in cohort.alarms
    assert head_of(cohort, ben) == 3 and texts(cohort) == {"n1", "n2", "n3"}
    doc = json.loads((cohort.root / "evidence" / f"{ben.jid.hex()}-rollback.json").read_text())
    assert envelope.parse(bytes.fromhex(doc["envelopes"][0])).seq == 3

    again = reopened(cohort)
    assert "already verified" in again.alarms.get(ben.jid.hex(), "")


def test_tampered_events_are_rejected_and_never_folded(cohort: CohortStore, ben: Peer) -> None:
    ben.write(ben.path, ["n1"])
    cohort.ingest()
    ben.write(ben.path, ["t2", "t3"])
    conn = sqlite3.connect(ben.path)
    blob = bytearray(conn.execute("SELECT blob FROM envelopes WHERE seq = 2").fetchone()[0])
    blob[envelope.HEADER_LEN + 3] ^= 0x10
    conn.execute("UPDATE envelopes SET blob = ? WHERE seq = 2", (bytes(blob),))
    conn.commit()
    conn.close()

    report = cohort.ingest()
    assert any("event 3 rejected: hash chain broken" in p for p in report.problems)
    assert texts(cohort) == {"n1"} and head_of(cohort, ben) == 1


def test_a_verified_event_changed_later_is_found_by_verify(session, cohort: CohortStore, ben: Peer) -> None:
    ben.write(ben.path, ["n1"], ["n2"], ["n3"])
    cohort.ingest()
    conn = sqlite3.connect(ben.path)
    blob = bytearray(conn.execute("SELECT blob FROM envelopes WHERE seq = 1").fetchone()[0])
    blob[-1] ^= 1
    conn.execute("UPDATE envelopes SET blob = ? WHERE seq = 1", (bytes(blob),))
    conn.commit()
    conn.close()
    report = session.verify()
    assert any(ben.jid.hex()[:8] in p for p in report.problems)


def test_events_signed_by_someone_else_are_never_folded(cohort: CohortStore, ben: Peer) -> None:
    mallory = Ed25519PrivateKey.generate()
    ben.write(ben.path, ["forged"], signer=mallory)
    report = cohort.ingest()
    assert report.problems and "forged" not in texts(cohort)
    assert head_of(cohort, ben) == 0


def test_an_event_claiming_another_author_is_never_folded(cohort: CohortStore, ben: Peer) -> None:
    ben.write(ben.path, ["in Ana's name"], author=cohort.author.id)
    report = cohort.ingest()
    assert any("author or cohort does not match" in p for p in report.problems)
    assert "in Ana's name" not in texts(cohort)


def test_rows_are_read_in_order_from_a_fresh_connection(cohort: CohortStore, ben: Peer) -> None:
    written = ben.write(ben.path, ["a"], ["b", "c"])
    assert [r.blob for r in read_rows(ben.path)] == written
    assert [r.seq for r in read_rows(ben.path, after=1)] == [2, 3]


def test_what_a_check_accepted_is_read_again_as_it_was_checked(cohort: CohortStore, ben: Peer, tmp_path: Path) -> None:
    """The check keeps only hashes; what it accepted is read again in the same read transaction, whatever comes meanwhile."""
    written = ben.write(ben.path, ["n1"], ["n2", "n3"])
    accepted = cohort.checker.check(cohort.vault.journal(ben.jid.hex()), ben.path, IngestReport(), from_start=True, every_signature=False)
    assert accepted is not None and len(accepted) == 3
    with accepted:
        ben.write(ben.path, ["n4"])  # appended after the check
        assert [c.blob for c in accepted] == written
        alt = tmp_path / "alt.db"
        ben.write(alt, ["x1"], ["x2"], ["x3"])
        replace_file(ben.path, alt)  # another file put in its place
        assert [(c.seq, c.blob, c.hash) for c in accepted] == [(i + 1, b, envelope.event_id(b)) for i, b in enumerate(written)]

    with Accepted(Reading(ben.path), 1, accepted._digests) as elsewhere, pytest.raises(CorruptFile, match="changed while it was read"):
        list(elsewhere)  # read outside the check's transaction, the file now in its place is not what was checked: never opened


def test_a_check_never_holds_every_envelope_of_a_journal(cohort: CohortStore, ben: Peer) -> None:
    """A cold open of 100k events held each envelope with its header (about 1.2 KB) until the whole journal was checked: 319 MiB peak."""
    written = ben.write(ben.path, *[[os.urandom(200).hex() for i in range(j, j + 100)] for j in range(0, 6000, 100)])
    size = sum(len(b) for b in written)
    record = cohort.vault.journal(ben.jid.hex())
    tracemalloc.start()
    try:
        accepted = cohort.checker.check(record, ben.path, IngestReport(), from_start=True, every_signature=False)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert accepted is not None
    with accepted:
        assert len(accepted) == 6000 and record.seq == 6000
        assert held < size / 10, f"{held:,} bytes held after the check, of {size:,} in the journal"
        assert peak < size / 2, f"{peak:,} bytes at the peak of the check, of {size:,} in the journal"
        assert sum(1 for _ in accepted) == 6000


def test_verify_opens_every_envelope_without_holding_them(cohort: CohortStore, ben: Peer) -> None:
    """`circle verify` opened every event of a 100k-event journal and kept them all, texts included, until it was done: 494 MiB peak."""
    written = ben.write(ben.path, *[[os.urandom(200).hex() for i in range(j, j + 100)] for j in range(0, 6000, 100)])
    size = sum(len(b) for b in written)
    assert cohort.ingest().problems == []
    tracemalloc.start()
    try:
        report = cohort.verify_all()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.problems == [] and report.opened >= 6000 and report.signatures >= 60
    assert peak < size / 2, f"{peak:,} bytes at the peak of verify, of {size:,} in the journal"


def test_a_cold_open_folds_a_journal_as_it_is_opened_never_holding_its_notes_as_events(cohort: CohortStore, ben: Peer) -> None:
    """A cold open of a 100k-event journal held every note as an event until the view had kept it as columns: 176 MiB peak."""
    ben.write(ben.path, *[[f"n{i}" for i in range(j, j + 100)] for j in range(0, 6000, 100)])  # short texts: the texts kept lately weigh little
    tracemalloc.start()
    try:
        report = cohort.ingest()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.problems == [] and report.folded >= 6000
    assert cohort.view._at.notes == 6000  # kept as columns: the case where holding them as events costs most
    # What the open held on the way and let go: 314 bytes a note (the texts read lately, the fold's batch of places),
    # and 531 with every note of the journal held as an event until the view kept it as columns.
    passing = peak - held
    assert passing < 6000 * 420, f"{passing:,} bytes held on the way and let go, {passing // 6000} a note"


def test_open_events_hands_each_event_on_as_it_is_opened(cohort: CohortStore, ben: Peer) -> None:
    ben.write(ben.path, ["n1", "n2"], ["n3"], ["n4", "n5", "n6"])
    record = cohort.vault.journal(ben.jid.hex())
    opened = 0

    def each(e):
        nonlocal opened
        opened += 1
        return e

    def fold(events: Iterable) -> int:
        n = 0
        for _ in events:
            n += 1
            assert opened == n  # never one opened ahead of the fold
        return n

    with cohort.checker.check(record, ben.path, IngestReport(), from_start=True, every_signature=False) as accepted:
        out = open_events(accepted, record, cohort.id, cohort.keys.readable(), IngestReport(), each=each, fold=fold)
    assert out.folded == out.cohort == opened == 6 and not out.events


def test_a_journal_that_changes_while_it_is_folded_keeps_the_checked_part_and_says_so(cohort: CohortStore, ben: Peer, tmp_path: Path) -> None:
    """Events are folded as they are opened: a row found changed on the way ends the fold there, never half way through one."""
    ben.write(ben.path, ["n1"], ["n2"], ["n3"])
    record = cohort.vault.journal(ben.jid.hex())
    accepted = cohort.checker.check(record, ben.path, IngestReport(), from_start=True, every_signature=False)
    assert accepted is not None
    accepted.close()
    changed = tmp_path / "changed.db"
    shutil.copyfile(ben.path, changed)
    conn = sqlite3.connect(changed)
    blob = bytearray(conn.execute("SELECT blob FROM envelopes WHERE seq = 3").fetchone()[0])
    blob[-1] ^= 1
    conn.execute("UPDATE envelopes SET blob = ? WHERE seq = 3", (bytes(blob),))
    conn.commit()
    conn.close()
    folded: list[str] = []

    def fold(events: Iterable) -> int:
        n = cohort.view.apply(e for e in events if not folded.append(e.id))
        assert n == len(folded)
        return n

    report = IngestReport()
    with Accepted(Reading(changed), 1, accepted._digests) as elsewhere:
        out = open_events(elsewhere, record, cohort.id, cohort.keys.readable(), report, fold=fold)
    assert isinstance(out.error, CorruptFile) and "changed while it was read" in str(out.error)  # the caller raises it
    assert len(folded) == 2 and texts(cohort) == {"n1", "n2"}  # the checked part, folded whole
    assert cohort.view.notes("m1")[-1].text == "n2"


def test_what_a_journal_holds_that_the_view_does_not_fold_costs_no_second_fold_again(tmp_path: Path, monkeypatch) -> None:
    """Folded as it is opened, a journal's positions and roster-class events sealed whole are told after its events:
    each could start the fold again (three folds from the start here, against two when they were told first)."""
    from circle.models.view import View
    from circle.store.channels import ChannelService
    from tests.security.laptops import Laptops

    lap = Laptops(tmp_path, "Ana")
    lap.join("Ben", "peer")
    lap.join("Cleo", "participant")
    lap.sync()
    ChannelService(lap.svc("Ana")).send(lap.id("Cleo"), "hello", kind="feedback")  # positions the cohort's view does not fold
    lap.sync()
    mid = lap.svc("Ben").schedule("2026-12-10 14:00", "December")
    lap.sync()
    st = lap.store("Cleo")
    with st.lock:  # Cleo's altered client: a roster-class event sealed with the epoch's own key, not its roster key
        key, clock = st.entry.cohort_key, st.view.max_lamport + 1
        raw = json.dumps({"v": 1, "k": "meeting.updated", "c": st.id, "a": st.author.id, "l": clock, "t": 0, "b": {"meeting": mid, "title": "x"}})
        st.writer.append([(raw.encode(), key.raw_id, key.secret)])
        st.vault.flush()
    lap.svc("Cleo").set_away(lap.id("Cleo"), True)
    lap.sync()
    folds, per_journal = [], []
    real, real_once = View._refold, View.folding_once
    monkeypatch.setattr(View, "_refold", lambda self: folds.append(1) or real(self))

    @contextmanager
    def once(self):
        before = len(folds)
        with real_once(self):
            yield
        per_journal.append(len(folds) - before)

    monkeypatch.setattr(View, "folding_once", once)
    for who in ("Ana", "Ben", "Cleo"):
        folds.clear()
        per_journal.clear()
        store = lap.store(who)
        store.view = View(store.id)
        store.ingest(from_start=True)
        assert len(per_journal) >= 3 and max(per_journal) <= 1, (who, per_journal)  # each journal opened: at most one fold again


def test_anything_raised_while_a_journal_is_opened_leaves_the_view_folded(cohort: CohortStore, ben: Peer) -> None:
    """Raised inside the view's apply loop, an error left events held but not folded (skipped as held already)."""
    ben.write(ben.path, ["n1"], ["n2"], ["n3"])
    seen: list[str] = []
    real = cohort.texts.leave_one

    def leave(e):
        if e.journal == ben.jid.hex():
            if len(seen) == 2:
                raise RuntimeError("a caller's hook failed")
            seen.append(e.id)
        return real(e)

    cohort.texts.leave_one = leave
    with pytest.raises(RuntimeError, match="hook failed"):
        cohort.ingest()
    assert texts(cohort) == {"n1", "n2"} and len(cohort.view) == len(list(cohort.view.events))


def test_a_journal_whose_opening_stopped_half_way_is_read_whole_the_next_time(cohort: CohortStore, ben: Peer) -> None:
    """Its verified head counted all of it: the events after the error were never folded, not even by the next ingest."""
    ben.write(ben.path, [f"n{i}" for i in range(6)])
    real, calls = cohort.texts.leave_one, []

    def leave(e):
        if e.journal == ben.jid.hex():
            calls.append(e.id)
            if len(calls) == 3:
                raise OSError("the disk went away for a moment")
        return real(e)

    cohort.texts.leave_one = leave
    with pytest.raises(OSError):
        cohort.ingest()
    assert texts(cohort) == {"n0", "n1"}
    cohort.texts.leave_one = real
    cohort.ingest()
    assert texts(cohort) == {f"n{i}" for i in range(6)}
