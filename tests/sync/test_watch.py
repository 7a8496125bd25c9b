"""The folder watch the sync service sleeps on: real inotify on real folders."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from circle.sync.watch import FolderWatch, remote_fs


@pytest.fixture
def watch():
    w = FolderWatch()
    if not w.available:
        pytest.skip("no inotify on this system")
    yield w
    w.close()


def test_a_file_renamed_into_a_watched_folder_wakes_the_wait(tmp_path: Path, watch: FolderWatch):
    level0, other = tmp_path / "ltx" / "0", tmp_path / "elsewhere"
    level0.mkdir(parents=True)
    other.mkdir()
    assert watch.watch({str(level0), str(other)}) == {str(level0), str(other)}
    (level0 / "x.ltx.tmp").write_bytes(b"x")
    os.rename(level0 / "x.ltx.tmp", level0 / "0000000000000002-0000000000000002.ltx")  # as Litestream writes
    assert watch.wait(5.0) == {str(level0)}
    assert watch.wait(0.05) == set()  # drained: nothing more happened


def test_a_missing_folder_cannot_be_watched_and_a_removed_one_is_dropped(tmp_path: Path, watch: FolderWatch):
    gone, here = tmp_path / "not-yet", tmp_path / "here"
    here.mkdir()
    assert watch.watch({str(gone), str(here)}) == {str(here)}  # the caller polls the missing one
    here.rmdir()  # the stick is pulled
    assert str(here) in watch.wait(5.0)
    assert watch.watch({str(gone), str(here)}) == set()
    here.mkdir()  # plugged back in: watched again
    assert watch.watch({str(here)}) == {str(here)}


def test_a_folder_swapped_in_under_the_path_is_watched_instead_of_the_old_one(tmp_path: Path, watch: FolderWatch):
    """The share's folder is moved aside and a new one takes its path (a sync tool swapping folders): the new one wakes the wait."""
    share = tmp_path / "share"
    level0 = share / "ltx" / "0"
    level0.mkdir(parents=True)
    assert watch.watch({str(level0)}) == {str(level0)}
    share.rename(tmp_path / "old-share")  # the watched folder moves with its parent; no event for the folder itself
    level0.mkdir(parents=True)
    assert watch.watch({str(level0)}, recheck=True) == {str(level0)}
    (tmp_path / "old-share" / "ltx" / "0" / "stale.ltx").write_bytes(b"x")
    assert watch.wait(0.2) == set()  # the old folder is watched no more
    (level0 / "0000000000000001-0000000000000001.ltx").write_bytes(b"x")
    assert watch.wait(5.0) == {str(level0)}


def test_wake_ends_a_wait_from_another_thread(watch: FolderWatch):
    threading.Timer(0.1, watch.wake).start()
    t0 = time.monotonic()
    assert watch.wait(30.0) == set()
    assert time.monotonic() - t0 < 10.0  # woken, not timed out


def test_without_inotify_the_wait_is_a_plain_sleep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import circle.sync.watch as watch_module

    monkeypatch.setattr(watch_module, "_LIBC", None)
    w = FolderWatch()
    try:
        assert not w.available
        assert w.watch({str(tmp_path)}) == set()  # everything is polled
        assert w.wait(0.01) == set()
    finally:
        w.close()


MOUNTINFO = "\n".join(
    [
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
        "40 27 0:40 / /media/usb\\040stick rw - vfat /dev/sdb1 rw",
        "41 27 0:41 / /media/ntfs rw - fuseblk /dev/sdc1 rw",
        "42 27 0:42 / /mnt/share rw - cifs //box/circle rw",
        "43 42 0:43 / /mnt/share/local rw - ext4 /dev/sdd1 rw",
        "44 27 0:44 / /home/nia/box rw - fuse.sshfs circle@box: rw",
        "45 27 0:45 / /mnt/team\\040share rw - nfs4 box:/circle rw",
    ]
)


@pytest.mark.parametrize(
    ("path", "remote"),
    [
        ("/home/nia/circle", False),
        ("/media/usb stick/circle", False),
        ("/media/ntfs/circle", False),
        ("/mnt/share/circle", True),
        ("/mnt/share/local/circle", False),
        ("/home/nia/box/circle", True),
        ("/mnt/sharex", False),
        ("/mnt/team share/circle", True),
    ],
)
def test_network_shares_and_fuse_mounts_are_remote_sticks_and_disks_are_not(path: str, remote: bool):
    """A folder on a share is polled (the kernel never hears of another machine's writes); a stick's is watched."""
    assert remote_fs(path, MOUNTINFO) is remote
