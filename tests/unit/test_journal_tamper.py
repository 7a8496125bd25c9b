"""Bit flips and truncations of a journal *file*: SQLite pages around the envelopes, read the way a follower reads them.

tests/unit/test_mutations.py mutates envelopes; here the mutants are whole
journal files (the sample journal of that module, written by the real
:class:`Journal`), damaged anywhere: in SQLite's header, its b-tree pages,
the row records (seq, blob length) and the envelopes inside them. Each mutant
is read through :func:`read_rows` and :func:`check_chain`, as ingest does. A
mutant is *accepted* when the chain accepts a row that is not one of the
originals (a changed event would be opened and folded), or when reading it
raises anything but circle's own error (a traceback). Both must never happen.
Rows that survive unchanged are fine: that damage touched nothing circle reads.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from circle.errors import CircleError
from circle.store.chain import check_chain
from circle.store.db import JOURNAL_PAGE_SIZE
from circle.store.journal import Journal, read_rows
from tests.figures import record, scale
from tests.unit.test_mutations import JID, ROWS, VERIFIER

PAGE = JOURNAL_PAGE_SIZE  # what a new journal is written with


@pytest.fixture(scope="module")
def journal_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The sample journal (5 envelopes, one of them 1.5 KB) as a checkpointed SQLite file."""
    path = tmp_path_factory.mktemp("journal") / "journal.db"
    j = Journal(path, JID)
    for batch in ([ROWS[0]], ROWS[1:4], [ROWS[4]]):
        j.append([lambda seq, prev, sign, blob=r.blob: blob for r in batch])
    j.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path.read_bytes()


ORIGINAL = {(r.seq, r.blob) for r in ROWS}


def spans(raw: bytes, blob: bytes) -> list[tuple[int, int]]:
    """Where ``blob``'s bytes lie in the file, as (offset, length): a row's first bytes sit in its
    leaf page and the rest in overflow pages when the envelope is longer than a page keeps."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(blob):
        at = raw.find(blob[i : i + 31])  # 31 bytes reach past the seq: one place per row
        assert at >= 0, "an envelope's bytes are not in the file"
        n = 0
        while i + n < len(blob) and at + n < len(raw) and raw[at + n] == blob[i + n]:
            n += 1
        out.append((at, n))
        i += n
    return out


def verdict(path: Path, raw: bytes) -> tuple[bool, int]:
    """(accepted, rows accepted) for a journal file holding ``raw``."""
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(raw)
    try:
        rows = list(read_rows(path))
    except CircleError:
        return False, 0
    except Exception:  # noqa: BLE001 - a traceback to the person: counted as accepted, and the test fails
        return True, 0
    try:
        res = check_chain(rows, journal_id=JID, verifier=VERIFIER)
    except CircleError:
        return False, 0
    except Exception:  # noqa: BLE001
        return True, 0
    return any((c.seq, c.blob) not in ORIGINAL for c in res.accepted), len(res.accepted)


def test_the_sample_journal_reads_whole(journal_file: bytes, tmp_path: Path) -> None:
    assert int.from_bytes(journal_file[16:18], "big") == PAGE  # the page size in SQLite's header
    assert len(journal_file) % PAGE == 0 and len(journal_file) >= 2 * PAGE
    assert verdict(tmp_path / "j.db", journal_file) == (False, 5)  # the oracle says yes to the original


def test_bit_flips_and_truncations_of_journal_pages_are_never_accepted(journal_file: bytes, tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    bits = len(journal_file) * 8
    rng = random.Random(16)
    # Short tier: a seeded sample of the file's bits, and every bit of the bytes the envelopes occupy
    # (where a flip reaches what circle reads). Full tier: every bit of the file.
    where = [at + i for r in ROWS for at, n in spans(journal_file, r.blob) for i in range(n)]
    assert len(where) == sum(len(r.blob) for r in ROWS)
    envelope_bits = {at * 8 + b for at in where[:: scale(7, 1)] for b in range(8)}
    chosen = sorted(set(range(bits)) if scale(0, 1) else envelope_bits | set(rng.sample(range(bits), 3000)))
    flips = accepted = survived = 0
    for n in chosen:
        m = bytearray(journal_file)
        m[n // 8] ^= 1 << (n % 8)
        ok, kept = verdict(path, bytes(m))
        flips += 1
        accepted += ok
        survived += kept == 5
    record("tamper", "journal file: bit flips (SQLite pages and rows)", mutants_tried=flips, mutants_accepted=accepted)
    cuts = cut_accepted = 0
    for n in range(0, len(journal_file), scale(64, 1)):
        ok, _ = verdict(path, journal_file[:n])
        cuts += 1
        cut_accepted += ok
    record("tamper", "journal file: truncations", mutants_tried=cuts, mutants_accepted=cut_accepted)
    print(f"\njournal file mutants: {flips} flips ({survived} left all five rows as they were), {cuts} truncations; accepted {accepted + cut_accepted}")
    assert accepted == 0 and cut_accepted == 0
    assert survived < flips  # the flips reached what circle reads


def test_a_page_zeroed_or_two_pages_swapped_is_never_accepted(journal_file: bytes, tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    pages = len(journal_file) // PAGE
    tried = accepted = 0
    for p in range(pages):
        m = bytearray(journal_file)
        m[p * PAGE : (p + 1) * PAGE] = bytes(PAGE)
        tried += 1
        accepted += verdict(path, bytes(m))[0]
        for q in range(p + 1, pages):
            m = bytearray(journal_file)
            m[p * PAGE : (p + 1) * PAGE], m[q * PAGE : (q + 1) * PAGE] = journal_file[q * PAGE : (q + 1) * PAGE], journal_file[p * PAGE : (p + 1) * PAGE]
            tried += 1
            accepted += verdict(path, bytes(m))[0]
    record("tamper", "journal file: pages zeroed or swapped", mutants_tried=tried, mutants_accepted=accepted)
    assert accepted == 0
