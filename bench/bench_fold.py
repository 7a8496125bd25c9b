"""The fold with the cohort's rules against the fold without them, on the same events.

"With rules" is circle's View: schema checks, clocks and citations, governance
settled where each author stood, position checks, and the rota-dependent
checks when the view is read. "Without rules" is the fold circle shipped
before the rules existed (circle/models/view.py at commit 41d1c60, read from
this checkout's git history): last-writer-wins registers and facts, no checks
beyond membership. Both fold the same opened events in the same process, so
decryption, which dominates opening a cohort, is outside both.

The workload is a year-scale cohort: 12 members (a mentor, 9 peers, 2
participants), meetings with six items, notes from everyone, attendance, and
a few removals and re-admissions. Citations are what circle writes: every
governance batch, others at most once a minute per writer.

The rota rows time ``compute_rota`` on a cohort with 100 and 1,000 meetings
held, swapped, given back and handed off, against the rota before a held
meeting's turn was settled as it stood then (``ROTA_BASELINE``, read from
git), on the same folded view; each first checks it agrees with the simple
version the property tests hold it to (``tests/rota_reference.py``, which
works the whole round out again for every step, so on a cohort of 150
meetings at most).

    python bench/bench_fold.py [--n 100000] [--repeat 3] [--rota 100 1000] [--rota-only]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import emit, result  # noqa: E402
from circle.models.events import Event  # noqa: E402
from circle.models.governance import ROSTER_KINDS, cohort_id_for  # noqa: E402
from circle.models.meeting import room  # noqa: E402
from circle.models.view import View  # noqa: E402
from circle.store.cohort import settle_heap  # noqa: E402

BASELINE_COMMIT = "41d1c60"
ROTA_BASELINE = "0225b72"  # the rota before held meetings kept their turns whatever changed later
REFERENCE_UPTO = 150  # meetings: the simple reference is quadratic and more
TARGET = 1.2
CITE_EVERY = 60.0
PUBLIC_TAIL = "ab" * 1248


def hx(text: str, n: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class Writer:
    """Events as circle's writer makes them: lamport past everything, citations as CohortStore._citations does."""

    def __init__(self, seed: int) -> None:
        self.events: list[Event] = []
        self.lamport = 0
        self.seq: dict[str, int] = {}
        self.newest: dict[str, Event] = {}
        self.cited: dict[str, dict[str, int]] = {}
        self.cited_at: dict[str, float] = {}
        self.now = 1_767_225_600.0
        self.rand = random.Random(seed)

    def add(self, author: str, journal: str, cohort: str, kind: str, body: dict, governance: bool = False) -> Event:
        deps: tuple = ()
        if governance or self.now - self.cited_at.get(journal, -1e12) >= CITE_EVERY:
            mine = self.cited.setdefault(journal, {})
            deps = tuple(sorted((j, e.seq, e.id[:32]) for j, e in self.newest.items() if j != journal and e.seq > mine.get(j, 0)))
            for j, s, _ in deps:
                mine[j] = s
            if deps:
                self.cited_at[journal] = self.now
        if deps and kind not in ROSTER_KINDS:  # as CohortStore.commit: citations ride on a roster-class event first
            self._put(author, journal, cohort, "cohort.seen", {}, deps)
            deps = ()
        return self._put(author, journal, cohort, kind, body, deps)

    def _put(self, author: str, journal: str, cohort: str, kind: str, body: dict, deps: tuple) -> Event:
        seq = self.seq.get(journal, 0) + 1
        self.seq[journal] = seq
        self.lamport += 1
        e = Event(hx(f"{journal}:{seq}", 64), journal, seq, kind, cohort, author, self.lamport, self.now, body, deps)
        self.newest[journal] = e
        self.events.append(e)
        return e


def workload(n: int, seed: int = 7) -> tuple[str, list[Event]]:
    names = ["mentor"] + [f"peer{i}" for i in range(9)] + ["part0", "part1"]
    ids = {p: hx(f"id:{p}") for p in names}
    journals = {p: hx(f"j:{p}:0") for p in names}
    w = Writer(seed)
    nonce = hx("nonce", 64)
    cid = cohort_id_for(ids["mentor"], journals["mentor"], nonce)
    m = ids["mentor"]

    def admission(p: str, role: str) -> dict:
        return {"member": ids[p], "name": p, "role": role, "public": ids[p] + PUBLIC_TAIL, "journal": journals[p]}

    w.add(m, journals["mentor"], cid, "cohort.created", {"name": "Bench cohort", "nonce": nonce}, True)
    w.add(m, journals["mentor"], cid, "member.admitted", admission("mentor", "mentor"), True)
    w.add(m, journals["mentor"], cid, "keys.epoch_started", {"epoch": 1, "key_id": hx("k1"), "recipients": [m], "commit": hx("c1", 64)}, True)
    for p in names[1:]:
        w.add(m, journals["mentor"], cid, "member.admitted", admission(p, "peer" if p.startswith("peer") else "participant"), True)
    meeting = 0
    epoch = 1
    while len(w.events) < n:
        meeting += 1
        mid = f"mt{meeting}"
        w.now += 14 * 86400
        w.add(m, journals["mentor"], cid, "meeting.scheduled", {"meeting": mid, "at": f"20{26 + meeting // 26:02d}-01-01 18:00", "title": "Meeting"})
        for k in range(6):
            who = w.rand.choice(names[1:])
            w.add(ids[who], journals[who], cid, "agenda.added", {"item": f"{mid}-{k}", "meeting": mid, "title": "An item", "owner": ids[who], "minutes": 10})
        for p in names[1:9]:
            w.add(ids[p], journals[p], cid, "attendance.marked", {"meeting": mid, "member": ids[p], "present": True})
        for _ in range(80):
            w.now += 30
            who = w.rand.choice(names)
            w.add(ids[who], journals[who], cid, "note.added", {"meeting": mid, "item": "", "text": "A note " * 30, "kind": "note"})
        if meeting % 40 == 0:  # a removal with its new epoch, and the member back at the next meeting with a new journal
            gone = names[1 + meeting // 40 % 9]
            epoch += 1
            active = sorted(ids[p] for p in names if p != gone)
            w.add(m, journals["mentor"], cid, "member.removed", {"member": ids[gone]}, True)
            w.add(
                m,
                journals["mentor"],
                cid,
                "keys.epoch_started",
                {"epoch": epoch, "key_id": hx(f"k{epoch}"), "recipients": active, "commit": hx(f"c{epoch}", 64), "prev": hx(f"c{epoch - 1}", 64)},
                True,
            )
            journals[gone] = hx(f"j:{gone}:{meeting}")
            w.add(m, journals["mentor"], cid, "member.admitted", admission(gone, "peer"), True)
    return cid, w.events


def rota_workload(meetings: int, seed: int = 14) -> tuple[str, list[Event]]:
    """A cohort of 12 with ``meetings`` weekly meetings and everything the rota reads.

    Four in five meetings are past and wrapped up (by the mentor), each has
    eight attendance marks (one in ten absent), and there are handoffs, swaps
    by the mentor and by peers (accepted or not), give-backs, a removal with a
    re-admission every 200 meetings, and a role change. Peers guess whose
    turn it is by plain round-robin, as a person would, so some of their
    changes are refused: refusals cost the rota as much as changes do.
    """
    names = ["mentor"] + [f"peer{i}" for i in range(9)] + ["part0", "part1"]
    ids = {p: hx(f"id:{p}") for p in names}
    journals = {p: hx(f"j:{p}:0") for p in names}
    w = Writer(seed)
    rnd = w.rand
    nonce = hx("nonce", 64)
    cid = cohort_id_for(ids["mentor"], journals["mentor"], nonce)
    m = ids["mentor"]

    def add(p: str, kind: str, body: dict, governance: bool = False) -> Event:
        w.now += 60
        return w.add(ids[p], journals[p], cid, kind, body, governance)

    def admission(p: str, role: str) -> dict:
        return {"member": ids[p], "name": p, "role": role, "public": ids[p] + PUBLIC_TAIL, "journal": journals[p]}

    add("mentor", "cohort.created", {"name": "Rota cohort", "nonce": nonce}, True)
    add("mentor", "member.admitted", admission("mentor", "mentor"), True)
    add("mentor", "keys.epoch_started", {"epoch": 1, "key_id": hx("k1"), "recipients": [m], "commit": hx("c1", 64)}, True)
    for p in names[1:]:
        add("mentor", "member.admitted", admission(p, "peer" if p.startswith("peer") else "participant"), True)
    mids = [f"mt{k}" for k in range(meetings)]
    start = 1_767_225_600 - 7 * 86400 * int(meetings * 0.8)
    for k, mid in enumerate(mids):
        at = time.strftime("%Y-%m-%d 18:00", time.gmtime(start + 7 * 86400 * k))
        add("mentor", "meeting.scheduled", {"meeting": mid, "at": at, "title": "Meeting"})
    peers = names[1:10]
    for k, mid in enumerate(mids):
        guess = peers[k % len(peers)]
        for p in names[1:9]:
            add(p, "attendance.marked", {"meeting": mid, "member": ids[p], "present": rnd.random() >= 0.1})
        if rnd.random() < 0.1:
            add("mentor", "meeting.handoff", {"meeting": mid, "to": ids[rnd.choice(peers)]})
        if rnd.random() < 0.03:
            add("mentor", "rota.swapped", {"meeting_a": mid, "meeting_b": rnd.choice(mids)})
        if rnd.random() < 0.03:
            other = min(k + rnd.randint(1, 5), meetings - 1)
            ask = add(guess, "rota.swapped", {"meeting_a": mid, "meeting_b": mids[other]})
            add(peers[other % len(peers)], "rota.swap_accepted", {"swap": ask.id})
        if rnd.random() < 0.03:
            add(guess, "rota.given_back", {"meeting": mid})
        if k < 0.8 * meetings:
            add("mentor", "meeting.held", {"meeting": mid})
        if k % 200 == 199:  # a removal, and the member back with a new journal
            gone = peers[k // 200 % len(peers)]
            add("mentor", "member.removed", {"member": ids[gone]}, True)
            journals[gone] = hx(f"j:{gone}:{k}")
            add("mentor", "member.admitted", admission(gone, "peer"), True)
        if k == meetings // 2:
            add("mentor", "member.updated", {"member": ids["part0"], "role": "peer"}, True)
    return cid, w.events


def rota_rows(sizes: list[int], repeat: int) -> list[dict]:
    """compute_rota against the rota at ROTA_BASELINE on the same folded views, once checked against the simple reference."""
    from circle.models.rota import compute_rota
    from tests.rota_reference import compute_rota as reference_rota

    try:
        before = baseline_module(ROTA_BASELINE, "circle/models/rota.py", "rota_before").compute_rota
    except subprocess.CalledProcessError:  # a shallow clone: timed against itself, the ratio says nothing
        print(f"the rota before is read from git ({ROTA_BASELINE}), which this clone does not have", file=sys.stderr)
        before = compute_rota
    out = []
    print(f"\n{'rota (compute_rota on a folded view)':<40} {'events':>8} {'now':>9} {'before':>10} {'ratio':>7} {'target':>9}")
    for meetings in sizes:
        cid, events = rota_workload(min(meetings, REFERENCE_UPTO))
        view = View(cid)
        view.apply(events)
        assert compute_rota(view) == reference_rota(view), "the fast rota disagrees with the reference"
        cid, events = rota_workload(meetings)
        view = View(cid)
        view.apply(events)
        view.schedule(), view.attendance_by_meeting(self_or_mentor=True)  # memos both sides read, warmed once
        now, old = [], []
        for _ in range(repeat):
            now.append(timed(lambda view=view: compute_rota(view)))
            old.append(timed(lambda view=view: before(view)))
        f, r = statistics.median(now), statistics.median(old)
        target = "<= 20 ms" if meetings == 1000 else ""
        verdict = ("PASS" if f <= 0.020 else "MISS") if target else "info"
        print(f"{f'{meetings:,} meetings':<40} {len(events):>8,} {f * 1000:>7.1f}ms {r * 1000:>8.1f}ms {f / r:>6.3f}x {target:>9}  {verdict}")
        out.append(result(f"rota, {meetings:,} meetings", f"{f * 1000:.1f} ms (before {r * 1000:.1f} ms)", target, f / 0.020 if target else f / r, verdict))
    return out


def baseline_module(commit: str, path: str, name: str):
    """A module of circle as it was at ``commit``, loaded from git."""
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"], capture_output=True, text=True, check=True).stdout
    where = Path(tempfile.mkdtemp()) / f"{name}.py"
    where.write_text(src)
    spec = importlib.util.spec_from_file_location(name, where)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def baseline_view():
    """The fold without rules: circle/models/view.py as it was at BASELINE_COMMIT, loaded from git."""
    return baseline_module(BASELINE_COMMIT, "circle/models/view.py", "view_without_rules").View


def timed(fn) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rota", type=int, nargs="*", default=[100, 1000], help="meetings for the rota rows")
    ap.add_argument("--rota-only", action="store_true", help="only the rota rows")
    args = ap.parse_args()
    if args.rota_only:
        emit("bench_fold", rota_rows(args.rota, max(args.repeat, 5)))
        return
    try:
        Old = baseline_view()
    except subprocess.CalledProcessError:  # a shallow clone (CI) lacks the baseline's commit: the rota rows still run
        print(f"the fold without rules is read from git ({BASELINE_COMMIT}), which this clone does not have: fold rows left out", file=sys.stderr)
        emit("bench_fold", rota_rows(args.rota, max(args.repeat, 5)))
        return
    cid, events = workload(args.n)
    deps = sum(len(e.deps) for e in events)
    print(f"fold bench: {len(events):,} events, {sum(1 for e in events if e.deps):,} with citations ({deps:,} cited heads)")
    rows = []
    for label, read in (("fold (apply)", False), ("fold + read everything a screen shows (digest)", True)):
        new_t, old_t = [], []
        for _ in range(args.repeat):

            def with_rules(read: bool = read) -> None:
                v = View(cid)
                v.apply(events)
                if read:
                    v.digest()

            def without_rules(read: bool = read) -> None:
                v = Old(cid)
                v.apply(events)
                if read:
                    v.digest()

            new_t.append(timed(with_rules))
            old_t.append(timed(without_rules))
        rows.append((label, statistics.median(new_t), statistics.median(old_t)))
    one = View(cid)
    one.apply(events[:-1])
    t_inc = timed(lambda: (one.apply(events[-1:]), one.meetings()))
    results = []
    print(f"\n{'measurement':<52} {'rules':>9} {'no rules':>9} {'ratio':>7} {'target':>8}")
    for label, a, b in rows:
        verdict = "PASS" if a / b <= TARGET else "MISS"
        print(f"{label:<52} {a:>8.2f}s {b:>8.2f}s {a / b:>6.2f}x {'<= ' + str(TARGET) + 'x':>8}  {verdict if label.startswith('fold (') else 'info'}")
        results.append(
            result(
                f"{label}, {len(events):,} events",
                f"{a:.2f} s vs {b:.2f} s (no rules)",
                f"<= {TARGET}x" if label.startswith("fold (") else "",
                a / b,
                verdict if label.startswith("fold (") else "info",
            )
        )
    print(f"one more event on a folded view, then its meetings: {t_inc * 1000:.1f} ms")
    # The room shows each carried-over item's earlier notes: View.notes(item_id=...), once per carried item.
    item = "mt5-1"
    facts = one._facts["note.added"]  # what notes(item_id=...) went through before issue 14: every note, sorted, then filtered
    t_all = statistics.median(timed(lambda: [e for e in sorted(facts, key=lambda e: e.stamp) if e.body.get("item", "") == item]) for _ in range(args.repeat))
    one._memo.clear()  # what any new event does to the view's memoised reads
    t_first = timed(lambda: one.notes(item_id=item))
    t_next = timed(lambda: one.notes(item_id="mt6-2"))
    print(
        f"one item's notes (the room, per carried item): {t_first * 1000:.1f} ms first after a change, {t_next * 1000:.2f} ms each next;"
        f" before (every note sorted, then filtered): {t_all * 1000:.0f} ms each"
    )
    print(f"(events held aside in the workload: {len(one.refused())}; the fold without rules is circle at {BASELINE_COMMIT})")
    results.append(
        result(
            "one item's notes, first after a change", f"{t_first * 1000:.1f} ms (before: {t_all * 1000:.0f} ms each)", "", t_first / t_all if t_all else None
        )
    )
    results += room_after_a_note(one, max(args.repeat, 3))
    emit("bench_fold", results + rota_rows(args.rota, max(args.repeat, 5)))


def room_after_a_note(view: View, repeat: int) -> list[dict]:
    """The meeting room read again after one typed note (the view keeps its other reads: View._forget), against the
    same read after a change that starts every read again, with the folded history settled out of the cyclic
    collector's scans (what CohortStore.load does) and without; alternating in this process."""
    notes = view._facts["note.added"]
    last = notes[-1]
    seq = max(e.seq for e in view.events if e.journal == last.journal)
    meeting, me = last.body["meeting"], last.author
    times: dict[str, list[float]] = {"kept": [], "settled": [], "unsettled": []}
    for k in range(3 * repeat):
        how = ("kept", "settled", "unsettled")[k % 3]
        gc.unfreeze()
        gc.collect()
        if how != "unsettled":
            settle_heap()
        seq += 1
        view.apply([Event(hx(f"typed {k}", 64), last.journal, seq, "note.added", last.cohort, me, view.max_lamport + 1, last.ts + k, dict(last.body), ())])
        if how != "kept":
            view._memo.clear()  # what any other kind of change does to the view's reads
        t0 = time.perf_counter()  # no gc.collect() here: the collector's own passes are part of what is measured
        room(view, view.rota(), meeting, me)
        times[how].append(time.perf_counter() - t0)
    gc.unfreeze()
    kept, settled, unsettled = (statistics.median(times[h]) for h in ("kept", "settled", "unsettled"))
    print(
        f"the meeting room read after one typed note ({len(view):,} events): {kept * 1000:.1f} ms;"
        f" after a change that starts every read again: {settled * 1000:.0f} ms settled, {unsettled * 1000:.0f} ms not"
    )
    return [
        result(
            f"meeting room read after one typed note, {len(view):,} events",
            f"{kept * 1000:.1f} ms vs {settled * 1000:.0f} ms (every read again)",
            "",
            kept / settled,
        ),
        result(
            f"meeting room read after another change (every read again), {len(view):,} events",
            f"{settled * 1000:.0f} ms vs {unsettled * 1000:.0f} ms (history not settled out of the collector)",
            "",
            settled / unsettled,
        ),
    ]


if __name__ == "__main__":
    main()
