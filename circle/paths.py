"""Every path circle uses comes from here."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import platformdirs

from circle.errors import StorageError


def user_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """The circle home: ``home`` if given, else ``CIRCLE_HOME``, else the platform data dir."""
    if home:
        return Path(home).expanduser()
    env = os.environ.get("CIRCLE_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("circle", appauthor=False))


def default_replica(home: Path) -> Path:
    """The embedded default replica location: a folder inside the home."""
    return (home / "replica").resolve()


def private_dir(path: Path) -> Path:
    """Make ``path`` and any missing parents as folders of mode 0700, whatever the umask; returns it.

    Folders that exist already are left as they are: they may be a drive or a
    share chosen by the person.
    """
    path = Path(os.path.abspath(path))
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
            with contextlib.suppress(OSError):  # a file system without modes (a FAT stick)
                os.chmod(d, 0o700)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def storage_problem(path: Path, exc: BaseException, *, saved: bool = False) -> StorageError | None:
    """What the disk holding ``path`` says, when an error there is the disk's and not the file's (None: it is not).

    A full disk, a read-only mount or a folder circle may not write in give
    one line that names the folder and says whether anything was saved.
    """
    folder = Path(os.path.abspath(path)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    done = "what you wrote is saved; " if saved else "nothing was saved; "
    try:
        vfs = os.statvfs(folder)
    except OSError:
        return None
    if vfs.f_flag & os.ST_RDONLY or getattr(exc, "errno", None) == errno.EROFS:
        return StorageError("the folder of your circle files is read-only", f"{done}circle writes in {folder}: check the drive is mounted read-write")
    if vfs.f_bavail * vfs.f_frsize < 1 << 20 or getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in str(exc):
        return StorageError("the disk is full", f"{done}free some space where {folder} is, then try again")
    if getattr(exc, "errno", None) in (errno.EACCES, errno.EPERM) or not os.access(folder, os.W_OK):
        return StorageError("circle may not write in the folder of your files", f"{done}check who owns {folder} and its permissions")
    return None
