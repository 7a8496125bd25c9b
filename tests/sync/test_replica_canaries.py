"""No plaintext in a replica: canaries planted in a cohort are found nowhere a replica host can look.

Two homes share a location of each kind; the cohort name, member names, a
profession, meeting and agenda titles, notes, an action and a self note carry
canaries. After sync, every journal on the replica is restored with
``litestream restore`` and the restored databases are scanned, together with
every raw file (and file name) the replica host stores.

The control: the very same plaintext, as JSON in a plain SQLite journal,
replicated by litestream to the same location and scanned the same way, must
show every canary, in the restored database AND in the raw files, so a blind
scan cannot pass. Litestream compresses pages with LZ4, which only replaces
repeats of at least 4 bytes: canaries are tokens of capitals G-Z that share no
4-gram with each other or with lowercase JSON, so their first occurrence in a
page stays literal.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from pathlib import Path

import pytest

from circle.models.events import as_written
from circle.sync import litestream as ls
from circle.sync.location import MARKER
from tests.figures import record
from tests.sync.helpers import bring_in, location, new_home, once


def _tokens(n: int, length: int = 18) -> list[str]:
    rng = random.Random(20260101)
    out: list[str] = []
    grams: set[str] = set()
    while len(out) < n:
        t = "".join(rng.choice("GHJKLMNPQRSTUVWXYZ") for _ in range(length))
        mine = {t[i : i + 4] for i in range(length - 3)}
        if len(mine) == length - 3 and not mine & grams:
            out.append(t)
            grams |= mine
    return out


_LABELS = [
    "cohort name",
    "purpose",
    "founder name",
    "member name",
    "profession",
    "meeting title",
    "agenda title",
    "note",
    "decision",
    "action",
    "self note",
    "peer note",
]
CANARIES = dict(zip(_LABELS, _tokens(len(_LABELS))))


def forms(token: str) -> list[bytes]:
    raw = token.encode()
    return [raw, raw.lower(), token.encode("utf-16-le"), raw.hex().encode(), raw.hex().upper().encode()]


def scan(files: list[Path]) -> dict[str, list[str]]:
    """Which files (by content or by name) hold each canary, in any of its forms."""
    hits: dict[str, list[str]] = {k: [] for k in CANARIES}
    for p in files:
        data = p.read_bytes() + str(p).encode()
        for label, token in CANARIES.items():
            if any(f in data for f in forms(token)):
                hits[label].append(p.name)
    return hits


def files_under(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file()]


def raw_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the replica host keeps the files of ``location(kind, ...)`` on its own disk."""
    if kind == "folder":
        return tmp_path / "shared-folder"
    if kind == "s3":
        s3 = request.getfixturevalue("s3_server")
        return s3.data / s3.bucket / tmp_path.name
    sftp = request.getfixturevalue("sftp_server")
    return sftp.data / tmp_path.name


def restore_all(base: ls.Replica, names: list[str], out: Path) -> list[Path]:
    """``litestream restore`` of each journal replica into its own database; returns the files written."""
    out.mkdir()
    for name in names:
        assert ls.restore(base.child(name), out / f"{name}.db"), f"replica {name} restored nothing"
    return files_under(out)


@pytest.mark.parametrize("kind", ["folder", "s3", "sftp"])
def test_no_canary_in_any_replica_and_the_control_shows_them(kind, request, tmp_path):
    c = CANARIES
    loc = location(kind, request, tmp_path)
    a = new_home(tmp_path, f"Ana {c['founder name']}")
    b = new_home(tmp_path, f"Ben {c['member name']}")
    ca = a.create_cohort(f"Dietitians {c['cohort name']}", purpose=f"new graduates {c['purpose']}", replica=dict(loc))
    once(a)
    bring_in(a, ca.id, b, loc)
    ca.store.record_many(
        [
            ("meeting.scheduled", {"meeting": "m1", "at": "2026-01-08T09:00", "title": f"winter {c['meeting title']}", "minutes": 60}),
            ("agenda.added", {"item": "i1", "meeting": "m1", "title": f"a hard talk {c['agenda title']}", "owner": a.id, "minutes": 15}),
        ]
    )
    ca.store.record("note.added", {"meeting": "m1", "item": "i1", "text": f"burnout {c['note']}", "kind": "note"})
    ca.store.record("note.added", {"meeting": "m1", "item": "i1", "text": f"rota {c['decision']}", "kind": "decision"})
    ca.store.record("action.added", {"action": "a1", "meeting": "m1", "title": f"call {c['action']}", "owner": b.id, "due": "2026-01-22"})
    ca.store.record("self.note_added", {"text": f"only me {c['self note']}"}, scope="self")
    cb = b.cohort(ca.id)
    cb.store.record("member.updated", {"member": b.id, "profession": f"speech {c['profession']}"})
    cb.store.record("note.added", {"meeting": "m1", "item": "i1", "text": f"from Ben {c['peer note']}", "kind": "note"})
    once(a, b, a)

    # The canaries are really there, for the people entitled to them.
    seen = json.dumps(
        [[e.kind, as_written(e)] for e in [*ca.view.events, *ca.store.self_notes()]], default=str
    )  # a note's text left in its journal: read back + ca.view.cohort().name
    seen += json.dumps([m.name for m in ca.view.members()])
    assert [label for label, token in c.items() if token not in seen] == []

    store = raw_store(kind, request, tmp_path)
    journals = sorted(p.name for p in store.iterdir() if p.is_dir())
    assert len(journals) == 2  # Ana's journal and Ben's, at random paths
    base = ls.Replica(**{k: v for k, v in loc.items() if k in ls.Replica.__dataclass_fields__})
    restored = restore_all(base, journals, tmp_path / "restored")
    raw = files_under(store)
    assert len(raw) >= 4
    assert [p.name for p in raw if p.suffix != ".ltx"] == ([MARKER] if kind == "folder" else [])  # the folder's marker: fixed text
    hits = scan(restored + raw)
    record(
        "canaries",
        f"{kind} replica: raw files and restored journals",
        canaries_planted=len(c),
        files_scanned=len(restored + raw),
        canaries_found=sum(bool(v) for v in hits.values()),
    )
    assert {k: v for k, v in hits.items() if v} == {}

    # The control: the same plaintext, unencrypted, through the same litestream and the same scan.
    plain = tmp_path / "control" / "plain.db"
    plain.parent.mkdir()
    con = sqlite3.connect(plain)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE envelopes (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    events = {e.id: e for s in (ca, cb) for e in [*s.view.events, *s.store.self_notes()]}
    rows = [
        json.dumps({"kind": e.kind, "cohort": e.cohort, "author": e.author, "lamport": e.lamport, "body": as_written(e)}, default=str).encode()
        for e in sorted(events.values(), key=lambda e: e.stamp)
    ]
    with con:
        con.executemany("INSERT INTO envelopes (blob) VALUES (?)", [(r,) for r in rows])
    con.close()
    control = "control" + os.urandom(8).hex()
    ls.replicate_once(plain, base.child(control))
    restored_plain = restore_all(base, [control], tmp_path / "restored-control")
    control_files = restored_plain + files_under(store / control)
    record(
        "canaries",
        f"control: {kind} replica of the same events unencrypted",
        must={"canaries_found": "> 0"},
        canaries_planted=len(c),
        files_scanned=len(control_files),
        canaries_found=sum(bool(v) for v in scan(control_files).values()),
    )
    assert {k: v for k, v in scan(restored_plain).items() if not v} == {}, "the scan misses plaintext in a restored database"
    assert {k: v for k, v in scan(files_under(store / control)).items() if not v} == {}, "the scan misses plaintext in raw replica files"
