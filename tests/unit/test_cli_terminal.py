"""Commands at a terminal: what asks first when a person types it, and never asks a script.

`circle remove` takes the start of a name; at a terminal it names who matched
and asks, and n removes nobody. Run in a real pseudo-terminal, as a person
types it.
"""

from __future__ import annotations

import os
import pty
import select
import sqlite3
import subprocess
import sys
import time

from tests.security.laptops import PASS, Laptops


def at_terminal(ward: Laptops, who: str, answer: str, *args: str) -> tuple[int, str]:
    """`circle ARGS` on ``who``'s laptop with a terminal for stdin, answering ``answer`` when asked; (exit code, what it showed)."""
    for s in ward.sessions.values():
        s.close()
    main, sub = pty.openpty()
    env = {**os.environ, "CIRCLE_HOME": str(ward.root / who.lower()), "CIRCLE_PASSPHRASE": PASS}
    p = subprocess.Popen([sys.executable, "-c", "from circle.cli import main; main()", *args], stdin=sub, stdout=sub, stderr=sub, env=env)
    os.close(sub)
    shown, answered, deadline = b"", False, time.monotonic() + 60
    poll = select.poll()  # not select(): a long test run holds descriptors past its limit of 1024
    poll.register(main, select.POLLIN)
    while time.monotonic() < deadline:
        ready = poll.poll(200)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        if not answered and b"[y/N]" in shown:
            os.write(main, answer.encode() + b"\r")
            answered = True
        if p.poll() is not None and not ready:
            break
    os.close(main)
    return p.wait(timeout=10), shown.decode(errors="replace")


def test_remove_at_a_terminal_names_who_matched_and_asks_first(ward: Laptops):
    code, shown = at_terminal(ward, "Ana", "n", "remove", "Ward", "be")
    assert "Remove Ben (peer) from Ward educators? They will read nothing written after [y/N]" in shown, shown
    assert code == 2 and "nobody was removed" in shown
    assert "(3 members)" in ward.cli("Ana", "cohorts").stdout  # Ben is still one
    code, shown = at_terminal(ward, "Ana", "y", "remove", "Ward", "be")
    assert code == 0 and "Removed Ben." in shown, shown
    assert "(2 members)" in ward.cli("Ana", "cohorts").stdout


def test_a_script_is_never_asked(ward: Laptops):
    r = ward.cli("Ana", "remove", "Ward", "Cleo")  # no terminal: nothing asked, as before
    assert r.exit_code == 0 and "[y/N]" not in r.output and "Removed Cleo." in r.stdout, r.output


def rows(journal) -> int:
    with sqlite3.connect(journal) as db:
        return db.execute("SELECT count(*) FROM envelopes").fetchone()[0]


def test_a_removed_member_is_told_and_writes_nothing(ward: Laptops):
    """Removed, Cleo's commands said "Sent" and "written but does not show": what she wrote reached nobody."""
    ward.svc("Ana").remove(ward.id("Cleo"))
    ward.sync()
    journal = ward.journals_of("Cleo")[0]
    before = rows(journal)
    for args in (("dyad", "send", "Ward", "Ana", "am I removed?"), ("agenda", "add", "Ward", "Rostering")):
        r = ward.cli("Cleo", *args)
        assert r.exit_code != 0 and r.stderr.startswith("circle: you were removed from this cohort"), r.output
        assert r.stderr.count("\n") == 1 and "Sent" not in r.stdout
    assert rows(journal) == before
    r = ward.cli("Cleo", "note", "add", "Ward", "What I learnt here.")  # a note only she reads is still hers to write
    assert r.exit_code == 0, r.output
    assert "(2 members) · you were removed: you read nothing written since" in ward.cli("Cleo", "cohorts").stdout
    store = ward.store("Cleo")
    with store.lock:
        assert ("", "you were removed from this cohort: you read nothing written since, and what you write reaches nobody.") in store.trouble()
