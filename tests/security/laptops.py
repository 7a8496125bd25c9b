"""Several laptops of one cohort in one test, with journals carried between them by file copy.

The replica transport is exercised with the real Litestream in tests/sync;
here journals move by SQLite's backup API, as a USB stick would, so that a
test can decide exactly what each device has seen (concurrency, delivery
order). Every laptop runs real circle: real keystores, envelopes, journals
and folds. An altered client is a laptop that writes through
``CohortStore.record``/``commit`` directly, skipping the checks
:class:`CohortService` makes as a courtesy.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from circle.store import joining
from circle.store.cohort import CohortStore
from circle.store.keys import roster_key
from circle.store.service import CohortService
from circle.store.session import Home, Session
from tests.figures import record

PASS = "correct horse battery staple"
TALLY: dict[str, Counter] = {}  # attack -> {"tried": n, "accepted": n}, printed at the end of the run


def tally(attack: str, tried: int, accepted: int) -> None:
    """Count what a hostile-member test tried and what got through (must be 0)."""
    c = TALLY.setdefault(attack, Counter())
    c["tried"] += tried
    c["accepted"] += accepted
    record("hostile", attack, cases_tried=tried, cases_accepted=accepted)


def copy_db(src: Path, dst: Path) -> None:
    s, d = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        s.backup(d)
    finally:
        s.close()
        d.close()


def forked(store: CohortStore, meeting_id: str, text: str, dst: Path) -> Path:
    """The other branch of ``store``'s journal, written at ``dst`` as an altered client would: the same history up to its
    last event, then at that position another note on ``meeting_id`` saying ``text``, sealed and signed by the same author."""
    from circle.crypto import envelope
    from circle.models.events import encode_payload
    from circle.store.journal import Journal

    seq = store.written()
    copy_db(store.journal.path, dst)
    conn = sqlite3.connect(dst)
    try:
        conn.execute("DELETE FROM envelopes WHERE seq >= ?", (seq,))
        conn.commit()
    finally:
        conn.close()
    key = store.sealing_key()
    pt = encode_payload(
        kind="note.added",
        cohort=store.id,
        author=store.author.id,
        lamport=store.view.max_lamport,
        ts=0,
        body={"meeting": meeting_id, "text": text, "item": "", "kind": "note"},
    )
    j = Journal(dst, store.journal_id)
    try:
        j.append(
            [
                lambda s, p, sign: envelope.seal(
                    journal_id=store.journal_id, seq=s, prev=p, key_id=key.raw_id, key=key.secret, plaintext=pt, signer=store.author.signer if sign else None
                )
            ]
        )
    finally:
        j.close()
    return dst


def write_altered(svc: CohortService, payloads: list[bytes], roster: bool = False) -> None:
    """A member's altered client: each payload, byte for byte, sealed with the epoch's key (its roster key for
    ``roster``: what roster-class events are sealed with), signed and appended to the member's journal (the
    envelope and chain are sound; what the payload says is the attack)."""
    store = svc.store
    with store.lock:
        key = roster_key(store.entry.cohort_key) if roster else store.entry.cohort_key
        store.writer.append([(raw, key.raw_id, key.secret) for raw in payloads])
        store.vault.flush()


class Laptops:
    """People's laptops around one cohort; ``founder`` creates it."""

    def __init__(self, root: Path, founder: str, cohort_name: str = "Ward educators") -> None:
        self.root = root
        self.sessions: dict[str, Session] = {}
        self.add_person(founder)
        self.cid = self.sessions[founder].create_cohort(cohort_name).id

    def add_person(self, name: str) -> Session:
        s = Home(self.root / name.lower(), calibrate=False).create_identity(name, PASS)
        self.sessions[name] = s
        return s

    def svc(self, name: str) -> CohortService:
        return self.sessions[name].cohort(self.cid)

    def store(self, name: str) -> CohortStore:
        return self.svc(name).store

    def id(self, name: str) -> str:
        return self.sessions[name].id

    def join(self, name: str, role: str = "participant", by: str | None = None) -> None:
        """The real exchange: invite, join, admit; the request and the admission travel by file copy."""
        admitter = by or next(iter(self.sessions))
        newcomer = self.sessions.get(name) or self.add_person(name)
        inviter = self.svc(admitter)
        joined = joining.join(newcomer, joining.create_invite(self.sessions[admitter], inviter).code)
        mine = newcomer.store(joined.cohort_id)
        joining.admit(inviter, joined.join_code, lambda _store, _path, out: copy_db(mine.journal.path, out) or True, role=role)
        for path in self.journals_of(admitter):  # the admission and the wrapped keys reach the newcomer
            copy_db(path, mine.peer_dir() / path.name)
        mine.ingest()
        assert self.cid in newcomer.cohort_ids(), f"{name} was not admitted"
        self.deliver(name)

    def journals_of(self, name: str) -> list[Path]:
        st = self.store(name)
        return [st.journal_path(j) for j in [st.entry.journal, *st.entry.retired] if st.journal_path(j).exists()]

    def deliver(self, to: str, *senders: str) -> None:
        """Copy the senders' journals (everyone's but ``to``'s by default) to ``to``'s laptop and ingest them."""
        target = self.store(to)
        for who in senders or [n for n in self.sessions if n != to]:
            if self.cid not in self.sessions[who].cohort_ids():
                continue
            for path in self.journals_of(who):
                copy_db(path, target.peer_dir() / path.name)
        target.ingest()

    def cli(self, who: str, *args: str):
        """`circle ARGS` on ``who``'s laptop, as a person runs it there (every session here closed first: the keystore is theirs)."""
        from click.testing import CliRunner

        from circle.cli import main

        for s in self.sessions.values():
            s.close()
        return CliRunner().invoke(main, list(args), env={"CIRCLE_HOME": str(self.root / who.lower()), "CIRCLE_PASSPHRASE": PASS})

    def sync(self, *names: str) -> None:
        """Everyone among ``names`` (default: all) receives everyone else's journals, twice (what one learns another answers)."""
        people = [n for n in (names or self.sessions) if self.cid in self.sessions[n].cohort_ids()]
        for _ in range(2):
            for n in people:
                self.deliver(n, *[m for m in people if m != n])
