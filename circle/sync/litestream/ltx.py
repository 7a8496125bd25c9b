"""Reading LTX files directly, without starting litestream.

Litestream 0.5 names every LTX file by the TXID range it holds
(``<level>/<min>-<max>.ltx``) and keeps the files it wrote beside the
database (``.<name>-litestream/ltx``). Listing a folder costs a few system
calls where starting litestream costs ~40 ms of CPU, which matters for a
service that checks several times a second.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
from pathlib import Path
from urllib.parse import unquote, urlsplit

from circle.errors import SyncError
from circle.sync.litestream.replica import Replica

Listing = tuple[tuple[int, str, str, int], ...]
"""Every LTX file of a replica as (level, min TXID, max TXID, size), sorted."""


_LTX_NAME = re.compile(r"([0-9a-f]{16})-([0-9a-f]{16})\.ltx")


def folder_of(replica: Replica) -> Path | None:
    """The folder of a file replica (read directly: no process), or None for SFTP and S3."""
    if replica.kind != "file":
        return None
    parts = urlsplit(replica.url)
    return Path(unquote(parts.path) if parts.scheme == "file" else replica.url)


def _max_txid_in(ltx_dir: Path) -> int | None:
    """The newest TXID among ``<ltx_dir>/<level>/<min>-<max>.ltx``: what ``ltx -level all`` lists.

    Litestream 0.5 names every LTX file by the TXID range it holds; listing
    the folder costs a few system calls where starting litestream costs ~40 ms
    of CPU, which matters for a service that checks several times a second.
    """
    best = None
    try:
        levels = list(os.scandir(ltx_dir))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise SyncError("replica folder unreadable", f"{ltx_dir.parent}: {exc.strerror}; is the drive plugged in?") from None
    for level in levels:
        if not level.is_dir():
            continue
        try:
            for entry in os.scandir(level.path):
                m = _LTX_NAME.fullmatch(entry.name)
                if m:
                    best = max(best or 0, int(m.group(2), 16))
        except OSError:
            continue
    return best


def level0_folder(replica: Replica) -> Path | None:
    """Where a folder replica gains a file for every TXID (``ltx/0``), or None for SFTP and S3.

    Every new TXID lands here first, so the folder's modification time is a
    one-stat way to notice new data without listing it.
    """
    folder = folder_of(replica)
    return None if folder is None else folder / "ltx" / "0"


def folder_fingerprint(folder: Path) -> Listing:
    """Every LTX file in a folder replica as (level, min TXID, max TXID, size); empty if the folder is not there.

    Raises:
        SyncError: the folder cannot be read.
    """
    files = []
    try:
        levels = [e for e in os.scandir(folder / "ltx") if e.is_dir() and e.name.isdigit()]
    except (FileNotFoundError, NotADirectoryError):
        return ()
    except OSError as exc:
        raise SyncError("replica folder unreadable", f"{folder}: {exc.strerror}; is the drive plugged in?") from None
    for level in levels:
        with contextlib.suppress(OSError):
            for entry in os.scandir(level.path):
                m = _LTX_NAME.fullmatch(entry.name)
                if m:
                    with contextlib.suppress(OSError):
                        files.append((int(level.name), m.group(1), m.group(2), entry.stat().st_size))
    return tuple(sorted(files))


def has_shipped(db: Path) -> bool:
    """Whether Litestream has replicated ``db`` before: it keeps its own state in a folder beside the database."""
    db = Path(db)
    return (db.parent / f".{db.name}-litestream").is_dir()


def local_ltx_size(db: Path, txid: int) -> int | None:
    """The size of the LTX file Litestream wrote beside ``db`` for ``txid``, or None if it has none."""
    db = Path(db)
    try:
        return (db.parent / f".{db.name}-litestream" / "ltx" / "0" / f"{txid:016x}-{txid:016x}.ltx").stat().st_size
    except OSError:
        return None


_LTX_WAL = struct.Struct(">qqII")  # LTX header bytes 48-71: WAL offset, WAL size, WAL salts
_WAL_SALTS = struct.Struct(">II")  # bytes 16-23 of a WAL header, 8-15 of a WAL frame header


def captured(db: Path, txid: int) -> bool:
    """Whether Litestream's local LTX file for ``txid`` holds every commit now in ``db``.

    Every LTX header records where in the WAL it stopped reading (offset,
    size, salts: the LTX format of superfly/ltx). If the WAL holds a frame of
    the same generation past that point, or a newer generation, Litestream
    has not read the latest commit yet: a replica holding ``txid`` may still
    lack it. With no WAL (every connection closed), the database file must
    not be newer than the LTX file. A few small reads; whatever cannot be
    judged counts as not captured, so the answer errs towards "not yet sent".
    """
    db = Path(db)
    ltx = db.parent / f".{db.name}-litestream" / "ltx" / "0" / f"{txid:016x}-{txid:016x}.ltx"
    try:
        with open(ltx, "rb") as f:
            offset, size, salt1, salt2 = _LTX_WAL.unpack_from(f.read(72), 48)
        with contextlib.ExitStack() as stack:
            try:
                wal = stack.enter_context(open(f"{db}-wal", "rb"))
                header = wal.read(32)
            except FileNotFoundError:
                header = b""
            if len(header) < 32:  # no WAL: every commit is in the database file
                return os.stat(ltx).st_mtime_ns > os.stat(db).st_mtime_ns
            wal_salts = _WAL_SALTS.unpack_from(header, 16)
            wal.seek(offset + size)
            frame = wal.read(24)
    except (OSError, struct.error):
        return False
    if wal_salts != (salt1, salt2):
        return False  # the WAL restarted after a checkpoint: its new frames came after this LTX
    return len(frame) < 24 or _WAL_SALTS.unpack_from(frame, 8) != wal_salts


def _only_grew(before: Listing, after: Listing) -> bool:
    """Whether a replica changed only as its writer changes it: new files, compaction above level 0.

    Level-0 files stay for ``l0-retention``; one that vanished, a file whose
    size changed, or a newest TXID that went down means the folder was pulled,
    emptied, swapped or damaged. New files must also continue the TXIDs
    without a gap: a level-0 file that starts past the newest TXID + 1 was
    shipped onto an older copy (a stick that came back older than it left).
    """
    size = {f[:3]: f[3] for f in after}
    if any(size.get(f[:3], f[3]) != f[3] for f in before):
        return False
    if any(f[0] == 0 and f[:3] not in size for f in before):
        return False
    if max((f[2] for f in after), default="") < max((f[2] for f in before), default=""):
        return False
    known = {f[:3] for f in before}
    reached = max((int(f[2], 16) for f in before), default=0)
    for level, lo, hi, _ in sorted((f for f in after if f[:3] not in known), key=lambda f: int(f[1], 16)):
        if int(lo, 16) > reached + 1:
            if level == 0:
                return False
            continue
        reached = max(reached, int(hi, 16))
    return True


def _new_level0_damaged(db: Path, before: Listing, after: Listing) -> bool:
    """Whether a level-0 file that is new since ``before`` differs in size from Litestream's local copy (a write cut short)."""
    old = {f[:3] for f in before}
    local = db.parent / f".{db.name}-litestream" / "ltx" / "0"
    for level, lo, hi, size in after:
        if level != 0 or (level, lo, hi) in old:
            continue
        try:
            if (local / f"{lo}-{hi}.ltx").stat().st_size != size:
                return True
        except OSError:  # no local copy (past l0-retention): nothing to compare
            continue
    return False
