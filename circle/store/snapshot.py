"""The local snapshot of a cohort: its verified events, sealed, so that opening is fast.

Opening a big cohort would otherwise walk and decrypt every journal. The
snapshot is sealed with a key that never leaves the keystore
(:mod:`circle.crypto.sealed`), lives under ``snapshots/`` and is never
replicated. It records the verified head of every journal it covers; an
opener folds only what came after those heads. Plain JSON, no pickle: a
snapshot is data, never code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from circle.crypto import sealed
from circle.crypto.keystore import atomic_write
from circle.errors import InvalidEnvelope
from circle.models.events import Event

MAGIC = b"CRCLSNP2"
LABEL = b"circle/v1/snapshot"
VERSION = 4  # 4: the peer of each private channel event
SAVE_AFTER = 2000  # events folded on a cold open before a snapshot is worth writing


@dataclass(frozen=True)
class Snapshot:
    """What a snapshot holds.

    Attributes:
        heads: journal id -> (seq, hash hex) verified when it was written.
        events: every event it covers, from every scope held.
        peers: for each private channel event, the other member of its channel (as its key says here).
        opaque: envelopes verified that the view does not fold (journal, seq, envelope id): citations may name them.
    """

    heads: dict[str, tuple[int, str]]
    events: list[Event]
    peers: dict[str, str] = field(default_factory=dict)
    opaque: list[tuple[str, int, str]] = field(default_factory=list)  # envelopes the view does not fold: (journal, seq, id)


def save(path: Path, key: bytes, cohort_id: str, snap: Snapshot) -> None:
    """Seal and write a snapshot atomically (mode 0600)."""
    doc = {
        "v": VERSION,
        "heads": {jid: [seq, digest] for jid, (seq, digest) in snap.heads.items()},
        "peers": snap.peers,
        "opaque": [list(o) for o in snap.opaque],
        "events": [[e.id, e.journal, e.seq, e.kind, e.cohort, e.author, e.lamport, e.ts, e.body, [list(d) for d in e.deps]] for e in snap.events],
    }
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    atomic_write(path, sealed.seal(key, MAGIC, LABEL, bytes.fromhex(cohort_id), data))


def load(path: Path, key: bytes, cohort_id: str) -> Snapshot | None:
    """The snapshot at ``path``, or None if there is none or it cannot be used.

    A damaged or foreign snapshot is deleted: it costs a slower open, nothing more.
    """
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        doc = json.loads(sealed.open_sealed(key, MAGIC, LABEL, bytes.fromhex(cohort_id), blob))
        if doc.get("v") != VERSION:
            raise ValueError("snapshot version")
        heads = {str(j): (int(s), str(h)) for j, (s, h) in doc["heads"].items()}
        events = [
            Event(str(i), str(j), int(s), str(k), str(c), str(a), int(lam), float(ts), b, tuple((str(x), int(y), str(z)) for x, y, z in d))
            for i, j, s, k, c, a, lam, ts, b, d in doc["events"]
        ]
        peers = {str(i): str(p) for i, p in doc["peers"].items()}
        opaque = [(str(j), int(s), str(i)) for j, s, i in doc["opaque"]]
    except (InvalidEnvelope, ValueError, KeyError, TypeError, AttributeError):
        path.unlink(missing_ok=True)
        return None
    return Snapshot(heads, events, peers, opaque)
