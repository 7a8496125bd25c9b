"""One-off litestream commands: list, verify, restore, replicate once, heal.

Each runs one litestream process with a private config in a scratch folder
and waits for it; folder replicas are read directly where that is enough
(see :mod:`circle.sync.litestream.ltx`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from circle.errors import NotFound, ReplicaMisconfigured, ReplicaOffline, SyncError
from circle.sync.litestream.binary import LITESTREAM_VERSION, _popen, _terminate, litestream_env
from circle.sync.litestream.config import _placeholder, _scratch, private_dir, write_config
from circle.sync.litestream.faults import _EMPTY, _GAP, ReplicaBroken, classify, endpoint_of, fit, no_answer
from circle.sync.litestream.ltx import Listing, _max_txid_in, folder_fingerprint, folder_of
from circle.sync.litestream.probe import diagnose
from circle.sync.litestream.replica import Replica

log = logging.getLogger(__name__)

ANSWER_TIMEOUT = 10.0  # seconds a replica has to answer; a transfer then gets its own time
ONE_OFF_TIMEOUT = 60.0  # replicate -once: the transfer
RESTORE_TIMEOUT = 300.0  # restore: the transfer
DIAGNOSE_AFTER = 1.0  # seconds before a command still running has its endpoint looked at
LAST_LOOK = 2.0  # seconds for the look at an endpoint that gave no answer at all
FRESH = 30.0  # seconds a location's last answer counts for (see _answers)
_answered: dict[tuple[str, str, int, str], float] = {}
_failed_here = threading.local()  # see bounded()


@contextlib.contextmanager
def bounded() -> Iterator[None]:
    """One wait per remote location for everything done inside the block (a command, a pass of the sync service).

    A location that failed inside the block (no answer, refused, wrong
    settings) fails again at once with the same error, however many
    journals it holds: a command waits for an unreachable replica once,
    about :data:`ANSWER_TIMEOUT` seconds, never once per journal. Blocks
    nest (an inner block shares the outer one's memory); the memory belongs
    to the calling thread and ends with the outermost block.
    """
    outer = getattr(_failed_here, "errors", None)
    if outer is None:
        _failed_here.errors = {}
    try:
        yield
    finally:
        if outer is None:
            _failed_here.errors = None


def _location_key(replica: Replica) -> tuple[Any, ...]:
    """What makes two replicas one location for :func:`bounded`: the endpoint, bucket or login and every setting, not the path."""
    parts = urlsplit(replica.url)
    return (parts.scheme, parts.netloc, *(getattr(replica, f) for f in replica.__dataclass_fields__ if f != "url"))


def _remember(replica: Replica | None, error: SyncError) -> SyncError:
    """Keep ``error`` for the rest of the :func:`bounded` block if it is about the location (offline, wrong settings); returns it."""
    errors = getattr(_failed_here, "errors", None)
    if errors is not None and replica is not None and replica.kind != "file" and isinstance(error, ReplicaOffline | ReplicaMisconfigured):
        errors.setdefault(_location_key(replica), error)
    return error


def _failed_before(replica: Replica | None) -> SyncError | None:
    """The error ``replica``'s location gave earlier in this :func:`bounded` block, as a fresh exception."""
    errors = getattr(_failed_here, "errors", None)
    if not errors or replica is None:
        return None
    err = errors.get(_location_key(replica))
    return None if err is None else type(err)(err.title, err.hint, err.detail)


def _classified(action: str, text: str, replica: Replica | None) -> SyncError:
    return _remember(replica, classify(action, text, replica))


def _one_off(
    args: Sequence[str | os.PathLike[str]], replicas: Sequence[Replica], *, answer: float = ANSWER_TIMEOUT, finish: float | None = None
) -> tuple[int, str, str]:
    """Run one litestream command; returns (exit code, stdout, the whole of stderr).

    The replica must answer within ``answer`` seconds; a command that moves
    data may then run for up to ``finish`` seconds. When litestream is still
    busy after a second, :func:`~circle.sync.litestream.probe.diagnose`
    looks at the endpoint: Litestream retries some faults for minutes
    without a word, and a definite cause ends the command at once.

    Raises:
        ReplicaMisconfigured: the endpoint shows what is wrong.
        ReplicaOffline: no answer in time.
    """
    remote = next((r for r in replicas if r.kind != "file"), None)
    if (known := _failed_before(remote)) is not None:
        raise known
    limit = max(answer, finish or 0.0)
    started = time.monotonic()
    proc = _popen(args, litestream_env(*replicas), merge=False)
    try:
        try:
            out, err = proc.communicate(timeout=min(DIAGNOSE_AFTER, answer / 2) if remote is not None else limit)
        except subprocess.TimeoutExpired:
            problem = diagnose(remote, answer - (time.monotonic() - started)) if remote is not None else None
            if problem is not None:
                raise _remember(remote, problem) from None
            out, err = proc.communicate(timeout=max(0.0, limit - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        _terminate(proc, grace=1.0)
        proc.communicate()
        # Litestream said nothing: perhaps a certificate it does not trust (it retries those too).
        problem = diagnose(remote, LAST_LOOK, verify=True) if remote is not None else None
        raise _remember(remote, problem if isinstance(problem, ReplicaMisconfigured) else no_answer(remote, limit)) from None
    finally:
        if proc.poll() is None:  # interrupted, or a fault seen: never leave a child behind
            _terminate(proc, grace=1.0)
            proc.communicate()
    if remote is not None and (proc.returncode == 0 or _EMPTY in err):
        _answered[_where_key(remote)] = time.monotonic()
    return proc.returncode, out, err


def _where_key(replica: Replica) -> tuple[str, str, int, str]:
    return (replica.kind, *endpoint_of(replica)[1:], urlsplit(replica.url).netloc)


def _answers(replica: Replica, timeout: float) -> None:
    """Make sure a remote replica answers (a listing within ``timeout``) before a transfer that may take long.

    Skipped when the same location answered within the last :data:`FRESH`
    seconds: the service lists a replica just before it restores from it.
    """
    if replica.kind == "file":
        return
    seen = _answered.get(_where_key(replica))
    if seen is None or time.monotonic() - seen > FRESH:
        _listing(replica, timeout)


def check_location(replica: Replica, timeout: float = ANSWER_TIMEOUT) -> None:
    """Try a replica location as it is being set; returns if it can be used.

    A folder must be one this user can create and write; an SFTP box or an
    S3 store must answer a listing of the location with the settings given
    (host key, login, keys, bucket, endpoint) within ``timeout`` seconds.
    Writing is not tried: that would leave files behind in the store.

    Raises:
        ReplicaMisconfigured: the settings are wrong; the message says which and what to do.
        ReplicaOffline: the location is out of reach now (the person may keep it anyway).
        SyncError: litestream failed for another reason.
    """
    folder = folder_of(replica)
    if folder is None:
        _listing(replica, timeout)
        return
    wanted = there = Path(os.path.abspath(folder))
    while not there.exists() and there != there.parent:
        there = there.parent
    if not there.is_dir():
        raise ReplicaMisconfigured(*fit("the replica location is not a folder", f"{there} is a file: choose a folder"))
    if there not in (wanted, wanted.parent):  # a mistyped drive path is said, not made into folders on the local disk
        raise ReplicaMisconfigured(
            *fit("the replica folder's parent is not there", f"{wanted.parent}: plug in the drive or mount the share, or create it first")
        )
    if not os.access(there, os.W_OK | os.X_OK):
        raise ReplicaMisconfigured(*fit("the replica folder is not writable", f"{there}: choose a folder this user can write"))


def latest_txid(replica: Replica, *, timeout: float = ANSWER_TIMEOUT) -> int | None:
    """The newest TXID on the replica (any level), or None if it holds nothing yet.

    Cheap (one listing); it does not check that a restore would succeed: use
    :func:`verify` for that.

    Raises:
        SyncError: the replica cannot be read.
    """
    folder = folder_of(replica)
    if folder is not None:
        return _max_txid_in(folder / "ltx")
    try:
        return max((int(f["max_txid"], 16) for f in _listing(replica, timeout)), default=None)
    except (ValueError, KeyError, TypeError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None


def fingerprint(replica: Replica, *, timeout: float = ANSWER_TIMEOUT) -> Listing:
    """Every LTX file on the replica as (level, min TXID, max TXID, size): it changes whenever the replica does.

    A listing of the folder for folder replicas; one ``ltx`` command otherwise.

    Raises:
        SyncError: the replica cannot be read.
    """
    folder = folder_of(replica)
    if folder is not None:
        return folder_fingerprint(folder)
    try:
        return tuple(sorted((int(f["level"]), str(f["min_txid"]), str(f["max_txid"]), int(f["size"])) for f in _listing(replica, timeout)))
    except (ValueError, KeyError, TypeError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None


def _listing(replica: Replica, timeout: float) -> list[dict[str, Any]]:
    """Every LTX file on the replica, as ``litestream ltx -json -level all`` lists them."""
    with _scratch() as d:
        db = _placeholder(d)
        cfg = write_config(d / "litestream.yml", [(db, replica)])
        rc, out, err = _one_off(["ltx", "-config", cfg, "-json", "-level", "all", db], [replica], answer=timeout)
    if rc:
        raise _classified("list the replica", err, replica)
    try:
        files = json.loads(out or "[]") or []
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise TypeError
        return files
    except (ValueError, TypeError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None


def _damaged(replica: Replica, db: Path, timeout: float) -> bool:
    """Whether a level-0 file a restore would read differs in size from Litestream's local copy.

    A restore reads the level-0 files after the newest higher-level file;
    Litestream keeps the same files beside the database for ``l0-retention``.
    A truncated or half-copied file on the replica shows as a size mismatch
    (a restore then fails with "unexpected EOF"); ``restore -dry-run`` does
    not notice, since it never reads the files.
    """
    local = db.parent / f".{db.name}-litestream" / "ltx" / "0"
    if not local.is_dir():
        return False
    folder = folder_of(replica)  # a folder replica's files can be compared byte for byte, at no transfer cost
    try:
        files = _listing(replica, timeout)
        covered = max((int(f["max_txid"], 16) for f in files if f.get("level") != 0), default=0)
        for f in files:
            if f.get("level") != 0 or int(f["max_txid"], 16) <= covered:
                continue
            name = f"{f['min_txid']}-{f['max_txid']}.ltx"
            try:
                size = (local / name).stat().st_size
            except FileNotFoundError:
                continue
            if size != f.get("size"):
                return True
            if folder is not None and _differs(local / name, folder / "ltx" / "0" / name):
                return True  # same size, other bytes: a flipped byte fails the file's checksum on every restore
    except (ValueError, KeyError, TypeError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None
    return False


def _differs(a: Path, b: Path) -> bool:
    try:
        return hashlib.sha256(a.read_bytes()).digest() != hashlib.sha256(b.read_bytes()).digest()
    except OSError:
        return False


def verify(replica: Replica, *, timeout: float = ANSWER_TIMEOUT) -> int | None:
    """The TXID a restore would reach now, or None if the replica is empty.

    Runs ``restore -dry-run``: it downloads nothing but checks the chain.

    Raises:
        ReplicaBroken: files are there but no restorable chain (vanished folder, gap).
        SyncError: the replica cannot be read.
    """

    def dry_run() -> tuple[int, str, str]:
        with _scratch() as d:
            db = _placeholder(d)
            cfg = write_config(d / "litestream.yml", [(db, replica)])
            return _one_off(["restore", "-config", cfg, "-dry-run", "-json", "-o", d / "out.db", db], [replica], answer=timeout)

    rc, out, err = _restored(replica, dry_run, timeout)
    if rc == 0:
        try:
            return int(json.loads(out)["max_txid"], 16)
        except (ValueError, KeyError, TypeError):
            raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None
    _raise_restore_failure(replica, err, timeout)
    return None


def _restored(replica: Replica, run: Callable[[], tuple[int, str, str]], timeout: float) -> tuple[int, str, str]:
    """Run a restore; if it found the replica empty but a listing then finds files, run it once more.

    The owner's first file may land between the restore and the listing: that
    is a replica being written, not one that lost its snapshot.
    """
    rc, out, err = run()
    if rc and _EMPTY in err and latest_txid(replica, timeout=timeout) is not None:
        rc, out, err = run()
    return rc, out, err


def _raise_restore_failure(replica: Replica, err: str, timeout: float) -> None:
    """Return if the replica is simply empty; raise for anything else."""
    if _GAP in err:
        raise ReplicaBroken("the replica has a gap", "its folder went away and came back; the journal's owner must sync again to repair it")
    if _EMPTY in err:
        if latest_txid(replica, timeout=timeout) is None:
            return
        raise ReplicaBroken("the replica has no snapshot", "its folder went away while syncing; the journal's owner must sync again to repair it")
    raise _classified("restore from the replica", err, replica)


def needs_heal(replica: Replica, db: Path | None = None, *, timeout: float = ANSWER_TIMEOUT) -> bool:
    """Whether :func:`heal` should run before replicating ``db`` to ``replica``.

    True when the replica is broken (see :func:`verify`), when it holds a
    truncated file that this database's local copy shows (see :func:`_damaged`),
    or when it is empty while ``db`` already has Litestream state (the folder
    vanished; a plain sync may then fail for want of old local files).

    Raises:
        SyncError: the replica cannot be read.
    """
    try:
        txid = verify(replica, timeout=timeout)
    except ReplicaBroken:
        return True
    if txid is not None:
        return db is not None and _damaged(replica, Path(db), timeout)
    return db is not None and Path(db).exists() and local_txid(db, timeout=timeout) is not None


def local_txid(db: Path, *, timeout: float = ANSWER_TIMEOUT) -> int | None:
    """The newest TXID Litestream recorded locally for ``db``, or None if none yet.

    When a replica's :func:`latest_txid` is at least this, everything is sent.
    """
    db = Path(db)
    if not db.exists():
        return None
    local = db.parent / f".{db.name}-litestream" / "ltx"
    if local.is_dir():  # Litestream's own copy of what it wrote: read directly, as for folder replicas
        found = _max_txid_in(local)
        if found is not None:
            return found
    with _scratch() as d:
        cfg = write_config(d / "litestream.yml", [(db, Replica(str(d / "unused")))])
        rc, out, err = _one_off(["status", "-config", cfg, "-json", os.path.abspath(db)], [], answer=timeout)
    if rc:
        raise classify("read the local state", err, None)
    try:
        value = json.loads(out)[0]["local_txid"]
        return int(value, 16) if value and value != "-" else None
    except (ValueError, KeyError, TypeError, IndexError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None


def replicate_once(db: Path, replica: Replica, *, force_snapshot: bool = False, timeout: float = ONE_OFF_TIMEOUT, answer: float = ANSWER_TIMEOUT) -> None:
    """Ship what ``db`` has that the replica lacks, then exit (``replicate -once``).

    Do not run it for a database a :class:`Replicator` is serving.

    The replica must answer within ``answer`` seconds (or ``timeout`` if
    shorter); the transfer may then take ``timeout``.

    Raises:
        NotFound: ``db`` does not exist.
        ReplicaMisconfigured: the location's settings are wrong.
        ReplicaOffline: the replica did not answer.
        SyncError: litestream could not replicate.
    """
    db = Path(db)
    if not db.is_file():
        raise NotFound("database to replicate not found", "check the journal path")
    answer = min(timeout, answer)
    _answers(replica, answer)
    with _scratch() as d:
        cfg = write_config(d / "litestream.yml", [(db, replica)])
        args: list[Any] = ["replicate", "-config", cfg, "-once"]
        if force_snapshot:
            args.append("-force-snapshot")
        rc, _, err = _one_off(args, [replica], answer=answer, finish=timeout)
    if rc:
        raise _classified("replicate", err, replica)


def _reset(db: Path, replica: Replica, timeout: float) -> None:
    with _scratch() as d:
        cfg = write_config(d / "litestream.yml", [(db, replica)])
        rc, _, err = _one_off(["reset", "-config", cfg, os.path.abspath(db)], [replica], answer=min(timeout, ANSWER_TIMEOUT), finish=timeout)
    if rc:
        raise _classified("reset the local state", err, replica)


def heal(db: Path, replica: Replica, *, timeout: float = ONE_OFF_TIMEOUT) -> None:
    """Repair the replica of ``db`` with a fresh snapshot, and check it restores.

    First ``replicate -once -force-snapshot``; if that fails and the replica
    is empty, reset the local Litestream state and snapshot again (TXIDs then
    start again at 1). Do not run it while a :class:`Replicator` serves ``db``:
    use :meth:`Replicator.heal`.

    Raises:
        ReplicaBroken: the replica still does not restore.
        SyncError: litestream could not reach or write the replica.
    """
    db = Path(db)
    try:
        replicate_once(db, replica, force_snapshot=True, timeout=timeout)
    except SyncError:
        if latest_txid(replica, timeout=min(timeout, ANSWER_TIMEOUT)) is not None:
            raise ReplicaBroken(
                "the replica cannot be repaired in place",
                "it holds an older copy that this device cannot continue; empty the replica folder or choose a new location",
            ) from None
        log.info("replica empty and local state too old to continue: resetting %s", db.name)
        _reset(db, replica, timeout)
        replicate_once(db, replica, force_snapshot=True, timeout=timeout)
    if verify(replica, timeout=min(timeout, ANSWER_TIMEOUT)) is None:
        raise ReplicaBroken("the replica is still empty after a snapshot", "check that the replica location is writable")


def restore(replica: Replica, out: Path, *, txid: int | None = None, timeout: float = RESTORE_TIMEOUT, answer: float = ANSWER_TIMEOUT) -> bool:
    """Restore the replica (up to ``txid`` if given) into ``out``, replacing it atomically.

    Returns False (and leaves ``out`` alone) if the replica holds nothing yet.
    Stale ``-wal``, ``-shm`` and ``-txid`` files of the old ``out`` are removed.
    The replica must answer within ``answer`` seconds; the transfer may then
    take ``timeout``.

    Raises:
        ReplicaBroken: the replica holds files but no restorable chain.
        ReplicaMisconfigured: the location's settings are wrong.
        ReplicaOffline: the replica did not answer.
        SyncError: the replica cannot be read.
    """
    out = Path(os.path.abspath(out))
    _answers(replica, answer)
    private_dir(out.parent)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.restoring")
    try:
        with _scratch() as d:
            db = _placeholder(d)
            cfg = write_config(d / "litestream.yml", [(db, replica)])
            upto = ["-txid", f"{txid:016x}"] if txid is not None else []
            rc, _, err = _restored(
                replica, lambda: _one_off(["restore", "-config", cfg, *upto, "-o", tmp, db], [replica], answer=answer, finish=timeout), answer
            )
        if rc:
            _raise_restore_failure(replica, err, answer)
            return False
        for suffix in ("-wal", "-shm", "-txid"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{out}{suffix}")
        os.chmod(tmp, 0o600)  # a copy of someone's journal is as private as one's own (litestream runs with umask 077 too)
        os.replace(tmp, out)
        return True
    finally:
        for leftover in (tmp, Path(f"{tmp}.tmp")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
