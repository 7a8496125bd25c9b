"""Writing events: seal, chain and append them to this identity's own journal.

One batch is one transaction and one signature (on its last envelope; the
hash chain covers the rest). Nothing else ever writes a journal: Litestream
replicates a database that has exactly one writer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from circle.crypto import envelope
from circle.crypto.identity import Identity, PublicIdentity
from circle.models.events import Event, encode_payload
from circle.store.journal import Journal
from circle.store.vault import JournalRecord, ScopeKey


@dataclass(frozen=True)
class Author:
    """Who writes: an unlocked identity's keys and the name the cohort knows."""

    identity: Identity = field(repr=False)
    public: PublicIdentity
    name: str
    signer: Ed25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def of(cls, identity: Identity, name: str) -> Author:
        return cls(identity, identity.public(), name, identity.signer())

    @property
    def id(self) -> str:
        """The identity id, hex."""
        return self.identity.id.hex()


class JournalWriter:
    """Appends sealed events to one own journal and keeps its verified head.

    Args:
        journal: the own journal file.
        head: the keystore's record of that journal (its head moves on every write).
        author: who signs.
    """

    def __init__(self, journal: Journal, head: JournalRecord, author: Author) -> None:
        self.journal = journal
        self.head = head
        self.author = author

    def write(self, *, cohort: str, items: Sequence[tuple[str, dict[str, Any]]], key: ScopeKey, lamport: int, now: float) -> list[Event]:
        """Seal ``items`` with ``key``, lamport clocks from ``lamport + 1``, in one transaction."""
        if not items:
            return []
        payloads = []
        for i, (kind, body) in enumerate(items):
            payloads.append(encode_payload(kind=kind, cohort=cohort, author=self.author.id, lamport=lamport + 1 + i, ts=now, body=body))
        written = self.append(payloads, key.raw_id, key.secret)
        seq0 = envelope.parse(written[0]).seq
        jid = self.journal.journal_id.hex()
        return [
            Event(envelope.event_id(blob).hex(), jid, seq0 + i, kind, cohort, self.author.id, lamport + 1 + i, round(now, 3), body)
            for i, ((kind, body), blob) in enumerate(zip(items, written))
        ]

    def append(self, payloads: Sequence[bytes], key_id: bytes, key: bytes) -> list[bytes]:
        """Seal plaintext payloads with ``key`` and append them; the head moves to the last one."""

        def sealer(payload: bytes) -> Callable[[int, bytes, bool], bytes]:
            def seal(seq: int, prev: bytes, sign: bool) -> bytes:
                return envelope.seal(journal_id=self.journal.journal_id, seq=seq, prev=prev, key_id=key_id, key=key, plaintext=payload,
                                     signer=self.author.signer if sign else None)

            return seal

        written = self.journal.append([sealer(p) for p in payloads], known_head=self.head.seq)
        last = written[-1]
        self.head.advance(envelope.parse(last).seq, envelope.event_id(last), last)
        return written
