"""Envelopes: sealing, parsing, signatures, key commitment, padding (docs/FORMAT.md)."""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from circle.crypto import envelope
from circle.errors import InvalidEnvelope

KEY = bytes(range(32))
JID = b"J" * 16
KID = b"K" * 16
SIGNER = Ed25519PrivateKey.from_private_bytes(b"S" * 32)
VERIFIER = SIGNER.public_key()


def seal(plaintext: bytes = b"hello", *, seq: int = 1, prev: bytes = envelope.ZERO_HASH, signed: bool = True, **kw) -> bytes:
    args = dict(journal_id=JID, seq=seq, prev=prev, key_id=KID, key=KEY, plaintext=plaintext, signer=SIGNER if signed else None)
    args.update(kw)
    return envelope.seal(**args)


@contextmanager
def reason(fragment: str) -> Iterator[None]:
    """Expect an InvalidEnvelope whose reason contains ``fragment``."""
    with pytest.raises(InvalidEnvelope) as err:
        yield
    assert fragment in err.value.reason, err.value.reason


def read(env: bytes, key: bytes = KEY) -> bytes:
    """The reader's order: structure, signature, then decrypt."""
    h = envelope.parse(env)
    envelope.verify_signature(env, h, VERIFIER)
    return envelope.open_envelope(env, h, key)


def test_round_trip_and_layout() -> None:
    env = seal(b"agenda item one", seq=7, prev=b"p" * 32)
    h = envelope.parse(env)
    assert env[:4] == b"CRCL" and env[4] == envelope.VERSION and env[5] == envelope.SUITE
    assert (h.journal_id, h.seq, h.prev, h.key_id, h.signed) == (JID, 7, b"p" * 32, KID, True)
    assert struct.unpack(">Q", env[23:31])[0] == 7
    assert len(env) == envelope.HEADER_LEN + h.ct_len + envelope.SIG_LEN == 147 + 256 + 16 + 64
    assert read(env) == b"agenda item one"


def test_unsigned_envelope_has_no_signature_and_cannot_stand_alone() -> None:
    env = seal(b"x", signed=False)
    h = envelope.parse(env)
    assert not h.signed and len(env) == envelope.HEADER_LEN + h.ct_len
    assert envelope.open_envelope(env, h, KEY) == b"x"
    with reason("not signed"):
        envelope.verify_signature(env, h, VERIFIER)


def test_plaintext_is_not_in_the_envelope() -> None:
    secret = b"Dr Okafor's supervision notes " * 3
    raw = os.urandom(300)
    for pt in (secret, raw):
        env = seal(pt)
        assert pt[:12] not in env


def test_fresh_salt_every_time_and_the_hook_is_deterministic() -> None:
    a, b = seal(b"same"), seal(b"same")
    assert a != b and envelope.parse(a).salt != envelope.parse(b).salt
    s = b"s" * 32
    assert seal(b"same", salt=s) == seal(b"same", salt=s)


def test_wrong_key_is_caught_by_the_commitment_before_decrypting(monkeypatch: pytest.MonkeyPatch) -> None:
    env = seal(b"x")
    h = envelope.parse(env)

    def no_decrypt(*a, **k):
        raise AssertionError("decrypted before the commitment was checked")

    monkeypatch.setattr(ChaCha20Poly1305, "decrypt", no_decrypt)
    with pytest.raises(InvalidEnvelope) as err:
        envelope.open_envelope(env, h, bytes(32))
    assert err.value.reason == "key commitment does not match"


def test_commitment_binds_key_and_header_prefix() -> None:
    env = seal(b"x")
    h = envelope.parse(env)
    k, nonce, commitment = envelope._derive(KEY, h.salt, env[: envelope._DERIVE_PREFIX])
    assert commitment == h.commitment and len(k) == 32 and len(nonce) == 12 and len(commitment) == 32
    other_prefix = env[:7] + b"X" * 16 + env[23 : envelope._DERIVE_PREFIX]  # another journal id
    assert envelope._derive(KEY, h.salt, other_prefix)[2] != commitment


def test_signature_covers_a_label_the_header_and_the_body() -> None:
    env = seal(b"x")
    signed_part = env[: -envelope.SIG_LEN]
    VERIFIER.verify(env[-envelope.SIG_LEN :], envelope.LABEL_SIGNATURE + signed_part)
    # the same key signing the same bytes without the label does not make a valid envelope
    forged = signed_part + SIGNER.sign(signed_part)
    with reason("signature does not verify"):
        envelope.verify_signature(forged, envelope.parse(forged), VERIFIER)


def test_another_signers_envelope_is_rejected() -> None:
    env = seal(b"x")
    other = Ed25519PrivateKey.generate().public_key()
    with reason("signature does not verify"):
        envelope.verify_signature(env, envelope.parse(env), other)


def test_event_id_is_a_labelled_hash_of_the_whole_envelope() -> None:
    import hashlib

    env = seal(b"x")
    assert envelope.event_id(env) == hashlib.sha256(b"circle/v1/event-id" + env).digest()
    assert envelope.event_id(env) != envelope.event_id(env[:-1] + bytes([env[-1] ^ 1]))


@pytest.mark.parametrize(
    "field",
    [dict(journal_id=b"j" * 15), dict(key_id=b"k" * 17), dict(prev=b"p" * 31), dict(key=b"k" * 16)],
    ids=["journal_id", "key_id", "prev", "key"],
)
def test_seal_refuses_bad_lengths(field: dict) -> None:
    with pytest.raises(ValueError):
        seal(b"x", **field)


def test_chain_start_rules() -> None:
    with reason("chain start"):
        envelope.parse(seal(b"x", seq=1, prev=b"\x01" * 32))
    with reason("chain start"):
        envelope.parse(seal(b"x", seq=2, prev=envelope.ZERO_HASH))
    with reason("sequence number"):
        envelope.parse(seal(b"x", seq=0))


# ---- padding ----------------------------------------------------------------------
def test_padme_bounds() -> None:
    assert envelope.padme(0) == envelope.padme(256) == 256
    for n in list(range(1, 5000)) + [2**20 + 1, 10**7 + 3]:
        p = envelope.padme(n)
        assert p >= n and p >= envelope.MIN_PADDED
        if n >= envelope.MIN_PADDED:
            assert (p - n) / n <= 0.12, n
        assert envelope.padme(p) == p  # buckets are fixed points


def test_padme_has_few_buckets() -> None:
    # Padmé leaks O(log log n) bits: far fewer sizes than lengths.
    assert len({envelope.padme(n) for n in range(1, 1 << 16)}) < 250


def test_lengths_in_one_bucket_give_one_envelope_size() -> None:
    # 1990 and 2030 bytes of high-entropy content pad to the same 2048-byte bucket.
    a, b = seal(os.urandom(1990)), seal(os.urandom(2030))
    assert len(a) == len(b)


def test_compressible_content_is_compressed_before_padding() -> None:
    text = b"the facilitator hands over to the next person on the rota. " * 100
    env = seal(text)
    assert envelope.parse(env).ct_len < len(text) // 4
    assert read(env) == text
    assert envelope.pad(text)[0] == 1 and envelope.pad(os.urandom(64))[0] == 0


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=3000) | st.text(max_size=2000).map(str.encode))
def test_pad_round_trip_and_bucket(content: bytes) -> None:
    padded = envelope.pad(content)
    assert len(padded) == envelope.padme(len(padded)) and len(padded) >= envelope.MIN_PADDED
    assert envelope.unpad(padded) == content


def test_padding_must_be_zero() -> None:
    padded = bytearray(envelope.pad(b"x"))
    padded[-1] = 1
    with reason("padding is not zero"):
        envelope.unpad(bytes(padded))


def test_decompression_is_bounded() -> None:
    # 64 MiB + 1 of zeros compresses to about 64 KiB: a reader must stop, not allocate without end.
    bomb = zlib.compress(bytes(envelope.MAX_CIPHERTEXT * 4 + 1), 9)
    framed = struct.pack(">BI", 1, len(bomb)) + bomb
    padded = framed + bytes(envelope.padme(len(framed)) - len(framed))
    with reason("compressed plaintext malformed"):
        envelope.unpad(padded)


def test_nothing_may_follow_the_zlib_stream() -> None:
    data = zlib.compress(b"abc" * 100) + b"!"
    framed = struct.pack(">BI", 1, len(data)) + data
    with reason("compressed plaintext malformed"):
        envelope.unpad(framed + bytes(envelope.padme(len(framed)) - len(framed)))


def test_ciphertext_length_is_bounded_before_anything_else() -> None:
    env = bytearray(seal(b"x", signed=False))
    env[143:147] = struct.pack(">I", envelope.MAX_CIPHERTEXT + 1)
    with reason("ciphertext length out of range"):
        envelope.parse(bytes(env))


def test_payloads_read_together_share_their_body_keys_and_keep_their_bodies() -> None:
    """JSON shares a key only within one document: 100k bodies held four copies of "meeting", "item", ... each (24 MiB)."""
    from circle.models.events import Shared, decode_payload, encode_payload

    shared = Shared()
    a, b = (
        decode_payload(
            encode_payload(
                kind="note.added", cohort="c" * 32, author="a" * 64, lamport=n, ts=1.0, body={"meeting": "m1", "item": f"i{n}", "text": "said twice"}
            ),
            id=str(n),
            journal="j",
            seq=n,
            shared=shared,
        )
        for n in (1, 2)
    )
    assert a.body == {"meeting": "m1", "item": "i1", "text": "said twice"} and b.body == {"meeting": "m1", "item": "i2", "text": "said twice"}
    assert all(x is y for x, y in zip(a.body, b.body, strict=True))
    assert a.body["meeting"] is b.body["meeting"]  # a value that names something: one copy (28,925 of them named 980 meetings at 100k)
    assert a.body["text"] is not b.body["text"]  # words are not looked up


def test_bodies_loaded_from_a_snapshot_share_the_ids_they_name(tmp_path) -> None:
    from circle.store.session import Home

    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", "correct horse battery staple")
    svc = session.create_cohort("Midwives South")
    mids = [svc.schedule(f"2026-10-{d} 14:00", "October") for d in (10, 17)]
    for mid in mids:
        for n in range(3):
            svc.add_item(mid, f"Item {n}")
            svc.add_action(mid, f"Action {n}")
    svc.store.save_snapshot()
    cid = svc.id
    session.close()
    session = Home(tmp_path / "home").unlock("correct horse battery staple")
    named = [e.body["meeting"] for e in session.cohort(cid).view.events if type(e.body.get("meeting")) is str]
    assert len(named) == 14 and len({id(m) for m in named}) == len(set(named)) == 2  # each meeting's id held once
    session.close()
