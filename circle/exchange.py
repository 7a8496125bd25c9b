"""The replica as a mailbox for joining with a short code: fetch, look for and push one journal by its path.

:mod:`circle.store.joining` runs the exchange and knows nothing of Litestream;
this module gives it a :class:`~circle.store.joining.Mailbox` over the sync
layer. The CLI and the app hand it in, as they hand admitting a fetcher.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from circle.errors import ReplicaOffline
from circle.paths import default_replica
from circle.store.session import Session
from circle.sync import litestream as ls
from circle.sync.location import folder_marked, mark_folder
from circle.sync.service import replica_of


class ReplicaMailbox:
    """A :class:`~circle.store.joining.Mailbox` over the replica locations Litestream reaches.

    Args:
        session: the unlocked identity the exchange runs for.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def fetch(self, location: dict[str, Any], path: str, out: Path) -> bool:
        return ls.restore(replica_of(location).child(path), out)

    def exists(self, location: dict[str, Any], path: str) -> bool:
        return ls.latest_txid(replica_of(location).child(path)) is not None

    def push(self, location: dict[str, Any], db: Path, path: str) -> None:
        """Ship ``db`` to ``path`` at the location.

        Raises:
            ReplicaOffline: a folder location without circle's marker (a stick pulled out, a share not mounted, a
                folder renamed): shipping would make it again on the local disk, where nobody else looks. Only the
                home's own folder is made on first use, as sync makes it.
        """
        replica = replica_of(location)
        folder = ls.folder_of(replica)
        if folder is not None and not folder_marked(folder):
            if Path(folder).resolve() != default_replica(self.session.home.root):
                raise ReplicaOffline("replica folder not found", f"{folder}: plug in the drive or mount the share")
            mark_folder(folder)
        ls.replicate_once(db, replica.child(path))
