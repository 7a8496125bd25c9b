"""Writing events: seal, chain and append them to this identity's own journal.

One batch is one transaction and one signature (on its last envelope; the
hash chain covers the rest). Nothing else ever writes a journal: Litestream
replicates a database that has exactly one writer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from circle.crypto import envelope
from circle.crypto.identity import Identity, PublicIdentity
from circle.store.journal import Journal
from circle.store.vault import JournalRecord


@dataclass(frozen=True)
class Author:
    """Who writes: an unlocked identity's keys and the name the cohort knows."""

    identity: Identity = field(repr=False)
    public: PublicIdentity
    name: str
    signer: Ed25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def of(cls, identity: Identity, name: str, public: PublicIdentity | None = None) -> Author:
        """``public``: the identity as cohorts know it, where this device reads with keys of its own."""
        return cls(identity, public or identity.public(), name, identity.signer())

    @property
    def id(self) -> str:
        """The identity id, hex."""
        return self.identity.id.hex()

    @functools.cached_property
    def reading(self) -> bytes:
        """This device's reading keys (public): the identity's, or on a second device its own."""
        return self.identity.public().reading


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

    def append(self, sealing: Sequence[tuple[bytes, bytes, bytes]]) -> list[bytes]:
        """Seal each (plaintext payload, key id, key) and append them in one transaction; the head moves to the last one.

        The last envelope is signed; the hash chain covers the rest.
        """

        def sealer(payload: bytes, key_id: bytes, key: bytes) -> Callable[[int, bytes, bool], bytes]:
            def seal(seq: int, prev: bytes, sign: bool) -> bytes:
                return envelope.seal(
                    journal_id=self.journal.journal_id,
                    seq=seq,
                    prev=prev,
                    key_id=key_id,
                    key=key,
                    plaintext=payload,
                    signer=self.author.signer if sign else None,
                )

            return seal

        written = self.journal.append([sealer(*s) for s in sealing], known_head=self.head.seq)
        last = written[-1]
        self.head.advance(envelope.parse(last).seq, envelope.event_id(last), last)
        return written
