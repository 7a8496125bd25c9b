"""Checking a journal's hash chain and signatures: once on ingest, never on display.

A journal is accepted up to its newest signed event whose signature verifies
and whose hash chain links, without a gap, back to the head verified before.
A different event at an already verified position is a fork; a journal that
ends before the verified head is a rollback. Both are reported, with the
envelopes kept as evidence, and nothing from that journal is folded further.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from circle.crypto import envelope
from circle.errors import InvalidEnvelope
from circle.store.journal import Row


class Checked(NamedTuple):
    seq: int
    blob: bytes
    hash: bytes
    header: envelope.Header


@dataclass
class ChainResult:
    """What a check of one journal found."""

    accepted: list[Checked] = field(default_factory=list)
    head_seq: int = 0
    head_hash: bytes = envelope.ZERO_HASH
    head_envelope: bytes = b""
    signatures_checked: int = 0
    events_checked: int = 0
    problem: str = ""  # one line, no plaintext
    kind: str = ""  # "", "fork", "rollback", "tampered"
    evidence: list[bytes] = field(default_factory=list)
    digests: bytearray = field(default_factory=bytearray)  # with ``reread``: the accepted envelopes' hashes, 32 bytes each, from head_seq + 1


def check_chain(
    rows: Iterable[Row],
    *,
    journal_id: bytes,
    verifier: Ed25519PublicKey,
    head_seq: int = 0,
    head_hash: bytes = envelope.ZERO_HASH,
    head_envelope: bytes = b"",
    every_signature: bool = False,
    reread: Callable[[int], bytes] | None = None,
    _head_row_needed: bool = True,
) -> ChainResult:
    """Check rows with seq >= ``head_seq`` (the verified head itself included).

    Args:
        rows: journal rows in ascending seq, starting at ``head_seq`` (or 1).
        journal_id: the journal these rows must belong to.
        verifier: the owner's signing key.
        head_seq, head_hash, head_envelope: what was verified before.
        every_signature: check every signature present, not only the newest
            (``circle verify``); ingest checks the newest and the chain.
        reread: the envelope at a seq, read again from the same journal. Given,
            the walk keeps each envelope's hash, not the envelope and its
            header (about 1.2 KB an event: a cold open of 100k events held
            every one of a journal at once): ``accepted`` stays empty and
            ``digests`` says what was accepted, for the caller to read again.
    """
    res = ChainResult(head_seq=head_seq, head_hash=head_hash, head_envelope=head_envelope)
    prev = head_hash
    expect = head_seq + 1
    pending: list[Checked] = []  # without ``reread``
    digests = res.digests  # with it
    signed: list[int] = []  # seqs of the signed envelopes walked
    saw_head = head_seq == 0 or not _head_row_needed
    last_before = b""  # the newest row before the head, kept as rollback evidence
    rows = iter(rows)
    for row in rows:
        if row.seq < head_seq:
            last_before = row.blob
            continue
        if row.seq == head_seq:
            if envelope.event_id(row.blob) != head_hash:
                return _fork(res, row, rows, journal_id, verifier, head_envelope)
            saw_head = True
            continue
        if not saw_head:
            break
        if row.seq != expect:
            res.problem, res.kind = f"journal has a gap before event {row.seq}", "tampered"
            break
        try:
            h = envelope.parse(row.blob)
            if h.journal_id != journal_id or h.seq != row.seq:
                raise InvalidEnvelope("event belongs to another journal or position")
            if h.prev != prev:
                raise InvalidEnvelope("hash chain broken")
            if every_signature and h.signed:
                envelope.verify_signature(row.blob, h, verifier)
                res.signatures_checked += 1
        except InvalidEnvelope as exc:
            res.problem, res.kind = f"event {row.seq} rejected: {exc.reason}", "tampered"
            break
        digest = envelope.event_id(row.blob)
        if reread is None:
            pending.append(Checked(row.seq, row.blob, digest, h))
        else:
            digests += digest
        res.events_checked += 1
        if h.signed:
            signed.append(row.seq)
        prev, expect = digest, row.seq + 1
    if not saw_head:
        res.problem, res.kind = f"journal ends at or before event {head_seq}, which was already verified", "rollback"
        res.evidence = [e for e in (head_envelope, last_before) if e]
        return res
    walked = expect - head_seq - 1

    def at(seq: int) -> bytes:
        return pending[seq - head_seq - 1].blob if reread is None else reread(seq)

    # Accept up to the newest signed event whose signature holds.
    top = signed[-1] if signed else head_seq
    while signed and not every_signature:  # (with every_signature, each was checked above)
        blob = at(top)
        try:
            envelope.verify_signature(blob, envelope.parse(blob), verifier)
            res.signatures_checked += 1
            break
        except InvalidEnvelope:
            res.problem, res.kind = f"event {top} rejected: signature does not verify", "tampered"
            signed.pop()
            top = signed[-1] if signed else head_seq
    if top - head_seq < walked and not res.problem:
        res.problem, res.kind = f"events after {top} are not signed", "tampered"
    if top > head_seq:
        res.accepted, res.head_seq, res.head_envelope = pending[: top - head_seq], top, at(top)
        del digests[(top - head_seq) * envelope.HASH_LEN :]
        res.head_hash = res.accepted[-1].hash if reread is None else bytes(digests[-envelope.HASH_LEN :])
    else:
        del digests[:]
    return res


def _fork(res: ChainResult, row: Row, rest: Iterable[Row], journal_id: bytes, verifier: Ed25519PublicKey, head_envelope: bytes) -> ChainResult:
    """A different event sits where the verified head was: a fork if it is validly signed (or chains to a valid signature).

    The other branch may have split off before the head, so it is followed from
    the new event's own previous hash: what matters is that the owner signed a
    second, different event at a position already verified.
    """
    try:
        other_prev = envelope.parse(row.blob).prev
    except InvalidEnvelope:
        other_prev = None
    other = None
    if other_prev is not None:
        other = check_chain(
            [row, *rest],
            journal_id=journal_id,
            verifier=verifier,
            head_seq=row.seq - 1,
            head_hash=other_prev,
            _head_row_needed=False,
        )
    if other is not None and other.accepted:
        res.kind = "fork"
        res.problem = f"two different signed events claim position {row.seq}: the journal forked"
        res.evidence = [e for e in (head_envelope, *(c.blob for c in other.accepted)) if e]
    else:
        res.kind = "tampered"
        res.problem = f"event {row.seq} was changed after it was verified"
    return res
