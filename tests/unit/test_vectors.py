"""Known-answer and negative vectors (tests/vectors/, docs/FORMAT.md).

Positive vectors pin the exact bytes circle writes; a change to the format
makes them fail. Negative vectors hold one failure each and the error it must
raise, checked through the same verification order a reader uses: parse, then
the signature (or the chain), and only then decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from circle.crypto import envelope, keystore
from circle.crypto.identity import Identity, PublicIdentity
from circle.errors import CircleError, InvalidEnvelope
from circle.models.events import decode_payload
from circle.store import keys as keys_mod
from circle.store.chain import check_chain
from circle.store.journal import Row
from circle.store.vault import Scope, ScopeKey

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def load(rel: str) -> dict[str, Any]:
    return json.loads((VECTORS / rel).read_text())


def hx(s: str | None) -> bytes:
    return bytes.fromhex(s or "")


def negatives(check: str) -> list[Path]:
    return sorted(p for p in (VECTORS / "negative").glob("*.json") if json.loads(p.read_text())["check"] == check)


ENVELOPES = sorted((VECTORS / "envelope").glob("*.json"))


def test_the_vector_set_is_there() -> None:
    assert len(ENVELOPES) >= 3
    assert len(list((VECTORS / "negative").glob("*.json"))) >= 40
    for check in ("envelope", "chain", "keystore"):
        assert negatives(check), check


# ---- positive ------------------------------------------------------------------
@pytest.mark.parametrize("path", ENVELOPES, ids=lambda p: p.stem)
def test_envelope_known_answer(path: Path) -> None:
    v = load(f"envelope/{path.name}")
    i, mid, exp = v["inputs"], v["intermediate"], v["expected"]
    signer = Ed25519PrivateKey.from_private_bytes(hx(i["signing_seed"])) if i["signing_seed"] else None
    env = hx(exp["envelope"])

    # Reading: parse, check the signature, open, and find the plaintext.
    h = envelope.parse(env)
    assert h.journal_id.hex() == exp["header"]["journal_id"] and h.seq == exp["header"]["seq"]
    assert h.commitment.hex() == mid["commitment"] == exp["header"]["commitment"]
    assert h.ct_len == mid["padded_len"] + envelope.TAG_LEN
    if signer:
        envelope.verify_signature(env, h, Ed25519PublicKey.from_public_bytes(hx(exp["verify_key"])))
    assert envelope.open_envelope(env, h, hx(i["epoch_key"])) == hx(i["plaintext"])
    assert envelope.event_id(env).hex() == exp["event_id"]
    derived = envelope._derive(hx(i["epoch_key"]), hx(i["salt"]), env[: envelope._DERIVE_PREFIX])
    assert [d.hex() for d in derived] == [mid["event_key"], mid["nonce"], mid["commitment"]]

    # Writing: the same inputs seal to the same bytes (zlib output is pinned to its version).
    if mid["compressed"] and zlib.ZLIB_RUNTIME_VERSION != mid["zlib_version"]:
        pytest.skip("compressed vector made with another zlib")
    again = envelope.seal(
        journal_id=hx(i["journal_id"]),
        seq=i["seq"],
        prev=hx(i["prev"]),
        key_id=hx(i["key_id"]),
        key=hx(i["epoch_key"]),
        plaintext=hx(i["plaintext"]),
        signer=signer,
        salt=hx(i["salt"]),
    )
    assert again == env


def test_envelope_vectors_cover_signed_unsigned_and_compressed() -> None:
    vs = [load(f"envelope/{p.name}") for p in ENVELOPES]
    assert {bool(v["inputs"]["signing_seed"]) for v in vs} == {True, False}
    assert {v["intermediate"]["compressed"] for v in vs} == {True, False}


def test_journal_chain_known_answer() -> None:
    v = load("journal/chain.json")
    i, exp = v["inputs"], v["expected"]
    rows = [Row(r["seq"], hx(r["envelope"])) for r in i["rows"]]
    res = check_chain(rows, journal_id=hx(i["journal_id"]), verifier=Ed25519PublicKey.from_public_bytes(hx(i["verify_key"])))
    assert not res.problem
    assert len(res.accepted) == exp["accepted"]
    assert (res.head_seq, res.head_hash.hex()) == (exp["head_seq"], exp["head_hash"])
    assert [c.hash.hex() for c in res.accepted] == exp["event_ids"]
    # Only the last envelope of each batch carries a signature; the chain covers the rest.
    assert [c.header.signed for c in res.accepted] == [True, False, True, False, True]
    for c in res.accepted:
        decode_payload(envelope.open_envelope(c.blob, c.header, hx(i["epoch_key"])), id=c.hash.hex(), journal="", seq=c.seq)


def test_padme_known_answers() -> None:
    for n, want in load("padding/padme.json")["cases"]:
        assert envelope.padme(n) == want, n


def test_padding_frames() -> None:
    v = load("padding/frames.json")
    for case in v["cases"]:
        content, padded = hx(case["content"]), hx(case["padded"])
        assert envelope.unpad(padded) == content
        if not case["compressed"] or zlib.ZLIB_RUNTIME_VERSION == v["zlib_version"]:
            assert envelope.pad(content) == padded
    assert {c["compressed"] for c in v["cases"]} == {True, False}


def test_fingerprint_known_answer() -> None:
    v = load("identity/fingerprint.json")
    i = v["inputs"]
    ident = Identity(hx(i["id"]), hx(i["sign_seed"]), hx(i["mlkem_seed"]), hx(i["x25519_sk"]))
    pub = ident.public()
    assert pub.to_bytes().hex() == v["expected"]["public"]
    assert pub.fingerprint == v["expected"]["fingerprint"]
    assert PublicIdentity.from_bytes(hx(v["expected"]["public"])) == pub


def test_hpke_wrap_and_wrap_scope_known_answer() -> None:
    v = load("wrap/hpke-wrap.json")
    i, exp = v["inputs"], v["expected"]
    f = load("identity/fingerprint.json")["inputs"]
    ident = Identity(hx(f["id"]), hx(f["sign_seed"]), hx(f["mlkem_seed"]), hx(f["x25519_sk"]))
    assert len(hx(exp["wrap"])) == 1120 + len(exp["inner"].encode()) + 16  # enc | ciphertext | tag
    assert ident.unwrap(hx(exp["wrap"]), i["info"].encode()).decode() == exp["inner"]
    with pytest.raises(InvalidEnvelope):
        ident.unwrap(hx(exp["wrap"]), b"circle/v1/another-label")
    # The wrap scope: key id all zeros, key from the journal id, readable by anyone holding the journal.
    assert keys_mod.WRAP_KEY_ID.hex() == exp["wrap_scope_key_id"]
    assert keys_mod.wrap_scope_key(hx(i["journal_id"])).hex() == exp["wrap_scope_key"]
    env = hx(exp["envelope"])
    h = envelope.parse(env)
    assert h.key_id == keys_mod.WRAP_KEY_ID
    envelope.verify_signature(env, h, Ed25519PrivateKey.from_private_bytes(hx(i["signing_seed"])).public_key())
    assert envelope.open_envelope(env, h, hx(exp["wrap_scope_key"])).decode() == exp["payload"]
    assert json.loads(exp["payload"])["b"]["w"] == [exp["wrap"]]


def test_roster_key_known_answer() -> None:
    """Computed from docs/FORMAT.md's formulas with hashlib and hmac alone, then checked against circle's."""
    v = load("wrap/roster-key.json")
    i, exp = v["inputs"], v["expected"]
    kid, key = hx(i["key_id"]), hx(i["epoch_key"])
    rid = hashlib.sha256(b"circle/v1/roster-id" + kid).digest()[:16]
    rkey = hmac.new(key, b"circle/v1/roster-key", hashlib.sha256).digest()
    assert (rid.hex(), rkey.hex()) == (exp["roster_key_id"], exp["roster_key"])
    assert hashlib.sha256(b"circle/v1/epoch" + kid + key).hexdigest() == exp["commit"]
    assert hashlib.sha256(b"circle/v1/roster" + rid + rkey).hexdigest() == exp["roster_commit"]
    r = keys_mod.roster_key(ScopeKey(kid.hex(), key, Scope.COHORT, 1))
    assert (r.id, r.secret, keys_mod.epoch_hash(r)) == (rid.hex(), rkey, exp["roster_commit"])
    env = hx(exp["envelope"])
    h = envelope.parse(env)
    assert h.key_id == rid
    assert envelope.open_envelope(env, h, rkey).decode() == exp["payload"]
    with pytest.raises(InvalidEnvelope):
        envelope.open_envelope(env, h, key)  # the epoch key itself does not open it: a reader derives the roster key


def test_keystore_known_answer(tmp_path: Path) -> None:
    v = load("keystore/keystore.json")
    i, exp = v["inputs"], v["expected"]
    params = keystore.KdfParams(i["memory_kib"], i["iterations"], i["lanes"])
    assert params.derive(i["passphrase"], hx(i["salt"])).hex() == exp["key"]
    path = tmp_path / "keystore"
    path.write_bytes(hx(exp["file"]))
    assert keystore.read_label(path) == i["label"]
    ks = keystore.Keystore.open(path, i["passphrase"])
    assert ks.data == i["payload"]
    assert hx(exp["file"])[: exp["header_len"]].endswith(i["label"].encode())


# ---- negative ------------------------------------------------------------------
@pytest.mark.parametrize("path", negatives("envelope"), ids=lambda p: p.stem)
def test_negative_envelope(path: Path) -> None:
    v = json.loads(path.read_text())
    i = v["inputs"]
    env = hx(i["envelope"])
    key = hx(i.get("epoch_key_override") or i["epoch_key"])
    with pytest.raises(InvalidEnvelope) as err:
        h = envelope.parse(env)
        envelope.verify_signature(env, h, Ed25519PublicKey.from_public_bytes(hx(i["verify_key"])))
        decode_payload(envelope.open_envelope(env, h, key), id="", journal="", seq=h.seq)
    assert err.value.reason == v["expected"]["reason"]


@pytest.mark.parametrize("path", negatives("chain"), ids=lambda p: p.stem)
def test_negative_chain(path: Path) -> None:
    v = json.loads(path.read_text())
    i, exp = v["inputs"], v["expected"]
    res = check_chain(
        [Row(r["seq"], hx(r["envelope"])) for r in i["rows"]],
        journal_id=hx(i["journal_id"]),
        verifier=Ed25519PublicKey.from_public_bytes(hx(i["verify_key"])),
        head_seq=i.get("head_seq", 0),
        head_hash=hx(i.get("head_hash")) or envelope.ZERO_HASH,
        head_envelope=hx(i.get("head_envelope")),
    )
    assert (res.kind, res.problem) == (exp["kind"], exp["problem"])
    assert len(res.accepted) == exp["accepted"]
    if exp["kind"] == "fork":
        assert hx(i["head_envelope"]) in res.evidence and len(res.evidence) >= 2


@pytest.mark.parametrize("path", negatives("keystore"), ids=lambda p: p.stem)
def test_negative_keystore(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    v = json.loads(path.read_text())
    i, exp = v["inputs"], v["expected"]
    if not exp["kdf_runs"]:
        # Bounds and structure are checked before any key derivation runs.
        def no_kdf(*a: Any, **k: Any) -> None:
            raise AssertionError("Argon2id ran on a keystore that should have been refused first")

        monkeypatch.setattr(keystore, "Argon2id", no_kdf)
    ks = tmp_path / "keystore"
    ks.write_bytes(hx(i["file"]))
    with pytest.raises(CircleError) as err:
        keystore.Keystore.open(ks, i["passphrase"])
    assert type(err.value).__name__ == exp["error"]
    assert err.value.title == exp["title"]
    assert ks.read_bytes() == hx(i["file"]), "a failed open must not touch the file"


def test_vectors_regenerate_byte_for_byte(tmp_path: Path) -> None:
    """The generator is deterministic and the committed vectors are what it writes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    if zlib.ZLIB_RUNTIME_VERSION != load("padding/frames.json")["zlib_version"]:
        pytest.skip("vectors were made with another zlib")
    mod.main(["--out", str(tmp_path), "--reuse", str(VECTORS)])
    made = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*.json")}
    committed = {
        p.relative_to(VECTORS).as_posix(): p.read_bytes() for p in VECTORS.rglob("*.json") if p.parent.name != "authority"
    }  # authority: make_authority.py
    assert made.keys() == committed.keys()
    assert [k for k in made if made[k] != committed[k]] == []
