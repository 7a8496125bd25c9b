"""The keystore: one sealed file per identity.

It holds the identity's secret keys, the scope keys of its cohorts, replica
credentials and the verified heads of peer journals. The file is sealed with
ChaCha20-Poly1305 under a key from Argon2id over the passphrase; the KDF
parameters sit in the clear header (bounds-checked before use) and the whole
header is associated data. Writes are atomic (temporary file, fsync, rename)
and the file is mode 0600. Format: docs/FORMAT.md, "Keystore".
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from circle.errors import CorruptFile, FutureVersion, WrongPassphrase
from circle.paths import private_dir, storage_problem

MAGIC = b"CIRCLEKS"
VERSION = 1
KDF_ARGON2ID = 1
_HEAD = struct.Struct(">8sBBIII16s12sH")
LABEL_KEYSTORE = b"circle/v1/keystore"

MIN_MEMORY_KIB = 64 * 1024
MAX_MEMORY_KIB = 2 * 1024 * 1024
MIN_ITERATIONS, MAX_ITERATIONS = 3, 16
MIN_LANES, MAX_LANES = 1, 16
MAX_LABEL = 200
# Calibration aims for about this many seconds to open.
CALIBRATION_TARGET_S = 1.0
# Calibration never picks more memory than this; past it, it adds passes. An old laptop with
# 2 GB runs circle beside a browser (issue 14). Readers still accept up to MAX_MEMORY_KIB:
# keystores written with more keep opening.
CALIBRATION_MAX_MEMORY_KIB = 256 * 1024


@dataclass(frozen=True)
class KdfParams:
    memory_kib: int = MIN_MEMORY_KIB
    iterations: int = 3
    lanes: int = 4

    def check(self) -> None:
        if not (
            MIN_MEMORY_KIB <= self.memory_kib <= MAX_MEMORY_KIB and MIN_ITERATIONS <= self.iterations <= MAX_ITERATIONS and MIN_LANES <= self.lanes <= MAX_LANES
        ):
            raise CorruptFile("keystore KDF parameters out of bounds", "the keystore file is damaged or not circle's; restore it from a backup")

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        self.check()
        kdf = Argon2id(salt=salt, length=32, iterations=self.iterations, lanes=self.lanes, memory_cost=self.memory_kib, ad=LABEL_KEYSTORE)
        return kdf.derive(passphrase.encode("utf-8"))


def choose_params(passphrase: str, salt: bytes, *, calibrate: bool = True) -> tuple[KdfParams, bytes]:
    """Pick KDF parameters that open in about a second on this machine; returns them with the key.

    The memory cost doubles from 64 MiB while a derivation stays under half
    the target, up to 256 MiB. A machine fast enough to go further gets more
    passes instead (Argon2id's time grows in proportion to them), as many as
    stay within the target, up to 16. With ``calibrate`` off the floor is used
    as it is (tests; the demo, whose passphrase is published).
    """
    params = KdfParams()
    start = time.perf_counter()
    key = params.derive(passphrase, salt)
    took = time.perf_counter() - start
    while calibrate and took * 2 <= CALIBRATION_TARGET_S and params.memory_kib * 2 <= CALIBRATION_MAX_MEMORY_KIB:
        params = KdfParams(params.memory_kib * 2, params.iterations, params.lanes)
        start = time.perf_counter()
        key = params.derive(passphrase, salt)
        took = time.perf_counter() - start
    if calibrate and params.memory_kib == CALIBRATION_MAX_MEMORY_KIB:
        passes = min(MAX_ITERATIONS, int(CALIBRATION_TARGET_S * params.iterations / took)) if took > 0 else MAX_ITERATIONS
        if passes > params.iterations:
            params = KdfParams(params.memory_kib, passes, params.lanes)
            key = params.derive(passphrase, salt)
    return params, key


def read_label(path: Path) -> str:
    """The clear label of a keystore (the name its owner gave it), without opening it."""
    return _parse(_read(path), path)[0]["label"]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CorruptFile("keystore missing", f"no keystore at {path}; run 'circle init' or check --home") from None
    except OSError as exc:
        raise CorruptFile("keystore unreadable", f"{path}: {exc.strerror}") from None


def _parse(raw: bytes, path: Path) -> tuple[dict[str, Any], bytes, bytes]:
    if len(raw) < _HEAD.size or raw[:8] != MAGIC:
        raise CorruptFile("keystore damaged or not a circle keystore", f"{path} is truncated or of another kind; restore it from a backup")
    magic, version, kdf, mem, it, lanes, salt, nonce, label_len = _HEAD.unpack_from(raw)
    if version > VERSION:
        raise FutureVersion("keystore written by a newer circle", "upgrade circle to open it")
    if version != VERSION or kdf != KDF_ARGON2ID or label_len > MAX_LABEL:
        raise CorruptFile("keystore damaged", f"{path} has an unknown header; restore it from a backup")
    end = _HEAD.size + label_len
    if len(raw) < end + 16:
        raise CorruptFile("keystore truncated", f"{path} is incomplete; restore it from a backup")
    try:
        label = raw[_HEAD.size : end].decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptFile("keystore damaged", f"{path} has an unreadable header; restore it from a backup") from None
    params = KdfParams(mem, it, lanes)
    params.check()
    header = {"label": label, "params": params, "salt": salt, "nonce": nonce}
    return header, raw[:end], raw[end:]


def _pack_header(label: str, params: KdfParams, salt: bytes, nonce: bytes) -> bytes:
    # Cut on a character boundary: a split UTF-8 sequence would make the file unreadable.
    lb = label.encode("utf-8")[:MAX_LABEL].decode("utf-8", "ignore").encode("utf-8")
    return _HEAD.pack(MAGIC, VERSION, KDF_ARGON2ID, params.memory_kib, params.iterations, params.lanes, salt, nonce, len(lb)) + lb


def atomic_write(path: Path, data: bytes | Iterable[bytes], mode: int = 0o600) -> None:
    """Write a file so that a crash leaves either the old or the new content (``data`` may come in pieces, made as they are written)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            for piece in [data] if isinstance(data, bytes) else data:
                f.write(piece)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def merge(base: Any, mine: Any) -> Any:
    """Merge two keystore payloads: union of maps, ``mine`` wins on leaves.

    Verified heads only move forward, so a stale writer cannot undo them; the
    one way back is a deliberate rewind (an own journal lost with events never
    sent, see ``CohortStore.restore_own``), which counts up ``rewound``: the
    head with the higher count wins whatever its seq.
    """
    if isinstance(base, dict) and isinstance(mine, dict):
        out = dict(base)
        for k, v in mine.items():
            out[k] = merge(base[k], v) if k in base else v
        if "seq" in base and "seq" in mine and isinstance(base["seq"], int):
            ahead = (base.get("rewound", 0), base["seq"]) > (mine.get("rewound", 0), mine["seq"])
            if ahead:
                out.update({k: base[k] for k in HEAD_FIELDS if k in base})
        return out
    return mine


HEAD_FIELDS = ("seq", "hash", "head", "rewound")  # one head: they move together


class Keystore:
    """An opened keystore. ``data`` is the decrypted payload (a JSON object)."""

    def __init__(self, path: Path, label: str, params: KdfParams, salt: bytes, key: bytes, data: dict[str, Any]) -> None:
        self.path = path
        self.label = label
        self._params, self._salt, self._key = params, salt, key
        self.data = data

    @classmethod
    def create(cls, path: Path, passphrase: str, label: str, data: dict[str, Any], *, calibrate: bool = True) -> Keystore:
        if path.exists():
            from circle.errors import AlreadyExists

            raise AlreadyExists("an identity already exists here", f"{path} is kept as it is; use another --home or name")
        salt = os.urandom(16)
        params, key = choose_params(passphrase, salt, calibrate=calibrate)
        ks = cls(path, label, params, salt, key, data)
        private_dir(path.parent)
        ks._write(data)
        return ks

    @classmethod
    def open(cls, path: Path, passphrase: str) -> Keystore:
        raw = _read(path)
        header, head, body = _parse(raw, path)
        key = header["params"].derive(passphrase, header["salt"])
        try:
            plain = ChaCha20Poly1305(key).decrypt(header["nonce"], body, head)
        except InvalidTag:
            # The AEAD cannot tell a wrong passphrase from a damaged file: say both.
            raise WrongPassphrase(
                "wrong passphrase",
                "nothing was changed: give it again; if you are sure of it, the keystore is damaged: restore it from a backup, or use your recovery kit",
            ) from None
        try:
            data = json.loads(plain)
        except ValueError:
            raise CorruptFile("keystore damaged", f"{path} opened but its content is unreadable") from None
        if not isinstance(data, dict) or data.get("v", 0) > VERSION:
            raise FutureVersion("keystore written by a newer circle", "upgrade circle to open it")
        return cls(path, header["label"], header["params"], header["salt"], key, data)

    def _seal(self, data: dict[str, Any]) -> bytes:
        nonce = os.urandom(12)
        head = _pack_header(self.label, self._params, self._salt, nonce)
        return head + ChaCha20Poly1305(self._key).encrypt(nonce, json.dumps(data, separators=(",", ":")).encode(), head)

    def _write(self, data: dict[str, Any]) -> None:
        try:
            atomic_write(self.path, self._seal(data))
        except OSError as exc:
            raise storage_problem(self.path, exc) or CorruptFile("keystore cannot be written", f"{self.path}: {exc.strerror}") from None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise storage_problem(lock, exc) or CorruptFile("keystore cannot be written", f"{lock}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def save(self) -> None:
        """Write ``data`` back, merged with what another process may have written meanwhile."""
        with self._locked():
            try:
                header, head, body = _parse(_read(self.path), self.path)
                on_disk = json.loads(ChaCha20Poly1305(self._key).decrypt(header["nonce"], body, head))
            except InvalidTag:
                # Another process changed the passphrase: writing now would undo it.
                raise WrongPassphrase("the keystore changed on disk (new passphrase?)", "close circle and unlock again; nothing was written") from None
            except (CorruptFile, ValueError):
                on_disk = {}  # damaged on disk: what is in memory is the good copy
            self.data = merge(on_disk, self.data)
            self._write(self.data)

    def change_passphrase(self, passphrase: str, *, calibrate: bool = True) -> None:
        self._salt = os.urandom(16)
        self._params, self._key = choose_params(passphrase, self._salt, calibrate=calibrate)
        with self._locked():
            self._write(self.data)
