"""A cohort's front page: what the home screen showed of it when circle last closed, sealed, so the next start paints it at once.

Opening a big cohort (its snapshot, then what came after it) takes seconds;
the home screen's line for it needs a few hundred bytes. So when the session
closes it also writes, beside the snapshot, the line the home screen would
show now (the page, plain data the screen made), sealed with the same local
key as the snapshot and bound to

- the cohort and the member (the seal's context),
- the snapshot on disk at that moment (:func:`snapshot.stamp`: a digest of
  its clear header and sealed first frame, which carries a fresh nonce on
  every write),
- the verified head of every journal of the cohort in the keystore, and the
  newest seq in each journal's file on this device.

On the next start :func:`load` opens it in milliseconds. A page whose seal,
version, cohort or snapshot does not match is ignored (the normal path runs:
"Opening a cohort…"). If the keystore's heads or the journal files moved
since it was written, it is still returned, with ``moved`` set, so the
screen can show it as what it was, marked as being brought up to date.
Nothing here is trusted beyond the snapshot: it is local and never
replicated, and it is replaced by the real line as soon as the cohort is
folded. docs/FORMAT.md, "Front page", has the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from circle.crypto import sealed
from circle.crypto.keystore import atomic_write
from circle.errors import InvalidEnvelope
from circle.store import snapshot
from circle.store.journal import last_seq
from circle.store.vault import Vault

MAGIC = b"CRCLFRN1"
LABEL = b"circle/v1/front-page"
VERSION = 2  # 2: the page holds the cohort screen's and the meeting room's first paint too
MAX_BYTES = 256 * 1024  # a page is a few KB; anything bigger is not one


@dataclass(frozen=True)
class Front:
    """A front page that opened.

    Attributes:
        page: what the screen gave :func:`save` (plain JSON data; the screen checks it again).
        written: when it was written (the session's clock).
        moved: the journals moved since it was written (keystore heads or files): it is no longer the whole truth.
    """

    page: dict[str, Any]
    written: float
    moved: bool


def path_of(root: Path, cohort_id: str) -> Path:
    """Where a cohort's front page is: beside its snapshot."""
    return root / "snapshots" / f"{cohort_id}.front"


def _context(cohort_id: str, member: str) -> bytes:
    return bytes.fromhex(cohort_id) + bytes.fromhex(member)


def journal_file(root: Path, vault: Vault, cohort_id: str, jid: str) -> Path:
    """A journal's file on this device, by the rule of :meth:`CohortStore.journal_path` (own journals, then peers' copies)."""
    entry = vault.cohort(cohort_id)
    if jid == entry.journal or jid in entry.retired:
        return root / "journals" / f"{jid}.db"
    return root / "peers" / f"{jid}.db"


def where_journals_are(root: Path, vault: Vault, cohort_id: str) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """The keystore's verified head of each journal of the cohort, and the newest seq of each journal's file here."""
    heads = {jid: [j.seq, j.hash.hex()] for jid, j in vault.journals_of(cohort_id).items()}
    files = {jid: last_seq(journal_file(root, vault, cohort_id, jid)) for jid in heads}
    return heads, files


def save(root: Path, vault: Vault, cohort_id: str, member: str, page: Mapping[str, Any], written: float) -> None:
    """Seal ``page`` for this cohort and member, bound to the snapshot on disk now and to where the journals are now."""
    heads, files = where_journals_are(root, vault, cohort_id)
    doc = {
        "v": VERSION,
        "written": written,
        "snapshot": snapshot.stamp(snapshot.path_of(root, cohort_id)),
        "heads": heads,
        "files": files,
        "page": dict(page),
    }
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    atomic_write(path_of(root, cohort_id), sealed.seal(vault.snapshot_key, MAGIC, LABEL, _context(cohort_id, member), data))


def load(root: Path, vault: Vault, cohort_id: str, member: str) -> Front | None:
    """The cohort's front page, or None if there is none or it does not belong with this snapshot (then it is ignored, silently)."""
    path = path_of(root, cohort_id)
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        blob = path.read_bytes()
        doc = json.loads(sealed.open_sealed(vault.snapshot_key, MAGIC, LABEL, _context(cohort_id, member), blob))
        if not isinstance(doc, dict) or doc.get("v") != VERSION or not isinstance(doc.get("page"), dict):
            return None
        if doc.get("snapshot") != snapshot.stamp(snapshot.path_of(root, cohort_id)):
            return None  # written beside another snapshot (or none): not this lineage
        heads, files = where_journals_are(root, vault, cohort_id)
        moved = doc.get("heads") != heads or {str(k): v for k, v in dict(doc.get("files") or {}).items()} != files
        return Front(doc["page"], float(doc["written"]), moved)
    except (OSError, InvalidEnvelope, ValueError, KeyError, TypeError, AttributeError):
        return None
