"""Exporting a year of a busy cohort in each format, against the target of issue 13 (under 1 s each).

The cohort: 12 members (a mentor, 9 peers, 2 participants) and 52 weekly
meetings, each held, with 6 agenda items, 12 notes and decisions of 150 to
600 characters, 4 actions (some ticked later), everyone's attendance and 3
anonymous-round lines. It is written as plain events (tests/cohort_log.py:
what honest clients write, no crypto) and folded into a View once, outside
the timings: opening a cohort is bench_journal's business.

Each timing is one whole export as `circle export` does it after unlocking:
read the summary from the view, render the format, write the file and sign
it (Ed25519 over the bytes). The first run (cold: fonts read, the CJK subset
cut) and the median of ``--repeat`` runs are printed with the file's size,
and PASS or MISS of the median against the target. Two members have names in
other scripts ("Ana Tūhoe", "李小龙"), so the PDF carries the CJK fallback font.

    python bench/bench_export.py [--repeat 5] [--meetings 52]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import TextGen, emit, result  # noqa: E402
from circle import export as ex  # noqa: E402
from circle.crypto.identity import Identity  # noqa: E402
from circle.export.signature import Signer  # noqa: E402
from circle.models.view import View  # noqa: E402
from tests.cohort_log import CohortLog  # noqa: E402

TARGET = 1.0
NAMES = [
    "Helen Okafor",
    "Amara Singh",
    "Tom Berg",
    "Lucia Romero",
    "Kwame Mensah",
    "Priya Nair",
    "Ana Tūhoe",
    "李小龙",
    "Zoë Ångström",
    "Omar Haddad",
    "Sam O'Neill",
    "Ngozi Eze",
]


def busy_year(meetings: int, seed: int = 13) -> View:
    rng = random.Random(seed)
    text = TextGen(seed)
    log = CohortLog("m", name="Northern Allied Health Circle")
    aliases = ["m"] + [f"p{i}" for i in range(9)] + ["a0", "a1"]
    roles = ["mentor"] + ["peer"] * 9 + ["participant"] * 2
    for alias, role in zip(aliases[1:], roles[1:], strict=True):
        log.admit(alias, role)
    for alias, name in zip(aliases, NAMES, strict=True):
        log.add(alias, "member.updated", {"member": alias, "name": name})
    log.add("m", "cohort.charter_set", {"purpose": text.text(300), "confidentiality": text.text(200), "feedback_norms": text.text(200)})
    open_actions: list[tuple[str, str]] = []
    for n in range(meetings):
        mid = f"meet{n:03d}"
        day = f"2025-{1 + n * 7 // 31 % 12:02d}-{1 + n * 7 % 28:02d}"
        log.add("m", "meeting.scheduled", {"meeting": mid, "at": f"{day} 18:00", "title": text.text(40)[:60], "minutes": 60})
        for k in range(6):
            owner = rng.choice(aliases)
            log.add(
                owner, "agenda.added", {"item": f"{mid}i{k}", "meeting": mid, "title": text.text(60)[:120], "owner": owner, "minutes": rng.choice([10, 15, 20])}
            )
        for who in aliases:
            log.add(who, "attendance.marked", {"meeting": mid, "member": who, "present": rng.random() > 0.12})
        for k in range(12):
            author = rng.choice(aliases)
            kind = "decision" if k % 4 == 0 else "note"
            log.add(author, "note.added", {"meeting": mid, "item": f"{mid}i{k % 6}", "text": text.text(rng.randint(150, 600)), "kind": kind})
        for k in range(4):
            aid = f"{mid}a{k}"
            owner = rng.choice(aliases)
            log.add("m", "action.added", {"action": aid, "meeting": mid, "title": text.text(50)[:100], "owner": owner, "due": day})
            open_actions.append((aid, owner))
        for _ in range(3):
            log.add(rng.choice(aliases), "anon.line_added", {"meeting": mid, "text": text.text(80)[:150]})
        for k in range(6):
            if rng.random() < 0.8:
                log.add("m", "agenda.updated", {"item": f"{mid}i{k}", "status": "done"})
        while len(open_actions) > 6:
            aid, owner = open_actions.pop(0)
            log.add(owner, "action.updated", {"action": aid, "status": "done"})
        log.add("m", "meeting.held", {"meeting": mid})
    return log.view()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meetings", type=int, default=52)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    t = time.perf_counter()
    view = busy_year(args.meetings)
    meetings = view.meetings()
    view.rota()
    print(
        f"cohort: {len(view.members())} members, {len(meetings)} meetings ({sum(m.held for m in meetings)} held), {len(view):,} events; built and folded in {time.perf_counter() - t:.1f} s"
    )
    ident = Identity.generate()
    signer = Signer("Helen Okafor", ident.public(), ident.signer())
    now = time.time()

    t = time.perf_counter()
    ex.build(view, generated_at=now, exporter=signer.name)
    print(f"first read of the summary (the view's memos warm): {time.perf_counter() - t:.3f} s")
    print()
    print(f"{'format':<8}{'first':>10}{'median':>10}{'min':>10}{'max':>10}{'size':>12}   target {TARGET:.1f} s (on the median)")
    missed = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ex.FORMATS:
            times, size = [], 0
            for _ in range(args.repeat):
                path = Path(tmp) / f"year{ex.EXTENSIONS[fmt]}"
                t = time.perf_counter()
                summary = ex.build(view, generated_at=now, exporter=signer.name)
                written = ex.write(summary, fmt, path, signer, now)
                times.append(time.perf_counter() - t)
                size = written.size
            med = statistics.median(times)
            ok = med < TARGET
            missed += not ok
            print(f"{fmt:<8}{times[0]:>9.3f}s{med:>9.3f}s{min(times):>9.3f}s{max(times):>9.3f}s{size:>12,}   {'PASS' if ok else 'MISS'}")
            rows.append(
                result(
                    f"export {fmt}, {len(meetings)} meetings, signed (median of {args.repeat})",
                    f"{med:.3f} s ({size:,} bytes)",
                    f"< {TARGET:g} s",
                    med / TARGET,
                    "PASS" if ok else "MISS",
                )
            )
    print()
    print("every format under the target" if not missed else f"{missed} format(s) over the target")
    emit("bench_export", rows)


if __name__ == "__main__":
    main()
