"""Every single-bit flip and every truncation of sample envelopes is rejected.

Signed envelopes are checked the way a reader checks one on its own (parse,
signature, commitment, AEAD); unsigned mid-batch envelopes can only be judged
through the chain, so their mutants are put into the journal in place of the
original and the chain must stop accepting before them. The test prints how
many mutants it tried and how many were accepted (it must be 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from circle.crypto import envelope
from circle.errors import InvalidEnvelope
from circle.models.events import encode_payload
from circle.store.chain import check_chain
from circle.store.journal import Row
from tests.figures import record

JID = bytes.fromhex("6a" * 16)
KID = bytes.fromhex("4b" * 16)
KEY = bytes(range(32))
SIGNER = Ed25519PrivateKey.from_private_bytes(b"m" * 32)
VERIFIER = SIGNER.public_key()


def payload(i: int, text: str) -> bytes:
    return encode_payload(
        kind="note.added", cohort="c" * 32, author="a" * 32, lamport=i, ts=1.0, body={"meeting": "m1", "item": "i1", "text": text, "kind": "note"}
    )


def journal() -> list[Row]:
    """seq 1 alone (signed); seq 2-4 one batch (2 and 3 unsigned, 4 signed); seq 5 a large compressed event."""
    texts = [["first"], ["batch a", "batch b", "batch c"], ["long " * 300]]
    rows: list[Row] = []
    seq, prev = 0, envelope.ZERO_HASH
    for batch in texts:
        for i, t in enumerate(batch):
            seq += 1
            blob = envelope.seal(
                journal_id=JID,
                seq=seq,
                prev=prev,
                key_id=KID,
                key=KEY,
                plaintext=payload(seq, t),
                signer=SIGNER if i == len(batch) - 1 else None,
                salt=bytes([seq]) * 32,
            )
            rows.append(Row(seq, blob))
            prev = envelope.event_id(blob)
    return rows


ROWS = journal()


def accepted_alone(blob: bytes) -> bool:
    """A signed envelope on its own: accepted only if every check passes."""
    try:
        h = envelope.parse(blob)
        envelope.verify_signature(blob, h, VERIFIER)
        envelope.open_envelope(blob, h, KEY)
    except InvalidEnvelope:
        return False
    return True


def opens_without_signature(blob: bytes) -> bool:
    """The encryption layer alone: parse, commitment, AEAD, frame."""
    try:
        envelope.open_envelope(blob, envelope.parse(blob), KEY)
    except InvalidEnvelope:
        return False
    return True


def accepted_in_chain(index: int, blob: bytes) -> bool:
    """The mutant in place of row ``index``: accepted if the chain takes it (then it would be opened and folded)."""
    # Rows after the next signed one cannot change the verdict on this one: leave them out (speed).
    end = next(i for i in range(index, len(ROWS)) if envelope.parse(ROWS[i].blob).signed) + 1
    rows = list(ROWS[:end])
    rows[index] = Row(rows[index].seq, blob)
    res = check_chain(rows, journal_id=JID, verifier=VERIFIER)
    return any(c.blob == blob for c in res.accepted)


def bit_flips(blob: bytes):
    for i in range(len(blob)):
        for bit in range(8):
            m = bytearray(blob)
            m[i] ^= 1 << bit
            yield bytes(m)


def truncations(blob: bytes):
    for n in range(len(blob)):
        yield blob[:n]


@dataclass
class Tally:
    tried: int = 0
    accepted: int = 0

    def add(self, ok: bool) -> None:
        self.tried += 1
        self.accepted += ok


def test_sample_is_what_it_claims() -> None:
    flags = [envelope.parse(r.blob).signed for r in ROWS]
    assert flags == [True, False, False, True, True]
    assert check_chain(ROWS, journal_id=JID, verifier=VERIFIER).head_seq == 5
    assert all(accepted_in_chain(i, r.blob) for i, r in enumerate(ROWS))  # the originals pass: the oracle can say yes


def test_every_bit_flip_and_truncation_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    alone, chained, aead = Tally(), Tally(), Tally()
    for index, row in enumerate(ROWS):
        signed = envelope.parse(row.blob).signed
        h = envelope.parse(row.blob)
        aead_end = envelope.HEADER_LEN + h.ct_len  # the signature is not part of the AEAD's input
        for mutant in [*bit_flips(row.blob), *truncations(row.blob)]:
            if signed:
                alone.add(accepted_alone(mutant))
            chained.add(accepted_in_chain(index, mutant))
        for mutant in bit_flips(row.blob[:aead_end]):
            aead.add(opens_without_signature(mutant + row.blob[aead_end:]))
    total = Tally(alone.tried + chained.tried + aead.tried, alone.accepted + chained.accepted + aead.accepted)
    with capsys.disabled():
        print(
            f"\nmutants: {total.tried} tried, {total.accepted} accepted "
            f"(signed envelopes alone {alone.tried}/{alone.accepted}, in the chain {chained.tried}/{chained.accepted}, "
            f"encryption layer only {aead.tried}/{aead.accepted})"
        )
    record("tamper", "envelopes: signed, alone", mutants_tried=alone.tried, mutants_accepted=alone.accepted)
    record("tamper", "envelopes: in the hash chain", mutants_tried=chained.tried, mutants_accepted=chained.accepted)
    record("tamper", "envelopes: encryption layer only", mutants_tried=aead.tried, mutants_accepted=aead.accepted)
    assert chained.tried > 5 * 8 * 400 and alone.tried > 3 * 8 * 400
    assert total.accepted == 0


def test_unsigned_mid_batch_mutants_are_caught_by_the_chain_not_by_a_signature() -> None:
    """Show that the chain is doing the work: on its own an unsigned envelope has nothing to check."""
    mid = ROWS[1].blob
    h = envelope.parse(mid)
    assert not h.signed
    flipped = bytearray(mid)
    flipped[envelope.HEADER_LEN] ^= 1
    assert not accepted_in_chain(1, bytes(flipped))
    res = check_chain([ROWS[0], Row(2, bytes(flipped)), *ROWS[2:]], journal_id=JID, verifier=VERIFIER)
    assert [c.seq for c in res.accepted] == [1] and res.problem == "event 3 rejected: hash chain broken"
