"""Domain events: what people did, as plain data inside an envelope.

An event's plaintext is compact JSON with a version; the kind, the cohort,
the author and the clocks live here, inside the ciphertext, never in the clear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from circle.errors import InvalidEnvelope

PAYLOAD_VERSION = 1

# Every kind of event circle writes. Reducers live in models/view.py.
KINDS = frozenset(
    {
        "cohort.created",
        "cohort.charter_set",
        "member.admitted",
        "member.updated",
        "member.removed",
        "member.join_requested",
        "keys.epoch_started",
        "meeting.scheduled",
        "meeting.updated",
        "meeting.phase_set",
        "meeting.handoff",
        "meeting.held",
        "rota.swapped",
        "rota.given_back",
        "agenda.added",
        "agenda.updated",
        "agenda.current_set",
        "note.added",
        "action.added",
        "action.updated",
        "attendance.marked",
        "anon.line_added",
        "self.note_added",
        "keys.wrapped",
    }
)


@dataclass(frozen=True)
class Event:
    """One opened, verified event.

    Attributes:
        id: hash of the envelope (hex).
        journal: the journal it came from (hex).
        seq: its place in that journal.
        kind: one of :data:`KINDS`.
        cohort: cohort id (hex).
        author: identity id of the author (hex).
        lamport: logical clock, for ordering edits.
        ts: the author's wall clock in seconds; for display, never for decisions.
        body: the kind-specific fields.
    """

    id: str
    journal: str
    seq: int
    kind: str
    cohort: str
    author: str
    lamport: int
    ts: float
    body: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def stamp(self) -> tuple[int, str, str]:
        """Total order for last-writer-wins: lamport, then author, then id."""
        return (self.lamport, self.author, self.id)


def encode_payload(*, kind: str, cohort: str, author: str, lamport: int, ts: float, body: dict[str, Any]) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    doc = {"v": PAYLOAD_VERSION, "k": kind, "c": cohort, "a": author, "l": lamport, "t": round(ts, 3), "b": body}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode_payload(raw: bytes, *, id: str, journal: str, seq: int) -> Event:
    try:
        doc = json.loads(raw.decode("utf-8"))
        if doc["v"] != PAYLOAD_VERSION:
            raise InvalidEnvelope(f"event payload version {doc['v']} is not supported")
        kind, cohort, author, lamport, ts, body = doc["k"], doc["c"], doc["a"], doc["l"], doc["t"], doc["b"]
    except InvalidEnvelope:
        raise
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidEnvelope("event payload malformed") from exc
    if (
        kind not in KINDS
        or not isinstance(cohort, str)
        or not isinstance(author, str)
        or not isinstance(lamport, int)
        or not isinstance(ts, (int, float))
        or not isinstance(body, dict)
    ):
        raise InvalidEnvelope("event payload malformed")
    return Event(id, journal, seq, kind, cohort, author, lamport, float(ts), body)
