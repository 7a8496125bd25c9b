"""The local snapshot of a cohort: its verified events, sealed, so that opening is fast.

Opening a big cohort would otherwise walk and decrypt every journal. The
snapshot is sealed with a key that never leaves the keystore
(:mod:`circle.crypto.sealed`), lives under ``snapshots/`` and is never
replicated. It records the verified head of every journal it covers; an
opener folds only what came after those heads. Plain JSON, no pickle: a
snapshot is data, never code.

It is written and read in frames of :data:`FRAME_EVENTS` events, each sealed
on its own and bound to its place, so neither writing nor reading ever holds
the whole file, its plaintext and its decoded JSON at once beside the
events themselves (at 100k events that was about 200 MB on top of the view).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from circle.crypto import sealed
from circle.crypto.keystore import atomic_write
from circle.errors import InvalidEnvelope
from circle.models.events import Event, Later, Shared, text_of
from circle.store.texts import Unreadable

MAGIC = b"CRCLSNP3"
LABEL = b"circle/v1/snapshot"
VERSION = 8  # 8: frames of 500 events; 7: notes' text left in the journals; 6: roster-class events opened with an epoch's own key; 5: sealed in frames; 4: the peer of each private channel event
SAVE_AFTER = 2000  # events folded on a cold open before a snapshot is worth writing
FRAME_EVENTS = 500  # events per sealed frame
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class Snapshot:
    """What a snapshot holds.

    Attributes:
        heads: journal id -> (seq, hash hex) verified when it was written.
        events: every event it covers, from every scope held.
        peers: for each private channel event, the other member of its channel (as its key says here).
        opaque: envelopes verified that the view does not fold (journal, seq, envelope id): citations may name them.
        whole: roster-class events opened with an epoch's own key (event id, key id): see View.note_sealed_whole.
    """

    heads: dict[str, tuple[int, str]]
    events: list[Event]  # as written: any iterable, with ``save``'s count; as read by :func:`stream`: read once, as it is iterated
    peers: dict[str, str] = field(default_factory=dict)
    opaque: list[tuple[str, int, str]] = field(default_factory=list)  # envelopes the view does not fold: (journal, seq, id)
    whole: list[tuple[str, str]] = field(default_factory=list)  # roster-class events opened with an epoch's own key: (event id, key id)


def _context(cohort_id: str, index: int, frames: int) -> bytes:
    """What a frame is bound to: its cohort, its place and how many frames there are (no frame moves or goes missing unnoticed)."""
    return bytes.fromhex(cohort_id) + struct.pack(">II", index, frames)


def _frames(key: bytes, cohort_id: str, snap: Snapshot, texts_of: Collection[str], count: int) -> Iterator[bytes]:
    events = iter(snap.events)
    frames = 1 + (count + FRAME_EVENTS - 1) // FRAME_EVENTS
    head = {
        "v": VERSION,
        "heads": {jid: [seq, digest] for jid, (seq, digest) in snap.heads.items()},
        "peers": snap.peers,
        "opaque": [list(o) for o in snap.opaque],
        "whole": [list(w) for w in snap.whole],
        "events": count,
    }
    yield MAGIC + struct.pack(">I", frames)  # in the clear, and bound into every frame
    for index in range(frames):
        if index == 0:
            doc: Any = head
        else:
            doc = [_record(e, texts_of) for e in islice(events, FRAME_EVENTS)]
            if len(doc) != min(FRAME_EVENTS, count - (index - 1) * FRAME_EVENTS):
                raise ValueError("snapshot: fewer events than counted")
        blob = sealed.seal(key, b"", LABEL, _context(cohort_id, index, frames), json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())
        yield _LENGTH.pack(len(blob)) + blob
    if next(events, None) is not None:
        raise ValueError("snapshot: more events than counted")


def _record(e: Event, texts_of: Collection[str]) -> list[Any]:
    """An event as a frame holds it; a text left in its journal (:class:`Later`) is not written, and a last ``1`` says so,
    unless it is a note of one of the meetings ``texts_of`` (written as it was said) and was read back: a text that
    could not be (:class:`circle.store.texts.Unreadable`) stays left, read again next time."""
    body, deps = e.body, [list(d) for d in e.deps]
    if type(body.get("text")) is Later:
        if body.get("meeting") in texts_of and not isinstance(said := str(text_of(e)), Unreadable):  # never the line for a text not read back
            return [e.id, e.journal, e.seq, e.kind, e.cohort, e.author, e.lamport, e.ts, {**body, "text": said}, deps]
        return [e.id, e.journal, e.seq, e.kind, e.cohort, e.author, e.lamport, e.ts, {k: v for k, v in body.items() if k != "text"}, deps, 1]
    return [e.id, e.journal, e.seq, e.kind, e.cohort, e.author, e.lamport, e.ts, body, deps]


def path_of(root: Path, cohort_id: str) -> Path:
    """Where a cohort's snapshot is under an identity's folder."""
    return root / "snapshots" / f"{cohort_id}.snap"


def stamp(path: Path) -> str:
    """What tells this snapshot file from any other: SHA-256 of its clear header and sealed first frame ("" if there is none).

    Every write seals frame 0 with a fresh nonce, so two writes never share a
    stamp; reading it costs the first frame's bytes, no decryption.
    """
    try:
        with path.open("rb") as f:
            start = f.read(len(MAGIC) + 4 + _LENGTH.size)
            if len(start) != len(MAGIC) + 4 + _LENGTH.size:
                return ""
            frame = f.read(_LENGTH.unpack(start[-_LENGTH.size :])[0])
    except OSError:
        return ""
    return hashlib.sha256(start + frame).hexdigest()


def save(path: Path, key: bytes, cohort_id: str, snap: Snapshot, texts_of: Collection[str] = (), count: int | None = None) -> None:
    """Seal and write a snapshot atomically (mode 0600), one frame at a time; ``count``: how many events ``snap.events``
    gives, where it is not a list (the view's events are made one at a time as they are written, not held in one list).

    ``texts_of``: meetings whose notes keep their text in the snapshot (the
    ones a screen is about to show), so opening their room reads no journal.
    """
    atomic_write(path, _frames(key, cohort_id, snap, texts_of, len(snap.events) if count is None else count))


def _frame(f: IO[bytes], key: bytes, cohort_id: str, index: int, frames: int) -> Any:
    size = f.read(_LENGTH.size)
    if len(size) != _LENGTH.size:
        raise ValueError("snapshot cut short")
    blob = f.read(_LENGTH.unpack(size)[0])
    return json.loads(sealed.open_sealed(key, b"", LABEL, _context(cohort_id, index, frames), blob))


class Damaged(ValueError):
    """A snapshot found damaged, foreign or out of date while its events were read (:func:`stream`); it was deleted."""


_BAD = (OSError, InvalidEnvelope, ValueError, KeyError, TypeError, AttributeError)


def stream(path: Path, key: bytes, cohort_id: str, elsewhere: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None) -> Snapshot | None:
    """The snapshot at ``path`` with its events read as they are iterated, a frame at a time; None if there is none or its
    first frame cannot be used.

    The events can be iterated once, and must be, to the end: a frame found
    damaged there raises :class:`Damaged`, so whoever folds them starts again
    from the journals. Nothing holds every event read at once (a view may
    keep most notes as columns, not objects: :mod:`circle.models.places`).
    ``elsewhere`` gives the body to hold for an event (its kind, its body as
    written here) whose text was left in its journal
    (:meth:`circle.store.texts.Texts.left_body`): a snapshot that left texts
    there cannot be used without it.
    A damaged or foreign snapshot is deleted: it costs a slower open, nothing more.
    """
    try:
        f = path.open("rb")
    except OSError:
        return None
    try:
        start = f.read(len(MAGIC) + 4)
        if start[: len(MAGIC)] != MAGIC or len(start) != len(MAGIC) + 4:
            raise ValueError("not a snapshot of this version")
        frames = struct.unpack(">I", start[len(MAGIC) :])[0]
        head = _frame(f, key, cohort_id, 0, frames)
        n = head["events"]
        if head.get("v") != VERSION or frames != 1 + (n + FRAME_EVENTS - 1) // FRAME_EVENTS:
            raise ValueError("snapshot version")
        heads = {str(j): (int(s), str(h)) for j, (s, h) in head["heads"].items()}
        peers = {str(i): str(p) for i, p in head["peers"].items()}
        opaque = [(str(j), int(s), str(i)) for j, s, i in head["opaque"]]
        whole = [(str(i), str(k)) for i, k in head["whole"]]
    except _BAD:
        f.close()
        path.unlink(missing_ok=True)
        return None
    return Snapshot(heads, _Frames(f, _events(f, path, key, cohort_id, frames, n, elsewhere)), peers, opaque, whole)  # type: ignore[arg-type]


class _Frames:
    """A streamed snapshot's events: iterated once; :meth:`close` lets the file go if they are not wanted after all."""

    def __init__(self, f: IO[bytes], events: Iterator[Event]) -> None:
        self._f, self._events = f, events

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def close(self) -> None:
        self._events.close()
        self._f.close()


def _events(
    f: IO[bytes], path: Path, key: bytes, cohort_id: str, frames: int, n: int, elsewhere: Callable[[str, dict[str, Any]], dict[str, Any]] | None
) -> Iterator[Event]:
    shared = Shared()
    named: set[int] = set()
    count = 0
    try:
        with f:
            for index in range(1, frames):
                for i, j, s, k, c, a, lam, ts, b, d, *left in _frame(f, key, cohort_id, index, frames):
                    if left:
                        if left != [1] or elsewhere is None or "text" in b:
                            raise ValueError("snapshot names a text it cannot say where to read")
                        b = elsewhere(str(k), b)
                        if id(b) not in named:  # one body for a meeting's notes under one item: its names shared once
                            named.add(id(b))
                            shared.names(b)
                    elif type(b) is dict:
                        shared.names(b)
                    deps = tuple((str(x), int(y), str(z)) for x, y, z in d) if d else ()  # most events cite nothing: no generator for them
                    count += 1
                    yield shared.event(str(i), str(j), int(s), str(k), str(c), str(a), int(lam), float(ts), b, deps)
            if count != n or f.read(1):
                raise ValueError("snapshot holds more or less than it says")
    except _BAD as exc:
        path.unlink(missing_ok=True)
        raise Damaged(str(exc)) from None


def load(path: Path, key: bytes, cohort_id: str, elsewhere: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None) -> Snapshot | None:
    """The snapshot at ``path`` with every event read (:func:`stream`), or None if there is none or it cannot be used."""
    snap = stream(path, key, cohort_id, elsewhere)
    if snap is None:
        return None
    try:
        return Snapshot(snap.heads, list(snap.events), snap.peers, snap.opaque, snap.whole)
    except Damaged:
        return None
