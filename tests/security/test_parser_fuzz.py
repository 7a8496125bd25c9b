"""Fuzzing every parser of input from outside: codes people paste, cards, envelopes, payloads, keystores, signature files.

Each parser gets arbitrary input and mutants of a valid input (bytes flipped,
cut, inserted, duplicated). It must either give a value or raise circle's own
error (a :class:`CircleError`, shown as one line); anything else is a
traceback in front of a person and is counted as an unexpected exception
(must be 0). Event bodies are fuzzed through the fold in
tests/unit/test_schema_fuzz.py. Coverage-guided runs with atheris, where it
is installed, are in tests/security/test_atheris.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circle.crypto import envelope, keystore
from circle.crypto.identity import Identity
from circle.crypto.keystore import KdfParams, Keystore
from circle.errors import CircleError
from circle.export.signature import Signer, sidecar_path, verify, write_signed
from circle.models.events import decode_payload, encode_payload
from circle.store import joining
from circle.store.joining import Invite, ShortCode
from tests.figures import record, scale

RUNS: dict[str, dict[str, int]] = {}
EXAMPLES = scale(300, 3000)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


def tried(parser: str, fn) -> None:
    """Run one input; count it, and count anything but a CircleError (then re-raise it, failing the test)."""
    runs = RUNS.setdefault(parser, {"inputs": 0, "unexpected": 0})
    runs["inputs"] += 1
    try:
        fn()
    except CircleError:
        pass
    except Exception:
        runs["unexpected"] += 1
        raise


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` with a few random edits: flips, cuts, insertions, a duplicated slice."""
    out = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup", "truncate"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del out[at : at + draw(st.integers(1, 8))]
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "dup":
            out[at:at] = out[at : at + draw(st.integers(1, 16))]
        else:
            del out[at:]
    return bytes(out)


def text_inputs(valid: str) -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=300), mutated(valid.encode()).map(lambda b: b.decode("utf-8", "replace")))


# ---- codes and cards a person pastes ----------------------------------------------------------
INVITE = Invite(b"s" * 32, b"i" * 16, b"k" * 32, b"j" * 16, b"r" * 16, 1_800_000_000, "s3://bucket/cohort?endpoint=https://s3.example").code()


@FUZZ
@given(text_inputs(INVITE))
def test_invite_codes(code: str) -> None:
    tried("invite codes (circle-invite-...)", lambda: Invite.parse(code))


@FUZZ
@given(text_inputs("7-amber-falcon") | st.text(alphabet="0123456789-abcdefghijklmnopqrstuvwxyz ", max_size=40))
def test_short_invite_codes(code: str) -> None:
    tried("short invite codes (7-amber-falcon)", lambda: ShortCode.parse(code))


CARD = f"{joining.CARD_HEADER}\nreplica: s3://bucket/cohort\nendpoint: https://s3.example\nregion: auto\nforce_path_style: true\n"


@FUZZ
@given(text_inputs(CARD))
def test_invite_cards(text: str) -> None:
    tried("invite cards", lambda: joining.read_card(text))


@pytest.fixture(scope="module")
def founder(tmp_path_factory: pytest.TempPathFactory):
    from circle.store.session import Home

    session = Home(tmp_path_factory.mktemp("fuzz-home") / "home", calibrate=False).create_identity("Ana", "correct horse battery staple")
    return session.create_cohort("Fuzzed")


JOIN = joining.JOIN_PREFIX + joining._b32(b"j" * 16 + b"c" * 10)


@FUZZ
@given(code=text_inputs(JOIN))
def test_join_codes(founder, code: str) -> None:
    """The join code parser of `circle admit` (with no open invite: after parsing, it says so)."""
    tried("join codes (circle-join-...)", lambda: joining.admit(founder, code, fetch=lambda *a: False))


# ---- what comes out of a journal: envelopes and payloads -------------------------------------
KEY, JID = bytes(range(32)), b"J" * 16
SIGNER = Ed25519PrivateKey.from_private_bytes(b"s" * 32)
PAYLOAD = encode_payload(
    kind="note.added", cohort="c" * 32, author="a" * 32, lamport=3, ts=1.0, body={"meeting": "m1", "item": "i1", "text": "hello", "kind": "note"}
)
ENVELOPE = envelope.seal(journal_id=JID, seq=1, prev=envelope.ZERO_HASH, key_id=b"K" * 16, key=KEY, plaintext=PAYLOAD, signer=SIGNER)


def read_envelope(blob: bytes) -> None:
    h = envelope.parse(blob)
    if h.signed:
        envelope.verify_signature(blob, h, SIGNER.public_key())
    envelope.open_envelope(blob, h, KEY)


@FUZZ
@given(st.binary(max_size=2000) | mutated(ENVELOPE))
def test_envelopes(blob: bytes) -> None:
    tried("envelopes (parse, signature, open)", lambda: read_envelope(blob))


@FUZZ
@given(
    st.binary(max_size=600)
    | mutated(PAYLOAD)
    | st.recursive(st.none() | st.integers() | st.text(max_size=20), lambda c: st.lists(c) | st.dictionaries(st.text(max_size=5), c)).map(
        lambda v: json.dumps(v).encode()
    )
)
def test_event_payloads(raw: bytes) -> None:
    tried("event payloads (decode_payload)", lambda: decode_payload(raw, id="e" * 64, journal="j" * 32, seq=1))


# ---- files: a keystore, an export's signature file --------------------------------------------
@pytest.fixture(scope="module")
def sealed_keystore(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    path = tmp_path_factory.mktemp("ks") / "keystore"
    Keystore.create(path, "correct horse battery staple", "Ana", {"v": 1, "name": "Ana"}, calibrate=False)
    raw = path.read_bytes()
    header, _, _ = keystore._parse(raw, path)
    return raw, header["params"].derive("correct horse battery staple", header["salt"])


@FUZZ
@given(data=st.data())
def test_keystores(sealed_keystore, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, data: st.DataObject) -> None:
    """Keystore.open on any bytes. Argon2id is replaced by the right key (after the bounds check), so a mutant is judged by the parser and the AEAD, not by a wrong key."""
    raw, key = sealed_keystore
    blob = data.draw(st.binary(max_size=400) | mutated(raw))
    path = tmp_path_factory.mktemp("ksf") / "keystore"
    path.write_bytes(blob)

    def derive(self: KdfParams, passphrase: str, salt: bytes) -> bytes:
        self.check()
        return key

    with monkeypatch.context() as m:
        m.setattr(KdfParams, "derive", derive)
        tried("keystores (Keystore.open)", lambda: Keystore.open(path, "correct horse battery staple"))


@pytest.fixture(scope="module")
def signed_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    ident = Identity.generate()
    path = tmp_path_factory.mktemp("export") / "cohort.md"
    side = write_signed(path, b"# Minutes\n\nA year of meetings.\n", Signer("Ana", ident.public(), ident.signer()), 1_750_000_000.0)
    verify(path)  # the oracle says yes to the original
    return path, side.read_bytes()


@FUZZ
@given(data=st.data())
def test_export_signature_files(signed_export, data: st.DataObject) -> None:
    """`circle export verify`'s parser: the signature file beside an export."""
    path, side = signed_export
    blob = data.draw(st.binary(max_size=600) | mutated(side))
    sidecar_path(path).write_bytes(blob)
    try:
        tried("export signature files (verify)", lambda: verify(path))
    finally:
        sidecar_path(path).write_bytes(side)


def test_zz_the_fuzzing_ran() -> None:
    """Record the figures (runs after the tests above, in file order)."""
    for parser, runs in sorted(RUNS.items()):
        record("fuzz", parser, inputs_run=runs["inputs"], unexpected_exceptions=runs["unexpected"])
    assert len(RUNS) == 8 and all(r["inputs"] >= EXAMPLES and r["unexpected"] == 0 for r in RUNS.values()), RUNS
