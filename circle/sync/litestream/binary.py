"""The litestream binary and its children: where it is, what environment it gets, how it starts and stops.

Every litestream process circle runs starts through :func:`_popen`: in its own
session (so stopping it reaches everything it started), dying with circle,
and with the environment of :func:`litestream_env`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from circle.errors import NotFound, SyncError, UsageError

if TYPE_CHECKING:
    from circle.sync.litestream.replica import Replica

LITESTREAM_VERSION = "0.5.17"
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL; above SHUTDOWN_SYNC_TIMEOUT
# Replicators and followers mostly sleep; with a scheduler thread per core Go
# wakes a second thread at every tick. One costs less idle CPU (a replicator
# here: 0.55 -> 0.35-0.45 % of a core). A GOMAXPROCS the person set wins.
LONG_RUNNING_ENV = {"GOMAXPROCS": "1"}


def litestream_binary() -> Path:
    """The litestream executable: beside the interpreter, else on ``PATH``.

    Raises:
        SyncError: neither place has it.
    """
    beside = Path(sys.executable).parent / ("litestream.exe" if os.name == "nt" else "litestream")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("litestream")
    if found:
        return Path(found)
    raise SyncError("litestream is missing", "reinstall circle (pip install --force-reinstall circle); it brings litestream with it")


# What a litestream child gets from circle's environment, and nothing else: never
# CIRCLE_PASSPHRASE, never the person's AWS_* or LITESTREAM_* settings (AWS_CA_BUNDLE
# breaks every S3 call; AWS_ACCESS_KEY_ID and friends would be credentials circle did
# not give it; LOG_LEVEL would change its output). Proxies stay: the S3 client honours them.
_PASSED = {
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
}
_PASSED_NT = {"SYSTEMROOT", "WINDIR", "USERPROFILE", "TEMP", "TMP", "APPDATA", "LOCALAPPDATA"}  # Go needs SYSTEMROOT for networking
# Litestream's S3 client would look for credentials in the shared AWS files and at the
# cloud metadata address when circle gives none: a desktop tool must never do either.
_NO_AMBIENT_CREDENTIALS = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def litestream_env(*replicas: Replica, long_running: bool = False) -> dict[str, str]:
    """The whole environment of a litestream process serving ``replicas``.

    Only what it needs: ``PATH``, ``HOME``, ``TMPDIR``, the locale, TLS and
    proxy settings from circle's environment; the credentials of ``replicas``
    under names circle chooses (the config refers to them, see
    :meth:`Replica.credential_env`); and settings that keep the S3 client
    from looking for credentials anywhere else. ``AWS_CA_BUNDLE`` breaks every
    S3 call in 0.5.17, so a configured ``ca_bundle`` becomes ``SSL_CERT_FILE``.
    A long-running process gets ``GOMAXPROCS=1`` unless the person set it.

    Raises:
        UsageError: the replicas name different CA bundles.
        NotFound: the CA bundle file is missing.
    """
    passed = _PASSED | (_PASSED_NT if os.name == "nt" else set())
    env = {k: v for k, v in os.environ.items() if k in passed or k.startswith("LC_")}
    if long_running:
        env["GOMAXPROCS"] = os.environ.get("GOMAXPROCS") or LONG_RUNNING_ENV["GOMAXPROCS"]
    env.update(_NO_AMBIENT_CREDENTIALS)
    bundles = {r.ca_bundle for r in replicas if r.ca_bundle}
    if len(bundles) > 1:
        raise UsageError("replicas with different CA bundles", "use one CA bundle per replica location")
    if bundles:
        bundle = bundles.pop()
        if not os.path.isfile(bundle):
            raise NotFound("CA bundle file not found", "check the ca_bundle path of the replica")
        env["SSL_CERT_FILE"] = os.path.abspath(bundle)
    for replica in replicas:
        env.update(replica.credential_env())
    return env


try:  # Linux: the kernel can signal a child when the thread that started it dies
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except (ImportError, OSError):
    _libc = None
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> Callable[[], None] | None:
    """A preexec hook: litestream gets SIGTERM when circle dies, even by kill -9.

    Its own session keeps it out of reach of the app's process group, so
    without this an app killed hard leaves litestream replicating on, holding
    the journal open (SQLite then skips WAL recovery when the app restarts)
    beside the replicator the restarted app starts.
    """
    if _libc is None:
        return None

    def hook() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # died before the line above took effect
            os._exit(1)

    return hook


def _popen(args: Sequence[str | os.PathLike[str]], env: dict[str, str], *, merge: bool) -> subprocess.Popen[str]:
    # Own session = own process group, so stop can signal everything it started.
    return subprocess.Popen(
        [str(litestream_binary()), *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        env=env,
        text=True,
        errors="replace",
        start_new_session=True,
        preexec_fn=_die_with(os.getpid()),
        umask=0o077,  # what litestream creates (restored copies, its state, folder replicas) is private
    )


def _terminate(proc: subprocess.Popen[str], grace: float = STOP_GRACE) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds, reap it."""
    if proc.poll() is not None:
        return
    killpg = getattr(os, "killpg", None)
    try:
        if killpg is not None:
            killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    except ProcessLookupError:
        pass
    try:
        proc.wait(grace)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        if killpg is not None:
            killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()
