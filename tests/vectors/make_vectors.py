"""Generate circle's known-answer and negative test vectors (docs/FORMAT.md).

Run from the repository root::

    python tests/vectors/make_vectors.py            # rewrite tests/vectors/
    python tests/vectors/make_vectors.py --out DIR  # write elsewhere

Every input is fixed: keys come from SHA-256/512 of labelled strings and the
envelope salt goes through ``seal``'s known-answer hook, so two runs write the
same bytes. The one exception is HPKE, whose encapsulation is randomized and
has no hook: the wrap vector keeps the ciphertext already in the output (or in
``--reuse DIR``) when it still opens, and only makes a fresh one otherwise.

Positive vectors hold inputs, intermediate values and the expected output.
Negative vectors hold one failure each, with the error it must raise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from circle.crypto import envelope, keystore
from circle.crypto.identity import Identity
from circle.models.events import encode_payload
from circle.store import keys as keys_mod
from circle.store.vault import Scope, ScopeKey

HERE = Path(__file__).resolve().parent
TS = 1_767_225_600.0


def det(label: str, n: int = 32) -> bytes:
    """Fixed bytes for a test input: never use this outside vectors."""
    h = hashlib.sha512 if n > 32 else hashlib.sha256
    return h(b"circle/test-vector/" + label.encode()).digest()[:n]


SIGN_SEED = det("author signing key")
OTHER_SEED = det("someone else's signing key")
EPOCH_KEY = det("cohort epoch key")
JOURNAL_ID = det("journal id", 16)
KEY_ID = det("key id", 16)
AUTHOR = det("author identity id", 16).hex()
COHORT = det("cohort id", 16).hex()


def signer(seed: bytes = SIGN_SEED) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def payload(kind: str, lamport: int, body: dict[str, Any]) -> bytes:
    return encode_payload(kind=kind, cohort=COHORT, author=AUTHOR, lamport=lamport, ts=TS, body=body)


def salt_for(seq: int, tag: str = "") -> bytes:
    return det(f"salt {seq} {tag}")


def seal(
    seq: int,
    prev: bytes,
    plaintext: bytes,
    signed: bool,
    *,
    tag: str = "",
    key: bytes = EPOCH_KEY,
    key_id: bytes = KEY_ID,
    journal_id: bytes = JOURNAL_ID,
    seed: bytes = SIGN_SEED,
) -> bytes:
    return envelope.seal(
        journal_id=journal_id, seq=seq, prev=prev, key_id=key_id, key=key, plaintext=plaintext, signer=signer(seed) if signed else None, salt=salt_for(seq, tag)
    )


def seal_padded(seq: int, prev: bytes, padded: bytes, *, tag: str, head_patch: dict[str, Any] | None = None) -> bytes:
    """Seal an already padded plaintext (to build envelopes whose inside is wrong), signed."""
    f = {"magic": envelope.MAGIC, "version": envelope.VERSION, "suite": envelope.SUITE, "flags": envelope.SIGNED}
    f.update(head_patch or {})
    salt = salt_for(seq, tag)
    head = envelope._HEAD.pack(f["magic"], f["version"], f["suite"], f["flags"], JOURNAL_ID, seq, prev, KEY_ID, salt, bytes(32), len(padded) + envelope.TAG_LEN)
    k, nonce, commitment = envelope._derive(EPOCH_KEY, salt, head[: envelope._DERIVE_PREFIX])
    head = head[: envelope._DERIVE_PREFIX] + commitment + head[-4:]
    body = ChaCha20Poly1305(k).encrypt(nonce, padded, head)
    return resign(head + body)


def resign(unsigned_part: bytes, seed: bytes = SIGN_SEED) -> bytes:
    return unsigned_part + signer(seed).sign(envelope.LABEL_SIGNATURE + unsigned_part)


def without_sig(env: bytes) -> bytes:
    return env[: -envelope.SIG_LEN]


def patch_header(env: bytes, offset: int, new: bytes, *, signed: bool = True) -> bytes:
    """Replace header bytes and (for signed envelopes) sign again, so only that field is wrong."""
    body = without_sig(env) if signed else env
    body = body[:offset] + new + body[offset + len(new) :]
    return resign(body) if signed else body


# Header field offsets (docs/FORMAT.md, "Envelope").
OFF = {"magic": 0, "version": 4, "suite": 5, "flags": 6, "journal_id": 7, "seq": 23, "prev": 31, "key_id": 63, "salt": 79, "commitment": 111, "ct_len": 143}


def header_dict(h: envelope.Header) -> dict[str, Any]:
    return {
        "flags": h.flags,
        "journal_id": h.journal_id.hex(),
        "seq": h.seq,
        "prev": h.prev.hex(),
        "key_id": h.key_id.hex(),
        "salt": h.salt.hex(),
        "commitment": h.commitment.hex(),
        "ct_len": h.ct_len,
    }


def envelope_vector(description: str, env: bytes, plaintext: bytes) -> dict[str, Any]:
    h = envelope.parse(env)
    k, nonce, commitment = envelope._derive(EPOCH_KEY, h.salt, env[: envelope._DERIVE_PREFIX])
    padded = envelope.pad(plaintext)
    return {
        "description": description,
        "inputs": {
            "journal_id": JOURNAL_ID.hex(),
            "seq": h.seq,
            "prev": h.prev.hex(),
            "key_id": KEY_ID.hex(),
            "epoch_key": EPOCH_KEY.hex(),
            "salt": h.salt.hex(),
            "plaintext": plaintext.hex(),
            "signing_seed": SIGN_SEED.hex() if h.signed else None,
        },
        "intermediate": {
            "event_key": k.hex(),
            "nonce": nonce.hex(),
            "commitment": commitment.hex(),
            "compressed": padded[0] == 1,
            "padded_len": len(padded),
            "zlib_version": zlib.ZLIB_RUNTIME_VERSION,
        },
        "expected": {
            "header": header_dict(h),
            "envelope": env.hex(),
            "event_id": envelope.event_id(env).hex(),
            "verify_key": signer().public_key().public_bytes_raw().hex(),
        },
    }


def negative(description: str, check: str, expected: dict[str, Any], **inputs: Any) -> dict[str, Any]:
    return {"description": description, "check": check, "inputs": inputs, "expected": expected}


def bad(reason: str) -> dict[str, str]:
    return {"error": "InvalidEnvelope", "reason": reason}


def build(reuse: Path | None) -> dict[str, Any]:
    files: dict[str, Any] = {}
    vk = signer().public_key().public_bytes_raw().hex()
    other_vk = signer(OTHER_SEED).public_key().public_bytes_raw().hex()

    # ---- envelopes --------------------------------------------------------
    p1 = payload("cohort.created", 1, {"name": "Vector Cohort", "cadence": "fortnightly"})
    e1 = seal(1, envelope.ZERO_HASH, p1, True)
    files["envelope/signed-first.json"] = envelope_vector("first event of a journal, signed", e1, p1)
    p2 = payload("note.added", 2, {"meeting": "m1", "item": "i1", "text": "a short note", "kind": "note"})
    e2 = seal(2, envelope.event_id(e1), p2, False)
    files["envelope/unsigned-mid-batch.json"] = envelope_vector("second event, first of a batch: unsigned, covered by the chain", e2, p2)
    p3 = payload("note.added", 3, {"meeting": "m1", "item": "i1", "text": "minutes " * 400, "kind": "note"})
    e3 = seal(3, envelope.event_id(e2), p3, True)
    files["envelope/signed-compressed.json"] = envelope_vector("last event of the batch: signed; a long body, compressed", e3, p3)

    raw = b"".join(det(f"incompressible {i}", 64) for i in range(5))
    e_raw = seal(1, envelope.ZERO_HASH, raw, True, tag="raw")
    files["envelope/signed-raw.json"] = envelope_vector("high-entropy plaintext: stored raw (flag 0), not compressed", e_raw, raw)

    # ---- a journal ----------------------------------------------------------
    e4 = seal(4, envelope.event_id(e3), payload("agenda.added", 4, {"item": "i2", "meeting": "m1", "title": "t"}), False)
    e5 = seal(5, envelope.event_id(e4), payload("agenda.added", 5, {"item": "i3", "meeting": "m1", "title": "u"}), True)
    rows = [e1, e2, e3, e4, e5]
    files["journal/chain.json"] = {
        "description": "a journal of five events: one commit (1), then batches (2-3) and (4-5); each batch signs its last",
        "inputs": {
            "journal_id": JOURNAL_ID.hex(),
            "verify_key": vk,
            "epoch_key": EPOCH_KEY.hex(),
            "rows": [{"seq": i + 1, "envelope": r.hex()} for i, r in enumerate(rows)],
        },
        "expected": {"accepted": 5, "head_seq": 5, "head_hash": envelope.event_id(e5).hex(), "event_ids": [envelope.event_id(r).hex() for r in rows]},
    }

    # ---- padding --------------------------------------------------------------
    files["padding/padme.json"] = {
        "description": "Padmé lengths with the 256-byte floor: padme(n) for n",
        "cases": [[n, envelope.padme(n)] for n in (0, 1, 255, 256, 257, 300, 511, 512, 513, 1000, 1024, 1025, 4097, 70000, 1_000_000)],
    }
    frames = []
    for content in (b"", b"x", det("incompressible"), b"a" * 1000):
        padded = envelope.pad(content)
        frames.append({"content": content.hex(), "padded": padded.hex(), "compressed": padded[0] == 1})
    files["padding/frames.json"] = {
        "description": "inner frame: flag u8 (0 raw, 1 zlib) | length u32 | data | zeros to padme(5 + length)",
        "zlib_version": zlib.ZLIB_RUNTIME_VERSION,
        "cases": frames,
    }

    # ---- identity, fingerprint, wraps -------------------------------------------
    ident = Identity(det("identity id", 16), det("identity sign"), det("identity mlkem", 64), det("identity x25519"))
    pub = ident.public()
    inner = json.dumps(
        {
            "to": ident.id.hex(),
            "c": COHORT,
            "kid": KEY_ID.hex(),
            "k": EPOCH_KEY.hex(),
            "scope": "cohort",
            "e": 1,
            "prev": "",
            "r": hashlib.sha256(ident.id.hex().encode()).hexdigest(),
        }
    ).encode()
    blob = None
    for src in (reuse, HERE):
        if src is None:
            continue
        try:
            old = json.loads((src / "wrap" / "hpke-wrap.json").read_text())
            candidate = bytes.fromhex(old["expected"]["wrap"])
            if ident.unwrap(candidate, keys_mod.LABEL_KEY_WRAP) == inner:
                blob = candidate
                break
        except Exception:
            continue
    if blob is None:
        blob = pub.wrap(inner, keys_mod.LABEL_KEY_WRAP)
    wrap_payload = encode_payload(kind="keys.wrapped", cohort="", author="", lamport=0, ts=0, body={"w": [blob.hex()]})
    scope_key = keys_mod.wrap_scope_key(JOURNAL_ID)
    wenv = seal(1, envelope.ZERO_HASH, wrap_payload, True, tag="wrap", key=scope_key, key_id=keys_mod.WRAP_KEY_ID)
    files["identity/fingerprint.json"] = {
        "description": "a public identity (id | Ed25519 pk | ML-KEM-768 pk | X25519 pk) and its fingerprint",
        "inputs": {"id": ident.id.hex(), "sign_seed": ident.sign_seed.hex(), "mlkem_seed": ident.mlkem_seed.hex(), "x25519_sk": ident.x25519_sk.hex()},
        "expected": {"public": pub.to_bytes().hex(), "fingerprint": pub.fingerprint},
    }
    files["wrap/hpke-wrap.json"] = {
        "description": "an epoch key wrapped with HPKE (ML-KEM-768+X25519, HKDF-SHA256, ChaCha20-Poly1305) to the identity of "
        "identity/fingerprint.json, and the wrap-scope envelope that carries it. HPKE is randomized: this is "
        "a decryption vector; the envelope around it is deterministic.",
        "inputs": {
            "identity": "identity/fingerprint.json",
            "info": keys_mod.LABEL_KEY_WRAP.decode(),
            "journal_id": JOURNAL_ID.hex(),
            "salt": salt_for(1, "wrap").hex(),
            "signing_seed": SIGN_SEED.hex(),
        },
        "expected": {
            "wrap": blob.hex(),
            "inner": inner.decode(),
            "wrap_scope_key_id": keys_mod.WRAP_KEY_ID.hex(),
            "wrap_scope_key": scope_key.hex(),
            "envelope": wenv.hex(),
            "payload": wrap_payload.decode(),
        },
    }

    epoch_key = ScopeKey(KEY_ID.hex(), EPOCH_KEY, Scope.COHORT, 1)
    roster = keys_mod.roster_key(epoch_key)
    roster_payload = payload("meeting.scheduled", 1, {"meeting": "m1", "at": "2026-01-02 18:00"})
    files["wrap/roster-key.json"] = {
        "description": "an epoch key's roster key (docs/FORMAT.md, 'Roster keys'): id H('circle/v1/roster-id' || key id)[:16], "
        "key HMAC-SHA256(epoch key, 'circle/v1/roster-key'); the epoch's two commitments; a roster-class event sealed with it",
        "inputs": {"key_id": KEY_ID.hex(), "epoch_key": EPOCH_KEY.hex()},
        "expected": {
            "roster_key_id": roster.id,
            "roster_key": roster.secret.hex(),
            "commit": keys_mod.epoch_hash(epoch_key),
            "roster_commit": keys_mod.epoch_hash(roster),
            "envelope": seal(1, envelope.ZERO_HASH, roster_payload, True, tag="roster", key=roster.secret, key_id=roster.raw_id).hex(),
            "payload": roster_payload.decode(),
        },
    }

    # ---- keystore -----------------------------------------------------------------
    ks_pass = "correct horse battery staple"
    ks_salt, ks_nonce = det("keystore salt", 16), det("keystore nonce", 12)
    params = keystore.KdfParams()
    ks_key = params.derive(ks_pass, ks_salt)
    ks_data = {"v": 1, "name": "Vector", "identity": {"id": ident.id.hex()}, "cohorts": {}, "journals": {}}
    head = keystore._pack_header("Vector", params, ks_salt, ks_nonce)
    ks_file = head + ChaCha20Poly1305(ks_key).encrypt(ks_nonce, json.dumps(ks_data, separators=(",", ":")).encode(), head)
    files["keystore/keystore.json"] = {
        "description": "a keystore file: header (clear, associated data) | ChaCha20-Poly1305 of the JSON payload under Argon2id(passphrase)",
        "inputs": {
            "passphrase": ks_pass,
            "salt": ks_salt.hex(),
            "nonce": ks_nonce.hex(),
            "label": "Vector",
            "memory_kib": params.memory_kib,
            "iterations": params.iterations,
            "lanes": params.lanes,
            "argon2_ad": keystore.LABEL_KEYSTORE.decode(),
            "payload": ks_data,
        },
        "expected": {"key": ks_key.hex(), "header_len": len(head), "file": ks_file.hex()},
    }

    # ---- negative: one failure per file ---------------------------------------------
    neg: dict[str, dict[str, Any]] = {}
    single = {"verify_key": vk, "epoch_key": EPOCH_KEY.hex()}

    def env_neg(name: str, description: str, env: bytes, reason: str, **extra: Any) -> None:
        neg[name] = negative(description, "envelope", bad(reason), envelope=env.hex(), **{**single, **extra})

    env_neg("envelope-truncated-header", "shorter than a header", e1[: envelope.HEADER_LEN - 1], "envelope truncated")
    env_neg("envelope-truncated-signature", "last byte of the signature missing", e1[:-1], "envelope length does not match its header")
    env_neg("envelope-trailing-byte", "one byte after the signature", e1 + b"\x00", "envelope length does not match its header")
    env_neg("envelope-bad-magic", "magic is not CRCL", patch_header(e1, OFF["magic"], b"CRCM"), "not a circle envelope")
    env_neg("envelope-future-version", "version 2", patch_header(e1, OFF["version"], b"\x02"), "envelope version 2 is not supported")
    env_neg("envelope-unknown-suite", "suite 2", patch_header(e1, OFF["suite"], b"\x02"), "envelope suite 2 is not supported")
    env_neg("envelope-unknown-flags", "a flag bit nobody defined", patch_header(e1, OFF["flags"], b"\x03"), "unknown envelope flags")
    env_neg("envelope-seq-zero", "sequence number 0", patch_header(e1, OFF["seq"], struct.pack(">Q", 0)), "sequence number out of range")
    env_neg("envelope-first-with-prev", "seq 1 with a non-zero previous hash", patch_header(e1, OFF["prev"], b"\x01" * 32), "chain start malformed")
    env_neg("envelope-later-without-prev", "seq 3 with an all-zero previous hash", patch_header(e3, OFF["prev"], bytes(32)), "chain start malformed")
    env_neg(
        "envelope-ct-len-too-small",
        "ciphertext length below the 256-byte floor plus tag",
        patch_header(e1, OFF["ct_len"], struct.pack(">I", envelope.MIN_PADDED + envelope.TAG_LEN - 1)),
        "ciphertext length out of range",
    )
    env_neg(
        "envelope-ct-len-too-large",
        "ciphertext length above 16 MiB",
        patch_header(e1, OFF["ct_len"], struct.pack(">I", envelope.MAX_CIPHERTEXT + 1)),
        "ciphertext length out of range",
    )
    env_neg(
        "envelope-signed-flag-cleared",
        "SIGNED flag cleared while the signature is still there",
        e1[: OFF["flags"]] + b"\x00" + e1[OFF["flags"] + 1 :],
        "envelope length does not match its header",
    )
    env_neg("envelope-not-signed", "an unsigned envelope checked on its own (only a chain can cover it)", e2, "envelope is not signed")
    sig_flipped = bytearray(e1)
    sig_flipped[-1] ^= 0x01
    env_neg("envelope-bad-signature", "one bit of the signature flipped", bytes(sig_flipped), "signature does not verify")
    env_neg("envelope-wrong-signer", "signed by someone else's key", resign(without_sig(e1), OTHER_SEED), "signature does not verify")
    unlabelled = without_sig(e1) + signer().sign(without_sig(e1))
    env_neg("envelope-signature-without-label", "the signature omits the label", unlabelled, "signature does not verify")
    body_flipped = bytearray(without_sig(e1))
    body_flipped[envelope.HEADER_LEN + 5] ^= 0x01
    env_neg(
        "envelope-ciphertext-flipped", "a ciphertext bit flipped and the envelope signed again", resign(bytes(body_flipped)), "ciphertext does not authenticate"
    )
    env_neg(
        "envelope-commitment-flipped",
        "the key commitment changed and the envelope signed again",
        patch_header(e1, OFF["commitment"], bytes(b ^ 0xFF for b in e1[OFF["commitment"] : OFF["commitment"] + 1])),
        "key commitment does not match",
    )
    env_neg(
        "envelope-wrong-key",
        "opened with another epoch key: the commitment catches it before decrypting",
        e1,
        "key commitment does not match",
        epoch_key_override=det("another epoch key").hex(),
    )
    env_neg(
        "envelope-key-id-changed",
        "key id changed and signed again: the key and commitment derive from it",
        patch_header(e1, OFF["key_id"], det("another key id", 16)),
        "key commitment does not match",
    )
    env_neg("envelope-salt-changed", "salt changed and signed again", patch_header(e1, OFF["salt"], det("another salt")), "key commitment does not match")

    def frame(flag: int, data: bytes, pad_to: int | None = None, fill: int = 0) -> bytes:
        f = struct.pack(">BI", flag, len(data)) + data
        n = envelope.padme(len(f)) if pad_to is None else pad_to
        return f + bytes([fill]) * (n - len(f))

    inner_cases = [
        ("plaintext-padding-not-zero", "padding bytes are not zero", frame(0, p1, fill=1), "padding is not zero"),
        ("plaintext-unknown-frame-flag", "frame flag 2", frame(2, p1), "plaintext frame malformed"),
        (
            "plaintext-length-past-end",
            "frame length runs past the padded plaintext",
            struct.pack(">BI", 0, 10_000) + p1 + bytes(256),
            "plaintext frame malformed",
        ),
        ("plaintext-wrong-bucket", "padded to 512 where Padmé gives 256", frame(0, p1, pad_to=512), "plaintext frame malformed"),
        ("plaintext-bad-zlib", "flag says zlib but the data is not a zlib stream", frame(1, b"not zlib at all"), "compressed plaintext malformed"),
        ("plaintext-truncated-zlib", "zlib stream cut short", frame(1, zlib.compress(p3)[:-6]), "compressed plaintext malformed"),
        ("plaintext-zlib-trailing-data", "bytes after the end of the zlib stream", frame(1, zlib.compress(p3) + b"tail"), "compressed plaintext malformed"),
        ("payload-not-json", "the plaintext is not JSON", frame(0, b"\xff\xfe not json"), "event payload malformed"),
        ("payload-future-version", "payload version 2", frame(0, p1.replace(b'"v":1', b'"v":2')), "event payload version 2 is not supported"),
        ("payload-unknown-kind", "an event kind nobody defined", frame(0, p1.replace(b"cohort.created", b"cohort.exploded")), "event payload malformed"),
        ("payload-missing-field", "no author", frame(0, p1.replace(b'"a":', b'"x":')), "event payload malformed"),
    ]
    for i, (name, description, padded, reason) in enumerate(inner_cases):
        env = seal_padded(1, envelope.ZERO_HASH, padded, tag=f"inner {i}")
        env_neg(name, description + " (signature and AEAD are valid)", env, reason)

    # chains: the rows of a journal and the head verified before (if any)
    def chain_neg(
        name: str,
        description: str,
        rows_: list[tuple[int, bytes]],
        kind: str,
        problem: str,
        accepted: int,
        head: tuple[int, bytes, bytes] | None = None,
        key: str = vk,
    ) -> None:
        h = {"head_seq": head[0], "head_hash": head[1].hex(), "head_envelope": head[2].hex()} if head else {}
        neg[name] = negative(
            description,
            "chain",
            {"kind": kind, "problem": problem, "accepted": accepted},
            journal_id=JOURNAL_ID.hex(),
            verify_key=key,
            rows=[{"seq": s, "envelope": r.hex()} for s, r in rows_],
            **h,
        )

    def rows_of(*envs: bytes) -> list[tuple[int, bytes]]:
        return [(envelope.parse(e).seq, e) for e in envs]

    chain_neg(
        "chain-unsigned-tail",
        "the newest events are not signed: nothing after the last signature is accepted",
        rows_of(e1, e2),
        "tampered",
        "events after 1 are not signed",
        1,
    )
    chain_neg("chain-gap", "event 2 missing", rows_of(e1, e3), "tampered", "journal has a gap before event 3", 1)
    e2_other = seal(2, det("not the previous event"), p2, False, tag="broken")
    chain_neg("chain-broken-link", "event 2 does not carry the hash of event 1", rows_of(e1, e2_other), "tampered", "event 2 rejected: hash chain broken", 1)
    alien = seal(2, envelope.event_id(e1), p2, True, tag="alien", journal_id=det("another journal", 16))
    chain_neg(
        "chain-other-journal",
        "an event of another journal spliced in",
        rows_of(e1) + [(2, alien)],
        "tampered",
        "event 2 rejected: event belongs to another journal or position",
        1,
    )
    chain_neg(
        "chain-seq-mismatch",
        "row 2 holds an envelope whose header says seq 3",
        [(1, e1), (2, e3)],
        "tampered",
        "event 2 rejected: event belongs to another journal or position",
        1,
    )
    mid_flipped = bytearray(e2)
    mid_flipped[envelope.HEADER_LEN + 7] ^= 0x80
    chain_neg(
        "chain-unsigned-event-flipped",
        "a bit flipped in an unsigned mid-batch event: the next event's link breaks",
        rows_of(e1, bytes(mid_flipped), e3),
        "tampered",
        "event 3 rejected: hash chain broken",
        1,
    )
    chain_neg(
        "chain-head-bad-signature",
        "the newest signature does not verify: fall back to the signed event before it",
        rows_of(e1, e2, e3[:-1] + bytes([e3[-1] ^ 1])),
        "tampered",
        "event 3 rejected: signature does not verify",
        1,
    )
    chain_neg(
        "chain-wrong-owner",
        "every event signed by someone other than the journal's owner",
        rows_of(e1, e2, e3),
        "tampered",
        "event 1 rejected: signature does not verify",
        0,
        key=other_vk,
    )
    chain_neg(
        "chain-rollback",
        "the journal ends before the head already verified (5)",
        rows_of(e1, e2, e3),
        "rollback",
        "journal ends at or before event 5, which was already verified",
        0,
        head=(5, envelope.event_id(e5), e5),
    )
    e3_fork = seal(
        3, envelope.event_id(e2), payload("note.added", 3, {"meeting": "m1", "item": "i1", "text": "another story", "kind": "note"}), True, tag="fork"
    )
    chain_neg(
        "chain-fork-at-head",
        "a different validly signed event where the verified head (3) was",
        rows_of(e3_fork),
        "fork",
        "two different signed events claim position 3: the journal forked",
        0,
        head=(3, envelope.event_id(e3), e3),
    )
    e2_fork = seal(2, envelope.event_id(e1), payload("note.added", 2, {"meeting": "m1", "item": "i1", "text": "rewritten", "kind": "note"}), False, tag="fork")
    e3_fork2 = seal(
        3, envelope.event_id(e2_fork), payload("note.added", 3, {"meeting": "m1", "item": "i1", "text": "rewritten too", "kind": "note"}), True, tag="fork2"
    )
    chain_neg(
        "chain-fork-before-head",
        "history rewritten from event 2 while the verified head is 3, all validly signed",
        rows_of(e3_fork2),
        "fork",
        "two different signed events claim position 3: the journal forked",
        0,
        head=(3, envelope.event_id(e3), e3),
    )
    e3_changed = e3[:-1] + bytes([e3[-1] ^ 1])
    chain_neg(
        "chain-head-changed",
        "the verified head's bytes changed afterwards (not validly signed): tampering, not a fork",
        rows_of(e3_changed),
        "tampered",
        "event 3 was changed after it was verified",
        0,
        head=(3, envelope.event_id(e3), e3),
    )

    # keystores: the whole file and a passphrase
    def ks_neg(name: str, description: str, raw: bytes, error: str, title: str, passphrase: str = ks_pass, kdf_runs: bool = False) -> None:
        neg[name] = negative(description, "keystore", {"error": error, "title": title, "kdf_runs": kdf_runs}, file=raw.hex(), passphrase=passphrase)

    H = keystore._HEAD.size

    def ks_patch(offset: int, new: bytes) -> bytes:
        return ks_file[:offset] + new + ks_file[offset + len(new) :]

    ks_neg("keystore-empty", "an empty file", b"", "CorruptFile", "keystore damaged or not a circle keystore")
    ks_neg("keystore-truncated-header", "cut inside the header", ks_file[: H - 1], "CorruptFile", "keystore damaged or not a circle keystore")
    ks_neg("keystore-truncated-body", "cut before the tag could fit", ks_file[: len(head) + 15], "CorruptFile", "keystore truncated")
    ks_neg("keystore-bad-magic", "magic is not CIRCLEKS", ks_patch(0, b"CIRCLEKZ"), "CorruptFile", "keystore damaged or not a circle keystore")
    ks_neg("keystore-future-version", "format version 2", ks_patch(8, b"\x02"), "FutureVersion", "keystore written by a newer circle")
    ks_neg("keystore-version-zero", "format version 0", ks_patch(8, b"\x00"), "CorruptFile", "keystore damaged")
    ks_neg("keystore-unknown-kdf", "KDF id 2", ks_patch(9, b"\x02"), "CorruptFile", "keystore damaged")
    ks_neg(
        "keystore-memory-too-small",
        "Argon2id memory below 64 MiB",
        ks_patch(10, struct.pack(">I", keystore.MIN_MEMORY_KIB - 1)),
        "CorruptFile",
        "keystore KDF parameters out of bounds",
    )
    ks_neg(
        "keystore-memory-too-large",
        "Argon2id memory above 2 GiB",
        ks_patch(10, struct.pack(">I", keystore.MAX_MEMORY_KIB + 1)),
        "CorruptFile",
        "keystore KDF parameters out of bounds",
    )
    ks_neg("keystore-iterations-too-few", "Argon2id t=2", ks_patch(14, struct.pack(">I", 2)), "CorruptFile", "keystore KDF parameters out of bounds")
    ks_neg("keystore-iterations-too-many", "Argon2id t=17", ks_patch(14, struct.pack(">I", 17)), "CorruptFile", "keystore KDF parameters out of bounds")
    ks_neg("keystore-lanes-zero", "Argon2id p=0", ks_patch(18, struct.pack(">I", 0)), "CorruptFile", "keystore KDF parameters out of bounds")
    ks_neg("keystore-label-too-long", "label length 201", ks_patch(H - 2, struct.pack(">H", keystore.MAX_LABEL + 1)), "CorruptFile", "keystore damaged")
    ks_neg("keystore-label-not-utf8", "label bytes are not UTF-8", ks_patch(H, b"\xff"), "CorruptFile", "keystore damaged")
    ks_neg(
        "keystore-wrong-passphrase",
        "the right file, the wrong passphrase",
        ks_file,
        "WrongPassphrase",
        "wrong passphrase",
        passphrase="wrong horse battery staple",
        kdf_runs=True,
    )
    ks_neg("keystore-label-changed", "the clear label changed: it is associated data", ks_patch(H, b"W"), "WrongPassphrase", "wrong passphrase", kdf_runs=True)
    for name, v in neg.items():
        files[f"negative/{name}.json"] = v
    return files


def write(files: dict[str, Any], out: Path) -> None:
    for rel, doc in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--reuse", type=Path, default=None, help="take the randomized HPKE wrap from this vectors directory")
    args = ap.parse_args(argv)
    files = build(args.reuse)
    write(files, args.out)
    print(f"wrote {len(files)} vector files to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
