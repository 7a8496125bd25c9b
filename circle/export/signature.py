"""Signed exports: a detached Ed25519 signature of the exporting identity in a sidecar ``FILE.sig``.

The scheme (docs/FORMAT.md, "Exports"): the sidecar is JSON

    {"format": "circle-export-signature/1", "file": name, "size": n, "sha256": hex,
     "signer": {"name": ..., "public": hex public identity, "fingerprint": ...},
     "signed_at": ISO time, "signature": hex}

and the signature is Ed25519, with the signer's identity key, over

    "circle/v1/export-signature" || u32 length of statement || statement || the file's exact bytes

where ``statement`` is the canonical JSON (sorted keys, no spaces, UTF-8) of
``{"file", "size", "signer": {"name", "public"}, "signed_at"}``. So the name
the sidecar shows is signed too, and so is the file name a program lead was
sent. Checking needs nothing but the two files: no home and no passphrase.
The fingerprint is recomputed from the public identity, never trusted from
the sidecar, and is what a reader compares with one known from elsewhere
(the one ``circle whoami`` prints, read aloud in the room).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from circle.crypto.identity import PublicIdentity, fingerprint
from circle.crypto.keystore import atomic_write
from circle.errors import CircleError, CorruptFile, InvalidEnvelope, NotFound
from circle.models.text import clean_name, lone_surrogate

LABEL = b"circle/v1/export-signature"
FORMAT = "circle-export-signature/1"
SUFFIX = ".sig"
MAX_SIDECAR = 64 * 1024


class ExportChanged(CircleError):
    """The file is not the one that was signed (or the signature is not the signer's)."""


@dataclass(frozen=True)
class Signer:
    """Who signs: the exporting identity's name, public identity and signing key."""

    name: str
    public: PublicIdentity
    key: Ed25519PrivateKey

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint


@dataclass(frozen=True)
class Verified:
    """What a good signature says: who signed, their fingerprint, when they said they signed."""

    name: str
    fingerprint: str
    signed_at: str
    file: str


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def _statement(file: str, size: int, name: str, public_hex: str, signed_at: str) -> bytes:
    doc = {"file": file, "size": size, "signer": {"name": name, "public": public_hex}, "signed_at": signed_at}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _message(statement: bytes, data: bytes) -> bytes:
    return LABEL + struct.pack(">I", len(statement)) + statement + data


def sign_bytes(data: bytes, file_name: str, signer: Signer, signed_at: float) -> dict[str, Any]:
    """The sidecar document for ``data`` written as ``file_name``."""
    when = dt.datetime.fromtimestamp(signed_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    public_hex = signer.public.to_bytes().hex()
    statement = _statement(file_name, len(data), signer.name, public_hex, when)
    sig = signer.key.sign(_message(statement, data))
    return {
        "format": FORMAT,
        "file": file_name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "signer": {"name": signer.name, "public": public_hex, "fingerprint": signer.fingerprint},
        "signed_at": when,
        "signature": sig.hex(),
    }


def write_signed(path: Path, data: bytes, signer: Signer, signed_at: float) -> Path:
    """Write ``data`` to ``path`` and its signature beside it; returns the sidecar's path.

    ``data`` is signed as it is, not read back: a whole history's export is tens of MB, and each copy counts.
    """
    atomic_write(path, data)  # 0600: what it says is the cohort's, in plaintext; and never half written
    return _write_sidecar(path, sign_bytes(data, path.name, signer, signed_at))


def sign_file(path: Path, signer: Signer, signed_at: float) -> Path:
    """Sign a file already written; returns the sidecar's path."""
    return _write_sidecar(path, sign_bytes(path.read_bytes(), path.name, signer, signed_at))


def _write_sidecar(path: Path, doc: dict[str, Any]) -> Path:
    side = sidecar_path(path)
    atomic_write(side, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode())
    return side


def _field(doc: dict[str, Any], key: str, kind: type) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CorruptFile("the signature file is malformed", f"its {key!r} is missing or of the wrong kind")
    return value


def verify(path: Path, sidecar: Path | None = None) -> Verified:
    """Check an export against its signature file; a :class:`Verified` when it is the file that was signed.

    Raises:
        NotFound: the file or its signature file is not there.
        CorruptFile: the signature file is not one.
        ExportChanged: the file changed since it was signed, or the signature is not the signer's.
    """
    sidecar = sidecar or sidecar_path(path)
    if not path.is_file():
        raise NotFound("no such file", str(path))
    if not sidecar.is_file():
        raise NotFound("no signature file beside it", f"expected {sidecar.name}; ask the sender for it")
    raw = sidecar.read_bytes()[: MAX_SIDECAR + 1]
    if len(raw) > MAX_SIDECAR:
        raise CorruptFile("the signature file is malformed", "it is far too long to be one")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # RecursionError: nested deeper than JSON decodes
        raise CorruptFile("the signature file is malformed", "it is not JSON") from None
    if lone_surrogate(raw, doc):  # escapes no UTF-8 spells: no statement could be made of them to check
        raise CorruptFile("the signature file is malformed", "it holds text that is not text")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CorruptFile("the signature file is malformed", f"it is not a {FORMAT} file")
    signer = _field(doc, "signer", dict)
    name, public_hex = _field(signer, "name", str), _field(signer, "public", str)
    file_name, size, signed_at, sig_hex = _field(doc, "file", str), _field(doc, "size", int), _field(doc, "signed_at", str), _field(doc, "signature", str)
    try:
        public = PublicIdentity.from_bytes(bytes.fromhex(public_hex))
        sig = bytes.fromhex(sig_hex)
    except (ValueError, InvalidEnvelope):
        raise CorruptFile("the signature file is malformed", "its public key or signature is not what circle writes") from None
    data = path.read_bytes()
    statement = _statement(file_name, size, name, public_hex, signed_at)
    try:
        public.verifier().verify(sig, _message(statement, data))
    except InvalidSignature:
        if len(data) != size or hashlib.sha256(data).hexdigest() != doc.get("sha256"):
            if file_name != path.name:  # most likely the signature of another export beside it, not a change
                raise ExportChanged(
                    "the signature is for another file, or the file changed", f"it signs {clean_name(file_name)!r}: check that file with it"
                ) from None
            raise ExportChanged("the file changed after it was signed", "do not trust its content; ask the sender for the export again") from None
        raise ExportChanged("the signature does not match", "the signature file was altered or belongs to another file") from None
    return Verified(clean_name(name), fingerprint(public.to_bytes()), signed_at, file_name)
