"""The keystore document: what a person's keystore holds, with typed accessors.

The keystore file (``crypto/keystore.py``) seals one JSON object. This module
is the only one that knows its shape and indexes it; everything else goes
through :class:`Vault`, :class:`CohortEntry` and :class:`JournalRecord`. The
document holds:

- the identity's secret keys and its name;
- per cohort: the own journal, the scope keys (cohort epochs, self, invite),
  the replica location with its credentials, open invites, a pending join;
- per journal of every cohort: the owner and signing key trusted for it, the
  verified head (seq, hash, envelope), and what sync knows (the replica path,
  the TXID last restored, the newest own seq known to be sent);
- the key that seals local snapshots.

Entries are live views over the document: a setter changes it, and
:meth:`Vault.save` writes it (merged with what another process wrote meanwhile,
see :func:`circle.crypto.keystore.merge`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from circle.crypto import envelope, recovery
from circle.crypto.identity import Identity, PublicIdentity
from circle.crypto.keystore import Keystore
from circle.errors import NotFound

DOCUMENT_VERSION = 1
MAX_CANDIDATES = 8  # other keys kept under one key id while its epoch settles (each wrapper can add one per try)


class Scope(StrEnum):
    """Who can read an event: each scope has keys of its own.

    COHORT: every member of the cohort (agenda, notes, roster), in key epochs.
    DYAD: exactly two members (a private one-on-one channel); the key names the other party.
    SELF: the author alone (private notes).
    INVITE: the inviter and the newcomer (a join request, keyed by the invite secret).
    ROSTER: the part of a cohort epoch a newcomer reads when the cohort shows them no history from before they
        joined: membership, keys, the schedule and the rota (derived from the epoch's key, see circle/store/keys.py).
    """

    COHORT = "cohort"
    DYAD = "dyad"
    SELF = "self"
    INVITE = "invite"
    ROSTER = "roster"


@dataclass(frozen=True)
class ScopeKey:
    """One symmetric key of a scope.

    Attributes:
        id: the key id carried in envelope headers (16 random bytes, hex).
        secret: the 32-byte key.
        scope: who can read what it seals.
        epoch: the key epoch (cohort and dyad scopes); 0 or 1 elsewhere.
        peer: for a dyad key, the other member of the channel ("" for every other scope).
    """

    id: str
    secret: bytes
    scope: Scope
    epoch: int
    peer: str = ""

    @property
    def raw_id(self) -> bytes:
        return bytes.fromhex(self.id)

    @classmethod
    def new(cls, scope: Scope, epoch: int = 1, peer: str = "") -> ScopeKey:
        return cls(os.urandom(16).hex(), os.urandom(32), scope, epoch, peer)

    def stored(self) -> dict[str, Any]:
        """How the keystore document keeps it."""
        d: dict[str, Any] = {"k": self.secret.hex(), "scope": self.scope.value, "epoch": self.epoch}
        if self.peer:
            d["peer"] = self.peer
        return d

    @classmethod
    def from_stored(cls, kid: str, v: dict[str, Any]) -> ScopeKey:
        return cls(kid, bytes.fromhex(v["k"]), Scope(v["scope"]), int(v["epoch"]), str(v.get("peer", "")))


@dataclass(frozen=True)
class PendingJoin:
    """A join asked for and not yet admitted: who invited, and where their journal is."""

    inviter: str
    inviter_journal: str
    inviter_path: str
    secret: bytes


@dataclass(frozen=True)
class OpenInvite:
    """An invite this identity made that has not been used."""

    hash: str
    secret: bytes
    expires: int


class JournalRecord:
    """What this identity trusts and knows of one journal (its own or a peer's)."""

    __slots__ = ("id", "_vault")

    def __init__(self, vault: Vault, jid: str) -> None:
        self.id = jid
        self._vault = vault

    @property
    def _d(self) -> dict[str, Any]:
        # Looked up on every access: a save replaces the document with its merge with the disk.
        return self._vault._doc["journals"][self.id]

    @property
    def cohort(self) -> str:
        return str(self._d.get("cohort", ""))

    @property
    def owner(self) -> str:
        return str(self._d.get("owner", ""))

    @property
    def sign_pk(self) -> bytes:
        return bytes.fromhex(self._d["sign_pk"])

    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.sign_pk)

    @property
    def seq(self) -> int:
        """The newest seq verified (0: nothing yet)."""
        return int(self._d.get("seq", 0))

    @property
    def hash(self) -> bytes:
        return bytes.fromhex(self._d.get("hash", envelope.ZERO_HASH.hex()))

    @property
    def head(self) -> bytes:
        """The verified head envelope itself, kept as evidence should the journal fork."""
        return bytes.fromhex(self._d.get("head", ""))

    def advance(self, seq: int, digest: bytes, head: bytes) -> None:
        self._d.update({"seq": seq, "hash": digest.hex(), "head": head.hex()})
        self._vault.changed()

    def rewind(self, seq: int, digest: bytes, head: bytes) -> None:
        """Move the head back, deliberately: the one move a save's merge does not undo (see ``keystore.merge``)."""
        self._d.update({"seq": seq, "hash": digest.hex(), "head": head.hex(), "rewound": int(self._d.get("rewound", 0)) + 1})
        self._vault.changed()

    @property
    def replica_path(self) -> str:
        return str(self._d.get("replica_path", ""))

    @property
    def replica_txid(self) -> int | None:
        """The replica TXID this device last restored from (None: never)."""
        t = self._d.get("replica_txid")
        return None if t is None else int(t)

    @replica_txid.setter
    def replica_txid(self, txid: int) -> None:
        self._d["replica_txid"] = txid
        self._vault.changed()

    @property
    def sent(self) -> int:
        """The newest own seq known to be on the replica."""
        return int(self._d.get("sent", 0))

    @sent.setter
    def sent(self, seq: int) -> None:
        self._d["sent"] = seq
        self._vault.changed()


class CohortEntry:
    """What this identity holds for one cohort."""

    __slots__ = ("id", "_vault")

    def __init__(self, vault: Vault, cid: str) -> None:
        self.id = cid
        self._vault = vault

    @property
    def _d(self) -> dict[str, Any]:
        return self._vault._doc["cohorts"][self.id]

    @property
    def journal(self) -> str:
        """The id (hex) of this identity's own journal for the cohort."""
        return str(self._d["journal"])

    @property
    def replica_path(self) -> str:
        """The random path of the own journal under the cohort's replica location."""
        return str(self._d["replica_path"])

    @property
    def replica(self) -> dict[str, Any] | None:
        """The replica location with its credentials (None: the home's own folder)."""
        loc = self._d.get("replica")
        return dict(loc) if loc else None

    @replica.setter
    def replica(self, location: dict[str, Any] | None) -> None:
        self._d["replica"] = location
        self._vault.changed()

    # ---- keys ----------------------------------------------------------
    def keys(self) -> dict[bytes, ScopeKey]:
        """Every key held, by raw key id."""
        return {bytes.fromhex(kid): ScopeKey.from_stored(kid, v) for kid, v in self._d["keys"].items()}

    def key(self, kid: str) -> ScopeKey | None:
        v = self._d["keys"].get(kid)
        return None if v is None else ScopeKey.from_stored(kid, v)

    def add_key(self, key: ScopeKey) -> bool:
        """Keep a key; False if it was held already."""
        if key.id in self._d["keys"]:
            return False
        self._d["keys"][key.id] = key.stored()
        self._vault.changed()
        return True

    def replace_key(self, key: ScopeKey) -> None:
        """Put the right key where a wrong one of the same id was kept."""
        self._d["keys"][key.id] = key.stored()
        self._vault.changed()

    def candidates(self) -> dict[str, list[ScopeKey]]:
        """Other keys wrapped under the id of a key held, kept while its epoch has not settled here (key id -> keys)."""
        return {kid: [ScopeKey.from_stored(kid, v) for v in vs] for kid, vs in self._d.get("candidates", {}).items()}

    def add_candidate(self, key: ScopeKey) -> bool:
        """Keep another key under a held key's id until its epoch settles; False if it was kept already."""
        kept = self._d.setdefault("candidates", {}).setdefault(key.id, [])
        if key.stored() in kept or len(kept) >= MAX_CANDIDATES:
            return False
        kept.append(key.stored())
        self._vault.changed()
        return True

    def drop_candidates(self, kid: str) -> None:
        if self._d.get("candidates", {}).pop(kid, None) is not None:
            self._vault.changed()

    @property
    def cohort_key(self) -> ScopeKey | None:
        """The cohort key new events are sealed with (None while a join is pending)."""
        kid = self._d.get("cohort_key")
        return None if kid is None else self.key(kid)

    @cohort_key.setter
    def cohort_key(self, key: ScopeKey) -> None:
        self.add_key(key)
        self._d["cohort_key"] = key.id
        self._vault.changed()

    def scope_key(self, scope: Scope) -> ScopeKey:
        """The key new events of ``scope`` are sealed with."""
        if scope is Scope.COHORT:
            key = self.cohort_key
            if key is None:
                raise NotFound("you are not admitted to this cohort yet", "wait for a member to admit you, then run 'circle sync'")
            return key
        if scope is Scope.DYAD:
            raise ValueError("a dyad key is chosen by its peer: CohortKeys.dyad_sealing")
        for kid, v in self._d["keys"].items():
            if v["scope"] == scope.value:
                return ScopeKey.from_stored(kid, v)
        raise NotFound(f"no {scope.value} key for this cohort", "this keystore was made by an older circle; join the cohort again")

    @property
    def retired(self) -> list[str]:
        """Own journals of earlier memberships of this cohort (before a removal and a new admission)."""
        return list(self._d.get("retired", []))

    def wrapped_to(self) -> dict[str, list[str]]:
        """Epoch keys this identity wrapped for members it admitted after the epoch started: key id -> member ids."""
        return {k: list(v) for k, v in self._d.get("wrapped", {}).items()}

    def mark_wrapped(self, key_id: str, member: str) -> None:
        w = self._d.setdefault("wrapped", {}).setdefault(key_id, [])
        if member not in w:
            w.append(member)
        self._vault.changed()

    # ---- joining -------------------------------------------------------
    @property
    def pending(self) -> PendingJoin | None:
        p = self._d.get("pending")
        if not p:
            return None
        return PendingJoin(str(p["inviter"]), str(p["inviter_journal"]), str(p["inviter_path"]), bytes.fromhex(p["secret"]))

    def add_invite(self, secret: bytes, expires: int) -> None:
        self._d.setdefault("invites", {})[hashlib.sha256(secret).hexdigest()] = {"secret": secret.hex(), "expires": expires, "used": False}
        self._vault.changed()

    def open_invites(self, now: float) -> list[OpenInvite]:
        """Invites not used and not expired at ``now``."""
        return [
            OpenInvite(h, bytes.fromhex(v["secret"]), int(v["expires"])) for h, v in self._d.get("invites", {}).items() if not v["used"] and v["expires"] >= now
        ]

    def use_invite(self, invite_hash: str) -> None:
        self._d["invites"][invite_hash]["used"] = True
        self._vault.changed()


class Vault:
    """The opened keystore document of one identity.

    Args:
        keystore: the opened keystore file; its ``data`` is the document.
    """

    def __init__(self, keystore: Keystore) -> None:
        self.keystore = keystore
        self._dirty = False

    @staticmethod
    def new_document(name: str, identity: Identity) -> dict[str, Any]:
        """The document of a new identity: its keys, no cohorts yet."""
        return {
            "v": DOCUMENT_VERSION,
            "name": name,
            "identity": {"id": identity.id.hex(), "sign": identity.sign_seed.hex(), "mlkem": identity.mlkem_seed.hex(), "x25519": identity.x25519_sk.hex()},
            "cohorts": {},
            "journals": {},
            "snapshot_key": os.urandom(32).hex(),
            "recovery": recovery.new_code().hex(),
        }

    @property
    def _doc(self) -> dict[str, Any]:
        return self.keystore.data

    @property
    def name(self) -> str:
        return str(self._doc["name"])

    @property
    def identity_id(self) -> str:
        """The identity id (hex) this document says it belongs to."""
        return str(self._doc.get("identity", {}).get("id", ""))

    def identity(self) -> Identity:
        d = self._doc["identity"]
        return Identity(bytes.fromhex(d["id"]), bytes.fromhex(d["sign"]), bytes.fromhex(d["mlkem"]), bytes.fromhex(d["x25519"]))

    def public(self) -> PublicIdentity:
        """The identity as the cohorts know it. On a second device its reading keys are the device's own, so the
        identity's public keys are kept beside them."""
        d = self._doc["identity"]
        return PublicIdentity.from_bytes(bytes.fromhex(d["public"])) if d.get("public") else self.identity().public()

    @staticmethod
    def device_document(doc: dict[str, Any], device: Identity, public: PublicIdentity) -> None:
        """Give a copy of the document a device's own reading keys in place of the identity's (the identity's public kept)."""
        doc["identity"].update({"mlkem": device.mlkem_seed.hex(), "x25519": device.x25519_sk.hex(), "public": public.to_bytes().hex()})

    @property
    def snapshot_key(self) -> bytes:
        return bytes.fromhex(self._doc["snapshot_key"])

    # ---- recovery -------------------------------------------------------
    @property
    def recovery_secret(self) -> bytes | None:
        """The recovery code's secret (None for a keystore made before circle had recovery kits)."""
        r = self._doc.get("recovery")
        return bytes.fromhex(r) if r else None

    def new_recovery_secret(self) -> bytes:
        """Give the identity a new recovery code (kits written with the old one still open with it)."""
        secret = recovery.new_code()
        self._doc["recovery"] = secret.hex()
        self._doc.pop("kit", None)
        self.changed()
        return secret

    def document(self) -> dict[str, Any]:
        """A copy of the whole document (what a recovery kit holds)."""
        return json.loads(json.dumps(self._doc))

    @property
    def kit_cohorts(self) -> list[str] | None:
        """The cohorts the newest recovery kit written holds (None: none written with the current code)."""
        k = self._doc.get("kit")
        return None if k is None else list(k.get("cohorts", []))

    @property
    def device(self) -> str:
        """This laptop's name among the identity's devices ("" for the first one)."""
        return str(self._doc.get("device", ""))

    @property
    def kit_written(self) -> float:
        return float(self._doc.get("kit", {}).get("at", 0))

    def kit_was_written(self, at: float) -> None:
        self._doc["kit"] = {"at": at, "cohorts": self.cohort_ids()}
        self.changed()

    def changed(self) -> None:
        """Something changed that :meth:`flush` should write."""
        self._dirty = True

    def save(self) -> None:
        """Write the document now (merged with what another process wrote meanwhile)."""
        self.keystore.save()
        self._dirty = False

    def flush(self) -> None:
        """Write the document if anything changed since the last save (it is rewritten whole)."""
        if self._dirty:
            self.save()

    # ---- cohorts -------------------------------------------------------
    def cohort_ids(self) -> list[str]:
        """Cohorts held, pending joins included; not those that moved to their real id."""
        return sorted(cid for cid, e in self._doc["cohorts"].items() if "moved_to" not in e)

    def holds(self, cid: str) -> bool:
        """Whether this id was ever a cohort here (moved ones included)."""
        return cid in self._doc["cohorts"]

    def cohort(self, cid: str) -> CohortEntry:
        e = self._doc["cohorts"].get(cid)
        if e is None or "moved_to" in e:
            raise NotFound("unknown cohort", "list cohorts with 'circle cohorts'")
        return CohortEntry(self, cid)

    def resolve(self, cid: str) -> str:
        """The id a cohort has now: a pending join takes its real id once admitted."""
        return str(self._doc["cohorts"].get(cid, {}).get("moved_to", cid))

    def add_cohort(
        self,
        cid: str,
        *,
        journal: str,
        keys: list[ScopeKey],
        cohort_key: ScopeKey | None,
        replica_path: str,
        replica: dict[str, Any] | None,
        pending: PendingJoin | None = None,
    ) -> CohortEntry:
        """Hold a new cohort (created here, or a join asked for)."""
        doc: dict[str, Any] = {
            "journal": journal,
            "keys": {},
            "cohort_key": None,
            "replica_path": replica_path,
            "replica": replica,
        }
        if pending is not None:
            doc["pending"] = {
                "inviter": pending.inviter,
                "inviter_journal": pending.inviter_journal,
                "inviter_path": pending.inviter_path,
                "secret": pending.secret.hex(),
            }
        self._doc["cohorts"][cid] = doc
        entry = CohortEntry(self, cid)
        for k in keys:
            entry.add_key(k)
        if cohort_key is not None:
            entry.cohort_key = cohort_key
        return entry

    def move_cohort(self, old: str, new: str) -> CohortEntry:
        """A pending join was admitted: the cohort takes its real id.

        Someone admitted again after a removal held the cohort before: the
        keys they had stay, their earlier journal is kept as retired, and the
        new journal is the one they write. Keystore saves merge with what is
        on disk, so the old entry stays as a forwarding mark rather than
        being deleted.
        """
        doc = dict(self._doc["cohorts"][old])
        doc.pop("pending", None)
        earlier = self._doc["cohorts"].get(new)
        if earlier and "moved_to" not in earlier:
            doc["keys"] = {**earlier.get("keys", {}), **doc["keys"]}
            doc["retired"] = [*earlier.get("retired", []), earlier["journal"]]
            doc["invites"] = earlier.get("invites", {})
            doc["replica"] = earlier.get("replica") or doc.get("replica")
        self._doc["cohorts"][new] = doc
        self._doc["cohorts"][old] = {"moved_to": new}
        for j in self._doc["journals"].values():
            if j.get("cohort") == old:
                j["cohort"] = new
        self.changed()
        return CohortEntry(self, new)

    # ---- journals ------------------------------------------------------
    def journal(self, jid: str) -> JournalRecord | None:
        d = self._doc["journals"].get(jid)
        return None if d is None else JournalRecord(self, jid)

    def journals_of(self, cid: str) -> dict[str, JournalRecord]:
        """Every journal trusted for a cohort, by id."""
        return {jid: JournalRecord(self, jid) for jid, d in self._doc["journals"].items() if d.get("cohort") == cid}

    def trust_journal(self, jid: str, cid: str, owner: str, sign_pk: bytes, replica_path: str | None = None) -> JournalRecord:
        """Trust a journal as ``owner``'s for a cohort.

        A journal is trusted once: the owner and signing key of a journal
        already known are never replaced (a re-admission cannot swap them).
        """
        d = self._doc["journals"].setdefault(jid, {"seq": 0, "hash": envelope.ZERO_HASH.hex(), "head": ""})
        d.setdefault("owner", owner)
        d.setdefault("sign_pk", sign_pk.hex())
        d["cohort"] = cid
        if replica_path:
            d.setdefault("replica_path", replica_path)
        self.changed()
        return JournalRecord(self, jid)

    def trust_member_journal(self, jid: str, cid: str, public: PublicIdentity, replica_path: str | None = None) -> JournalRecord:
        return self.trust_journal(jid, cid, public.id.hex(), public.sign_pk, replica_path)
