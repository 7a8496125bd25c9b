"""The home and its identities; an unlocked identity (a session) and the cohorts it holds.

Screens, the CLI and exports get a :class:`Session` from :meth:`Home.unlock`
and work through its cohorts' services; they never open a database or touch
a key themselves.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from circle.crypto import envelope, recovery
from circle.crypto.identity import Identity
from circle.crypto.keystore import Keystore, atomic_write, read_label
from circle.errors import AlreadyExists, CircleError, CorruptFile, InvalidEnvelope, NotFound, StorageError, UsageError
from circle.models.governance import cohort_id_for
from circle.models.names import match_one
from circle.models.records import Member
from circle.models.schema import MAX_NAME
from circle.paths import private_dir
from circle.store import frontpage
from circle.store.cohort import CohortStore, Progress, unsettle_heap
from circle.store.ingest import IngestReport
from circle.store.keys import epoch_hash, roster_key
from circle.store.service import CohortService
from circle.store.vault import Scope, ScopeKey, Vault
from circle.store.writer import Author

KEYSTORE = "keystore"
Clock = Callable[[], float]


FIRST_DEVICE = "first laptop"  # what the journal a member was admitted with is called among their devices


def device_names(member: Member) -> dict[str, str]:
    """A member's journals that are devices now, by journal: the one they were admitted with, then those they added."""
    return {member.journal: FIRST_DEVICE, **dict(member.devices)} if member.journal else dict(member.devices)


@dataclass(frozen=True)
class IdentityInfo:
    id: str
    label: str
    path: Path


class Home:
    """A circle home directory: one or more identities, each with its own files.

    Args:
        root: the home folder.
        calibrate: tune the passphrase KDF to this machine for new keystores
            (off only for tests and the demo, whose passphrase is published).
    """

    def __init__(self, root: Path, *, calibrate: bool = True) -> None:
        self.root = Path(root)
        self.calibrate = calibrate

    def identities(self) -> list[IdentityInfo]:
        base = self.root / "identities"
        if not base.is_dir():
            return []
        out = []
        for d in sorted(base.iterdir()):
            ks = d / KEYSTORE
            if ks.is_file():
                try:
                    out.append(IdentityInfo(d.name, read_label(ks), ks))
                except CircleError:
                    out.append(IdentityInfo(d.name, "(damaged keystore)", ks))
        return out

    def find(self, who: str | None) -> IdentityInfo:
        """The identity named ``who`` (name or id prefix), or the only one."""
        ids = self.identities()
        if not ids:
            if not self.root.exists():
                raise NotFound("no circle home here", f"{self.root} does not exist; run 'circle init --name NAME' or pass --home")
            raise NotFound("no identity in this home", f"run 'circle init --name NAME' (home: {self.root})")
        if who is None:
            if len(ids) == 1:
                return ids[0]
            raise UsageError("several identities share this home", "choose one with --identity NAME: " + ", ".join(i.label for i in ids))
        return match_one(ids, who, name=lambda i: i.label, ident=lambda i: i.id, what="identity")

    def create_identity(self, name: str, passphrase: str, clock: Clock = time.time) -> Session:
        name = name.strip()
        if not name:
            raise UsageError("a name is needed", "pass --name with the name your cohort knows you by")
        if len(name) > MAX_NAME or "\x00" in name:  # a cohort refuses such a name in every event that carries it
            raise UsageError(f"a name is at most {MAX_NAME} characters", "pass --name with the name your cohort knows you by, shorter")
        if any(i.label.lower() == name.lower() for i in self.identities()):
            raise AlreadyExists(f"an identity named {name!r} already exists in this home", "it is kept as it is; choose another name or --home")
        if len(passphrase) < 8:
            raise UsageError("passphrase too short", "use at least 8 characters; a few words are best")
        ident = Identity.generate()
        d = self.root / "identities" / ident.id.hex()
        private_dir(d)
        ks = Keystore.create(d / KEYSTORE, passphrase, name, Vault.new_document(name, ident), calibrate=self.calibrate)
        return Session(self, d, ks, clock)

    def recover(self, kit: Path, code: str, passphrase: str, clock: Clock = time.time) -> Session:
        """Put an identity back in this home from its recovery kit and recovery code, under a new passphrase.

        Its journals come back from the replicas on the first sync (the kit
        holds where each cohort replicates and the heads it had verified).
        """
        try:
            blob = Path(kit).read_bytes()
        except OSError as exc:
            raise NotFound("the recovery kit cannot be read", f"{kit}: {exc.strerror or 'unreadable'}; check the path (a USB stick mounted?)") from None
        try:
            ident, doc = recovery.open_kit(recovery.parse_code(code), blob)
        except InvalidEnvelope as exc:
            raise UsageError(exc.reason, "check the code you wrote down (dashes and case do not matter) and that this is your kit") from None
        if any(i.id == ident.hex() for i in self.identities()):
            raise AlreadyExists("this identity is already in this home", "nothing was changed; unlock it as usual (or use another --home)")
        if len(passphrase) < 8:
            raise UsageError("passphrase too short", "use at least 8 characters; a few words are best")
        d = self.root / "identities" / ident.hex()
        private_dir(d)
        ks = Keystore.create(d / KEYSTORE, passphrase, str(doc.get("name", "")), doc, calibrate=self.calibrate)
        return Session(self, d, ks, clock)

    def unlock(self, passphrase: str, who: str | None = None, clock: Clock = time.time) -> Session:
        info = self.find(who)
        ks = Keystore.open(info.path, passphrase)
        if Vault(ks).identity_id != info.id:
            raise CorruptFile("this keystore belongs to another identity", f"{info.path} was copied from elsewhere; put the right keystore back from a backup")
        return Session(self, info.path.parent, ks, clock)


@dataclass(frozen=True)
class CohortInfo:
    id: str
    name: str
    members: int
    journal: str
    removed: bool = False  # this identity was a member and was removed: it reads nothing written since


class Session:
    """One unlocked identity: its keys, its cohorts and their services."""

    def __init__(self, home: Home, dir: Path, keystore: Keystore, clock: Clock = time.time) -> None:
        self.home = home
        self.dir = dir
        self.vault = Vault(keystore)
        self.clock = clock
        self.identity = self.vault.identity()
        self.author = Author.of(self.identity, self.vault.name, self.vault.public())
        self.public = self.author.public
        self._cohorts: dict[str, CohortService] = {}
        # Held while a cohort is opened: the sync thread and the UI (or `circle sync`'s status line) ask for
        # the same cohort at start, and two loads at once would fold it twice (twice the memory, two views).
        self._opening = threading.RLock()
        self.progress: Progress | None = None  # told how far a cohort opening without its snapshot got, when cohort() is given nothing

    @property
    def keystore(self) -> Keystore:
        return self.vault.keystore

    @property
    def name(self) -> str:
        return self.vault.name

    @property
    def id(self) -> str:
        return self.author.id

    @property
    def reading(self) -> str:
        """This device's own reading keys (hex) where they are not the identity's (a second device), else ""."""
        return self.author.reading.hex() if self.author.reading != self.public.reading else ""

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def now(self) -> float:
        """The session's clock; read through here so the app can freeze or replace it after unlocking."""
        return self.clock()

    # ---- recovery -------------------------------------------------------
    def recovery_code(self, new: bool = False) -> str:
        """The recovery code to write down (``new``: replace it; kits written before keep opening with the old one)."""
        secret = self.vault.recovery_secret
        if secret is None or new:
            secret = self.vault.new_recovery_secret()
            self.vault.save()
        return recovery.format_code(secret)

    def _kit_target(self, path: Path, kind: str) -> tuple[bytes, Path]:
        """The recovery secret a kit is sealed with and the file it goes to (a folder gets ``circle-KIND-ID.kit``), checked before anything is written."""
        secret = self.vault.recovery_secret
        if secret is None:
            raise NotFound("this identity has no recovery code yet", "run 'circle recovery-kit --new-code -o FILE' to make one and write it down")
        path = Path(path).expanduser()
        if path.is_dir():
            path = path / f"circle-{kind}-{self.id[:8]}.kit"
        if not path.parent.is_dir():
            raise NotFound("that folder does not exist", f"{path.parent}: choose an existing folder (a USB stick, another disk)")
        return secret, path

    def _write_kit(self, secret: bytes, path: Path, doc: dict[str, Any], what: str) -> None:
        """Seal a keystore document under the recovery secret and write it to ``path``, mode 0600."""
        try:
            atomic_write(path, recovery.seal_kit(secret, bytes.fromhex(self.id), doc))
        except OSError as exc:
            raise StorageError(f"the {what} could not be written", f"{path}: {exc.strerror or 'write failed'}; choose another place") from None

    def write_recovery_kit(self, path: Path) -> Path:
        """Write the recovery kit (this identity's keystore document sealed under the recovery code) to ``path``, mode 0600."""
        secret, path = self._kit_target(path, "recovery")
        for svc in self._cohorts.values():
            svc.store.flush()
        doc = self.vault.document()
        doc["kit"] = {"at": self.now(), "cohorts": self.cohort_ids()}  # the kit knows what it holds once restored
        self._write_kit(secret, path, doc, "recovery kit")
        self.vault.kit_was_written(self.now())
        self.vault.save()
        return path

    # ---- devices: the same person on another laptop -----------------------
    def add_device(self, device: str, path: Path) -> tuple[Path, list[str]]:
        """Prepare another laptop of this identity: a new journal for it in every cohort, announced from here, and its kit.

        Each cohort gets ``member.device_added`` naming the new journal, so
        every member follows it; the kit (sealed with the recovery code, like a
        recovery kit) holds this identity's keys with the new journals as its
        own and this laptop's as journals to follow. On the other laptop,
        ``circle recover FILE`` sets it up. Returns the kit's path and the
        cohorts it was announced in.
        """
        device = " ".join(device.split())
        if not device or len(device) > MAX_NAME:
            what = "a device needs a name" if not device else f"a device's name is at most {MAX_NAME} characters"
            raise UsageError(what, "a word or two that says which laptop it is, for example 'ward laptop'")
        secret, path = self._kit_target(path, "device")
        reading = self.identity.new_reading()  # the new laptop's own keys to read with: removing it stops what it reads
        plan = []
        for cid in self.cohort_ids():
            svc = self.cohort(cid)
            me = svc.view.member(self.id)
            if svc.store.entry.pending is not None or me is None or not me.active:
                continue  # not a member there (yet): the other laptop joins it itself
            if any(name.casefold() == device.casefold() for name in device_names(me).values()):  # removed ones too: a list names each once
                raise AlreadyExists(f"a device named {device!r} is already yours in {svc.view.cohort().name}", "choose another name")
            plan.append((cid, svc, os.urandom(16).hex(), os.urandom(16).hex()))
        for _cid, svc, jid, rpath in plan:
            svc.store.record(
                "member.device_added", {"member": self.id, "journal": jid, "replica_path": rpath, "device": device, "reading": reading.public().reading.hex()}
            )
            own = [j for j, _ in svc.view.member(self.id).journals]
            for key in svc.store.keys.held().values():  # what the kit holds: no device passes these on to the new one
                for j in own:
                    svc.store.entry.mark_wrapped(key.id, j)
        doc = self.vault.document()
        Vault.device_document(doc, reading, self.public)
        announced = []
        for cid in list(doc["cohorts"]):
            found = next(((jid, rpath) for c, _svc, jid, rpath in plan if c == cid), None)
            if found is None:
                doc["cohorts"].pop(cid)
                continue
            jid, rpath = found
            entry = doc["cohorts"][cid]
            doc["journals"][entry["journal"]]["replica_path"] = entry["replica_path"]  # this laptop's journal: the other follows it there
            entry["journal"], entry["replica_path"] = jid, rpath
            doc["journals"][jid] = {
                "seq": 0,
                "hash": envelope.ZERO_HASH.hex(),
                "head": "",
                "owner": self.id,
                "sign_pk": self.public.sign_pk.hex(),
                "cohort": cid,
                "replica_path": rpath,
            }
            announced.append(cid)
        for j in doc["journals"].values():
            j.pop("sent", None)  # what this laptop sent of its own journals; the other laptop follows them as peers
        doc["kit"] = {"at": self.now(), "cohorts": announced}
        doc["device"] = device
        self._write_kit(secret, path, doc, "device kit")
        self.vault.flush()
        return path, announced

    def remove_device(self, device: str) -> list[str]:
        """Stop counting what a device of this identity writes from now on (a lost laptop), and give the cohort and
        this identity's private channels new keys it does not get, in every cohort; the cohorts it was removed in."""
        done = []
        for cid in self.cohort_ids():
            svc = self.cohort(cid)
            me = svc.view.member(self.id)
            if me is None:
                continue
            mine = svc.store.entry.journal
            for jid, name in device_names(me).items():
                if name.lower() == device.strip().lower() and jid not in me.gone and jid != mine:
                    svc.remove_device(jid)
                    done.append(cid)
        if not done:
            raise NotFound(f"no other device of yours is called {device!r}", "'circle devices' lists them")
        return done

    def kit_gaps(self) -> list[str] | None:
        """Cohorts the newest recovery kit does not hold (None: no kit written with the current code)."""
        held = self.vault.kit_cohorts
        if held is None:
            return None
        return [cid for cid in self.cohort_ids() if cid not in held]

    # ---- cohorts -------------------------------------------------------
    def cohort_ids(self) -> list[str]:
        return self.vault.cohort_ids()

    def cohorts(self) -> list[CohortInfo]:
        out = []
        for cid in self.cohort_ids():
            svc = self.cohort(cid)
            name = svc.view.cohort().name or "(waiting to be admitted)"
            me = svc.view.member(svc.me)
            out.append(CohortInfo(cid, name, len(svc.view.members()), svc.store.entry.journal, me is not None and not me.active))
        return sorted(out, key=lambda c: (c.name.lower(), c.id))

    def find_cohort(self, ref: str) -> CohortService:
        """A cohort by name (as people type it, see :func:`match_one`) or id prefix."""
        infos = self.cohorts()
        hit = match_one(infos, ref, name=lambda c: c.name, ident=lambda c: c.id, what="cohort")
        return self.cohort(hit.id)

    def cohort(self, cid: str, progress: Progress | None = None) -> CohortService:
        """A cohort's service, opened (snapshot, then what came after it) the first time it is asked for.

        ``progress`` is told how far a load without a snapshot got (see
        :meth:`CohortStore.load`); without one, :attr:`progress` is.
        """
        cid = self.vault.resolve(cid)
        svc = self._cohorts.get(cid)
        if svc is not None:
            return svc
        with self._opening:
            if cid not in self._cohorts:  # another thread may have opened it while this one waited
                store = CohortStore(self.vault, cid, self.author, self.dir, clock=self.now, on_moved=self._moved)
                svc = CohortService(store)
                store.load(progress or self.progress)
                self._cohorts[store.id] = svc
            return self._cohorts[self.vault.resolve(cid)]

    def reopen(self, cid: str) -> CohortService:
        """Open a cohort afresh, its view folded again from the journals (after its own journal went back: see ``restore_own``)."""
        with self._opening:
            svc = self._cohorts.pop(self.vault.resolve(cid), None)
        if svc is not None:
            svc.store.close()
        return self.cohort(cid)

    def store(self, cid: str) -> CohortStore:
        """A cohort's journals, keys and view (what sync works with)."""
        return self.cohort(cid).store

    def _moved(self, old: str, new: str) -> None:
        svc = self._cohorts.pop(old, None)
        if svc is not None:
            self._cohorts[new] = svc

    def create_cohort(
        self,
        name: str,
        *,
        purpose: str = "",
        cadence: str = "fortnightly",
        meeting_minutes: int = 60,
        confidentiality: str = "",
        feedback_norms: str = "",
        profession: str = "",
        replica: dict[str, Any] | None = None,
        history: str = "all",
    ) -> CohortService:
        """Found a cohort: this identity is its first member and first mentor.

        The cohort id derives from the founder, their journal and a nonce, so
        nobody else can write a founding event for it.
        """
        name = name.strip()
        if not name:
            raise UsageError("a cohort needs a name", "for example: circle cohort create 'Dietitians North'")
        journal, nonce = os.urandom(16).hex(), os.urandom(32).hex()
        cid = cohort_id_for(self.id, journal, nonce)
        epoch1 = ScopeKey.new(Scope.COHORT)
        entry = self.vault.add_cohort(
            cid, journal=journal, keys=[ScopeKey.new(Scope.SELF)], cohort_key=epoch1, replica_path=os.urandom(16).hex(), replica=replica
        )
        self.vault.trust_member_journal(journal, cid, self.public)
        self.vault.save()
        svc = self.cohort(cid)
        charter = {
            "name": name,
            "purpose": purpose,
            "cadence": cadence,
            "meeting_minutes": meeting_minutes,
            "confidentiality": confidentiality,
            "feedback_norms": feedback_norms,
            "history": history,
            "nonce": nonce,
        }
        svc.store.record_many(
            [
                ("cohort.created", charter),
                ("member.admitted", svc.admission_body(self.public, self.name, "mentor", profession, journal, entry.replica_path, self.reading)),
                (
                    "keys.epoch_started",
                    {
                        "epoch": 1,
                        "key_id": epoch1.id,
                        "recipients": [self.id],
                        "prev": "",
                        "commit": epoch_hash(epoch1),
                        "roster": epoch_hash(roster_key(epoch1)),
                        "reason": "founded",
                    },
                ),
            ]
        )
        return svc

    def close(self, front_page: Callable[[CohortService], Mapping[str, Any] | None] | None = None) -> None:
        """Write what is worth keeping (heads, snapshots) for every cohort opened.

        ``front_page(svc)``: what the home screen shows of a cohort now; it is
        sealed beside the snapshot (:mod:`circle.store.frontpage`), read under
        the store's lock with the heads it is bound to, so the next start can
        paint it before the cohort is folded.
        """
        for svc in list(self._cohorts.values()):
            store = svc.store
            with store.lock:
                page = None
                if front_page is not None:
                    try:
                        page = front_page(svc)
                    except CircleError:
                        page = None  # a page only makes the next start faster
                store.close()
                if page is not None:
                    try:
                        frontpage.save(self.dir, self.vault, store.id, self.id, page, self.now())
                    except OSError:
                        pass
        unsettle_heap()

    def front_pages(self) -> dict[str, frontpage.Front]:
        """The front page of each cohort that has one that still belongs with its snapshot (a few ms: small files, no fold)."""
        out = {}
        for cid in self.cohort_ids():
            front = frontpage.load(self.dir, self.vault, cid, self.id)
            if front is not None:
                out[cid] = front
        return out

    def problems(self) -> list[str]:
        """What opening the cohorts found wrong (damage, forks, rollbacks), one line each."""
        return [p for cid in self.cohort_ids() for p in self.cohort(cid).store.load_report.problems]

    def verify(self) -> IngestReport:
        """Re-verify every journal of every cohort: every signature and every link."""
        report = IngestReport()
        for cid in self.cohort_ids():
            report.add(self.cohort(cid).store.verify_all())
        return report
