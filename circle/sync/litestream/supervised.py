"""Long-running litestream processes, supervised: started, restarted with backoff when they die, stopped for good.

:class:`_Supervised` runs one process in its own process group from a thread
of its own; :class:`~circle.sync.litestream.replicator.Replicator` and
:class:`~circle.sync.litestream.follower.Follower` say what to run. Every
supervisor still running when the interpreter exits is stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import shutil
import subprocess
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from circle.errors import CircleError
from circle.sync.litestream.binary import STOP_GRACE, _popen, _terminate, litestream_env
from circle.sync.litestream.config import remove_stale_configs, scratch_dir
from circle.sync.litestream.faults import _error_line
from circle.sync.litestream.replica import Replica

log = logging.getLogger(__name__)

BACKOFF_START = 0.5
BACKOFF_MAX = 15.0
STABLE_AFTER = 10.0  # a process that ran this long resets the backoff

_live: weakref.WeakSet[_Supervised] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for sup in list(_live):
        with contextlib.suppress(Exception):
            sup.stop(timeout=STOP_GRACE)


class _Supervised:
    """Runs one litestream process, restarts it with backoff when it dies."""

    _tick_every: float | None = None  # seconds between calls of _tick while the process runs; None: never

    def __init__(self, config_dir: Path | None) -> None:
        self._own_dir = config_dir is None
        self._dir = Path(config_dir) if config_dir is not None else None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._hold = 0
        self._proc: subprocess.Popen[str] | None = None
        self._ended_on_purpose: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._lines: deque[str] = deque(maxlen=40)
        self.last_error: str | None = None
        """The last problem litestream reported, as one line, or None."""
        self.restarts = 0
        """How often the process died and was started again."""

    # hooks
    def _command(self) -> list[Any] | None:
        raise NotImplementedError

    def _replicas(self) -> list[Replica]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Called with the lock held just before a process starts."""

    def _tick(self) -> None:
        """Called about every ``_tick_every`` seconds while the process runs (and once after it died)."""

    def _on_line(self, line: str) -> None:
        """Called from the reader thread for every output line."""

    def _on_exit(self, rc: int, detail: str) -> None:
        """Called after an unexpected exit, before the backoff."""

    def _cleanup(self) -> None:
        """Called once after stop."""

    # public
    def start(self) -> None:
        """Start supervising; returns at once. Starting twice does nothing."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if self._dir is None:
                self._dir = scratch_dir()
            else:
                remove_stale_configs(self._dir)
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name=f"litestream-{type(self).__name__.lower()}", daemon=True)
            _live.add(self)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL to its whole group) and wait for it."""
        self._stopping.set()
        self._wake.set()
        with self._lock:
            proc = self._proc
        if proc is not None:
            _terminate(proc)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._thread = None
            self._cleanup()
            if self._own_dir and self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
        _live.discard(self)

    def alive(self) -> bool:
        """Whether the litestream process is running right now."""
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id of the running litestream, for diagnostics and tests."""
        with self._lock:
            return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @contextlib.contextmanager
    def _paused(self) -> Iterator[None]:
        """Stop the process and keep it stopped for the duration (heal, reconfigure)."""
        with self._lock:
            self._hold += 1
            proc = self._ended_on_purpose = self._proc
        try:
            if proc is not None:
                _terminate(proc)
            yield
        finally:
            with self._lock:
                self._hold -= 1
            self._wake.set()

    # the loop
    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            self._lines.append(line)
            if line.startswith("Error: ") or "level=ERROR" in line:
                self.last_error = _error_line(line, self._hide())
            self._on_line(line)

    def _hide(self) -> list[str]:
        return [s for r in self._replicas() for s in r._secrets()]

    def _loop(self) -> None:
        delay = BACKOFF_START
        while not self._stopping.is_set():
            proc = None
            failed = False
            with self._lock:
                args = None if self._hold or self._stopping.is_set() else self._command()
                if args is not None:
                    try:
                        self._prepare()
                        self._lines.clear()
                        proc = _popen(args, litestream_env(*self._replicas(), long_running=True), merge=True)
                    except CircleError as exc:
                        self.last_error, failed = exc.line(), True
                    except OSError:
                        self.last_error, failed = "could not start litestream", True
                    self._proc = proc
            if proc is None:
                if failed:  # e.g. the binary vanished: retry, but slowly
                    self._stopping.wait(delay)
                    delay = min(delay * 2, BACKOFF_MAX)
                else:  # paused or nothing to do: wait to be woken
                    self._wake.wait(0.5)
                    self._wake.clear()
                continue
            started = time.monotonic()
            reader = threading.Thread(target=self._read, args=(proc,), name="litestream-output", daemon=True)
            reader.start()
            # Litestream's output closes when it exits: waiting on the reader thread
            # sleeps on a lock, where Popen.wait(timeout) would wake every 50 ms.
            while reader.is_alive():
                reader.join(self._tick_every)  # None: sleep until it exits, no wake-ups at all
                if reader.is_alive():
                    self._tick()
            try:
                proc.wait(2.0)
            except subprocess.TimeoutExpired:  # it closed its output but lives on
                _terminate(proc)
            if proc.stdout is not None:
                proc.stdout.close()
            with self._lock:
                self._proc = None
                intended = self._stopping.is_set() or self._hold > 0 or proc is self._ended_on_purpose
            if intended:
                continue
            self._tick()  # the last change it wrote before dying still counts
            self.restarts += 1
            detail = _error_line("\n".join(self._lines), self._hide()) or f"litestream exited with status {proc.returncode}"
            self.last_error = detail
            log.info("litestream %s exited (%s): %s", type(self).__name__, proc.returncode, detail)
            self._on_exit(proc.returncode, detail)
            if time.monotonic() - started >= STABLE_AFTER:
                delay = BACKOFF_START
            self._stopping.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)
