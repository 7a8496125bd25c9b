"""Wait for files to appear in folders without polling them (Linux inotify).

The sync service watches the level-0 folders of the folder replicas on
screen: Litestream adds a file there for every transaction it ships, so a
peer's new event wakes the service at once instead of at its next look, and
an idle service sleeps. Where inotify is missing (not Linux) or cannot watch
a folder (it does not exist yet, or the limit of watches is reached),
:meth:`FolderWatch.watch` says so and the caller keeps polling that folder.
Changes made by another machine to a network share are not reported by the
kernel either, so callers poll every folder anyway, only less often.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import select
import struct
import sys

# <sys/inotify.h>
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_IGNORED = 0x8000  # the kernel dropped the watch
_IN_ONLYDIR = 0x01000000
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_MASK = _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        for name in ("inotify_init1", "inotify_add_watch", "inotify_rm_watch"):
            getattr(libc, name)
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()

# File systems that other machines change too: the kernel reports only what this machine does there.
_REMOTE = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "ceph", "glusterfs", "9p", "davfs", "lustre", "gfs2", "ocfs2"}


def remote_fs(path: str, mountinfo: str | None = None) -> bool:
    """Whether ``path`` lies on a file system that other machines change (a network share, most FUSE mounts).

    inotify sees only the changes made by this machine, so a folder there must
    be polled. Reads ``/proc/self/mountinfo`` (or the text given); where that
    is missing, says True.
    """
    if mountinfo is None:
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
                mountinfo = f.read()
        except OSError:
            return True
    lines = mountinfo.splitlines()
    real = os.path.realpath(path)
    best, kind = "", ""
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or not rest:
            continue
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])  # \040 is a space
        if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, kind = mount, rest[0]
    return kind in _REMOTE or kind.startswith("fuse.")  # fuseblk (NTFS or exFAT sticks) is a local disk


class FolderWatch:
    """Folders to watch for added, removed or renamed files, and a wait that returns when one changes.

    Not thread-safe except :meth:`wake`, which any thread may call to end a
    :meth:`wait` early.
    """

    def __init__(self) -> None:
        self._fd = -1
        if _LIBC is not None:
            self._fd = _LIBC.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._by_wd: dict[int, str] = {}
        self._by_path: dict[str, int] = {}
        self._inode: dict[str, tuple[int, int]] = {}  # path -> (device, inode) watched: a folder swapped in under the path is watched again

    @property
    def available(self) -> bool:
        return self._fd >= 0

    def watch(self, paths: set[str], *, recheck: bool = False) -> set[str]:
        """Watch exactly ``paths``; returns those that are watched (the rest must be polled).

        A watch follows the folder, not its path: with ``recheck`` (a stat
        per folder, so not on every call), one whose parent was moved away
        and replaced is dropped and the new folder at the path watched.
        """
        for path in set(self._by_path):
            if path not in paths or (recheck and self._identity(path) != self._inode.get(path)):
                self._drop(path)
        if self._fd >= 0:
            for path in paths - set(self._by_path):
                ident = self._identity(path)
                wd = _LIBC.inotify_add_watch(self._fd, os.fsencode(path), _MASK)  # type: ignore[union-attr]
                if wd >= 0 and ident is not None:
                    self._by_path[path] = wd
                    self._by_wd[wd] = path
                    self._inode[path] = ident
        return set(self._by_path)

    @staticmethod
    def _identity(path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _drop(self, path: str) -> None:
        wd = self._by_path.pop(path)
        self._inode.pop(path, None)
        if self._by_wd.pop(wd, None) is not None and self._fd >= 0:
            _LIBC.inotify_rm_watch(self._fd, wd)  # type: ignore[union-attr]

    def wait(self, timeout: float) -> set[str]:
        """Sleep until a watched folder changes, :meth:`wake` is called, or ``timeout`` passes.

        Returns the folders that changed. A folder that was removed or moved
        is reported and no longer watched: :meth:`watch` it again once it is back.
        """
        poller = select.poll()  # not select(): it fails once a descriptor number passes 1024
        for fd in [self._wake_r] + ([self._fd] if self._fd >= 0 else []):
            poller.register(fd, select.POLLIN)
        try:
            ready = {fd for fd, _ in poller.poll(max(0.0, timeout) * 1000)}
        except InterruptedError:
            return set()
        changed: set[str] = set()
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_r, 512):
                    pass
        if self._fd in ready:
            changed = self._drain()
        return changed

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"!")

    def close(self) -> None:
        for fd in (self._fd, self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._wake_r = self._wake_w = -1
        self._by_wd.clear()
        self._by_path.clear()
        self._inode.clear()

    def _drain(self) -> set[str]:
        changed: set[str] = set()
        while True:
            try:
                buf = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return changed
            if not buf:
                return changed
            at = 0
            while at + _EVENT.size <= len(buf):
                wd, mask, _cookie, size = _EVENT.unpack_from(buf, at)
                at += _EVENT.size + size
                path = self._by_wd.get(wd)
                if path is None:
                    continue
                changed.add(path)
                if mask & _IN_IGNORED:  # the kernel dropped it (the folder was deleted)
                    self._by_wd.pop(wd, None)
                    self._by_path.pop(path, None)
                    self._inode.pop(path, None)
                elif mask & (_IN_DELETE_SELF | _IN_MOVE_SELF):  # moved away: the kernel would go on watching it elsewhere
                    self._drop(path)
