"""Where a cohort's keys go: epochs, wraps to members' devices, roster keys, keys taken from others' wraps.

:class:`Wrapping` is the key half of :class:`~circle.store.cohort.CohortStore`
(which it is mixed into): starting an epoch (after a removal, an admission
under "joining", a device's removal), deciding which devices a key is wrapped
to (:meth:`Wrapping.readers`, the one place that decides), giving keys at
admission and later (catch-up, to one's own other devices), and taking keys
wrapped for this identity, each only if it matches its epoch's public
commitment. The roster keys (what a newcomer under "joining" gets of earlier
epochs) are in :mod:`circle.store.keys` and docs/FORMAT.md, "Roster keys".

It uses the store's ``lock``, ``view``, ``keys``, ``entry``, ``vault``,
``author``, ``id`` and ``commit``/``sealing_key``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from circle.crypto.identity import PublicIdentity
from circle.errors import NotFound
from circle.models.events import Event
from circle.models.governance import Epoch
from circle.models.records import Member
from circle.store.keys import epoch_hash, roster_id, roster_key
from circle.store.vault import Scope, ScopeKey


@dataclass(frozen=True)
class Part:
    """One envelope of a batch: an event sealed with ``key``, or key wraps (``key`` None, kind "keys.wrapped")."""

    kind: str
    body: dict[str, Any]
    key: ScopeKey | None


def recipient_set(ids: Iterable[str]) -> str:
    """The hash of an epoch's recipient set, bound into each wrap of its key."""
    return hashlib.sha256("".join(sorted(ids)).encode()).hexdigest()


class Wrapping:
    """Epochs and key wraps of one cohort (mixed into :class:`~circle.store.cohort.CohortStore`)."""

    def rekey_channels(self) -> None:
        """A new key for each private channel this identity holds one for, wrapped to the peer's devices and this
        identity's other devices as they count now (after a device's removal: never to it)."""
        with self.lock:
            me = self.view.member(self.author.id)
            if me is None:
                return
            parts = []
            for peer in sorted({k.peer for k in self.keys.held().values() if k.scope is Scope.DYAD}):
                m = self.view.member(peer)
                if m is None or not m.active:
                    continue
                key = self.keys.new_dyad_key(peer)
                parts.append(Part("keys.wrapped", self.keys.wrap_body(self.id, [(key, "", "")], self.readers([m, me])), None))
            if parts:
                self.vault.save()  # the keys are on disk before anything sealed with them is
                self.commit(parts)

    # ---- epochs and wraps ----------------------------------------------
    def start_epoch(self, reason: str, before: list[Part] | None = None, joining: Member | None = None) -> ScopeKey:
        """Start a new key epoch for the active members, after ``before`` (a removal, or ``joining``'s admission), in one
        transaction.

        The new key is wrapped for every other active member; the start names
        them, the hash of the epoch it follows and commitments to the key and to its roster key.
        """
        with self.lock:
            epochs = self.view.epochs()
            current = self.view.current_epoch()
            old = current or max(epochs.values(), key=lambda e: (e.number, e.stamp), default=None)
            sealing = self.sealing_key() if current is not None else self._newest_held_key()
            parts = [Part(p.kind, p.body, p.key if p.key is not None or p.kind == "keys.wrapped" else sealing) for p in (before or [])]
            removed = {p.body["member"] for p in parts if p.kind == "member.removed"}
            gone = {p.body["journal"] for p in parts if p.kind == "member.device_removed"}
            active = [replace(m, gone=m.gone | gone) for m in self.view.members() if m.id not in removed] + ([joining] if joining else [])
            key = self.keys.new_epoch_key(max((e.number for e in epochs.values()), default=0) + 1)
            self.vault.save()  # the key is on disk before anything sealed with it is
            others = self.readers(active)
            prev = old.commit if old is not None else ""
            if others:
                parts.append(Part("keys.wrapped", self.keys.wrap_body(self.id, [(key, prev, recipient_set(m.id for m in active))], others), None))
            parts.append(
                Part(
                    "keys.epoch_started",
                    {
                        "epoch": key.epoch,
                        "key_id": key.id,
                        "recipients": sorted(m.id for m in active),
                        "prev": prev,
                        "commit": epoch_hash(key),
                        "roster": epoch_hash(roster_key(key)),
                        "reason": reason,
                    },
                    key,
                )
            )
            self.commit(parts)
            return key

    def readers(self, members: Iterable[Member]) -> list[PublicIdentity]:
        """Where a key for ``members`` is wrapped: each device of theirs not removed, never this device itself.

        A removed device's reading keys are in no list made after its removal:
        it reads nothing sealed with a key made from then on.
        """
        out: dict[bytes, PublicIdentity] = {}
        for m in members:
            for reading, (_journal, p) in self._devices(m).items():
                out.setdefault(reading, p)
        return list(out.values())

    def _devices(self, m: Member) -> dict[bytes, tuple[str, PublicIdentity]]:
        """Each device of ``m`` not removed, by its reading keys: (a journal it writes, the identity to wrap to, with
        those reading keys). The journals ``m`` was admitted with read with the identity's own keys, unless the
        admission named a device's; an added device reads with the keys its announcement named. Never this device."""
        base, readers = PublicIdentity.from_bytes(bytes.fromhex(m.public)), dict(m.readers)
        out: dict[bytes, tuple[str, PublicIdentity]] = {}
        for j in (j for j, _ in m.journals if j not in m.gone):
            p = base.with_reading(bytes.fromhex(readers[j])) if j in readers else base
            if p.reading != self.author.reading:
                out.setdefault(p.reading, (j, p))
        return out

    def _newest_held_key(self) -> ScopeKey:
        """The key of the newest valid epoch held (what to seal a removal with while no epoch is clean)."""
        for kid, ep in sorted(self.view.epochs().items(), key=lambda kv: (-kv[1].number, kv[1].stamp)):
            key = self.keys.sealing_for(kid, ep.commit)
            if key is not None:
                return key
        raise NotFound("no key of this cohort on this device", "run 'circle sync' first")

    def share_keys(self, recipients: list[PublicIdentity], roster_only: bool = False) -> tuple[Part | None, list[str]]:
        """A wrap part giving every valid epoch's key held to ``recipients`` (with ``roster_only``, its roster key: see
        circle/store/keys.py), and the epochs' key ids it gives."""
        keys, given = [], []
        for kid, ep in sorted(self.view.epochs().items(), key=lambda kv: kv[1].number):
            key = self._epoch_key(kid, roster_only)
            if key is not None:
                keys.append((key, ep.prev, recipient_set(ep.recipients)))
                given.append(kid)
        if not keys or not recipients:
            return None, []
        return Part("keys.wrapped", self.keys.wrap_body(self.id, keys, recipients), None), given

    def _epoch_key(self, kid: str, roster_only: bool) -> ScopeKey | None:
        """The key of a valid epoch to pass on, held and matching its commitment: the epoch's own key, or (with
        ``roster_only``, or where only that is held) its roster key, where the epoch commits to one."""
        ep = self.view.epochs()[kid]
        key = self.keys.sealing_for(kid, ep.commit)
        if key is not None and not roster_only:
            return key
        if not ep.roster:
            return key  # an epoch from before roster keys: what was written in it then is sealed with its key alone
        r = roster_key(key) if key is not None else self.entry.key(roster_id(kid))
        return r if r is not None and epoch_hash(r) == ep.roster else None

    def unsaid_before(self) -> int:
        """The clock before which this device reads only the roster (the cohort shows newcomers no history and it holds
        only the roster keys of some earlier epochs: see circle/store/keys.py), or 0 when it reads everything it was given."""
        me = self.view.member(self.author.id)
        held = self.entry.keys()
        some = any(bytes.fromhex(kid) not in held and bytes.fromhex(roster_id(kid)) in held for kid in self.view.epochs())
        return me.admitted_lamport if some and me is not None else 0

    def _commits(self) -> dict[str, str]:
        """Key id -> public commitment, for every valid epoch's key and roster key."""
        out = {}
        for kid, ep in self.view.epochs().items():
            out[kid] = ep.commit
            if ep.roster:
                out[roster_id(kid)] = ep.roster
        return out

    def _catch_up_wraps(self) -> None:
        """Members this identity admitted get the epochs that started without them.

        Keys follow membership: an epoch names the active members its author
        had seen; one admitted meanwhile (concurrently) gets the key from their
        admitter. Where the charter shows newcomers no history from before
        they joined, an epoch whose starter had not seen their newest admission
        (by its citations) gives only its roster key (circle/store/keys.py),
        whatever its number: what was said in it was said before, or while a
        member admitted again was away. If such an epoch is the current one, a
        new epoch is started that names them, so they can read and write on.
        """
        me = self.view.member(self.author.id)
        if not self.view.founded or me is None or not me.active:
            return  # a removed member gives nobody keys (what they would wrap is refused anyway)
        epochs = self.view.epochs()
        joining = self.view.cohort().history == "joining"
        mine = [m for m in self.view.members() if self.view.admitted_by(m.id) == self.author.id and m.id != self.author.id]
        given = self.entry.wrapped_to()
        current = self.view.current_epoch()
        heal = False
        for m in mine:
            adm = self.view.admission(m.id) if joining else None
            keys = []
            for kid, ep in sorted(epochs.items(), key=lambda kv: kv[1].number):
                if m.id in ep.recipients or m.id in given.get(kid, ()):
                    continue
                key = self._epoch_key(kid, roster_only=joining and not self._after(ep, adm))
                if key is not None:
                    keys.append((kid, (key, ep.prev, recipient_set(ep.recipients))))
            if keys:
                self.commit([Part("keys.wrapped", self.keys.wrap_body(self.id, [k for _, k in keys], self.readers([m])), None)])
                for kid, _ in keys:
                    self.entry.mark_wrapped(kid, m.id)
            heal |= joining and current is not None and m.id not in current.recipients and not self._after(current, adm)
        if heal and current is not None and self.keys.sealing_for(current.key_id, current.commit) is not None:
            self.start_epoch("admission")
        self._forward_to_my_devices()

    def _after(self, ep: Epoch, admission: Event | None) -> bool:
        """Whether an epoch's starter had seen ``admission`` (a member's newest) when starting it: by the start's
        place in the admitter's journal, or by what it cites of it."""
        start = self.view.event(ep.stamp[2])
        if admission is None or start is None:
            return False
        if start.journal == admission.journal:
            return start.seq > admission.seq
        return self.view.saw(start).get(admission.journal, 0) >= admission.seq

    def _forward_to_my_devices(self) -> None:
        """Keys this device holds that another device of this identity may lack, wrapped to it once.

        A member who started an epoch, or a peer who made a channel's key,
        before seeing a device's announcement wrapped it to the devices they
        knew. Each device passes on what it holds to the others, once per key
        and device (the kit of a new device marks what it already holds).
        """
        me = self.view.member(self.author.id)
        if me is None or not me.active or not me.devices:
            return
        targets = self._devices(me)  # each marked by a journal it writes
        if not targets:
            return
        epochs = self.view.epochs()
        of = epochs | {roster_id(kid): ep for kid, ep in epochs.items() if ep.roster}  # a key's epoch, by its key id
        commits = self._commits()
        given = self.entry.wrapped_to()
        held = [
            k
            for k in self.keys.held().values()
            if (k.scope in (Scope.COHORT, Scope.ROSTER) and k.id in commits and epoch_hash(k) == commits[k.id]) or k.scope is Scope.DYAD
        ]
        for j, pub in targets.values():
            todo = [k for k in held if j not in given.get(k.id, ())]
            if not todo:
                continue
            cohort = [(k, of[k.id].prev, recipient_set(of[k.id].recipients)) for k in todo if k.scope is not Scope.DYAD]
            parts = [Part("keys.wrapped", self.keys.wrap_body(self.id, cohort, [pub]), None)] if cohort else []
            parts += [Part("keys.wrapped", self.keys.wrap_body(self.id, [(k, "", "")], [pub]), None) for k in todo if k.scope is Scope.DYAD]
            self.commit(parts)
            for k in todo:
                self.entry.mark_wrapped(k.id, j)

    def _take_wraps(self, wraps: list[Event]) -> bool:
        """Keep keys wrapped for this identity (for this cohort; any, while a join is pending).

        A key is kept to read with even before the epoch it belongs to has
        settled here (the epoch's start is sealed with it); it is written with
        only once the fold says its epoch is current (:meth:`sealing_key`).
        """
        got = False
        commits = self._commits()
        pending = self.entry.pending is not None
        for ev in wraps:
            for w in self.keys.unwrap(ev.body):
                if w.key.scope in (Scope.COHORT, Scope.ROSTER) and (w.cohort == self.id or pending):
                    got |= self.keys.take(w, commits)
                elif w.key.scope is Scope.DYAD and w.cohort == self.id and (peer := self._dyad_peer(ev, w.party, w.other)):
                    k = w.key
                    got |= self.keys.take(replace(w, key=ScopeKey(k.id, k.secret, k.scope, k.epoch, peer)), commits)
                # Anything else (a "self" or "invite" key, a dyad key for another cohort) is never taken from a wrap.
        return got

    def _dyad_peer(self, wrap: Event, party: str, other: str) -> str:
        """The other member of the channel a wrapped dyad key belongs to, if the wrap counts ("" if not).

        A channel's key is taken only from the journal of the member it names
        as its maker, while a member: from another member, for the channel
        between them and this identity; from one of this identity's own
        devices, for the channel it names (each device of a member reads all
        of that member's channels).
        """
        owner = self.view.author_of(wrap.journal)
        if not owner or owner != party or self.view.counts(wrap) is not None:
            return ""
        peer = other if party == self.author.id else party
        if party != self.author.id and other not in ("", self.author.id):
            return ""  # a key for a channel between two others
        m = self.view.member(peer)
        return peer if peer != self.author.id and m is not None and m.active else ""

    def unmatched_keys(self) -> list[ScopeKey]:
        """Cohort and roster keys held that match no epoch that validly started, never used: wrapped by someone not
        entitled, made up, or made by a device or member after its removal (circle/sync/doctor.py tells these apart)."""
        if not self.view.founded:
            return []
        commits = self._commits()
        return [k for k in self.entry.keys().values() if k.scope in (Scope.COHORT, Scope.ROSTER) and (k.id not in commits or epoch_hash(k) != commits[k.id])]

    def _unmatched_keys(self) -> int:
        return len(self.unmatched_keys())
