"""Joining a cohort: invite, join and admit, confirmed in the room by fingerprints.

1. A member runs ``invite``: a single-use, expiring secret (160 bits) is kept
   in their keystore and printed inside an invite code, with what the newcomer
   needs to follow the inviter's journal (its id, replica path, signing key).
2. The newcomer runs ``join CODE``: a journal is created whose first event is
   a join request (their public keys, name, journal) sealed with a key from
   the invite secret; it replicates to a path derived from the secret. The
   newcomer gets a short join code: their journal id and a fingerprint check.
3. The inviter runs ``admit COHORT JOINCODE``: the request is fetched from the
   replica, matched against the join code, the newcomer is admitted and the
   cohort key is wrapped for them (HPKE, post-quantum hybrid). Both sides show
   fingerprints to compare aloud. The invite cannot be used again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from circle.crypto import envelope
from circle.crypto.identity import PublicIdentity, fingerprint
from circle.errors import InvalidEnvelope, NotFound, UsageError
from circle.models.events import decode_payload
from circle.models.view import View
from circle.paths import default_replica
from circle.store.chain import check_chain
from circle.store.cohort import CohortStore
from circle.store.journal import read_rows
from circle.store.service import CohortService
from circle.store.session import Session
from circle.store.vault import PendingJoin, Scope, ScopeKey

INVITE_PREFIX = "circle-invite-"
JOIN_PREFIX = "circle-join-"
INVITE_VERSION = 1
SECRET_LEN = 20
DEFAULT_TTL_HOURS = 72
_INVITE = struct.Struct(">B20s16s32s16s16sI")
LABEL_INVITE = b"circle/v1/invite"

# Fetch the replica of journal ``replica_path`` of a cohort into a local file; False if absent.
Fetch = Callable[[CohortStore, str, Path], bool]


def _derive(secret: bytes, what: bytes, n: int = 32) -> bytes:
    return HKDF(hashes.SHA256(), n, None, LABEL_INVITE + b"/" + what).derive(secret)


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=").lower()


def _unb32(text: str) -> bytes:
    t = "".join(text.split()).replace("-", "").upper()
    return base64.b32decode(t + "=" * (-len(t) % 8))


@dataclass(frozen=True)
class Invite:
    secret: bytes
    inviter: bytes  # identity id
    inviter_sign_pk: bytes
    journal: bytes
    replica_path: bytes
    expires: int
    location: str  # replica location, no credentials

    def code(self) -> str:
        raw = _INVITE.pack(INVITE_VERSION, self.secret, self.inviter, self.inviter_sign_pk, self.journal, self.replica_path, self.expires)
        return INVITE_PREFIX + _b32(raw + self.location.encode())

    @classmethod
    def parse(cls, code: str) -> Invite:
        code = code.strip()
        if not code.startswith(INVITE_PREFIX):
            raise UsageError("not an invite code", f"invite codes start with {INVITE_PREFIX!r}; ask for a fresh one")
        try:
            raw = _unb32(code[len(INVITE_PREFIX) :])
            version, secret, inviter, spk, journal, rpath, expires = _INVITE.unpack_from(raw)
            location = raw[_INVITE.size :].decode()
        except (ValueError, struct.error):
            raise UsageError("invite code damaged", "check it was copied whole, or ask for a fresh one") from None
        if version != INVITE_VERSION:
            raise UsageError("invite code from another circle version", "upgrade circle on both devices")
        return cls(secret, inviter, spk, journal, rpath, expires, location)

    @property
    def join_path(self) -> str:
        """Where the newcomer's journal replicates: derived, so the inviter can find it."""
        return _derive(self.secret, b"path", 16).hex()

    @property
    def request_key(self) -> tuple[bytes, bytes]:
        return _derive(self.secret, b"key-id", 16), _derive(self.secret, b"key")


def roster_fingerprint(view: View) -> str:
    """The cohort-wide fingerprint over every member's id and public keys, for everyone to compare aloud."""
    return fingerprint(view.fingerprint_material())


@dataclass(frozen=True)
class Issued:
    """An invite made: the code to hand over and what to say with it."""

    invite: Invite
    hours: int
    fingerprint: str

    @property
    def code(self) -> str:
        return self.invite.code()

    def lines(self) -> list[str]:
        return [
            self.code,
            "",
            f"Valid for {self.hours} hours, once. Your fingerprint: {self.fingerprint}",
            "Give the code to the newcomer; they run 'circle join CODE' (or press j on their home screen) and read you their join code.",
        ]


def create_invite(session: Session, svc: CohortService, hours: int = DEFAULT_TTL_HOURS) -> Issued:
    """Make a single-use invite to ``svc``'s cohort and remember it in the keystore."""
    store = svc.store
    location = store.entry.replica or {"url": str(default_replica(session.home.root))}
    inv = Invite(
        os.urandom(SECRET_LEN),
        store.author.identity.id,
        store.author.public.sign_pk,
        store.journal_id,
        bytes.fromhex(store.entry.replica_path),
        int(store.clock()) + hours * 3600,
        str(location["url"]),
    )
    store.entry.add_invite(inv.secret, inv.expires)
    store.vault.save()
    return Issued(inv, hours, store.author.public.fingerprint)


@dataclass(frozen=True)
class Joined:
    """A join asked for: the join code to read to the member admitting, and our fingerprint."""

    cohort_id: str
    join_code: str
    fingerprint: str

    def lines(self) -> list[str]:
        return [
            f"Join code: {self.join_code}",
            f"Your fingerprint: {self.fingerprint}",
            "Read both to the member admitting you and compare fingerprints aloud; the cohort appears once they have admitted you.",
        ]


def join(session: Session, code: str, replica: dict[str, Any] | None = None) -> Joined:
    """Start joining: a journal whose first event is the join request. Sync then carries it."""
    inv = Invite.parse(code)
    if inv.expires < session.now():
        raise UsageError("this invite has expired", "ask a member for a fresh one with 'circle invite'")
    cid = hashlib.sha256(LABEL_INVITE + b"/pending/" + inv.secret).hexdigest()[:32]
    if session.vault.holds(cid):
        raise UsageError("you already used this invite", "run 'circle sync' and wait for a member to admit you")
    kid, key = inv.request_key
    jid = os.urandom(16).hex()
    pending = PendingJoin(inv.inviter.hex(), inv.journal.hex(), inv.replica_path.hex(), inv.secret)
    session.vault.add_cohort(
        cid,
        journal=jid,
        keys=[ScopeKey(kid.hex(), key, Scope.INVITE, 0), ScopeKey.new(Scope.SELF)],
        cohort_key=None,
        replica_path=inv.join_path,
        replica=replica or {"url": inv.location},
        pending=pending,
    )
    session.vault.trust_journal(inv.journal.hex(), cid, inv.inviter.hex(), inv.inviter_sign_pk, inv.replica_path.hex())
    session.vault.trust_member_journal(jid, cid, session.public)
    session.vault.save()
    svc = session.cohort(cid)
    body = {"public": session.public.to_bytes().hex(), "name": session.name, "journal": jid, "replica_path": inv.join_path}
    svc.store.record("member.join_requested", body, scope=Scope.INVITE)
    check = hashlib.sha256(session.public.to_bytes()).digest()[:10]
    return Joined(cid, JOIN_PREFIX + _b32(bytes.fromhex(jid) + check), session.fingerprint)


@dataclass(frozen=True)
class Admitted:
    """A newcomer admitted: the fingerprints everyone compares aloud."""

    name: str
    role: str
    fingerprint: str
    cohort_fingerprint: str

    def lines(self) -> list[str]:
        return [
            f"Admitted {self.name} as {self.role}.",
            f"Their fingerprint (they read theirs aloud; it must match): {self.fingerprint}",
            f"Cohort fingerprint, for everyone to compare: {self.cohort_fingerprint}",
        ]


def admit(svc: CohortService, join_code: str, fetch: Fetch, role: str = "participant", profession: str = "") -> Admitted:
    """Admit the newcomer behind ``join_code``."""
    code = join_code.strip()
    if not code.startswith(JOIN_PREFIX):
        raise UsageError("not a join code", f"join codes start with {JOIN_PREFIX!r}")
    try:
        raw = _unb32(code[len(JOIN_PREFIX) :])
    except ValueError:
        raise UsageError("join code damaged", "check it was copied whole") from None
    if len(raw) != 26:
        raise UsageError("join code damaged", "check it was copied whole")
    jid, check = raw[:16], raw[16:]
    open_invites = svc.store.entry.open_invites(svc.now())
    if not open_invites:
        raise UsageError("no open invite for this cohort", "make one with 'circle invite' (invites are single-use and expire)")
    for open_invite in open_invites:
        inv = Invite(open_invite.secret, b"", b"", b"", b"", open_invite.expires, "")
        out = svc.store.peer_dir() / f"{jid.hex()}.db"
        if not fetch(svc.store, inv.join_path, out):
            continue
        request = _read_request(out, jid, inv)
        if request is None:
            continue
        pub = PublicIdentity.from_bytes(bytes.fromhex(request["public"]))
        if not hmac.compare_digest(hashlib.sha256(pub.to_bytes()).digest()[:10], check):
            raise UsageError("join code does not match the request", "compare codes again; someone else may have used the invite")
        svc.store.entry.use_invite(open_invite.hash)  # used even if what follows fails
        svc.store.vault.save()
        name = str(request["name"])[:80]
        svc.admit(pub, name, role, profession, journal=jid.hex(), replica_path=inv.join_path)
        return Admitted(name, role, pub.fingerprint, roster_fingerprint(svc.view))
    raise NotFound("no join request found for this code yet", "ask the newcomer to run 'circle sync --once', then try again")


def _read_request(path: Path, jid: bytes, inv: Invite) -> dict[str, Any] | None:
    rows = list(read_rows(path, 0))
    if not rows:
        return None
    try:
        first = envelope.parse(rows[0].blob)
        kid, key = inv.request_key
        if first.key_id != kid:
            return None
        ev = decode_payload(envelope.open_envelope(rows[0].blob, first, key), id="", journal=jid.hex(), seq=1)
        pub = PublicIdentity.from_bytes(bytes.fromhex(ev.body["public"]))
        res = check_chain(rows, journal_id=jid, verifier=Ed25519PublicKey.from_public_bytes(pub.sign_pk))
        if not res.accepted or ev.kind != "member.join_requested" or ev.author != pub.id.hex():
            return None
        return ev.body
    except (InvalidEnvelope, KeyError, ValueError):
        return None
