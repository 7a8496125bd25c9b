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
import stat
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
    try:
        levels = list(os.scandir(ltx_dir))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise SyncError("replica folder unreadable", f"{ltx_dir.parent}: {exc.strerror}; is the drive plugged in?") from None
    return max((t for t in (_max_txid_at(level.path) for level in levels if level.is_dir()) if t is not None), default=None)


def _max_txid_at(level: str | Path) -> int | None:
    """The newest TXID among the LTX files of one level's folder; None if it holds none or cannot be listed."""
    try:
        return max((int(m.group(2), 16) for e in os.scandir(level) if (m := _LTX_NAME.fullmatch(e.name))), default=None)
    except OSError:
        return None


def level0_txid(replica: Replica) -> int | None:
    """The newest TXID at level 0 of a folder replica (None for SFTP and S3, or when it holds none).

    Level 0 is not always the newest level: when Litestream starts it may
    write a snapshot (level 9) and a compaction (level 1) reaching a TXID
    whose level-0 file it is still writing (seen as ``<min>-<max>.ltx.tmp``).
    """
    folder = level0_folder(replica)
    return None if folder is None else _max_txid_at(folder)


def level0_folder(replica: Replica) -> Path | None:
    """Where a folder replica gains a file for every TXID (``ltx/0``), or None for SFTP and S3.

    Every new TXID lands here (see :func:`level0_txid` for when another level
    names it first), so the folder's modification time is a one-stat way to
    notice new data without listing it.
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


# ---------------------------------------------------------------------------
# Applying level-0 files to a restored copy: what changed, not the whole database


class LTXError(ValueError):
    """An LTX file that cannot be applied: the caller restores the whole database instead."""


_HEADER = struct.Struct(">4sIIIQQqQqqIIQ")  # magic, flags, page size, commit, min, max, timestamp, pre-apply checksum, WAL offset/size/salts, node id
_HEADER_SIZE = 100
_FLAG_NO_CHECKSUM = 1 << 1  # the only header flag LTX defines
_PAGE_SIZED = 1 << 0  # page header flag: a 4-byte size and an LZ4 block follow
_CHECKSUM_FLAG = 1 << 63


def _crc64_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0xD800000000000000 if crc & 1 else crc >> 1  # CRC-64/ISO, reflected, as Go's hash/crc64
        table.append(crc)
    return table


_CRC64 = _crc64_table()


def _crc64(parts: list[bytes]) -> int:
    crc, table = 0xFFFFFFFFFFFFFFFF, _CRC64
    for part in parts:
        for b in part:
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def _lz4_length(src: bytes, i: int, n: int) -> tuple[int, int]:
    """A length past its token's 15: bytes added on while they are 255; (the length, where reading goes on)."""
    while True:
        b = src[i]
        i += 1
        n += b
        if b != 255:
            return n, i


def _lz4_block(src: bytes, size: int) -> bytes:
    """Decompress one LZ4 block (the format LTX pages are stored in) of a known size."""
    out = bytearray()
    i, n = 0, len(src)
    try:
        while True:
            token = src[i]
            i += 1
            lit = token >> 4
            if lit == 15:
                lit, i = _lz4_length(src, i, lit)
            out += src[i : i + lit]
            i += lit
            if i >= n:
                break  # the last sequence is literals only
            off = src[i] | src[i + 1] << 8
            i += 2
            ml = token & 15
            if ml == 15:
                ml, i = _lz4_length(src, i, ml)
            ml += 4
            if off == 0 or off > len(out):
                raise LTXError("LZ4 match outside the page")
            start = len(out) - off
            if ml <= off:
                out += out[start : start + ml]
            else:  # overlapping: the last ``off`` bytes repeat
                out += (bytes(out[start:]) * (ml // off + 1))[:ml]
            if len(out) > size:
                break
    except IndexError:
        raise LTXError("LZ4 block cut short") from None
    if len(out) != size or i != n:
        raise LTXError("LZ4 block of the wrong size")
    return bytes(out)


def read_ltx(data: bytes, page_size: int, lo: int, hi: int, max_pages: int = 2**31) -> tuple[int, list[tuple[int, bytes]]]:
    """The database size in pages after the transactions, and the pages, of one LTX file holding TXIDs ``lo``..``hi``.

    The whole file is checked: header, every page, the file checksum. A file
    of more than ``max_pages`` pages is refused before they are all inflated.

    Raises:
        LTXError: the file is not what its name says, or damaged.
    """
    if len(data) < _HEADER_SIZE + 6 + 16:
        raise LTXError("LTX file cut short")
    magic, flags, psize, commit, mn, mx, *_ = _HEADER.unpack_from(data, 0)
    if magic != b"LTX1" or flags & ~_FLAG_NO_CHECKSUM or psize != page_size or (mn, mx) != (lo, hi) or commit == 0:
        raise LTXError("LTX header does not match")
    hashed = [data[:_HEADER_SIZE]]
    pages: list[tuple[int, bytes]] = []
    pos = _HEADER_SIZE
    try:
        while True:
            pgno, pflags = struct.unpack_from(">IH", data, pos)
            hashed.append(data[pos : pos + 6])
            pos += 6
            if pgno == 0 and pflags == 0:
                break
            if pflags != _PAGE_SIZED or pgno > commit or (pages and pgno <= pages[-1][0]):
                raise LTXError("LTX page header not understood")
            if len(pages) >= max_pages:
                raise LTXError("LTX file holds more pages than a follower applies")
            (clen,) = struct.unpack_from(">I", data, pos)
            hashed.append(data[pos : pos + 4])
            pos += 4
            page = _lz4_block(data[pos : pos + clen], page_size)
            pos += clen
            hashed.append(page)
            pages.append((pgno, page))
    except struct.error:
        raise LTXError("LTX file cut short") from None
    if pos > len(data) - 16:
        raise LTXError("LTX file cut short")
    hashed.append(data[pos:-8])  # the page index and the post-apply checksum
    (checksum,) = struct.unpack_from(">Q", data, len(data) - 8)
    if checksum != _CHECKSUM_FLAG | _crc64(hashed):
        raise LTXError("LTX file checksum does not match")
    return commit, pages


def apply_level0(replica: Replica, db: Path, after: int, upto: int) -> bool:
    """Bring ``db``, a restore of a folder replica at TXID ``after``, to TXID ``upto`` from the level-0 files between them.

    This is what ``litestream restore -f`` does between polls, for a copy that
    is kept between restores: the pages each transaction wrote are put in
    place and the file is cut to the database's size. Every file is read and
    checked before anything is written. Returns False, leaving ``db`` as it
    was, when the files do not continue ``after`` up to ``upto`` without a gap
    (compacted away, a replica rebuilt) or one of them is damaged; the caller
    then restores the whole database. ``db`` is left in rollback-journal mode
    (see :func:`rollback_mode`), so readers open it without a WAL.
    """
    folder = folder_of(replica)
    if folder is None or upto <= after:
        return upto == after
    files: dict[int, tuple[int, str]] = {}
    try:
        for entry in os.scandir(folder / "ltx" / "0"):
            m = _LTX_NAME.fullmatch(entry.name)
            if m and entry.is_file(follow_symlinks=False):  # a link or a FIFO by that name is a gap: the whole restore
                lo, hi = int(m.group(1), 16), int(m.group(2), 16)
                if hi > after and lo <= upto:
                    files[lo] = (hi, entry.path)
    except OSError:
        return False
    plan: list[tuple[int, int, str]] = []
    at = after
    while at < upto:
        hit = files.get(at + 1)
        if hit is None or hit[0] > upto:
            return False
        plan.append((at + 1, hit[0], hit[1]))
        at = hit[0]
    left = APPLY_BYTES  # read, across every file of the pull
    try:
        with open(db, "r+b") as f:
            head = f.read(100)
            if len(head) < 100 or head[:16] != b"SQLite format 3\x00":
                return False
            (page_size,) = struct.unpack_from(">H", head, 16)
            page_size = 65536 if page_size == 1 else page_size
            if page_size < 512 or page_size & (page_size - 1):  # no SQLite file says so: not a copy to follow
                return False
            changes: list[tuple[int, list[tuple[int, bytes]]]] = []
            pages = APPLY_INFLATED // page_size  # inflated, across every file of the pull (a page may be 64 KiB)
            for lo, hi, path in plan:
                data = _read_file(path, left)
                left -= len(data)
                changes.append(read_ltx(data, page_size, lo, hi, pages))
                pages -= len(changes[-1][1])
            for commit, pages in changes:
                for pgno, page in pages:
                    if pgno == 1:
                        page = _rollback_header(page)
                    f.seek((pgno - 1) * page_size)
                    f.write(page)
                f.truncate(commit * page_size)
    except (OSError, LTXError):
        return False
    return True


APPLY_BYTES = 1 * 2**20  # what a follower reads of level-0 files in one pull (a meeting's commit is a few KB); more: a whole restore
APPLY_INFLATED = 4 * 2**20  # and the most it inflates from them (2,048 pages of 2 KB): pure-Python LZ4 and checksums
# A replica holder's file of 1 MB, each page a few bytes of LZ4, cost 7.6 s; twenty files of 4 MB of trailer 7.6 s more.


def _read_file(path: str, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit`` of them: never a FIFO (it blocks for good), a device, or a link to one."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            raise LTXError("LTX file is not a file of a size a follower applies")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # grown since it was looked at
        raise LTXError("LTX file is not a file of a size a follower applies")
    return data


def _rollback_header(page1: bytes) -> bytes:
    """Page 1 with the file marked for rollback-journal mode and a new change counter (readers drop what they cached)."""
    b = bytearray(page1)
    b[18], b[19] = 1, 1
    b[24:28] = os.urandom(4)
    return bytes(b)


def rollback_mode(db: Path) -> None:
    """Mark a restored copy for rollback-journal mode, as ``litestream restore -f`` does with the file it follows.

    In WAL mode a reader would make ``-wal`` and ``-shm`` files beside it and
    could trust what they say after :func:`apply_level0` changed the file
    under them; in rollback mode a fresh reader reads the file as it is.
    """
    with open(db, "r+b") as f:
        page1 = f.read(100)
        if len(page1) == 100 and page1[:16] == b"SQLite format 3\x00":
            f.seek(0)
            f.write(_rollback_header(page1))
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{db}{suffix}")
