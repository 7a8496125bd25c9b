"""Figures of the security and reliability suite: what each test tried and what got through.

A test calls :func:`record` with counts (``record("tamper", "envelopes",
mutants_tried=n, mutants_accepted=0)``); counts of the same category and case
add up over the run. The top-level ``tests/conftest.py`` prints every figure
as one table at the end of any pytest run, and with ``--reliability-report``
writes them to docs/RELIABILITY.md (or ``$CIRCLE_RELIABILITY_REPORT``) with the date and
the machine.

Each category names its columns and what some of them must be ("= 0" or
"> 0"). A figure that breaks its rule is already a failing test (the test
asserts it); the report only states it.

The suite is the modules in :data:`SUITE` (marked ``reliability`` at
collection). It has two tiers: the short one (the default, what CI runs) and
the full one (``CIRCLE_SUITE=full``), where tests that take a size from
:func:`scale` try many more cases.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

FULL = os.environ.get("CIRCLE_SUITE", "").strip().lower() == "full"


def scale(short: int, full: int) -> int:
    """How many cases to try: ``short`` by default (CI), ``full`` when ``CIRCLE_SUITE=full``."""
    return full if FULL else short


@dataclass(frozen=True)
class Category:
    """One heading of issue 16's list: its columns and the rule on some of them."""

    key: str
    title: str
    columns: tuple[str, ...]
    must: dict[str, str] = field(default_factory=dict)  # column -> "= 0" or "> 0"


CATEGORIES = (
    Category(
        "tamper",
        "Tamper: every bit flip and truncation of sample envelopes and journal pages",
        ("mutants tried", "mutants accepted"),
        {"mutants accepted": "= 0"},
    ),
    Category(
        "schedules",
        "Replay, reorder, duplicate, rollback and fork schedules (hypothesis)",
        ("schedules tried", "divergent views"),
        {"divergent views": "= 0"},
    ),
    Category(
        "crash",
        "Crash: kill -9 of the app and of litestream during appends and syncs; lost and damaged files",
        ("events acknowledged", "events lost"),
        {"events lost": "= 0"},
    ),
    Category(
        "files",
        "Corrupted, truncated and foreign files in the home and the replica",
        ("cases tried", "tracebacks shown", "files damaged by circle"),
        {"tracebacks shown": "= 0", "files damaged by circle": "= 0"},
    ),
    Category(
        "passphrase",
        "Passphrases and KDF parameters",
        ("cases tried", "cases accepted"),
        {"cases accepted": "= 0"},
    ),
    Category(
        "hostile",
        "Hostile members: the authority issue's cases",
        ("cases tried", "cases accepted"),
        {"cases accepted": "= 0"},
    ),
    Category(
        "fuzz",
        "Fuzzing of codes, envelopes, event bodies, keystores and export parsers (hypothesis; atheris where installed)",
        ("inputs run", "unexpected exceptions"),
        {"unexpected exceptions": "= 0"},
    ),
    Category(
        "canaries",
        "Plaintext scans of homes and restored replicas, with planted canaries and a control",
        ("canaries planted", "files scanned", "canaries found"),
        {"canaries found": "= 0"},
    ),
)
BY_KEY = {c.key: c for c in CATEGORIES}

# The modules of the suite, by path from the repository root.
SUITE = (
    "tests/unit/test_mutations.py",
    "tests/unit/test_journal_tamper.py",
    "tests/unit/test_chain.py",
    "tests/unit/test_chain_schedules.py",
    "tests/unit/test_convergence.py",
    "tests/unit/test_view_properties.py",
    "tests/sync/test_faults.py",
    "tests/sync/test_nothing_lost.py",
    "tests/sync/test_replica_damage_cli.py",
    "tests/unit/test_cli.py",
    "tests/unit/test_keystore.py",
    "tests/security/",
    "tests/unit/test_authority_vectors.py",
    "tests/unit/test_schema_fuzz.py",
    "tests/sync/test_replica_canaries.py",
    "tests/unit/test_recovery_kit.py",
    "tests/sync/test_recovery.py",
    "tests/sync/test_devices.py",
)

_COUNTS: dict[tuple[str, str], Counter] = {}
_MUST: dict[tuple[str, str], dict[str, str]] = {}
NOTES: dict[str, list[str]] = {}


def record(category: str, case: str, *, must: dict[str, str] | None = None, **counts: int) -> None:
    """Add counts to a figure; keyword names are the category's columns with ``_`` for spaces.

    ``must`` overrides the category's rule for this case (a control that must find something).
    """
    cat = BY_KEY[category]
    got = Counter({k.replace("_", " "): int(v) for k, v in counts.items()})
    unknown = set(got) - set(cat.columns)
    if unknown:
        raise KeyError(f"{category} has no column {sorted(unknown)}; it has {cat.columns}")
    _COUNTS.setdefault((category, case), Counter()).update(got)
    if must:
        _MUST[(category, case)] = {k.replace("_", " "): v for k, v in must.items()}


def counting_failures(counter: dict[str, int], key: str = "failed"):
    """Decorate a test body (under ``@given``) so that every example that raises is counted in ``counter[key]``."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception:
                counter[key] = counter.get(key, 0) + 1
                raise

        return inner

    return wrap


def note(category: str, text: str) -> None:
    """A sentence printed under a category (what was not run, and why)."""
    if text not in NOTES.setdefault(category, []):
        NOTES[category].append(text)


def rows() -> list[tuple[Category, str, Counter, bool]]:
    """Every recorded figure: category, case, counts, whether it keeps its rule."""
    out = []
    for cat in CATEGORIES:
        for (key, case), counts in sorted(_COUNTS.items()):
            if key == cat.key:
                out.append((cat, case, counts, holds(cat, case, counts)))
    return out


def holds(cat: Category, case: str, counts: Counter) -> bool:
    rules = {**cat.must, **_MUST.get((cat.key, case), {})}
    for column, rule in rules.items():
        value = counts.get(column, 0)
        if (rule == "= 0" and value != 0) or (rule == "> 0" and value <= 0):
            return False
    return True


def rule_text(cat: Category, case: str) -> str:
    rules = {**cat.must, **_MUST.get((cat.key, case), {})}
    return ", ".join(f"{c} {r}" for c, r in rules.items())


def machine() -> str:
    """The machine the figures were measured on, in one line."""
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()} ({platform.machine()})"


def terminal_lines() -> list[str]:
    """The figures as plain lines for the end of a pytest run."""
    lines = []
    for cat in CATEGORIES:
        mine = [r for r in rows() if r[0] is cat]
        if not mine and cat.key not in NOTES:
            continue
        lines.append(f"{cat.title}  [{', '.join(f'{c} {r}' for c, r in cat.must.items())}]")
        for _, case, counts, ok in mine:
            figures = "  ".join(f"{counts.get(c, 0):>7} {c}" for c in cat.columns)
            lines.append(f"  {case[:46]:<46} {figures}  {'ok' if ok else 'BROKEN'}")
        for text in NOTES.get(cat.key, []):
            lines.append(f"  note: {text}")
    return lines


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("|", "\\|")


def report(command: str, outcome: str) -> str:
    """docs/RELIABILITY.md: the date, the machine, the tier, and every figure grouped by category."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tier = "full" if FULL else "short"
    out = [
        "# Reliability figures",
        "",
        "The figures of the last run of the security and reliability suite (issue 16),",
        "written by the run itself (`tests/figures.py`); do not edit by hand. Each",
        "figure comes from a test that fails when the figure breaks its rule, so a",
        "status other than ok here means that test failed in this run.",
        "",
        f"- date: {now}",
        f"- machine: {machine()}",
        f"- tier: {tier} ({'CIRCLE_SUITE=full' if FULL else 'the default; CI runs this one'})",
        f"- command: `{command}`",
        f"- tests: {outcome}",
        "",
        "Regenerate (short tier, a few minutes on 2 cores; the full tier tries many",
        "more cases and takes longer):",
        "",
        "```sh",
        "pytest -m reliability --reliability-report",
        "CIRCLE_SUITE=full pytest -m reliability --reliability-report",
        "```",
        "",
    ]
    for cat in CATEGORIES:
        mine = [r for r in rows() if r[0] is cat]
        out += [f"## {cat.title}", ""]
        if mine:
            out.append("| case | " + " | ".join(cat.columns) + " | must be | status |")
            out.append("| --- | " + " | ".join("---:" for _ in cat.columns) + " | --- | --- |")
            for _, case, counts, ok in mine:
                cells = " | ".join(f"{counts.get(c, 0):,}" for c in cat.columns)
                out.append(f"| {_cell(case)} | {cells} | {rule_text(cat, case)} | {'ok' if ok else '**broken**'} |")
            total = Counter()
            controls = 0
            for _, case, counts, _ in mine:
                if (cat.key, case) in _MUST:  # a control is held to another rule: not added to the rest
                    controls += 1
                else:
                    total.update(counts)
            cells = " | ".join(f"**{total.get(c, 0):,}**" for c in cat.columns)
            out.append(f"| **all{' but the controls' if controls else ''}** | {cells} | | |")
        else:
            out.append("No test of this category ran in this session.")
        notes = NOTES.get(cat.key, [])
        if notes:
            out.append("")
            out += [f"- {n}" for n in notes]
        out.append("")
    return "\n".join(out)


def in_suite(path: str) -> bool:
    """Whether a test file (path relative to the repository root) belongs to the suite."""
    path = path.replace(os.sep, "/")
    return any(path == s or (s.endswith("/") and path.startswith(s)) for s in SUITE)


def command_line() -> str:
    """The command this run was started with, for the report (the interpreter's path left out)."""
    args = [a for a in sys.argv[1:]]
    prefix = "CIRCLE_SUITE=full " if FULL else ""
    return prefix + "pytest " + " ".join(args)
