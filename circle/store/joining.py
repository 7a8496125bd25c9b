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
import re
import secrets
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from spake2 import SPAKE2_A, SPAKE2_B

from circle.crypto import envelope
from circle.crypto.identity import PublicIdentity, fingerprint
from circle.errors import AlreadyExists, CircleError, InvalidEnvelope, NotFound, UsageError
from circle.models import schema
from circle.models.events import decode_payload, encode_payload
from circle.models.view import View
from circle.paths import default_replica
from circle.store.chain import check_chain
from circle.store.codewords import ADJECTIVES, NOUNS
from circle.store.cohort import CohortStore, Part
from circle.store.journal import Journal, read_rows
from circle.store.service import CohortService, FieldError
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
        if not self.join_code:  # a short code: the exchange through the replica says who is asking
            return [
                f"Your fingerprint: {self.fingerprint}",
                "Asked to join. The person who invited you admits you with the same code;",
                "read your fingerprint aloud when they do: it must match what their screen shows.",
            ]
        return [
            f"Join code: {self.join_code}",
            f"Your fingerprint: {self.fingerprint}",
            "Read both to the member admitting you and compare fingerprints aloud; the cohort appears once they have admitted you.",
        ]


def join(session: Session, code: str, replica: dict[str, Any] | None = None) -> Joined:
    """Start joining: a journal whose first event is the join request. Sync then carries it."""
    inv = Invite.parse(code)
    if len(session.name) > schema.MAX_NAME:  # an identity made before init refused such names: its request would read as a wrong code
        raise UsageError(
            f"your name is longer than the {schema.MAX_NAME} characters a cohort takes",
            "make an identity with a shorter name ('circle init --name NAME') and join with it",
        )
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
    svc.store.record("member.join_requested", _request_body(session, jid, inv.join_path), scope=Scope.INVITE)
    check = hashlib.sha256(session.public.to_bytes()).digest()[:10]
    return Joined(cid, JOIN_PREFIX + _b32(bytes.fromhex(jid) + check), session.fingerprint)


def _request_body(session: Session, journal: str, replica_path: str) -> dict[str, Any]:
    """A newcomer's join request: who they are, the journal they will write and where it replicates, and this
    device's reading keys where they are not the identity's own (a second device of theirs)."""
    body = {"public": session.public.to_bytes().hex(), "name": session.name, "journal": journal, "replica_path": replica_path}
    return body | ({"reading": session.reading} if session.reading else {})


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


def admit(svc: CohortService, join_code: str, fetch: Fetch, role: str = "participant", profession: str = "", replaces: str = "") -> Admitted:
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
    entry = svc.store.entry
    if jid.hex() in svc.store.known_journals() or jid.hex() == entry.journal or jid.hex() in entry.retired:
        # A newcomer's journal is new. One that names a journal held here would have its request fetched over the
        # verified copy of a member's journal (journal ids are in every envelope header on the replica).
        raise UsageError("join code names a journal this cohort already has", "ask the newcomer to read their join code out again")
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
        svc.admit(pub, name, role, profession, journal=jid.hex(), replica_path=inv.join_path, replaces=replaces, reading=str(request.get("reading", "")))
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
        if not res.accepted or ev.kind != "member.join_requested" or schema.problem(ev.kind, ev.body) or ev.author != pub.id.hex():
            return None
        return ev.body
    except (InvalidEnvelope, KeyError, ValueError):
        return None


# ---- short invite codes: a number and two words, made safe by SPAKE2 over the replica ------------------------
#
# The code (``7-amber-falcon``) is read aloud in the room. It is the password of
# a SPAKE2 exchange whose messages travel through the cohort's replica
# location, so the replica is the mailbox: the inviter leaves an offer (one
# SPAKE2 message per try) in a small journal at a path derived from the number;
# the newcomer answers with a journal of their own at a path derived from the
# offer and a try, holding their SPAKE2 message and their join request sealed
# with a key from the shared secret. Only someone who knew the words derives
# that key, so a wrong guess costs one try on the inviter's side (three in
# all), and an observer of the replica learns nothing to guess against. The
# inviter answers, sealed the same way, with where its journal is; the
# newcomer follows it and sees the admission. Fingerprints are still compared
# aloud. docs/FORMAT.md, "Short invite codes", has the bytes.

MAX_TRIES = 3
SHORT_SECRET_LEN = 20  # nameplate u32 || 16 random bytes (the words are bytes 4 and 5)
PAKE_IDS = {"idA": b"circle/v1/invite/inviter", "idB": b"circle/v1/invite/newcomer"}
LABEL_SHORT = b"circle/v1/invite/short"
NAMEPLATE_SPACES = (99, 999, 9999, 99999)  # an invite takes the lowest of these that has a free number


class Mailbox(Protocol):
    """How the short-code exchange reaches a replica location (the sync layer provides one, see ``circle.exchange``)."""

    def fetch(self, location: dict[str, Any], path: str, out: Path) -> bool:
        """Restore the journal at ``path`` under ``location`` into ``out``; False if there is none."""
        ...

    def exists(self, location: dict[str, Any], path: str) -> bool:
        """Whether a journal is at ``path`` under ``location``."""
        ...

    def push(self, location: dict[str, Any], db: Path, path: str) -> None:
        """Ship the journal file ``db`` to ``path`` under ``location``."""
        ...


def _h(*parts: bytes) -> bytes:
    return hashlib.sha256(LABEL_SHORT + b"".join(b"/" + p for p in parts)).digest()


def _kdf(secret: bytes, what: bytes, n: int = 32) -> bytes:
    return HKDF(hashes.SHA256(), n, None, LABEL_SHORT + b"/" + what).derive(secret)


def mailbox_path(nameplate: int) -> str:
    """Where the offer of invite number ``nameplate`` is, under the cohort's location."""
    return _h(b"mailbox", str(nameplate).encode())[:16].hex()


def slot_path(mailbox_journal: bytes, slot: int) -> str:
    """Where try ``slot`` (from 1) of the newcomer goes: their journal, for good if they are admitted."""
    return _h(b"slot", mailbox_journal, bytes([slot]))[:16].hex()


def public_key(journal_id: bytes) -> ScopeKey:
    """The key of a journal's envelopes that anyone holding it may open (the SPAKE2 messages and the refusals)."""
    return ScopeKey(_h(b"public-id", journal_id)[:16].hex(), _h(b"public", journal_id), Scope.INVITE, 0)


def _sealed_key(k: bytes, what: bytes) -> ScopeKey:
    """A key from the SPAKE2 secret: only the two who share it have it."""
    return ScopeKey(_kdf(k, what + b"-id", 16).hex(), _kdf(k, what), Scope.INVITE, 0)


@dataclass(frozen=True)
class ShortCode:
    """An invite code to read aloud: ``7-amber-falcon`` (the number finds the offer, the words are the secret)."""

    nameplate: int
    first: str
    second: str

    @property
    def text(self) -> str:
        return f"{self.nameplate}-{self.first}-{self.second}"

    @property
    def password(self) -> bytes:
        return self.text.encode()

    @classmethod
    def of_secret(cls, secret: bytes) -> ShortCode:
        return cls(int.from_bytes(secret[:4], "big"), ADJECTIVES[secret[4]], NOUNS[secret[5]])

    @classmethod
    def parse(cls, text: str) -> ShortCode:
        """Read a code as people type it: any case, hyphens or spaces, a word's first four letters are enough."""
        parts = [p for p in re.split(r"[\s_.\-]+", text.strip().lower()) if p]
        if len(parts) != 3 or not parts[0].isdigit() or not 1 <= int(parts[0]) <= NAMEPLATE_SPACES[-1]:
            raise FieldError("code", "not an invite code", "an invite code is a number and two words, like 7-amber-falcon")
        first, second = _word(parts[1], ADJECTIVES), _word(parts[2], NOUNS)
        if first is None or second is None:
            raise FieldError("code", "a word of the invite code is not one circle uses", "check the words with the person who invited you")
        return cls(int(parts[0]), first, second)


def _word(typed: str, words: tuple[str, ...]) -> str | None:
    if typed in words:
        return typed
    hits = [w for w in words if len(typed) >= 4 and w.startswith(typed[:4])]
    return hits[0] if len(hits) == 1 else None


def is_short_code(text: str) -> bool:
    """Whether ``text`` looks like a short code (or just its number), not a long ``circle-...`` code."""
    return not text.strip().lower().startswith("circle-")


def _entropy(secret: bytes, slot: int) -> Callable[[int], bytes]:
    """A deterministic random stream for the inviter's SPAKE2 state of one try, so it can be made again from the keystore."""
    counter = [0]

    def take(n: int) -> bytes:
        counter[0] += 1
        return _kdf(secret[4:], b"entropy/%d/%d" % (slot, counter[0]), n)

    return take


def _inviter_pake(secret: bytes, slot: int) -> tuple[SPAKE2_A, bytes]:
    """The inviter's SPAKE2 state for one try, started, and its message: the same every time it is made from the same secret."""
    pake = SPAKE2_A(ShortCode.of_secret(secret).password, entropy_f=_entropy(secret, slot), **PAKE_IDS)
    return pake, pake.start()


def mailbox_journal(secret: bytes) -> bytes:
    """The id of the inviter's mailbox journal for an invite (derived, so nothing else needs keeping)."""
    return _h(b"mailbox-journal", secret)[:16]


def _location(session: Session, store: CohortStore) -> dict[str, Any]:
    """The cohort's replica location: the one set, else the home's own folder."""
    return store.entry.replica or {"url": str(default_replica(session.home.root))}


def _public_parts(location: dict[str, Any]) -> dict[str, Any]:
    """What of a location may be written on a card: never a credential."""
    url = str(location.get("url", ""))
    parsed = urlsplit(url)
    if parsed.password:
        url = urlunsplit(parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", "@")))
    return {"url": url, **{k: location[k] for k in CARD_FIELDS if k != "url" and location.get(k) not in (None, "")}}


CARD_FIELDS = ("url", "endpoint", "region", "force_path_style", "host_key")
CARD_HEADER = "circle invite card"


def read_card(text: str) -> dict[str, Any]:
    """The replica location written on an invite card (see :meth:`Offered.card`): ``key: value`` lines."""
    if CARD_HEADER not in text:
        raise UsageError("not an invite card", "an invite card is the file 'circle invite --card FILE' wrote")
    out: dict[str, Any] = {}
    for raw in text.splitlines():
        key, sep, value = raw.partition(":")
        key = key.strip().lower().replace(" ", "_").replace("-", "_")
        if sep and key in ("replica", *CARD_FIELDS) and value.strip():
            value = value.strip()
            out["url" if key == "replica" else key] = value.lower() == "true" if key == "force_path_style" else value
    if "url" not in out:
        raise UsageError("the invite card names no replica", "ask for a new card")
    return out


@dataclass(frozen=True)
class Offered:
    """A short invite made: the code to say, how long it lasts, where the cohort's replica is."""

    code: str
    hours: int
    fingerprint: str
    location: dict[str, Any]
    tries: int = MAX_TRIES

    def where(self) -> str:
        loc = _public_parts(self.location)
        return loc["url"] + (f" (endpoint {loc['endpoint']})" if loc.get("endpoint") else "")

    def lines(self) -> list[str]:
        return [
            f"Invite code: {self.code}",
            "",
            f"Say it to the newcomer. It lasts {self.hours} hours and admits one person; {self.tries} wrong tries spend it.",
            f"The cohort's replica: {self.where()}",
            f"Your fingerprint: {self.fingerprint}",
            "They join with the code and the replica (j on their home screen, or 'circle join CODE --replica WHERE');",
            "then you admit them with the same code and compare fingerprints aloud.",
        ]

    def card(self) -> str:
        """An invite card: where the replica is, for a file or a printed page (the code is said aloud, never written here)."""
        loc = _public_parts(self.location)
        rows = [CARD_HEADER, "", f"replica: {loc['url']}"] + [f"{k.replace('_', '-')}: {v}" for k, v in loc.items() if k != "url"]
        return "\n".join(
            [
                *rows,
                "",
                f"Valid for {self.hours} hours from when it was made. The invite code is said aloud, not written here.",
                "Join: circle join CODE --card THIS-FILE (add --access-key-id / --secret-access-key or --key-path if the replica needs them).",
                "",
            ]
        )


def _public_event(kind: str, body: dict[str, Any]) -> bytes:
    return encode_payload(kind=kind, cohort="", author="", lamport=0, ts=0, body=body)


def _append(store: CohortStore, path: Path, journal_id: bytes, parts: list[tuple[bytes, ScopeKey]]) -> None:
    """Append envelopes to the inviter's mailbox journal (its own file; the last one signed)."""
    journal = Journal(path, journal_id)

    def sealer(payload: bytes, key: ScopeKey) -> Callable[[int, bytes, bool], bytes]:
        def seal(seq: int, prev: bytes, sign: bool) -> bytes:
            return envelope.seal(
                journal_id=journal_id, seq=seq, prev=prev, key_id=key.raw_id, key=key.secret, plaintext=payload, signer=store.author.signer if sign else None
            )

        return seal

    try:
        journal.append([sealer(p, k) for p, k in parts])
    finally:
        journal.close()


def _mailbox_file(store: CohortStore, journal_id: bytes) -> Path:
    d = store.root / "invites"
    d.mkdir(mode=0o700, exist_ok=True)
    return d / f"{journal_id.hex()}.db"


def offer_invite(session: Session, svc: CohortService, mailbox: Mailbox, hours: int = DEFAULT_TTL_HOURS) -> Offered:
    """Make a short invite to ``svc``'s cohort: leave the offer at the replica, remember the secret in the keystore."""
    store = svc.store
    location = _location(session, store)
    secret = b""
    for space in NAMEPLATE_SPACES:  # a number nobody's offer uses at this location: small while few are taken
        for _ in range(8):
            n = 1 + secrets.randbelow(space)
            if not mailbox.exists(location, mailbox_path(n)):
                secret = n.to_bytes(4, "big") + os.urandom(SHORT_SECRET_LEN - 4)
                break
        if secret:
            break
    if not secret:
        raise UsageError("no free invite number at this replica", "try again")
    expires = int(store.clock()) + hours * 3600
    jm = mailbox_journal(secret)
    offer = [_inviter_pake(secret, slot)[1].hex() for slot in range(1, MAX_TRIES + 1)]
    path = _mailbox_file(store, jm)
    _append(store, path, jm, [(_public_event("invite.offered", {"pake": offer, "expires": expires}), public_key(jm))])
    mailbox.push(location, path, mailbox_path(ShortCode.of_secret(secret).nameplate))
    store.entry.add_invite(secret, expires)
    store.vault.save()
    return Offered(ShortCode.of_secret(secret).text, hours, store.author.public.fingerprint, location)


@dataclass
class _Mailbox:
    """An offer as read from the replica: not trusted until an answer sealed with the SPAKE2 secret vouches for it."""

    journal: bytes
    offer: list[bytes]
    expires: int
    refused: dict[int, bool]  # try -> whether the invite was spent with it
    rows: list[Any]


def _read_mailbox(path: Path) -> _Mailbox | None:
    try:
        rows = list(read_rows(path, 0))
    except CircleError:
        return None
    if not rows:
        return None
    try:
        jm = envelope.parse(rows[0].blob).journal_id
    except InvalidEnvelope:
        return None
    key = public_key(jm)
    box = _Mailbox(jm, [], 0, {}, rows)
    for row in rows:
        try:
            h = envelope.parse(row.blob)
            if h.key_id != key.raw_id or h.journal_id != jm:
                continue
            ev = decode_payload(envelope.open_envelope(row.blob, h, key.secret), id="", journal=jm.hex(), seq=h.seq)
        except InvalidEnvelope:
            continue
        if schema.problem(ev.kind, ev.body) is not None:
            continue
        if ev.kind == "invite.offered" and not box.offer:
            box.offer, box.expires = [bytes.fromhex(x) for x in ev.body["pake"]], int(ev.body["expires"])
        elif ev.kind == "invite.refused":
            box.refused[ev.body["slot"]] = bool(ev.body.get("spent", False))
    return box if box.offer else None


def _fetch_mailbox(mailbox: Mailbox, location: dict[str, Any], path: str) -> _Mailbox | None:
    with tempfile.TemporaryDirectory(prefix="circle-invite-") as d:
        out = Path(d) / "mailbox.db"
        if not mailbox.fetch(location, path, out):
            return None
        return _read_mailbox(out)


def _pending_id(mailbox_journal_id: bytes, code: ShortCode) -> str:
    return _h(b"pending", mailbox_journal_id, code.password)[:16].hex()


def join_with_code(session: Session, code: str, location: dict[str, Any] | None, mailbox: Mailbox) -> Joined:
    """Ask to join with a short code read aloud and the cohort's replica location (a long code goes the old way).

    Running it again with the same code goes on waiting with the same try.
    """
    if not is_short_code(code):
        return join(session, code, replica=location)
    if not location or not location.get("url"):
        raise FieldError("replica", "where is the cohort's replica?", "the person who invited you says: a folder, sftp://… or s3://…")
    sc = ShortCode.parse(code)
    box = _fetch_mailbox(mailbox, location, mailbox_path(sc.nameplate))
    if box is None:
        raise NotFound(f"no invite number {sc.nameplate} at that replica", "check the number and where the cohort's replica is with the person who invited you")
    cid = _pending_id(box.journal, sc)
    if session.vault.holds(cid):
        if session.vault.resolve(cid) != cid:
            raise AlreadyExists("you joined with this code already", "the cohort is on your home screen")
        return Joined(cid, "", session.fingerprint)
    if box.expires < session.now():
        raise UsageError("this invite has expired", "ask a member for a fresh one")
    if any(box.refused.values()):
        raise UsageError("this invite is spent", "ask a member for a fresh one")
    slot = next((i for i in range(1, len(box.offer) + 1) if i not in box.refused and not mailbox.exists(location, slot_path(box.journal, i))), None)
    if slot is None:
        raise UsageError("this invite is spent: every try was used", "ask a member for a fresh one")
    pake = SPAKE2_B(sc.password, **PAKE_IDS)
    hello = pake.start()
    try:
        k = pake.finish(box.offer[slot - 1])
    except Exception:  # spake2 raises its own errors for a message that is not a group element: a damaged offer
        raise UsageError("the invite at that replica is damaged", "ask for a fresh one") from None
    jid = os.urandom(16).hex()
    path = slot_path(box.journal, slot)
    request = _sealed_key(k, b"request")
    session.vault.add_cohort(
        cid,
        journal=jid,
        keys=[request, ScopeKey.new(Scope.SELF)],
        cohort_key=None,
        replica_path=path,
        replica=location,
        pending=PendingJoin("", box.journal.hex(), mailbox_path(sc.nameplate), k),  # no inviter yet: its answer names it
    )
    session.vault.trust_member_journal(jid, cid, session.public)
    session.vault.save()
    store = session.cohort(cid).store
    body = _request_body(session, jid, path)
    store.commit(
        [
            Part("member.join_hello", {"pake": hello.hex(), "slot": slot}, public_key(bytes.fromhex(jid))),
            Part("member.join_requested", body, request),
        ]
    )
    return Joined(cid, "", session.fingerprint)


def _my_slot(mailbox_journal_id: bytes, replica_path: str) -> int:
    return next((i for i in range(1, 17) if slot_path(mailbox_journal_id, i) == replica_path), 0)


def awaiting_answer(session: Session) -> list[str]:
    """Joins with a short code whose inviter has not answered yet (what to poll the replica for)."""
    out = []
    for cid in session.cohort_ids():
        p = session.vault.cohort(cid).pending
        if p is not None and not p.inviter:
            out.append(cid)
    return out


def answer(session: Session, cid: str, mailbox: Mailbox) -> str:
    """Look for the inviter's answer to a join with a short code.

    Returns "answered" (the inviter's journal is followed from now: sync
    brings the admission), "waiting", "refused" (the code was wrong: this try
    is forgotten) or "spent" (the invite was used up).
    """
    if session.vault.resolve(cid) != cid:
        return "answered"
    entry = session.vault.cohort(cid)
    p = entry.pending
    if p is None or p.inviter:
        return "answered"
    box = _fetch_mailbox(mailbox, entry.replica or {}, p.inviter_path)
    if box is None or box.journal.hex() != p.inviter_journal:
        return "waiting"
    slot = _my_slot(box.journal, entry.replica_path)
    key = _sealed_key(p.secret, b"answer")
    for row in box.rows:
        try:
            h = envelope.parse(row.blob)
            if h.key_id != key.raw_id:
                continue
            ev = decode_payload(envelope.open_envelope(row.blob, h, key.secret), id="", journal=box.journal.hex(), seq=h.seq)
        except InvalidEnvelope:
            continue
        b = ev.body
        if ev.kind != "invite.answered" or schema.problem(ev.kind, b) is not None or b["slot"] != slot:
            continue
        signer = Ed25519PublicKey.from_public_bytes(bytes.fromhex(b["sign_pk"]))
        res = check_chain(box.rows, journal_id=box.journal, verifier=signer)
        if not any(c.seq == h.seq for c in res.accepted):
            continue  # not signed by the key the answer names: someone else wrote it
        session.vault.trust_journal(b["journal"], cid, b["inviter"], bytes.fromhex(b["sign_pk"]), b["replica_path"])
        # The join waits on the inviter's journal from now on (store/cohort.py adopts the cohort from the admission there).
        session.vault.add_cohort(
            cid,
            journal=entry.journal,
            keys=list(entry.keys().values()),
            cohort_key=None,
            replica_path=entry.replica_path,
            replica=entry.replica,
            pending=PendingJoin(b["inviter"], b["journal"], b["replica_path"], p.secret),
        )
        session.vault.save()
        return "answered"
    if slot in box.refused:
        _forget(session, cid)
        return "spent" if box.refused[slot] else "refused"
    return "waiting"


def _forget(session: Session, cid: str) -> None:
    """Drop a refused try from the home's list of cohorts.

    The keystore document has no removal; an entry moved onto itself becomes a
    forwarding mark, which is never listed (see Vault.move_cohort).
    """
    session.vault.move_cohort(cid, cid)
    session.vault.save()


@dataclass(frozen=True)
class _Request:
    state: str  # "ok", "wrong", "incomplete"
    public: PublicIdentity | None = None
    name: str = ""
    journal: str = ""
    key: bytes = b""
    reading: str = ""  # the newcomer's device reads with keys of its own (a second device of theirs)


def _read_try(path: Path, secret: bytes, slot: int) -> _Request:
    """A newcomer's try, read with the SPAKE2 state of that try: their request, or a wrong code."""
    rows = list(read_rows(path, 0))
    if len(rows) < 2:
        return _Request("incomplete")
    try:
        h0 = envelope.parse(rows[0].blob)
        jid = h0.journal_id
        hello_key = public_key(jid)
        if h0.key_id != hello_key.raw_id:
            return _Request("wrong")
        hello = decode_payload(envelope.open_envelope(rows[0].blob, h0, hello_key.secret), id="", journal=jid.hex(), seq=1)
        if hello.kind != "member.join_hello" or schema.problem(hello.kind, hello.body) or hello.body["slot"] != slot:
            return _Request("wrong")
        try:
            k = _inviter_pake(secret, slot)[0].finish(bytes.fromhex(hello.body["pake"]))
        except Exception:  # not a group element: garbage, not a guess
            return _Request("wrong")
        request = _sealed_key(k, b"request")
        h1 = envelope.parse(rows[1].blob)
        if h1.key_id != request.raw_id:
            return _Request("wrong")  # they derived another key: they typed other words
        ev = decode_payload(envelope.open_envelope(rows[1].blob, h1, request.secret), id="", journal=jid.hex(), seq=2)
        if ev.kind != "member.join_requested" or schema.problem(ev.kind, ev.body) or ev.body["journal"] != jid.hex():
            return _Request("wrong")
        pub = PublicIdentity.from_bytes(bytes.fromhex(ev.body["public"]))
        res = check_chain(rows, journal_id=jid, verifier=Ed25519PublicKey.from_public_bytes(pub.sign_pk))
        if len(res.accepted) < 2 or ev.author != pub.id.hex():
            return _Request("incomplete" if not res.problem else "wrong")
        return _Request("ok", pub, str(ev.body["name"])[:80], jid.hex(), k, str(ev.body.get("reading", "")))
    except (InvalidEnvelope, ValueError, KeyError):
        return _Request("wrong")


def admit_with_code(svc: CohortService, code: str, mailbox: Mailbox, role: str = "participant", profession: str = "", replaces: str = "") -> Admitted:
    """Admit the newcomer who joined with a short code (the whole code, or its number); a long join code goes the old way."""
    store = svc.store
    location = store.entry.replica or {"url": str(default_replica(store.root.parents[1]))}  # root: <home>/identities/<id>
    if not is_short_code(code):
        return admit(svc, code, lambda _store, path, out: mailbox.fetch(location, path, out), role, profession, replaces)
    store.vault.save()  # take in invites another circle process made meanwhile (the command line while the app is open)
    text = code.strip()
    wanted = ShortCode(int(text), "", "") if text.isdigit() else ShortCode.parse(text)
    invites = [
        inv
        for inv in store.entry.open_invites(svc.now())
        if len(inv.secret) == SHORT_SECRET_LEN
        and ShortCode.of_secret(inv.secret).nameplate == wanted.nameplate
        and (not wanted.first or ShortCode.of_secret(inv.secret) == wanted)
    ]
    if not invites:
        raise UsageError("no open invite with that code", f"invites last {DEFAULT_TTL_HOURS} hours and admit one person; make a new one")
    for inv in invites:
        admitted = _admit_try(svc, inv.hash, inv.secret, location, mailbox, role, profession, replaces)
        if admitted is not None:
            return admitted
    raise NotFound("nobody has joined with this code yet", "ask the newcomer to join with it, wait for their device to sync, then try again")


def _admit_try(
    svc: CohortService, invite_hash: str, secret: bytes, location: dict[str, Any], mailbox: Mailbox, role: str, profession: str, replaces: str = ""
) -> Admitted | None:
    store = svc.store
    jm = mailbox_journal(secret)
    mfile = _mailbox_file(store, jm)
    box = _read_mailbox(mfile)
    refused = dict(box.refused) if box else {}
    wrong: list[int] = []
    found: tuple[int, _Request] | None = None
    with tempfile.TemporaryDirectory(prefix="circle-invite-") as d:
        for slot in range(1, MAX_TRIES + 1):
            if slot in refused:
                continue
            out = Path(d) / f"try-{slot}.db"
            if not mailbox.fetch(location, slot_path(jm, slot), out):
                continue
            req = _read_try(out, secret, slot)
            if req.state == "wrong":
                wrong.append(slot)
            elif req.state == "ok" and found is None:
                found = (slot, req)
    parts: list[tuple[bytes, ScopeKey]] = []
    used = len(refused) + len(wrong)
    for i, slot in enumerate(wrong):
        parts.append((_public_event("invite.refused", {"slot": slot, "spent": found is None and len(refused) + i + 1 >= MAX_TRIES}), public_key(jm)))
    admitted = None
    if found is not None:
        slot, req = found
        assert req.public is not None
        store.entry.use_invite(invite_hash)  # used even if what follows fails
        store.vault.save()
        svc.admit(req.public, req.name, role, profession, journal=req.journal, replica_path=slot_path(jm, slot), replaces=replaces, reading=req.reading)
        body = {
            "slot": slot,
            "inviter": store.author.id,
            "sign_pk": store.author.public.sign_pk.hex(),
            "journal": store.entry.journal,
            "replica_path": store.entry.replica_path,
            "cohort": svc.id,
            "name": svc.view.cohort().name[:120],
        }
        parts.append((_public_event("invite.answered", body), _sealed_key(req.key, b"answer")))
        admitted = Admitted(req.name, role, req.public.fingerprint, roster_fingerprint(svc.view))
    elif used >= MAX_TRIES:
        store.entry.use_invite(invite_hash)
        store.vault.save()
    if parts:
        _append(store, mfile, jm, parts)
        mailbox.push(location, mfile, mailbox_path(ShortCode.of_secret(secret).nameplate))
    if admitted is not None:
        return admitted
    if wrong:
        left = MAX_TRIES - used
        if left <= 0:
            raise UsageError("a wrong code was tried and the invite is now spent", "make a new invite")
        raise UsageError(
            f"someone joined with a wrong code ({left} {'try' if left == 1 else 'tries'} left)",
            "check the code with the newcomer and ask them to join again",
        )
    return None
