"""The replica location as a place to drop small files: the anonymous round's lines.

:mod:`circle.store.anonymous` decides what goes where and knows nothing of
Litestream; this gives it a :class:`~circle.store.anonymous.Drop` over a
cohort's replica location. A folder location is looked at directly (a stat per
slot); SFTP and S3 through Litestream, with the same bounded waits as journals.
"""

from __future__ import annotations

from pathlib import Path

from circle.errors import ReplicaOffline
from circle.store.cohort import CohortStore
from circle.store.session import Session
from circle.sync import litestream as ls
from circle.sync.location import folder_marked, mark_folder, replica_for


class ReplicaDrop:
    """A :class:`~circle.store.anonymous.Drop` over one cohort's replica location.

    Raises:
        ReplicaOffline: a folder location that is not there (a stick pulled out), before anything is written.
    """

    def __init__(self, session: Session, store: CohortStore) -> None:
        self.replica = replica_for(session, store)
        self.folder = ls.folder_of(self.replica)
        if self.folder is not None and not folder_marked(self.folder):
            if not store.entry.replica:
                mark_folder(self.folder)  # the home's own folder: its first use makes it circle's, as sync does
                return
            hint = f"{self.folder}: plug in the drive or mount the share, then try again; or run 'circle sync --once' once for a new home"
            raise ReplicaOffline("replica folder not found", hint)

    def exists(self, name: str) -> bool:
        if self.folder is not None:
            return (self.folder / name).is_dir()
        return ls.latest_txid(self.replica.child(name)) is not None

    def fetch(self, name: str, out: Path) -> bool:
        return ls.restore(self.replica.child(name), out, txid=1)  # the first file shipped there (see Drop.fetch)

    def push(self, db: Path, name: str) -> None:
        ls.replicate_once(db, self.replica.child(name))
