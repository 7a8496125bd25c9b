"""Shared pieces of the benchmarks: realistic text, timing, tables, the Ed25519 floor.

Nothing here imports textual. Benchmarks never assert on time; they print.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import random
import statistics
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# ---------------------------------------------------------------------------
# Realistic text: notes written by clinicians in a mentoring meeting.
#
# Words are drawn with a Zipf law from a vocabulary of common English and
# clinical words followed by a long tail of made-up rare words (names, drugs,
# places, typos). Repeating one letter would compress to nothing and flatter
# an encrypted store, which pads what it compresses; this text compresses
# about like real 1 KB notes do (see `compression_ratio`, printed by the bench).

_COMMON = """
the of and to a in that is was he for it with as his on be at by i this had not are but from or have an they which one you
were her all she there would their we him been has when who will more no if out so said what up its about into than them can
only other new some could time these two may then do first any my now such like our over man me even most made after also did
many before must through back years where much your way well down should because each just those people how too little state
good very make world still own see men work long get here between both life being under never day same another know while last
might us great old year off come since against go came right used take three patient patients session feedback mentor mentee
cohort meeting agenda notes action shift ward clinic team nurse doctor therapist dietitian physio pharmacist midwife referral
case discussion supervision reflective practice handover escalation discharge assessment plan review goals boundaries burnout
workload rota roster wellbeing support learning competence confidence communication family carer consent risk safety incident
audit protocol guideline evidence outcome follow-up community rural remote site travel telehealth video phone call appointment
medication dose review chart observation vital signs blood pressure glucose insulin wound dressing mobility falls pain anxiety
depression sleep nutrition weight diet allergy infection antibiotic fever cough breathing oxygen chest heart kidney liver stroke
dementia delirium palliative end-of-life grief loss trauma debrief conflict colleague manager student placement preceptor
portfolio appraisal revalidation training course workshop conference reading article journal research quality improvement
felt think thought noticed suggested agreed asked explained described shared wondered tried worked struggled managed helped
listened reflected planned decided considered mentioned reported checked followed changed started stopped continued finished
difficult helpful useful clear unclear busy quiet tired stressed calm worried hopeful confident unsure important urgent routine
week month morning afternoon evening night weekend today yesterday tomorrow next previous recent early late often sometimes
again together alone better worse really quite perhaps maybe probably certainly especially mostly partly almost already
""".split()

_SYLLABLES = "ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo za zo an en in on ar er or el al il ol ex ix ox th sh ch st tr pr gr br".split()


class TextGen:
    """Deterministic, varied note text from a seeded RNG."""

    def __init__(self, seed: int, rare_words: int = 20000, exponent: float = 1.05) -> None:
        self.rng = random.Random(seed)
        rare = {"".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(2, 4))) for _ in range(rare_words)}
        self.vocab = _COMMON + sorted(rare - set(_COMMON))
        self.rng.shuffle(self.vocab[len(_COMMON) :])
        weights = [1.0 / (rank + 1) ** exponent for rank in range(len(self.vocab))]
        total = 0.0
        self._cum = []
        for w in weights:
            total += w
            self._cum.append(total)

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocab, cum_weights=self._cum, k=n)

    def sentence(self) -> str:
        ws = self.words(self.rng.randint(6, 22))
        if self.rng.random() < 0.15:
            ws.insert(self.rng.randrange(len(ws)), str(self.rng.randint(1, 400)))
        if self.rng.random() < 0.3:
            i = self.rng.randrange(1, len(ws))
            ws[i - 1] += ","
        s = " ".join(ws)
        return s[0].upper() + s[1:] + self.rng.choice(".....?!")

    def text(self, size: int) -> str:
        """About ``size`` characters of sentences."""
        out: list[str] = []
        n = 0
        while n < size:
            s = self.sentence()
            out.append(s)
            n += len(s) + 1
        return " ".join(out)[:size].rstrip()

    def title(self) -> str:
        s = " ".join(self.words(self.rng.randint(3, 9)))
        return s[0].upper() + s[1:]

    def hex_id(self) -> str:
        return self.rng.getrandbits(64).to_bytes(8, "big").hex()


def compression_ratio(chunks: Sequence[bytes]) -> float:
    """Mean zlib(6) ratio over chunks compressed one by one (as the envelope does)."""
    raw = sum(len(c) for c in chunks)
    packed = sum(len(zlib.compress(c, 6)) for c in chunks)
    return raw / packed


def reference_ratio(size: int = 1024) -> float | None:
    """zlib ratio of real English prose in ``size`` chunks, if a licence text is at hand."""
    for p in ("/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0"):
        try:
            data = open(p, "rb").read()
        except OSError:
            continue
        data = b" ".join(data.split())  # drop the layout whitespace, keep the words
        chunks = [data[i : i + size] for i in range(0, len(data) - size, size)]
        return compression_ratio(chunks)
    return None


# ---------------------------------------------------------------------------
# Timing


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def pct(xs: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def fmt_s(sec: float) -> str:
    if sec >= 1:
        return f"{sec:.2f} s"
    if sec >= 1e-3:
        return f"{sec * 1e3:.1f} ms"
    return f"{sec * 1e6:.0f} µs"


@dataclass
class Row:
    name: str
    circle: float
    base: float
    target: float | None  # the ratio circle/base must stay at or below; None: informative
    base_name: str = "plain sqlite3"

    @property
    def ratio(self) -> float:
        return self.circle / self.base if self.base else float("inf")

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        return "PASS" if self.ratio <= self.target else "MISS"


def table(rows: Sequence[Row]) -> str:
    head = ("measurement", "circle", "baseline", "vs", "ratio", "target", "")
    cells = [head] + [
        (r.name, fmt_s(r.circle), fmt_s(r.base), r.base_name, f"{r.ratio:.2f}x", f"<= {r.target:g}x" if r.target else "-", r.verdict) for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = []
    for j, c in enumerate(cells):
        lines.append("  ".join(v.ljust(w) if i in (0, 3) else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths))).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The Ed25519 verification floor: bare `cryptography`, every core.


def _floor_worker(worker: int, count: int, msg_len: int, start, stop, done) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    sk = Ed25519PrivateKey.generate()
    pk = sk.public_key()
    rng = random.Random(worker)
    items = [(sk.sign(m), m) for m in (rng.randbytes(msg_len) for _ in range(count))]
    verify = pk.verify
    done.put(0)  # ready
    while True:
        start.wait()
        if stop.value:
            return
        for sig, msg in items:
            verify(sig, msg)
        done.put(len(items))


class Ed25519Floor:
    """The Ed25519 verification floor: ``count`` signatures verified by one process per core.

    Each process makes its own key, ``msg_len``-byte messages and signatures
    before any clock starts, then waits. ``run()`` releases them together (a
    barrier) and returns the wall time until the last one reports. Workers
    stay alive between runs so runs can be interleaved with circle's.
    """

    def __init__(self, count: int, msg_len: int, cores: int | None = None) -> None:
        self.count = count
        self.cores = cores or os.cpu_count() or 1
        ctx = mp.get_context("fork")
        self._start = ctx.Barrier(self.cores + 1)
        self._stop = ctx.Value("b", 0)
        self._done = ctx.Queue()
        shares = [count // self.cores + (1 if i < count % self.cores else 0) for i in range(self.cores)]
        self._procs = [
            ctx.Process(target=_floor_worker, args=(i, shares[i], msg_len, self._start, self._stop, self._done), daemon=True) for i in range(self.cores)
        ]
        for p in self._procs:
            p.start()
        for _ in self._procs:
            self._done.get(timeout=600)

    def run(self) -> float:
        self._start.wait()
        t0 = time.perf_counter()
        total = sum(self._done.get(timeout=600) for _ in self._procs)
        dt = time.perf_counter() - t0
        assert total == self.count, (total, self.count)
        return dt

    def close(self) -> None:
        self._stop.value = 1
        self._start.wait()
        for p in self._procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()


def single_core_verify_us(msg_len: int, count: int = 2000) -> float:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    sk = Ed25519PrivateKey.generate()
    pk = sk.public_key()
    msgs = [os.urandom(msg_len) for _ in range(count)]
    sigs = [sk.sign(m) for m in msgs]
    t0 = time.perf_counter()
    for s, m in zip(sigs, msgs):
        pk.verify(s, m)
    return (time.perf_counter() - t0) / count * 1e6


# ---------------------------------------------------------------------------
# Machine-readable rows for bench/run: one line per benchmark on stdout, beside the human table.

ROWS_PREFIX = "BENCH-ROWS "


def result(figure: str, measured: str, target: str = "", ratio: float | None = None, verdict: str = "info") -> dict:
    """One row of docs/BENCHMARKS.md: what was measured, the target, the ratio, PASS/MISS/info."""
    return {"figure": figure, "target": target, "measured": measured, "ratio": ratio, "verdict": verdict}


def results_of(rows: Sequence[Row]) -> list[dict]:
    """Rows of a :func:`table` as :func:`result` rows."""
    return [
        result(
            r.name.strip(),
            f"{fmt_s(r.circle)} vs {fmt_s(r.base)} ({r.base_name})",
            f"<= {r.target:g}x" if r.target else "",
            r.ratio,
            r.verdict,
        )
        for r in rows
    ]


def emit(bench: str, rows: Sequence[dict]) -> None:
    """Print the rows as one JSON line that bench/run reads (people can ignore it)."""
    import json

    print(ROWS_PREFIX + json.dumps({"bench": bench, "rows": list(rows)}), flush=True)
