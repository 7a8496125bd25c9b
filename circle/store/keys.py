"""Keys and epochs of one cohort: which key seals what, wrapping keys for members, taking keys wrapped for us.

A cohort key comes in epochs. Each epoch's key is wrapped with HPKE
(ML-KEM-768 + X25519) for every member who may read it, inside a "wrap
scope" envelope of the wrapper's own journal: its key id is all zeros and its
key derives from the journal id, so anyone can open the envelope while only
the recipient can open their wrap. A removal starts a new epoch that the
removed member never receives.

Each epoch key also gives a *roster key* (:func:`roster_key`), one way:
events of the kinds in :data:`circle.models.governance.ROSTER_KINDS`
(membership, keys, the schedule, the rota, attendance) are sealed with it, the
rest with the epoch key. A cohort whose charter shows newcomers nothing from
before they joined gives them the roster keys of earlier epochs and the epoch
keys only from their admission on: their fold agrees with everyone's on who
is a member and who facilitates, and they read no note written before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from circle.crypto.identity import PublicIdentity
from circle.errors import InvalidEnvelope
from circle.store.vault import CohortEntry, Scope, ScopeKey
from circle.store.writer import Author

WRAP_KEY_ID = bytes(16)  # the wrap scope: readable by anyone; secrecy comes from HPKE inside
LABEL_WRAP_SCOPE = b"circle/v1/wrap-scope"
LABEL_KEY_WRAP = b"circle/v1/key-wrap"
LABEL_EPOCH = b"circle/v1/epoch"
LABEL_ROSTER_ID = b"circle/v1/roster-id"
LABEL_ROSTER_KEY = b"circle/v1/roster-key"
LABEL_ROSTER = b"circle/v1/roster"


def roster_key(key: ScopeKey) -> ScopeKey:
    """The roster key of a cohort epoch key: its id from the epoch's key id, its secret from the epoch's secret (one way)."""
    return ScopeKey(roster_id(key.id), hmac.new(key.secret, LABEL_ROSTER_KEY, hashlib.sha256).digest(), Scope.ROSTER, key.epoch)


def roster_id(key_id: str) -> str:
    """The key id of the roster key of the epoch with key id ``key_id`` (public, like the epoch's)."""
    return hashlib.sha256(LABEL_ROSTER_ID + bytes.fromhex(key_id)).digest()[:16].hex()


def wrap_scope_key(journal_id: bytes) -> bytes:
    """The key of a journal's wrap-scope envelopes (public by design: HPKE protects what is inside)."""
    return hashlib.sha256(LABEL_WRAP_SCOPE + journal_id).digest()


def epoch_hash(key: ScopeKey) -> str:
    """A public commitment to an epoch key (or to its roster key): recorded when the epoch starts, bound into the next one."""
    return hashlib.sha256((LABEL_ROSTER if key.scope is Scope.ROSTER else LABEL_EPOCH) + key.raw_id + key.secret).hexdigest()


@dataclass(frozen=True)
class Wrapped:
    """A key wrapped to this identity, opened.

    Attributes:
        cohort: the cohort the wrapper says it belongs to.
        key: the key itself.
        prev: the hash of the epoch before it ("" for the first).
        recipients: hash of the epoch's recipient set.
        party: for a dyad key, the member who says they made it.
        other: for a dyad key, the other member of its channel, as its maker says.
    """

    cohort: str
    key: ScopeKey
    prev: str
    recipients: str
    party: str = ""
    other: str = ""


MAX_EPOCH = 2**63  # a wrapped key's epoch is below this: the next key of a channel is numbered one past it, and a number of
# 4,300 digits from an altered wrapper made every keystore save on the receiving device fail from then on


class CohortKeys:
    """The keys this identity holds for one cohort.

    Args:
        entry: the cohort's entry in the keystore document.
        author: this identity (to open what is wrapped for it).
    """

    def __init__(self, entry: CohortEntry, author: Author) -> None:
        self.entry = entry
        self.author = author

    def sealing(self, scope: Scope) -> ScopeKey:
        """The key new events of ``scope`` are sealed with."""
        return self.entry.scope_key(scope)

    def dyad_sealing(self, peer: str) -> ScopeKey | None:
        """The key of the channel with ``peer`` new events are sealed with: the newest epoch, the lowest key id among equals.

        Both parties may start a channel at once; once each holds both keys,
        both pick the same one.
        """
        keys = [k for k in self.entry.keys().values() if k.scope is Scope.DYAD and k.peer == peer]
        return min(keys, key=lambda k: (-k.epoch, k.id), default=None)

    def new_dyad_key(self, peer: str) -> ScopeKey:
        """A new key for the channel with ``peer``, kept before anything is sealed with it."""
        held = self.dyad_sealing(peer)
        key = ScopeKey.new(Scope.DYAD, (held.epoch + 1) if held else 1, peer)
        self.entry.add_key(key)
        return key

    def held(self) -> dict[bytes, ScopeKey]:
        """Every key held for this cohort, by raw key id."""
        return self.entry.keys()

    def alternates(self) -> dict[bytes, list[ScopeKey]]:
        """Other keys to try where the key held under an id does not open an envelope (see :meth:`take`), with their
        roster keys."""
        out: dict[bytes, list[ScopeKey]] = {}
        for keys in self.entry.candidates().values():
            for k in keys:
                out.setdefault(k.raw_id, []).append(k)
                if k.scope is Scope.COHORT:
                    r = roster_key(k)
                    out.setdefault(r.raw_id, []).append(r)
        return out

    def settle(self, commits: dict[str, str]) -> bool:
        """Once an epoch's commitment is known here, keep the one key under its id that matches it; True if the key
        held changed."""
        changed = False
        for kid, keys in self.entry.candidates().items():
            commit = commits.get(kid)
            if commit is None:
                continue
            held = self.entry.key(kid)
            if held is None or epoch_hash(held) != commit:
                right = next((k for k in keys if epoch_hash(k) == commit), None)
                if right is not None:
                    self.entry.replace_key(right)
                    changed = True
            self.entry.drop_candidates(kid)
        return changed

    def readable(self) -> dict[bytes, ScopeKey]:
        """Every key to open envelopes with: those held, and the roster key of each epoch key held."""
        held = self.entry.keys()
        out = dict(held)
        for k in held.values():
            if k.scope is Scope.COHORT:
                r = roster_key(k)
                out[r.raw_id] = r
        return out

    def new_epoch_key(self, number: int) -> ScopeKey:
        """A new key for epoch ``number``, kept (the fold decides which epoch is current; see :meth:`sealing_for`)."""
        key = ScopeKey.new(Scope.COHORT, number)
        self.entry.cohort_key = key
        return key

    def sealing_for(self, epoch_id: str, commit: str) -> ScopeKey | None:
        """The held key of an epoch, if it matches the epoch's public commitment."""
        key = self.entry.key(epoch_id)
        if key is None or epoch_hash(key) != commit:
            return None
        return key

    def wrap_body(self, cohort_id: str, keys: list[tuple[ScopeKey, str, str]], recipients: list[PublicIdentity]) -> dict:
        """The body of a wrap-scope event giving each key to each recipient.

        Args:
            keys: (key, hash of the epoch before it, hash of its recipient set).
            recipients: who gets them.

        A dyad key also names its maker (``with``): the recipient keeps it as
        the channel with that member, and only if the wrap is in that member's journal.
        """

        def inner(r: PublicIdentity, key: ScopeKey, prev: str, rset: str) -> bytes:
            d = {"to": r.id.hex(), "c": cohort_id, "kid": key.id, "k": key.secret.hex(), "scope": key.scope.value, "e": key.epoch, "prev": prev, "r": rset}
            if key.scope is Scope.DYAD:
                d["with"], d["for"] = self.author.id, key.peer
            return json.dumps(d).encode()

        return {"w": [r.wrap(inner(r, key, prev, rset), LABEL_KEY_WRAP).hex() for key, prev, rset in keys for r in recipients]}

    def unwrap(self, body: dict) -> list[Wrapped]:
        """The keys in a wrap-scope event's body that are wrapped for this identity."""
        out = []
        blobs = body.get("w", [])
        for blob in blobs if isinstance(blobs, list) else []:
            try:
                inner = json.loads(self.author.identity.unwrap(bytes.fromhex(blob), LABEL_KEY_WRAP))
                if inner.get("to") != self.author.id:
                    continue
                scope = Scope(inner["scope"])
                party = str(inner.get("with", "")) if scope is Scope.DYAD else ""
                other = str(inner.get("for", "")) if scope is Scope.DYAD else ""
                if type(inner["e"]) is not int or not 0 <= inner["e"] < MAX_EPOCH:  # not a float, an infinity, digits, or past 64 bits
                    continue
                key = ScopeKey(str(inner["kid"]), bytes.fromhex(inner["k"]), scope, inner["e"])
                if len(key.raw_id) != 16 or len(key.secret) != 32 or key.id != key.raw_id.hex() or key.raw_id == WRAP_KEY_ID:
                    continue  # the all-zero id names the wrap scope: a key under it would hide every wrap from the fold
                out.append(Wrapped(str(inner["c"]), key, str(inner.get("prev", "")), str(inner.get("r", "")), party, other))
            except (InvalidEnvelope, ValueError, KeyError, TypeError, AttributeError, RecursionError):  # Recursion: nested too deep
                continue
        return out

    def take(self, wrapped: Wrapped, commits: dict[str, str]) -> bool:
        """Keep a key wrapped for us; True if it is new.

        ``commits`` are the valid epochs' commitments (key id -> hash) the
        fold knows. A key that contradicts one is not kept; a held key that
        contradicts one is replaced by one that matches it.
        """
        key = wrapped.key
        commit = commits.get(key.id)
        if commit is not None and epoch_hash(key) != commit:
            return False
        held = self.entry.key(key.id)
        if held is not None:
            if held.secret == key.secret:
                return False
            if commit is None:  # which one is real is known when the epoch settles: both are tried until then
                return self.entry.add_candidate(key)
            self.entry.replace_key(key)
            return True
        self.entry.add_key(key)
        current = self.entry.cohort_key
        if key.scope is Scope.COHORT and (current is None or key.epoch >= current.epoch):
            self.entry.cohort_key = key
        return True
