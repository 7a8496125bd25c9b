"""The Replicator: one ``litestream replicate`` process for the databases of one replica location."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from circle.errors import NotFound, SyncError
from circle.sync.litestream import commands
from circle.sync.litestream.binary import litestream_env
from circle.sync.litestream.commands import ANSWER_TIMEOUT, ONE_OFF_TIMEOUT
from circle.sync.litestream.config import DEFAULT_INTERVAL, _duration, config_name, write_config
from circle.sync.litestream.ltx import Listing, _new_level0_damaged, _only_grew
from circle.sync.litestream.replica import Replica
from circle.sync.litestream.supervised import _Supervised


class Replicator(_Supervised):
    """Supervises one ``litestream replicate`` process for the databases of ONE location.

    Litestream exits at start if any SFTP replica in its config is unreachable,
    so give each replica location its own Replicator. The process is started
    again with backoff (0.5 s doubling to 15 s) whenever it dies.

    Litestream re-reads each database's WAL header and newest LTX file at every
    monitor tick, so a quiet database costs CPU in proportion to how often it
    is watched: databases outside ``busy`` are watched every ``idle_interval``.

    Args:
        dbs: (database, replica) pairs; each database has exactly one writer: us.
        config_dir: where the config (mode 0600) lives while running; a private
            temporary folder if None. The config is removed on stop.
        monitor_interval: how often Litestream looks for new commits and ships
            them, for the databases in ``busy`` (this sets the lag).
        idle_interval: the same for the other databases; ``monitor_interval`` if None.
        busy: the databases written to right now; all of them if None.
    """

    def __init__(
        self,
        dbs: Iterable[tuple[Path, Replica]] = (),
        *,
        config_dir: Path | None = None,
        monitor_interval: float | str = DEFAULT_INTERVAL,
        idle_interval: float | str | None = None,
        busy: Collection[Path] | None = None,
    ) -> None:
        super().__init__(config_dir)
        self.monitor_interval = _duration(monitor_interval)
        self.idle_interval = _duration(idle_interval) if idle_interval is not None else self.monitor_interval
        self._dbs: list[tuple[Path, Replica]] = [(Path(os.path.abspath(db)), r) for db, r in dbs]
        self._busy = _abs_set(busy)
        self._whole: dict[Path, Listing] = {}  # replica contents last checked whole
        self._config_name = config_name("replicate")  # one per Replicator: several share the identity's sync folder
        litestream_env(*(r for _, r in self._dbs))  # refuse mixed CA bundles early

    @property
    def dbs(self) -> list[tuple[Path, Replica]]:
        """The (database, replica) pairs being replicated."""
        with self._lock:
            return list(self._dbs)

    @property
    def config_path(self) -> Path | None:
        """The config file of the running process (no credentials in it), or None before start."""
        return None if self._dir is None else self._dir / self._config_name

    def _config_path(self) -> Path:
        assert self._dir is not None
        return self._dir / self._config_name

    def _replicas(self) -> list[Replica]:
        return [r for _, r in self._dbs]

    def _command(self) -> list[Any] | None:
        if not self._dbs:
            return None
        return ["replicate", "-config", self._config_path()]

    def _intervals(self, dbs: list[tuple[Path, Replica]], busy: frozenset[Path] | None) -> dict[Path, str]:
        return {db: self.monitor_interval if busy is None or db in busy else self.idle_interval for db, _ in dbs}

    def _prepare(self) -> None:
        write_config(self._config_path(), self._dbs, intervals=self._intervals(self._dbs, self._busy))

    def _cleanup(self) -> None:
        if self._dir is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._config_path())

    def set_dbs(self, dbs: Iterable[tuple[Path, Replica]], busy: Collection[Path] | None = None) -> None:
        """Replace the databases and which of them are busy; restarts the process only if its config changes."""
        new = [(Path(os.path.abspath(db)), r) for db, r in dbs]
        new_busy = _abs_set(busy)
        litestream_env(*(r for _, r in new))
        with self._lock:
            if new == self._dbs and self._intervals(new, new_busy) == self._intervals(self._dbs, self._busy):
                self._busy = new_busy
                return
            running = self._thread is not None
            if not running:
                self._dbs, self._busy = new, new_busy
                return
        with self._paused():
            with self._lock:
                self._dbs, self._busy = new, new_busy

    def heal(self, db: Path, *, timeout: float = ONE_OFF_TIMEOUT) -> None:
        """Pause replication, :func:`heal` the replica of ``db``, resume."""
        path = Path(os.path.abspath(db))
        with self._lock:
            replica = next((r for p, r in self._dbs if p == path), None)
            running = self._thread is not None
        if replica is None:
            raise NotFound("database is not replicated here", "add it to the replicator first")
        if not running:
            commands.heal(path, replica, timeout=timeout)
            return
        with self._paused():
            commands.heal(path, replica, timeout=timeout)
            self.last_error = None

    def heal_broken(self, *, timeout: float = ANSWER_TIMEOUT) -> list[Path]:
        """Check replicas with :func:`needs_heal` and heal those that need it.

        :func:`needs_heal` starts two processes, so a replica is checked again
        only if it changed since it last checked whole in a way its own
        Litestream would not change it (see :func:`_only_grew`): an idle or a
        busy service starts none, a pulled stick or a damaged file is caught.
        Returns the databases that were healed. A replica that cannot be read
        is skipped (its error is in ``last_error``).
        """
        healed = []
        for db, replica in self.dbs:
            try:
                seen = commands.fingerprint(replica, timeout=timeout)
                before = self._whole.get(db)
                if before is not None and _only_grew(before, seen) and not _new_level0_damaged(db, before, seen):
                    self._whole[db] = seen
                    continue
                if commands.needs_heal(replica, db, timeout=timeout):
                    self.heal(db, timeout=max(timeout, ONE_OFF_TIMEOUT))
                    healed.append(db)
                else:
                    self._whole[db] = seen
            except SyncError as exc:
                self.last_error = exc.line()
        return healed


def _abs_set(paths: Collection[Path] | None) -> frozenset[Path] | None:
    return None if paths is None else frozenset(Path(os.path.abspath(p)) for p in paths)
