"""The keystore: Argon2id, bounds before use, atomic 0600 writes, merges (docs/FORMAT.md "Keystore").

Argon2id runs at the 64 MiB floor here (about 0.1 s); tests count their calls.
"""

from __future__ import annotations

import json
import stat
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from circle.crypto import keystore
from circle.crypto.keystore import KdfParams, Keystore
from circle.errors import AlreadyExists, CircleError, CorruptFile, FutureVersion, WrongPassphrase
from tests.figures import record, scale

PASS = "correct horse battery staple"
DATA = {"v": 1, "name": "Ana", "identity": {"sign": "ab" * 32}, "cohorts": {}, "journals": {}}


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of one keystore made with the real KDF (one Argon2id call for the module)."""
    path = tmp_path_factory.mktemp("ks") / "keystore"
    Keystore.create(path, PASS, "Ana", dict(DATA), calibrate=False)
    return path.read_bytes()


@pytest.fixture
def ks_path(tmp_path: Path, sealed: bytes) -> Path:
    p = tmp_path / "keystore"
    p.write_bytes(sealed)
    p.chmod(0o600)
    return p


def test_create_open_round_trip(ks_path: Path) -> None:
    ks = Keystore.open(ks_path, PASS)
    assert ks.data == DATA and ks.label == "Ana"
    assert keystore.read_label(ks_path) == "Ana"


def test_file_is_0600_and_written_without_leftovers(tmp_path: Path) -> None:
    p = tmp_path / "id" / "keystore"
    Keystore.create(p, PASS, "Ben", {"v": 1}, calibrate=False)
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert sorted(x.name for x in p.parent.iterdir()) == ["keystore"]


def test_secrets_are_not_in_the_clear(ks_path: Path) -> None:
    raw = ks_path.read_bytes()
    assert b"ab" * 32 not in raw and bytes.fromhex("ab" * 32) not in raw
    assert PASS.encode() not in raw
    # the only clear text is the header: magic and the label
    assert raw.startswith(b"CIRCLEKS") and b"Ana" in raw[: keystore._HEAD.size + 3]


def test_header_layout_and_floor(ks_path: Path) -> None:
    magic, version, kdf, mem, it, lanes, salt, nonce, label_len = keystore._HEAD.unpack_from(ks_path.read_bytes())
    assert (magic, version, kdf, label_len) == (b"CIRCLEKS", 1, 1, 3)
    assert (mem, it, lanes) == (64 * 1024, 3, 4)  # calibration off: the floor
    assert len(salt) == 16 and len(nonce) == 12


def test_wrong_passphrase_changes_nothing(ks_path: Path) -> None:
    before = ks_path.read_bytes()
    with pytest.raises(WrongPassphrase):
        Keystore.open(ks_path, "not the passphrase")
    assert ks_path.read_bytes() == before


def test_create_refuses_to_overwrite(ks_path: Path) -> None:
    before = ks_path.read_bytes()
    with pytest.raises(AlreadyExists):
        Keystore.create(ks_path, "another passphrase", "Mallory", {}, calibrate=False)
    assert ks_path.read_bytes() == before


def no_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: Any, **k: Any) -> None:
        raise AssertionError("Argon2id ran before the header was checked")

    monkeypatch.setattr(keystore, "Argon2id", refuse)


@pytest.mark.parametrize(
    "offset,value,error",
    [
        (10, struct.pack(">I", 2**32 - 1), CorruptFile),  # 4 TiB of memory: a denial of service if believed
        (10, struct.pack(">I", 8), CorruptFile),
        (14, struct.pack(">I", 1), CorruptFile),
        (14, struct.pack(">I", 10**6), CorruptFile),
        (18, struct.pack(">I", 0), CorruptFile),
        (18, struct.pack(">I", 255), CorruptFile),
        (8, b"\x09", FutureVersion),
        (9, b"\x07", CorruptFile),
    ],
    ids=["memory-huge", "memory-tiny", "t-1", "t-huge", "p-0", "p-255", "future", "unknown-kdf"],
)
def test_header_is_bounds_checked_before_the_kdf_runs(ks_path: Path, monkeypatch: pytest.MonkeyPatch, offset: int, value: bytes, error: type) -> None:
    raw = ks_path.read_bytes()
    ks_path.write_bytes(raw[:offset] + value + raw[offset + len(value) :])
    no_kdf(monkeypatch)
    with pytest.raises(error):
        Keystore.open(ks_path, PASS)


def test_every_truncation_is_refused(ks_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = ks_path.read_bytes()
    head_len = keystore._HEAD.size + 3
    # Up to the header plus a tag, refusal needs no KDF at all.
    no_kdf(monkeypatch)
    for n in range(0, head_len + 16):
        ks_path.write_bytes(raw[:n])
        with pytest.raises(CorruptFile):
            Keystore.open(ks_path, PASS)
    monkeypatch.undo()
    # Past that, the AEAD refuses (two real KDF runs for two sample cut points).
    for n in (head_len + 16, len(raw) - 1):
        ks_path.write_bytes(raw[:n])
        with pytest.raises(CircleError):
            Keystore.open(ks_path, PASS)


def test_future_payload_version(tmp_path: Path) -> None:
    p = tmp_path / "keystore"
    Keystore.create(p, PASS, "Ana", {"v": 99}, calibrate=False)
    with pytest.raises(FutureVersion):
        Keystore.open(p, PASS)


def test_label_cut_at_200_bytes_stays_readable(tmp_path: Path) -> None:
    name = "Dr " + "漢字" * 40  # 3 + 240 bytes: byte 200 falls inside a character
    assert len(name.encode()[: keystore.MAX_LABEL].decode("utf-8", "ignore").encode()) < keystore.MAX_LABEL  # the cut splits a character
    p = tmp_path / "keystore"
    Keystore(p, name, KdfParams(), b"s" * 16, b"k" * 32, {"v": 1})._write({"v": 1})
    label = keystore.read_label(p)
    assert name.startswith(label) and len(label.encode()) <= keystore.MAX_LABEL


def test_label_is_authenticated(ks_path: Path) -> None:
    raw = bytearray(ks_path.read_bytes())
    raw[keystore._HEAD.size] ^= ord("A") ^ ord("E")  # "Ana" -> "Ena"
    ks_path.write_bytes(bytes(raw))
    assert keystore.read_label(ks_path) == "Ena"
    with pytest.raises(WrongPassphrase):  # associated data: the AEAD refuses
        Keystore.open(ks_path, PASS)


def test_save_merges_what_another_process_wrote(ks_path: Path) -> None:
    a = Keystore.open(ks_path, PASS)
    b = Keystore(ks_path, a.label, a._params, a._salt, a._key, json.loads(json.dumps(a.data)))  # a second process, same key
    a.data["cohorts"]["c1"] = {"journal": "j1"}
    a.data["journals"]["j1"] = {"seq": 9, "hash": "h9"}
    a.save()
    b.data["cohorts"]["c2"] = {"journal": "j2"}
    b.data["journals"]["j1"] = {"seq": 3, "hash": "h3"}  # stale: heads only move forward
    b.save()
    again = Keystore(ks_path, a.label, a._params, a._salt, a._key, {})
    again.save()
    assert set(again.data["cohorts"]) == {"c1", "c2"}
    assert again.data["journals"]["j1"] == {"seq": 9, "hash": "h9"}
    assert stat.S_IMODE(ks_path.stat().st_mode) == 0o600


def test_merge_rules() -> None:
    assert keystore.merge({"a": 1, "b": {"x": 1}}, {"b": {"y": 2}, "c": 3}) == {"a": 1, "b": {"x": 1, "y": 2}, "c": 3}
    assert keystore.merge({"seq": 5, "hash": "five"}, {"seq": 4, "hash": "four"}) == {"seq": 5, "hash": "five"}
    assert keystore.merge({"seq": 4, "hash": "four"}, {"seq": 5, "hash": "five"}) == {"seq": 5, "hash": "five"}
    # The head envelope moves with its seq: a stale writer's envelope never sits beside a newer seq.
    assert keystore.merge({"seq": 5, "hash": "five", "head": "e5"}, {"seq": 4, "hash": "four", "head": "e4"})["head"] == "e5"


def test_a_deliberate_rewind_is_not_undone_by_a_stale_writer() -> None:
    """An own journal put back without events never sent moves its head back (CohortStore.restore_own); another process
    still holding the old, higher head must not move it forward again when it saves, nor the other way round."""
    rewound = {"seq": 3, "hash": "three", "head": "e3", "rewound": 1}
    stale = {"seq": 6, "hash": "six", "head": "e6", "sent": 3}
    assert keystore.merge(rewound, stale) == {"seq": 3, "hash": "three", "head": "e3", "rewound": 1, "sent": 3}
    assert keystore.merge(stale, rewound) == {"seq": 3, "hash": "three", "head": "e3", "rewound": 1, "sent": 3}
    onward = {"seq": 4, "hash": "four", "head": "e4", "rewound": 1}  # written after the rewind: forward again as usual
    assert keystore.merge(onward, rewound)["seq"] == 4 and keystore.merge(rewound, onward)["seq"] == 4


def test_change_passphrase(ks_path: Path) -> None:
    ks = Keystore.open(ks_path, PASS)
    ks.change_passphrase("a brand new passphrase", calibrate=False)
    with pytest.raises(WrongPassphrase):
        Keystore.open(ks_path, PASS)
    assert Keystore.open(ks_path, "a brand new passphrase").data == DATA


def fake_kdf(monkeypatch: pytest.MonkeyPatch, per_64mib_pass: float) -> list[KdfParams]:
    """A KDF whose time grows with memory and passes, as Argon2id's does, on a fake clock; returns the parameters it ran with."""
    now = [0.0]
    seen: list[KdfParams] = []

    def fake_derive(self: KdfParams, passphrase: str, salt: bytes) -> bytes:
        seen.append(self)
        now[0] += per_64mib_pass * self.memory_kib / keystore.MIN_MEMORY_KIB * self.iterations / 3
        return b"k" * 32

    monkeypatch.setattr(KdfParams, "derive", fake_derive)
    monkeypatch.setattr(keystore.time, "perf_counter", lambda: now[0])
    return seen


@pytest.mark.parametrize(
    "per_64mib,want_mib,want_passes",
    [(0.6, 64, 3), (0.3, 128, 3), (0.2, 256, 3), (0.1, 256, 7), (0.06, 256, 12), (0.001, 256, 16), (0.0, 256, 16)],
)
def test_calibration_doubles_memory_to_256_mib_then_adds_passes(monkeypatch: pytest.MonkeyPatch, per_64mib: float, want_mib: int, want_passes: int) -> None:
    """Memory doubles while a derive stays under half a second, never past 256 MiB; a faster machine gets more passes, within about a second."""
    seen = fake_kdf(monkeypatch, per_64mib)
    params, _ = keystore.choose_params("p", b"s" * 16)
    assert (params.memory_kib, params.iterations, params.lanes) == (want_mib * 1024, want_passes, 4)
    assert seen[-1] == params  # the key returned is the one derived with the parameters returned
    assert max(p.memory_kib for p in seen) <= keystore.CALIBRATION_MAX_MEMORY_KIB  # not even a trial asks for more
    assert per_64mib * want_mib / 64 * want_passes / 3 <= keystore.CALIBRATION_TARGET_S
    seen.clear()
    params, _ = keystore.choose_params("p", b"s" * 16, calibrate=False)
    assert params == KdfParams() and seen == [KdfParams()]


@pytest.mark.parametrize("per_64mib", [0.5**k for k in range(16)])
def test_calibration_never_picks_more_than_256_mib(monkeypatch: pytest.MonkeyPatch, per_64mib: float) -> None:
    fake_kdf(monkeypatch, per_64mib)
    params, _ = keystore.choose_params("p", b"s" * 16)
    assert params.memory_kib <= 256 * 1024
    params.check()  # within what every reader accepts


def test_a_new_passphrase_recalibrates_an_old_512_mib_keystore_within_the_cap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = fake_kdf(monkeypatch, 0.06)
    old = KdfParams(512 * 1024, 3, 4)
    ks = Keystore(tmp_path / "keystore", "Ana", old, b"s" * 16, b"k" * 32, dict(DATA))
    ks._write(ks.data)
    ks.save()  # an ordinary write keeps the parameters it was opened with
    assert keystore._HEAD.unpack_from((tmp_path / "keystore").read_bytes())[3:6] == (512 * 1024, 3, 4) and seen == []
    ks.change_passphrase("a brand new passphrase")
    assert keystore._HEAD.unpack_from((tmp_path / "keystore").read_bytes())[3:6] == (256 * 1024, 12, 4)


def test_an_old_512_mib_keystore_still_opens(tmp_path: Path) -> None:
    """A keystore an older circle calibrated to 512 MiB (the header says so) opens with the real Argon2id, at the memory it names."""
    old = KdfParams(512 * 1024, 3, 4)
    salt, nonce = b"\x11" * 16, b"\x22" * 12
    head = keystore._pack_header("Ana", old, salt, nonce)
    key = old.derive(PASS, salt)
    path = tmp_path / "keystore"
    path.write_bytes(head + ChaCha20Poly1305(key).encrypt(nonce, json.dumps(DATA).encode(), head))
    ks = Keystore.open(path, PASS)
    assert ks.data == DATA and ks._params == old


# ---- figures for the security and reliability suite (issue 16) ----------------------------
NEAR_MISSES = [
    "",
    "correct horse battery stapl",
    "correct horse battery staple ",
    " correct horse battery staple",
    "Correct horse battery staple",
    "correct horse battery stap1e",
    "correct  horse battery staple",
    "correct horse battery staple\n",
    "correcthorsebatterystaple",
    "correct horse battery staple" * 2,
]


def test_wrong_passphrases_near_the_right_one_are_all_refused(ks_path: Path) -> None:
    """Near misses (a letter, a space, a case, a newline) each run the real KDF and are refused; the file is unchanged."""
    before = ks_path.read_bytes()
    accepted = 0
    for wrong in NEAR_MISSES:
        try:
            Keystore.open(ks_path, wrong)
            accepted += 1
        except WrongPassphrase:
            pass
    record("passphrase", "wrong passphrases (near misses, real Argon2id)", cases_tried=len(NEAR_MISSES), cases_accepted=accepted)
    assert accepted == 0 and ks_path.read_bytes() == before
    assert Keystore.open(ks_path, PASS).data == DATA  # the oracle can say yes


def test_every_bit_flip_of_the_header_is_refused_and_the_kdf_cost_stays_bounded(ks_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flip each bit of the clear header after the magic (version, KDF, its cost, salt, nonce, label length).

    Flips that leave the KDF parameters in bounds reach the KDF; there the spy
    hands back the *right* key (derived once with the real parameters), so the
    refusal shown is the AEAD's over the header it authenticates, and no flip
    makes the test run a 2 GiB Argon2id. The spy checks that every cost it is
    asked for is within circle's bounds (a denial of service otherwise).
    """
    raw = ks_path.read_bytes()
    head_len = keystore._HEAD.size + 3
    header, _, _ = keystore._parse(raw, ks_path)
    right_key = header["params"].derive(PASS, header["salt"])
    asked: list[KdfParams] = []

    def spy(self: KdfParams, passphrase: str, salt: bytes) -> bytes:
        self.check()  # what the real derive does first
        asked.append(self)
        return right_key

    monkeypatch.setattr(KdfParams, "derive", spy)
    tried = accepted = kdf_params = 0
    for i in range(8, head_len):
        for bit in range(8):
            m = bytearray(raw)
            m[i] ^= 1 << bit
            ks_path.write_bytes(bytes(m))
            tried += 1
            kdf_params += 10 <= i < 22
            try:
                Keystore.open(ks_path, PASS)
                accepted += 1
            except CircleError:
                pass
    monkeypatch.undo()
    over = [p for p in asked if not (p.memory_kib <= keystore.MAX_MEMORY_KIB and p.iterations <= keystore.MAX_ITERATIONS and p.lanes <= keystore.MAX_LANES)]
    record("passphrase", "header bit flips (incl. KDF parameters) refused", cases_tried=tried, cases_accepted=accepted)
    record("passphrase", "KDF parameter flips: cost within bounds", cases_tried=kdf_params, cases_accepted=len(over))
    assert accepted == 0 and over == [] and kdf_params == 12 * 8
    assert len(asked) < tried  # out-of-bounds costs never reached the KDF


@pytest.mark.parametrize("bit", range(scale(3, 16)))
def test_a_flipped_memory_cost_within_bounds_is_refused_by_the_real_kdf(ks_path: Path, bit: int) -> None:
    """The same flips with the real Argon2id (only the cheap ones: 64 MiB plus up to 2**bit KiB)."""
    raw = bytearray(ks_path.read_bytes())
    raw[13 - bit // 8] ^= 1 << (bit % 8)  # the low bytes of the big-endian memory cost at offset 10
    ks_path.write_bytes(bytes(raw))
    try:
        Keystore.open(ks_path, PASS)
        accepted = 1
    except WrongPassphrase:
        accepted = 0
    record("passphrase", "KDF memory flips, real Argon2id", cases_tried=1, cases_accepted=accepted)
    assert accepted == 0
