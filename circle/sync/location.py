"""Replica locations: a folder, an SFTP box or an S3-compatible bucket.

A cohort has one location; each journal replicates to its own random path
under it, so no cohort, person or role name ever appears in the store.
Credentials live in the keystore with the location, never in plain files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse, urlsplit

from circle.errors import UsageError
from circle.paths import default_replica
from circle.store.cohort import CohortStore
from circle.store.session import Session
from circle.sync.litestream import Replica, folder_of
from circle.sync.litestream.config import private_dir

REACHED = "reached.json"  # in the identity's sync folder: when each cohort's location last answered (see last_reached)
MARKER = ".circle-replica"  # in a folder location: this is the drive or share, not the empty mount point under it
FIELDS = ("url", "endpoint", "region", "access_key_id", "secret_access_key", "force_path_style", "key_path", "host_key", "password", "ca_bundle")


def default_location(home: Path) -> dict[str, Any]:
    """The embedded default: a folder inside the home (one laptop, or a start before choosing)."""
    return {"url": str(default_replica(home))}


def replica_of(location: dict[str, Any]) -> Replica:
    """A stored replica location (see :func:`parse_location`) as a litestream Replica."""
    return Replica(**{k: v for k, v in location.items() if k in Replica.__dataclass_fields__})


def replica_for(session: Session, store: CohortStore) -> Replica:
    """The replica location of a cohort as a litestream Replica (the home folder by default)."""
    return replica_of(store.entry.replica or default_location(session.home.root))


def parse_location(url: str, **options: Any) -> dict[str, Any]:
    """Check a replica URL and its options; returns what the keystore keeps.

    The check is :class:`~circle.sync.litestream.Replica`'s, the one place
    that knows what Litestream can use. A folder is kept as an absolute path;
    an SFTP password written in the URL is kept in its own field. S3 endpoints
    use path-style addressing unless ``force_path_style=False`` is given.

    Raises:
        UsageError: the location or an option is not usable, with what to give instead.
    """
    url = url.strip()
    if not url:
        raise UsageError("no replica location", "give a folder, sftp://user@host/path or s3://bucket/path")
    loc: dict[str, Any] = {k: v for k, v in options.items() if k in FIELDS and v not in (None, "")}
    parsed = urlsplit(url)
    if parsed.scheme != "s3" and "force_path_style" in loc:
        raise UsageError("path-style or virtual-host addressing is for S3 locations", "leave out --path-style and --virtual-host")
    if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # "C:\\x" on Windows
        url = str(Path(unquote(parsed.path) if parsed.scheme == "file" else url).expanduser().resolve())
    elif parsed.scheme == "s3":
        loc.setdefault("force_path_style", bool(loc.get("endpoint")))
    replica = Replica(**{**loc, "url": url})
    loc["url"] = replica.url
    if replica.password:
        loc["password"] = replica.password
    return loc


def check_placement(session: Session, location: dict[str, Any]) -> None:
    """Refuse a folder location inside the home or inside a journal's replica folder (an SFTP or S3 location passes).

    The home holds the keystore and the journals: a replica there is shared
    with them, or lost with the laptop; its own folder (the default location)
    is the one exception. A journal's replica folder is Litestream's alone: a
    location inside it is deleted with it when that journal is healed. The
    journals are every cohort's of this identity, wherever their locations
    are folders.

    Raises:
        UsageError: the folder is one of those, with where to choose instead (nothing is saved).
    """
    folder = folder_of(replica_of(location))
    if folder is None:
        return
    folder, home = Path(folder).resolve(), session.home.root.resolve()  # a folder location is kept resolved (parse_location)
    if folder.is_relative_to(home) and folder != default_replica(home):
        raise UsageError("the replica cannot be inside your circle home", f"{folder} is in {home}, with your keys and journals: choose a folder outside it")
    for cid in session.cohort_ids():
        store = session.store(cid)
        base = folder_of(replica_for(session, store))
        if base is None:
            continue
        paths = {j.replica_path for j in store.known_journals().values()} | {p for m in store.view.members(include_removed=True) for _, p in m.journals}
        for journal in (base.resolve() / p for p in sorted(paths | {store.entry.replica_path}) if p):
            if folder.is_relative_to(journal):
                raise UsageError("the replica cannot be inside a journal's replica", f"{journal} is one: choose its location {base} or a folder beside it")


def describe(loc: dict[str, Any] | None) -> str:
    """Where a cohort replicates, for people: never with credentials."""
    if not loc:
        return "not set"
    parsed = urlparse(loc["url"])
    if parsed.scheme == "sftp":
        return f"sftp://{parsed.username}@{parsed.hostname}{':' + str(parsed.port) if parsed.port else ''}{parsed.path}"
    if parsed.scheme == "s3":
        return loc["url"] + (f" at {loc['endpoint']}" if loc.get("endpoint") else "")
    return loc["url"]


def folder_marked(folder: Path) -> bool:
    """Whether ``folder`` is a circle folder location that is there: its marker file is.

    A pulled USB stick or an unmounted share leaves nothing or an empty mount
    point behind, and Litestream would create its folders again there on the
    local disk; circle's marker is not among them.
    """
    return os.path.isfile(Path(folder) / MARKER)


def mark_folder(folder: Path) -> None:
    """Make ``folder`` (and its parents) a circle folder location: circle reaches it from now on."""
    folder = private_dir(Path(folder))  # folders circle makes are 0700 whatever the umask
    marker = folder / MARKER
    if not marker.exists():
        with contextlib.suppress(FileExistsError), open(marker, "x", encoding="utf-8", opener=_private) as f:
            f.write("A circle replica location: encrypted journals only. Keep this file with the folder.\n")


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _digest(loc: dict[str, Any] | None) -> str:
    return hashlib.sha256(describe(loc).encode()).hexdigest()[:16]


def last_reached(sync_dir: Path, cohort: str, loc: dict[str, Any] | None) -> float:
    """When this identity last reached ``cohort``'s location ``loc`` (any process, local clock); 0 if never or unknown.

    Setting a location counts: it answered then, or the person kept it out
    of reach with ``--offline-ok``. The record is only about that location:
    one chosen since starts at 0.
    """
    try:
        with open(Path(sync_dir) / REACHED, encoding="utf-8") as f:
            entry = json.load(f).get("cohorts", {}).get(cohort)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == _digest(loc):
            return float(entry[1])
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    return 0.0


def note_reached(sync_dir: Path, reached: dict[str, tuple[dict[str, Any] | None, float]]) -> None:
    """Record that each cohort's location (cohort -> (location, when)) answered; kept for :func:`last_reached`.

    The file holds cohort ids, a digest of each location and times, nothing
    else; it is replaced atomically. A failure to write it loses only the
    "offline since" of a later command, so it is ignored.
    """
    if not reached:
        return
    folder = Path(sync_dir)
    path = folder / REACHED
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        cohorts = data.get("cohorts", {}) if isinstance(data, dict) else {}
    except (OSError, ValueError):
        cohorts = {}
    if not isinstance(cohorts, dict):
        cohorts = {}
    for cohort, (loc, when) in reached.items():
        cohorts[cohort] = [_digest(loc), when]
    tmp = folder / f".{REACHED}.{secrets.token_hex(4)}"
    with contextlib.suppress(OSError):
        private_dir(folder)
        try:
            with open(tmp, "x", encoding="utf-8", opener=_private) as f:
                json.dump({"version": 1, "cohorts": cohorts}, f)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
