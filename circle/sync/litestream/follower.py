"""The Follower: keeps a read-only copy of a replica up to date with ``litestream restore -f``."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from circle.sync.litestream.binary import litestream_env
from circle.sync.litestream.config import DEFAULT_INTERVAL, _duration, config_name, private_dir, write_config
from circle.sync.litestream.faults import _EMPTY, _GAP
from circle.sync.litestream.replica import Replica
from circle.sync.litestream.supervised import _Supervised

log = logging.getLogger(__name__)


class Follower(_Supervised):
    """Keeps ``out`` a read-only copy of a replica with ``litestream restore -f``.

    Every (re)start deletes ``out`` and its ``-txid``, ``-wal`` and ``-shm``
    files and restores afresh (a follower cannot resume on its old output). A
    missing or empty replica makes litestream exit at once; it is retried with
    backoff. When ``<out>-txid`` changes, ``on_change(txid)`` is called from
    the follower's thread and :meth:`txid_changed` turns True.

    Open ``out`` read-only with a fresh connection per change: a connection
    held open does not see new pages. ``out`` is briefly missing while a
    restart restores it.

    Args:
        replica: where to follow from.
        out: the local copy; owned by the follower, never write to it.
        interval: how often litestream polls the replica.
        on_change: called with the new TXID; keep it quick.
        config_dir: where the config lives while running (temporary if None).
    """

    _tick_every = 0.1

    def __init__(
        self,
        replica: Replica,
        out: Path,
        *,
        interval: float | str = DEFAULT_INTERVAL,
        on_change: Callable[[int], None] | None = None,
        config_dir: Path | None = None,
    ) -> None:
        super().__init__(config_dir)
        self.replica = replica
        self.out = Path(os.path.abspath(out))
        self.interval = _duration(interval)
        self.on_change = on_change
        self.state = "stopped"
        """stopped, starting, following, waiting (replica empty), broken (replica needs heal) or error."""
        self._txid: int | None = None
        self._seen: tuple[int, int, int] | None = None
        self._changed = False
        self._cond = threading.Condition(self._lock)
        self._config_name = config_name("follow")
        litestream_env(replica)

    @property
    def txid(self) -> int | None:
        """The TXID ``out`` is at, or None before the first restore finished."""
        with self._lock:
            return self._txid

    def txid_changed(self) -> bool:
        """True once after each change of ``out`` (for polling callers)."""
        with self._lock:
            changed, self._changed = self._changed, False
            return changed

    def wait_for(self, txid: int, timeout: float) -> bool:
        """Block until ``out`` reaches at least ``txid``; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._txid is None or self._txid < txid:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def start(self) -> None:
        with self._lock:
            self.state = "starting"
        super().start()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        with self._lock:
            self.state = "stopped"

    def _replicas(self) -> list[Replica]:
        return [self.replica]

    def _paths(self) -> tuple[Path, Path]:
        assert self._dir is not None
        return self._dir / self._config_name, self._dir / f"{self._config_name}.db"

    def _command(self) -> list[Any] | None:
        cfg, placeholder = self._paths()
        return ["restore", "-config", cfg, "-f", "-follow-interval", self.interval, "-o", self.out, placeholder]

    def _prepare(self) -> None:
        cfg, placeholder = self._paths()
        write_config(cfg, [(placeholder, self.replica)])
        private_dir(self.out.parent)
        for suffix in ("", "-txid", "-wal", "-shm", ".tmp", "-txid.tmp"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.out}{suffix}")
        self._seen = None
        if self.state not in ("waiting", "broken"):
            self.state = "starting"

    def _cleanup(self) -> None:
        if self._dir is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._paths()[0])

    def _on_line(self, line: str) -> None:
        if "applied updates" in line or "entering follow mode" in line:
            self.last_error = None

    def _tick(self) -> None:
        path = f"{self.out}-txid"
        try:
            st = os.stat(path)
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen == self._seen:
                return
            text = Path(path).read_text(encoding="ascii").strip()
            txid = int(text, 16)
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            return  # not written yet, or caught mid-replace: next tick
        self._seen = seen
        with self._cond:
            self.state = "following"
            if txid == self._txid:
                return
            self._txid = txid
            self._changed = True
            self._cond.notify_all()
        if self.on_change is not None:
            try:
                self.on_change(txid)
            except Exception:  # a broken callback must not stop following
                log.exception("follower on_change callback failed")

    def _on_exit(self, rc: int, detail: str) -> None:
        with self._lock:
            if _EMPTY in detail:
                self.state = "waiting"
            elif _GAP in detail:
                self.state = "broken"
            else:
                self.state = "error"
